"""Reads of alerts shared by the API, the admin, the services and the alert pages."""

from __future__ import annotations

from datetime import datetime

from django.db.models import Case, CharField, IntegerField, Q, QuerySet, Value, When
from django.utils import timezone

from governance.errors import NotFound
from governance.models import AuditEvent
from monitoring.models import Alert


def alert_list() -> QuerySet[Alert]:
    return Alert.objects.select_related("model", "version", "acknowledged_by", "silenced_by")


def alert_get(*, alert_id: int) -> Alert:
    try:
        return alert_list().get(pk=alert_id)
    except (Alert.DoesNotExist, ValueError, TypeError):
        raise NotFound(f"No alert #{alert_id}.") from None


def status_is(status: str, now: datetime | None = None) -> Q:
    """Alerts whose status at `now` is `status`, as Alert.status_at decides: a silence
    whose time has passed counts as open, before a sweep has stored it."""
    now = now or timezone.now()
    expired = Q(status=Alert.Status.SILENCED, silenced_until__lte=now)
    if status == Alert.Status.OPEN:
        return Q(status=Alert.Status.OPEN) | expired
    if status == Alert.Status.SILENCED:
        return Q(status=Alert.Status.SILENCED) & ~expired
    return Q(status=status)


# What the alerts page calls each alert, most urgent first: an open alert nobody has
# acknowledged is firing; a silence whose time has passed is open again (status_is).
PAGE_STATES = ("firing", "acknowledged", "silenced", "resolved")


def alert_page_list(*, now: datetime | None = None) -> QuerySet[Alert]:
    """Alerts for the browser list, each with its `state` (PAGE_STATES) and the incident
    it joined: firing first, then acknowledged, silenced and resolved;
    within each, critical first, then the latest breach."""
    now = now or timezone.now()
    is_open = status_is(Alert.Status.OPEN, now)
    state = Case(
        When(is_open & Q(acknowledged_at__isnull=True), then=Value("firing")),
        When(is_open, then=Value("acknowledged")),
        When(status_is(Alert.Status.SILENCED, now), then=Value("silenced")),
        default=Value("resolved"),
        output_field=CharField(),
    )
    rank = Case(
        *(When(state=name, then=Value(place)) for place, name in enumerate(PAGE_STATES)),
        output_field=IntegerField(),
    )
    severity_rank = Case(
        When(severity=Alert.Severity.CRITICAL, then=Value(0)),
        When(severity=Alert.Severity.WARNING, then=Value(1)),
        default=Value(2),
        output_field=IntegerField(),
    )
    return (
        alert_list()
        .select_related("incident")
        .annotate(state=state)
        .annotate(state_rank=rank, severity_rank=severity_rank)
        .order_by("state_rank", "severity_rank", "-last_seen", "-id")
    )


def alert_page_get(*, alert_id: int) -> Alert:
    """One alert for its page: with its `state`, incident and check run (and its model)."""
    try:
        return alert_page_list().select_related("check_run").get(pk=alert_id)
    except (Alert.DoesNotExist, ValueError, TypeError):
        raise NotFound(f"No alert #{alert_id}.") from None


# The audit events that make an alert's history; its repeats and clean evaluations are
# counted on the alert (count, clean_evaluations) rather than listed one by one.
HISTORY_ACTIONS = tuple(
    f"alert.{name}"
    for name in (
        "opened",
        "incident_linked",
        "acknowledged",
        "silenced",
        "unsilenced",
        "silence_expired",
        "resolved",
    )
)
HISTORY_LIMIT = 200


def alert_history(*, alert: Alert) -> list[AuditEvent]:
    """What happened to the alert and who did it, oldest first (the newest HISTORY_LIMIT),
    as the services recorded it in the audit chain."""
    events = AuditEvent.objects.filter(
        object_type="alert", object_id=str(alert.pk), action__in=HISTORY_ACTIONS
    )
    newest = list(events.order_by("-occurred_at", "-id")[:HISTORY_LIMIT])
    return newest[::-1]
