"""What the board and meeting pages post: each view declares the capability of its action
(as the API's viewsets do) and calls one service of reviews/meetings/.

- Bad input (the form's, or the service's InvalidInput) shows the page again with the form
  bound and its errors, status 400; nothing is stored.
- No capability: the 403 page (page_requires).
- The service refuses this object or this moment (a Conflict: the agenda is frozen, no
  quorum; or a NotAllowed about this object: not the item's author, not the owner): a flash
  message on the page, as the request page does with sign-offs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from governance.errors import ApplicationError, InvalidInput, NotFound
from governance.pages import page_requires
from governance.roles import Capability
from reviews.meeting_forms import (
    ActionItemDoneForm,
    AgendaItemForm,
    AttendanceForm,
    BoardForm,
    DecisionForm,
    MemberForm,
    MinutesForm,
    ScheduleForm,
)
from reviews.meeting_models import Decision, Meeting
from reviews.meeting_views import Failed, board_list_page, board_page, meeting_page
from reviews.meetings import decisions, selectors, services

Rerender = Callable[[forms.Form], HttpResponse]


def _add_service_errors(form: forms.Form, error: InvalidInput) -> None:
    """The service's field errors on the form's fields (others above the form)."""
    named = {k: v for k, v in (error.extra or {}).items() if isinstance(v, list)}
    for name, errs in named.items():
        form.add_error(name if name in form.fields else None, " ".join(map(str, errs)))
    if not named:
        form.add_error(None, error.detail)


def _submit(
    request: HttpRequest,
    form: forms.Form,
    act: Callable[[dict[str, Any]], Any],
    *,
    rerender: Rerender,
    back: Callable[[], HttpResponse],
    done: Callable[[Any], str],
) -> HttpResponse:
    if not form.is_valid():
        return rerender(form)
    try:
        result = act(form.cleaned_data)
    except InvalidInput as error:
        _add_service_errors(form, error)
        return rerender(form)
    except ApplicationError as error:
        messages.error(request, error.detail)
    else:
        # A decision some members could not sign is recorded, but not as a plain success.
        refused = isinstance(result, Decision) and result.refused
        (messages.warning if refused else messages.success)(request, done(result))
    return back()


def _on_meeting(
    request: HttpRequest,
    meeting_id: int,
    form: forms.Form,
    act: Callable[[dict[str, Any]], Any],
    done: Callable[[Any], str],
    *,
    failed_as: str = "",
) -> HttpResponse:
    """A form posted from the meeting page; it comes back there."""
    selectors.meeting_get(meeting_id=meeting_id)  # 404 before anything else

    def rerender(bound: forms.Form) -> HttpResponse:
        item = bound.cleaned_data.get("item") if hasattr(bound, "cleaned_data") else None
        if item is None and "item" in bound.fields:
            item = _int_or_none(bound.data.get("item"))
        failed = Failed(failed_as, bound, item)
        return meeting_page(request, meeting_id, failed=failed, status=400)

    return _submit(
        request,
        form,
        act,
        rerender=rerender,
        back=lambda: redirect("reviews:meeting", meeting_id=meeting_id),
        done=done,
    )


def _int_or_none(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


@page_requires(Capability.MANAGE_MEETINGS)
@require_POST
def board_create(request: HttpRequest) -> HttpResponse:
    created: dict[str, Any] = {}

    def act(data: dict[str, Any]) -> Any:
        created["board"] = services.board_create(actor=request.user, **data)
        return created["board"]

    return _submit(
        request,
        BoardForm(request.POST),
        act,
        rerender=lambda form: board_list_page(request, form=form, status=400),
        back=lambda: (
            redirect("reviews:board", board_id=created["board"].pk)
            if created
            else redirect("reviews:boards")
        ),
        done=lambda board: f"Board {board.name} created; seat its members.",
    )


@page_requires(Capability.MANAGE_MEETINGS)
@require_POST
def board_member(request: HttpRequest, board_id: int) -> HttpResponse:
    board = selectors.board_get(board_id=board_id)
    return _submit(
        request,
        MemberForm(request.POST),
        lambda data: services.board_member_set(actor=request.user, board=board, **data),
        rerender=lambda form: board_page(request, board_id, member_form=form, status=400),
        back=lambda: redirect("reviews:board", board_id=board_id),
        done=lambda seat: (
            f"{seat.user.username} sits on {board.name} as"
            f" {seat.get_role_display().lower()}{'' if seat.voting else ', without a vote'}."
        ),
    )


@page_requires(Capability.MANAGE_MEETINGS)
@require_POST
def meeting_schedule(request: HttpRequest, board_id: int) -> HttpResponse:
    board = selectors.board_get(board_id=board_id)
    scheduled: dict[str, Any] = {}

    def act(data: dict[str, Any]) -> Any:
        scheduled["meeting"] = services.meeting_schedule(actor=request.user, board=board, **data)
        return scheduled["meeting"]

    return _submit(
        request,
        ScheduleForm(request.POST),
        act,
        rerender=lambda form: board_page(request, board_id, schedule_form=form, status=400),
        back=lambda: (
            redirect("reviews:meeting", meeting_id=scheduled["meeting"].pk)
            if scheduled
            else redirect("reviews:board", board_id=board_id)
        ),
        done=lambda meeting: f"{meeting.title} scheduled; prepare its agenda when it is near.",
    )


class NoInput(forms.Form):
    """The buttons that only act (prepare, start, close, remove) post no fields."""


def _step(request: HttpRequest, meeting_id: int, act: Callable[[], Any], done: str) -> HttpResponse:
    return _on_meeting(request, meeting_id, NoInput(request.POST), lambda _: act(), lambda _: done)


@page_requires(Capability.MANAGE_MEETINGS)
@require_POST
def meeting_prepare(request: HttpRequest, meeting_id: int) -> HttpResponse:
    return _step(
        request,
        meeting_id,
        lambda: services.meeting_prepare(actor=request.user, meeting_id=meeting_id),
        "Agenda prepared from the models' state now; items added by members are kept.",
    )


@page_requires(Capability.MANAGE_MEETINGS)
@require_POST
def meeting_start(request: HttpRequest, meeting_id: int) -> HttpResponse:
    return _step(
        request,
        meeting_id,
        lambda: services.meeting_start(actor=request.user, meeting_id=meeting_id),
        "The meeting has started: its agenda is frozen as the record of what the board saw.",
    )


@page_requires(Capability.MANAGE_MEETINGS)
@require_POST
def meeting_close(request: HttpRequest, meeting_id: int) -> HttpResponse:
    def closed(meeting: Meeting) -> str:
        upcoming = meeting.board.meetings.exclude(status=Meeting.Status.CLOSED)
        following = upcoming.order_by("scheduled_for").first()
        return "The meeting is closed." + (f" Next: {following.title}." if following else "")

    return _on_meeting(
        request,
        meeting_id,
        NoInput(request.POST),
        lambda _: services.meeting_close(actor=request.user, meeting_id=meeting_id),
        closed,
    )


@page_requires(Capability.READ)  # the service: members of the board, or whoever runs meetings
@require_POST
def agenda_item_add(request: HttpRequest, meeting_id: int) -> HttpResponse:
    return _on_meeting(
        request,
        meeting_id,
        AgendaItemForm(request.POST),
        lambda data: services.agenda_item_add(actor=request.user, meeting_id=meeting_id, **data),
        lambda item: f"Item {item.position} added: {item.title}.",
        failed_as="item",
    )


@page_requires(Capability.READ)  # the service: whoever added it, or whoever runs meetings
@require_POST
def agenda_item_remove(request: HttpRequest, meeting_id: int, item_id: int) -> HttpResponse:
    meeting = selectors.meeting_get(meeting_id=meeting_id)
    if not any(item.pk == item_id for item in meeting.items.all()):
        raise NotFound(f"No item #{item_id} on this agenda.")
    return _step(
        request,
        meeting_id,
        lambda: services.agenda_item_remove(actor=request.user, item_id=item_id),
        f"Item #{item_id} removed from the agenda.",
    )


@page_requires(Capability.MANAGE_MEETINGS)
@require_POST
def attendance_record(request: HttpRequest, meeting_id: int) -> HttpResponse:
    return _on_meeting(
        request,
        meeting_id,
        AttendanceForm(request.POST),
        lambda data: services.attendance_record(actor=request.user, meeting_id=meeting_id, **data),
        lambda row: f"{row.member.user.username}: {'present' if row.present else 'absent'}.",
        failed_as="attendance",
    )


@page_requires(Capability.MANAGE_MEETINGS)
@require_POST
def minutes_record(request: HttpRequest, meeting_id: int) -> HttpResponse:
    return _on_meeting(
        request,
        meeting_id,
        MinutesForm(request.POST),
        lambda data: services.minutes_record(
            actor=request.user, meeting_id=meeting_id, text=data["text"], item_id=data["item"]
        ),
        lambda _: "Minutes saved.",
        failed_as="minutes",
    )


def decision_summary(decision: Decision) -> str:
    """What happened, in one flash: signatures, refusals with the service's reasons."""
    text = f"{decision.get_kind_display()} recorded."
    if decision.signed:
        text += " Signed by " + ", ".join(s["username"] for s in decision.signed) + "."
    if decision.refused:
        text += " Could not sign: " + "; ".join(
            f"{r['username']}: {r['reason']}" for r in decision.refused
        )
    if decision.request_status:
        text += f" Request #{decision.request_id} is {decision.request_status}."
    return text


@page_requires(Capability.MANAGE_MEETINGS)
@require_POST
def decision_record(request: HttpRequest, meeting_id: int) -> HttpResponse:
    def act(data: dict[str, Any]) -> Decision:
        return decisions.decision_record(
            actor=request.user,
            meeting_id=meeting_id,
            item_id=data["item"],
            kind=data["kind"],
            text=data["text"],
            owner=data["owner"],
            due_date=data["due_date"],
            severity=data["severity"] or None,
        )

    return _on_meeting(
        request, meeting_id, DecisionForm(request.POST), act, decision_summary, failed_as="decision"
    )


@page_requires(Capability.READ)  # the service: the item's owner, or whoever runs meetings
@require_POST
def action_item_done(request: HttpRequest, meeting_id: int, decision_id: int) -> HttpResponse:
    return _on_meeting(
        request,
        meeting_id,
        ActionItemDoneForm(request.POST),
        lambda data: decisions.action_item_complete(
            actor=request.user, decision_id=decision_id, note=data["note"]
        ),
        lambda item: f"Action item #{item.pk} is done.",
        failed_as="done",
    )
