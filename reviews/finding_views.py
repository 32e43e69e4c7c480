"""Browser pages of findings (the list with its filters, one finding with its timeline and
the forms to work on it) and of the revalidation schedule. Each form posts to a view that
declares the capability of its action, as the API does; the page shows only the forms the
user's roles allow, and the service decides the rest (which step needs which role)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from governance.errors import ApplicationError
from governance.pages import page_requires
from governance.paging import page_of
from governance.roles import Capability, user_can
from reviews.filters import FindingFilter
from reviews.finding_assignment import finding_assign, may_assign_findings
from reviews.finding_forms import FindingAssignForm, FindingEvidenceForm, FindingStatusForm
from reviews.finding_models import Finding, FindingEvent
from reviews.finding_selectors import finding_get, finding_list
from reviews.finding_services import (
    finding_evidence_add,
    finding_status_change,
    finding_steps,
)
from reviews.revalidation_schedule import RevalidationStatus
from reviews.revalidation_selectors import revalidation_states

PAGE_SIZE = 25


@page_requires(Capability.READ)
@require_GET
def finding_list_page(request: HttpRequest) -> HttpResponse:
    """Findings, newest first, filtered as the API filters them."""
    given = {name: value for name, value in request.GET.items() if value != "" and name != "page"}
    found = FindingFilter(given, queryset=finding_list())
    rows = found.qs if found.is_valid() else found.queryset.none()
    page = page_of(rows, request.GET.get("page"), PAGE_SIZE)
    return render(
        request,
        "reviews/finding_list.html",
        {
            "filter": found,
            "findings": list(page.object_list),
            "page": page,
            "statuses": Finding.Status.choices,
            "severities": Finding.Severity.choices,
        },
    )


@page_requires(Capability.READ)
@require_GET
def finding_detail(request: HttpRequest, finding_id: int) -> HttpResponse:
    """One finding: what it is, its evidence and timeline, the steps the user may take."""
    finding = finding_get(finding_id=finding_id)
    user = request.user
    steps = finding_steps(actor=user, finding=finding)
    status_form = FindingStatusForm()
    status_form.fields["status"].choices = steps
    timeline = list(finding.timeline.all())
    return render(
        request,
        "reviews/finding_detail.html",
        {
            "finding": finding,
            "timeline": timeline,
            "evidence": [e for e in timeline if e.kind == FindingEvent.Kind.EVIDENCE],
            "status_form": status_form if steps else None,
            "evidence_form": FindingEvidenceForm()
            if finding.is_open and user_can(user, Capability.WORK_FINDINGS)
            else None,
            "assign_form": FindingAssignForm(finding=finding)
            if finding.is_open and may_assign_findings(user)
            else None,
        },
    )


def _act(
    request: HttpRequest,
    finding_id: int,
    form_class: type[forms.Form],
    act: Callable[[forms.Form], Any],
    done: str | Callable[[Any], str],
) -> HttpResponse:
    """Validate the posted form, call the service, say how it went, back to the finding."""
    finding_get(finding_id=finding_id)  # 404 before anything else
    form = form_class(request.POST)
    if not form.is_valid():
        problems = "; ".join(f"{name}: {' '.join(errs)}" for name, errs in form.errors.items())
        messages.error(request, f"Nothing was changed. {problems}")
        return redirect("reviews:finding", finding_id=finding_id)
    try:
        result = act(form)
    except ApplicationError as error:
        extra = "; ".join(
            f"{name}: {' '.join(map(str, errs))}"
            for name, errs in (error.extra or {}).items()
            if isinstance(errs, list)
        )
        messages.error(request, f"{error.detail} {extra}".strip())
    else:
        messages.success(request, done(result) if callable(done) else done)
    return redirect("reviews:finding", finding_id=finding_id)


@page_requires(Capability.WORK_FINDINGS)
@require_POST
def finding_status(request: HttpRequest, finding_id: int) -> HttpResponse:
    def act(form: forms.Form) -> Any:
        return finding_status_change(actor=request.user, finding_id=finding_id, **form.cleaned_data)

    return _act(request, finding_id, FindingStatusForm, act, "Status changed.")


@page_requires(Capability.WORK_FINDINGS)
@require_POST
def finding_evidence(request: HttpRequest, finding_id: int) -> HttpResponse:
    def act(form: forms.Form) -> Any:
        return finding_evidence_add(actor=request.user, finding_id=finding_id, **form.cleaned_data)

    return _act(request, finding_id, FindingEvidenceForm, act, "Evidence added.")


@page_requires(Capability.WORK_FINDINGS)
@require_POST
def finding_assign_page(request: HttpRequest, finding_id: int) -> HttpResponse:
    """A new owner and/or due date with a reason; the service decides who and what."""

    def act(form: forms.Form) -> tuple[Finding, bool]:
        assert isinstance(form, FindingAssignForm)
        return finding_assign(
            actor=request.user,
            finding_id=finding_id,
            owner=form.chosen_owner(),
            due_date=form.cleaned_data["due_date"],
            reason=form.cleaned_data["reason"],
        )

    def done(result: tuple[Finding, bool]) -> str:
        finding, changed = result
        if not changed:
            return "Nothing changed: the owner and due date were already those."
        owner = finding.owner.get_username() if finding.owner else "nobody"
        due = finding.due_date.isoformat() if finding.due_date else "none"
        return f"Assigned: owner {owner}, due {due}."

    return _act(request, finding_id, FindingAssignForm, act, done)


@page_requires(Capability.READ)
@require_GET
def revalidation_list(request: HttpRequest) -> HttpResponse:
    """Every model's revalidation: overdue first, then due within 30 days, then the rest
    (`?status=` keeps one of them), a page at a time."""
    order = [RevalidationStatus.OVERDUE, RevalidationStatus.DUE, RevalidationStatus.CURRENT]
    wanted = request.GET.get("status", "")
    error = "" if not wanted or wanted in order else "status: one of overdue, due, current."
    states = [
        state
        for state in ([] if error else revalidation_states(as_of=timezone.localdate()))
        if not wanted or state.status == wanted
    ]
    states.sort(key=lambda s: order.index(RevalidationStatus(s.status)))
    page = Paginator(states, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "reviews/revalidation_list.html",
        {
            "states": list(page.object_list),
            "page": page,
            "statuses": order,
            "error": error,
            "can_record": user_can(request.user, Capability.RECORD_VALIDATION),
            "can_edit_policy": user_can(request.user, Capability.USE_ADMIN),
        },
        status=400 if error else 200,
    )
