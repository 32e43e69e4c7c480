"""Browser pages of alerts: the list (unresolved first, filters, pages) and one alert with
its rule, check, incident, notifications and history, and the forms to acknowledge,
silence and unsilence it. Every form posts to a view that needs MANAGE_ALERTS, as the API
does, and goes through the services; the pages show the forms only to those who may."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.timezone import localtime
from django.views.decorators.http import require_GET, require_POST

from governance.errors import ApplicationError
from governance.pages import page_requires
from governance.paging import page_of
from governance.roles import Capability, user_can
from monitoring import alert_pages, alert_selectors
from monitoring.alert_forms import CommentForm, SilenceForm
from monitoring.filters import AlertPageFilter
from monitoring.models import Alert
from monitoring.notify.selectors import alert_deliveries
from monitoring.services.alerts import alert_acknowledge, alert_silence, alert_unsilence

PAGE_SIZE = 25


@page_requires(Capability.READ)
@require_GET
def alert_list(request: HttpRequest) -> HttpResponse:
    """Unresolved alerts, most urgent first, filtered as the API filters them."""
    # The form sends "any" as an empty value: left out, as the API takes it.
    given = {name: value for name, value in request.GET.items() if value != "" and name != "page"}
    found = AlertPageFilter(given, queryset=alert_selectors.alert_page_list())
    rows = found.qs if found.is_valid() else Alert.objects.none()
    page = page_of(rows, request.GET.get("page"), PAGE_SIZE)
    return render(
        request,
        "monitoring/alert_list.html",
        {
            "filter": found,
            "page": page,
            "alerts": list(page.object_list),
            "statuses": AlertPageFilter.STATUSES,
            "severities": Alert.Severity.choices,
            "can_manage": user_can(request.user, Capability.MANAGE_ALERTS),
        },
    )


@page_requires(Capability.READ)
@require_GET
def alert_detail(request: HttpRequest, alert_id: int) -> HttpResponse:
    """One alert: its facts and rule, where it came from, whom it told, what was done."""
    return _detail_page(request, alert_selectors.alert_page_get(alert_id=alert_id), SilenceForm())


def _detail_page(
    request: HttpRequest, alert: Alert, silence_form: SilenceForm, status: int = 200
) -> HttpResponse:
    can_manage = user_can(request.user, Capability.MANAGE_ALERTS)
    unresolved = alert.state != "resolved"
    return render(
        request,
        "monitoring/alert_detail.html",
        {
            "alert": alert,
            "model": alert.model,
            "rule_items": sorted(alert.rule.items()) if isinstance(alert.rule, dict) else [],
            "deliveries": list(alert_deliveries(alert=alert)),
            "history": alert_pages.history_entries(alert_selectors.alert_history(alert=alert)),
            "can_manage": can_manage,
            "can_acknowledge": can_manage and unresolved and alert.acknowledged_at is None,
            "can_silence": can_manage and unresolved,
            "can_unsilence": can_manage and alert.state == "silenced",
            "silence_form": silence_form,
        },
        status=status,
    )


def _back(request: HttpRequest, alert_id: int) -> HttpResponse:
    """To the page the form was on (the list keeps its filters), else to the alert."""
    after = request.POST.get("next", "")
    if after.startswith("/alerts/") and url_has_allowed_host_and_scheme(
        after, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return redirect(after)
    return redirect("monitoring:alert", alert_id=alert_id)


def _act(
    request: HttpRequest,
    alert_id: int,
    form: forms.Form,
    act: Callable[[dict[str, Any]], Alert],
    done: Callable[[Alert], str],
) -> HttpResponse:
    """Call the service with the form's values, say how it went, go back."""
    if not form.is_valid():
        problems = "; ".join(f"{name}: {' '.join(errs)}" for name, errs in form.errors.items())
        messages.error(request, f"Nothing was changed. {problems}")
        return _back(request, alert_id)
    try:
        alert = act(form.cleaned_data)
    except ApplicationError as error:
        extra = "; ".join(
            f"{name}: {' '.join(map(str, errs))}"
            for name, errs in (error.extra or {}).items()
            if isinstance(errs, list)
        )
        messages.error(request, f"Nothing was changed. {error.detail} {extra}".strip())
    else:
        messages.success(request, done(alert))
    return _back(request, alert_id)


@page_requires(Capability.MANAGE_ALERTS)
@require_POST
def alert_acknowledge_view(request: HttpRequest, alert_id: int) -> HttpResponse:
    alert_selectors.alert_get(alert_id=alert_id)  # 404 before anything else
    return _act(
        request,
        alert_id,
        CommentForm(request.POST),
        lambda data: alert_acknowledge(
            actor=request.user, alert_id=alert_id, comment=data["comment"]
        ),
        lambda alert: f"Alert #{alert.pk} acknowledged.",
    )


@page_requires(Capability.MANAGE_ALERTS)
@require_POST
def alert_silence_view(request: HttpRequest, alert_id: int) -> HttpResponse:
    """A silence the form refuses is shown again on the alert's page with its errors (400)."""
    alert = alert_selectors.alert_page_get(alert_id=alert_id)
    form = SilenceForm(request.POST)
    if not form.is_valid():
        return _detail_page(request, alert, form, status=400)
    return _act(
        request,
        alert_id,
        form,
        lambda data: alert_silence(
            actor=request.user, alert_id=alert_id, until=data["ends_at"], reason=data["reason"]
        ),
        lambda alert: (
            f"Alert #{alert.pk} silenced until "
            f"{localtime(alert.silenced_until):%Y-%m-%d %H:%M %Z}: "
            "no notifications or incidents from it until then."
        ),
    )


@page_requires(Capability.MANAGE_ALERTS)
@require_POST
def alert_unsilence_view(request: HttpRequest, alert_id: int) -> HttpResponse:
    alert_selectors.alert_get(alert_id=alert_id)
    return _act(
        request,
        alert_id,
        CommentForm(request.POST),
        lambda data: alert_unsilence(
            actor=request.user, alert_id=alert_id, comment=data["comment"]
        ),
        lambda alert: f"Alert #{alert.pk} unsilenced: its next breach notifies.",
    )
