"""Browser pages of the review board: the boards, one board (members, meetings), and one
meeting through its life (prepare, agenda, start, attendance, minutes, decisions, close).

The pages read through reviews/meetings/selectors.py; the forms post to
reviews/meeting_actions.py, whose views declare the capability of their action as the API
does. A page shows the forms the user's roles allow and the meeting's state invites; the
services decide. A form that failed comes back bound, with its errors, status 400.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from django import forms
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET

from governance.pages import page_requires
from governance.roles import Capability, user_can
from reviews.meeting_forms import (
    ActionItemDoneForm,
    AgendaItemForm,
    BoardForm,
    DecisionForm,
    MemberForm,
    MinutesForm,
    ScheduleForm,
)
from reviews.meeting_models import AgendaItem, Board, Decision, Meeting
from reviews.meetings import selectors
from reviews.meetings.decisions import present_voters
from reviews.meetings.services import member_of, next_meeting_time

OPEN_AGENDA = (Meeting.Status.SCHEDULED, Meeting.Status.PREPARED)


def _next_meeting(board: Board) -> Meeting | None:
    return (
        board.meetings.exclude(status=Meeting.Status.CLOSED).order_by("scheduled_for", "id").first()
    )


@page_requires(Capability.READ)
@require_GET
def board_list(request: HttpRequest) -> HttpResponse:
    return board_list_page(request)


def board_list_page(
    request: HttpRequest, *, form: BoardForm | None = None, status: int = 200
) -> HttpResponse:
    boards = list(selectors.board_list())
    return render(
        request,
        "reviews/board_list.html",
        {
            "rows": [(board, _next_meeting(board)) for board in boards],
            "form": (form or BoardForm())
            if user_can(request.user, Capability.MANAGE_MEETINGS)
            else None,
        },
        status=status,
    )


@page_requires(Capability.READ)
@require_GET
def board_detail(request: HttpRequest, board_id: int) -> HttpResponse:
    return board_page(request, board_id)


def board_page(
    request: HttpRequest,
    board_id: int,
    *,
    member_form: MemberForm | None = None,
    schedule_form: ScheduleForm | None = None,
    status: int = 200,
) -> HttpResponse:
    board = selectors.board_get(board_id=board_id)
    manage = user_can(request.user, Capability.MANAGE_MEETINGS)
    latest = board.meetings.order_by("-scheduled_for").first()
    # The time the board's cadence would choose (as board_schedule_next does).
    suggested = next_meeting_time(latest) if latest else timezone.now() + timedelta(days=7)
    return render(
        request,
        "reviews/board_detail.html",
        {
            "board": board,
            "members": [m for m in board.members.all() if m.active],
            "meetings": list(board.meetings.order_by("-scheduled_for", "-id")),
            "member_form": (member_form or MemberForm()) if manage else None,
            "schedule_form": (
                schedule_form
                or ScheduleForm(initial={"scheduled_for": timezone.localtime(suggested)})
            )
            if manage
            else None,
        },
        status=status,
    )


def item_links(item: AgendaItem) -> list[tuple[str, str]]:
    """(label, url) of everything the item concerns, its source's object first."""
    links = []
    if item.request_id:
        links.append(
            (f"Request #{item.request_id}", reverse("reviews:request", args=[item.request_id]))
        )
    if item.incident_id:
        url = reverse("monitoring:incident", args=[item.incident_id])
        links.append((f"Incident #{item.incident_id}", url))
    finding = item.data.get("finding") if item.source == AgendaItem.Source.FINDING else None
    if finding:
        links.append((f"Finding #{finding}", reverse("reviews:finding", args=[finding])))
    if item.action_item_id:
        decided_at = item.data.get("meeting")
        if decided_at:
            url = reverse("reviews:meeting", args=[decided_at]) + f"#decision-{item.action_item_id}"
            links.append((f"Action item #{item.action_item_id}", url))
    if item.version_id:
        version = item.version
        links.append(
            (
                f"{version.model.name} v{version.version}",
                reverse("registry:version", args=[version.model.name, version.version]),
            )
        )
    elif item.model_id:
        links.append((item.model.name, reverse("registry:model", args=[item.model.name])))
    return links


