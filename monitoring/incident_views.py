"""Browser pages of incidents: the list (filters, deadlines) and one incident with its
timeline and the forms to work on it. Each form posts to a view that needs the capability
of its action, as the API does; the page shows only the forms the user's roles allow."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from governance.errors import ApplicationError
from governance.pages import page_requires
from governance.paging import page_of
from governance.roles import Capability, user_can
from monitoring import selectors, services
from monitoring.filters import IncidentFilter
from monitoring.incident_forms import (
    AssignForm,
    CommentForm,
    FlagSeriousForm,
    IncidentRollbackForm,
    ReportForm,
    RetrainForm,
    StatusForm,
)
from monitoring.models import Incident, RetrainingRun
from monitoring.retraining import retraining_request
from monitoring.services.incidents import TRANSITIONS

PAGE_SIZE = 25


@page_requires(Capability.READ)
@require_GET
def incident_list(request: HttpRequest) -> HttpResponse:
    """Incidents, newest first, filtered as the API filters them."""
    # The form sends "any" as an empty value: left out, as the API takes it.
    given = {name: value for name, value in request.GET.items() if value != "" and name != "page"}
    found = IncidentFilter(given, queryset=selectors.incident_list())
    rows = found.qs if found.is_valid() else found.queryset.none()
    page = page_of(rows, request.GET.get("page"), PAGE_SIZE)
    return render(
        request,
        "monitoring/incident_list.html",
        {
            "filter": found,
            "incidents": list(page.object_list),
            "page": page,
            "statuses": Incident.Status.choices,
            "severities": Incident.Severity.choices,
        },
    )


@page_requires(Capability.READ)
@require_GET
def incident_detail(request: HttpRequest, incident_id: int) -> HttpResponse:
    """One incident: what happened, its deadline if serious, its alerts and timeline."""
    incident = selectors.incident_get(incident_id=incident_id)
    user = request.user
    production = selectors.production_version(model=incident.model)
    status_form = StatusForm()
    status_form.fields["status"].choices = [
        (value, label)
        for value, label in Incident.Status.choices
        if value in TRANSITIONS[incident.status]
    ]
    assign_form = AssignForm(initial={"owner": incident.owner.username if incident.owner else ""})
    serious_form = FlagSeriousForm(
        initial={"kind": incident.serious_kind or Incident.SeriousKind.STANDARD}
    )
    return render(
        request,
        "monitoring/incident_detail.html",
        {
            "incident": incident,
            "model": incident.model,
            "timeline": list(incident.timeline.all()),
            "alerts": list(incident.alerts.all()),
            "production": production,
            "can_work": user_can(user, Capability.WORK_INCIDENTS),
            "can_flag": user_can(user, Capability.MANAGE_INCIDENTS) and not incident.is_closed,
            "can_report": user_can(user, Capability.MANAGE_INCIDENTS)
            and incident.serious
            and not incident.is_reported,
            "can_roll_back": user_can(user, Capability.ROLLBACK) and not incident.is_closed,
            "can_retrain": user_can(user, Capability.REQUEST_RETRAINING)
            and not incident.is_closed
            and production is not None,
            "retraining_runs": list(
                RetrainingRun.objects.filter(incident=incident)
                .select_related("candidate_version")
                .order_by("-pk")[:10]
            ),
            "assign_form": assign_form,
            "comment_form": CommentForm(),
            "status_form": status_form,
            "serious_form": serious_form,
            "report_form": ReportForm(),
            "rollback_form": IncidentRollbackForm(
                initial={"from_version": production.version if production else None}
            ),
        },
    )


def _act(
    request: HttpRequest,
    incident_id: int,
    form_class: type[forms.Form],
    act: Callable[[forms.Form], Any],
    done: str | Callable[[Any], str],
) -> HttpResponse:
    """Validate the posted form, call the service, say how it went, back to the incident."""
    selectors.incident_get(incident_id=incident_id)  # 404 before anything else
    form = form_class(request.POST)
    if not form.is_valid():
        problems = "; ".join(f"{name}: {' '.join(errs)}" for name, errs in form.errors.items())
        messages.error(request, f"Nothing was changed. {problems}")
        return redirect("monitoring:incident", incident_id=incident_id)
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
    return redirect("monitoring:incident", incident_id=incident_id)


@page_requires(Capability.WORK_INCIDENTS)
@require_POST
def incident_assign(request: HttpRequest, incident_id: int) -> HttpResponse:
    def act(form: forms.Form) -> Any:
        assert isinstance(form, AssignForm)
        return services.incident_assign(
            actor=request.user,
            incident_id=incident_id,
            owner=form.chosen_owner(),
            comment=form.cleaned_data["comment"],
        )

    return _act(request, incident_id, AssignForm, act, "Assignment saved.")


@page_requires(Capability.WORK_INCIDENTS)
@require_POST
def incident_comment(request: HttpRequest, incident_id: int) -> HttpResponse:
    def act(form: forms.Form) -> Any:
        return services.incident_comment(
            actor=request.user, incident_id=incident_id, comment=form.cleaned_data["comment"]
        )

    return _act(request, incident_id, CommentForm, act, "Comment added.")


@page_requires(Capability.WORK_INCIDENTS)
@require_POST
def incident_status(request: HttpRequest, incident_id: int) -> HttpResponse:
    def act(form: forms.Form) -> Any:
        return services.incident_status_change(
            actor=request.user,
            incident_id=incident_id,
            status=form.cleaned_data["status"],
            comment=form.cleaned_data["comment"],
        )

    return _act(request, incident_id, StatusForm, act, "Status changed.")


@page_requires(Capability.MANAGE_INCIDENTS)
@require_POST
def incident_flag_serious(request: HttpRequest, incident_id: int) -> HttpResponse:
    def act(form: forms.Form) -> Any:
        return services.incident_flag_serious(
            actor=request.user,
            incident_id=incident_id,
            kind=form.cleaned_data["kind"],
            reason=form.cleaned_data["reason"],
            aware_at=form.cleaned_data["aware_at"],
        )

    return _act(
        request, incident_id, FlagSeriousForm, act, "Flagged serious; the reporting deadline runs."
    )


@page_requires(Capability.MANAGE_INCIDENTS)
@require_POST
def incident_report(request: HttpRequest, incident_id: int) -> HttpResponse:
    """Record that the serious incident was reported to the authority."""

    def act(form: forms.Form) -> Any:
        return services.incident_report_record(
            actor=request.user,
            incident_id=incident_id,
            reference=form.cleaned_data["reference"],
            reported_at=form.cleaned_data["reported_at"],
            comment=form.cleaned_data["comment"],
        )

    return _act(
        request, incident_id, ReportForm, act, "Report recorded; the deadline no longer runs."
    )


@page_requires(Capability.ROLLBACK)
@require_POST
def incident_rollback(request: HttpRequest, incident_id: int) -> HttpResponse:
    def act(form: forms.Form) -> Any:
        return services.incident_rollback(
            actor=request.user,
            incident_id=incident_id,
            comment=form.cleaned_data["comment"],
            from_version=form.cleaned_data["from_version"],
        )

    return _act(
        request,
        incident_id,
        IncidentRollbackForm,
        act,
        "Rolled back; every server answers with the restored version within a second.",
    )


@page_requires(Capability.REQUEST_RETRAINING)
@require_POST
def incident_retrain(request: HttpRequest, incident_id: int) -> HttpResponse:
    """Retrain the model's production version; the run is linked to this incident."""
    incident = selectors.incident_get(incident_id=incident_id)

    def act(form: forms.Form) -> RetrainingRun:
        return retraining_request(
            actor=request.user,
            model_name=incident.model.name,
            incident_id=incident.pk,
            trigger=RetrainingRun.Trigger.INCIDENT,
        )

    return _act(
        request,
        incident_id,
        RetrainForm,
        act,
        lambda run: (
            f"Retraining run #{run.pk} queued; its candidate will wait for the board as "
            "a canary promotion request."
        ),
    )