@dataclass
class ItemRow:
    """One agenda item as the meeting page shows it, with its forms."""

    item: AgendaItem
    links: list[tuple[str, str]]
    decisions: list[Decision] = field(default_factory=list)
    minutes_form: forms.Form | None = None
    decision_form: forms.Form | None = None


@dataclass
class Failed:
    """The form that failed on a POST, to show again bound: its name and its item."""

    name: str
    form: forms.Form
    item_id: int | None = None


def _failed(failed: Failed | None, name: str, item_id: int | None = None) -> forms.Form | None:
    if failed is not None and failed.name == name and failed.item_id == item_id:
        return failed.form
    return None


def _decision_form(failed: Failed | None, item: AgendaItem) -> forms.Form:
    """The item's decision form; approve and reject only where the item names a request
    (the service would refuse them elsewhere, saying the same)."""
    form = _failed(failed, "decision", item.pk) or DecisionForm(initial={"item": item.pk})
    if not item.request_id:
        form.fields["kind"].choices = [
            (value, label)
            for value, label in Decision.Kind.choices
            if value not in Decision.SIGNING_KINDS
        ]
    return form


@page_requires(Capability.READ)
@require_GET
def meeting_detail(request: HttpRequest, meeting_id: int) -> HttpResponse:
    return meeting_page(request, meeting_id)


def meeting_page(
    request: HttpRequest, meeting_id: int, *, failed: Failed | None = None, status: int = 200
) -> HttpResponse:
    meeting = selectors.meeting_get(meeting_id=meeting_id)
    user = request.user
    manage = user_can(user, Capability.MANAGE_MEETINGS)
    running = meeting.status == Meeting.Status.IN_PROGRESS
    decisions = list(meeting.decisions.all())
    rows = []
    for item in meeting.items.all():
        row = ItemRow(item, item_links(item), [d for d in decisions if d.item_id == item.pk])
        if manage and running:
            row.minutes_form = _failed(failed, "minutes", item.pk) or MinutesForm(
                initial={"item": item.pk, "text": item.minutes}
            )
            row.decision_form = _decision_form(failed, item)
        rows.append(row)
    seated = [m for m in meeting.board.members.select_related("user") if m.active]
    attended = {a.member_id: a for a in meeting.attendance.all()}
    voters = present_voters(meeting)
    carried = [i.action_item for i in meeting.items.all() if i.action_item_id]
    action_items = [d for d in decisions if d.kind == Decision.Kind.ACTION_ITEM] + carried
    return render(
        request,
        "reviews/meeting_detail.html",
        {
            "meeting": meeting,
            "board": meeting.board,
            "failed": failed,
            "rows": rows,
            "manage": manage,
            "running": running,
            "agenda_open": meeting.status in OPEN_AGENDA,
            "item_form": _failed(failed, "item") or AgendaItemForm()
            if meeting.status in OPEN_AGENDA and (manage or member_of(meeting.board, user))
            else None,
            "attendance": [(m, attended.get(m.pk)) for m in seated],
            "attendance_failed": _failed(failed, "attendance"),
            "present_voters": [a.member.user.username for a in voters],
            "has_quorum": len(voters) >= meeting.board.quorum,
            "notes_form": _failed(failed, "minutes") or MinutesForm(initial={"text": meeting.notes})
            if manage and running
            else None,
            "general_decisions": [d for d in decisions if d.item_id is None],
            "action_items": [
                (a, ActionItemDoneForm())
                if a.status == Decision.Status.OPEN and (a.owner_id == user.pk or manage)
                else (a, None)
                for a in action_items
            ],
        },
        status=status,
    )
