"""What people do with alerts (acknowledge, silence, unsilence) and the sweep that ends
silences whose time has passed; monitoring/services/alerts.py evaluates the rules and
re-exports these."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from governance.errors import Conflict, InvalidInput, NotFound
from governance.history import set_change_reason
from governance.roles import Capability
from governance.services import audit_record, require
from monitoring.models import Alert
from monitoring.services.alert_incidents import alert_incident_note

# A silence longer than this is a rule that should be changed, not an alert to mute.
MAX_SILENCE = timedelta(days=365)


def audit_alert(alert: Alert, action: str, actor: Any = None, **data: Any) -> None:
    audit_record(
        action=f"alert.{action}",
        object_type="alert",
        object_id=alert.pk,
        data={
            "model": alert.model.name,
            "version": alert.version.version,
            "metric": alert.metric,
            "rule_key": alert.rule_key,
            "status": alert.status,
            **data,
        },
        actor=actor,
    )


def _lock(alert_id: int) -> Alert:
    try:
        return (
            Alert.objects.select_for_update(of=("self",))
            .select_related("model", "version", "incident")
            .get(pk=alert_id)
        )
    except (Alert.DoesNotExist, ValueError, TypeError):
        raise NotFound(f"No alert #{alert_id}.") from None


def _not_resolved(alert: Alert, verb: str) -> None:
    if alert.status == Alert.Status.RESOLVED:
        raise Conflict(f"Alert #{alert.pk} is resolved; a resolved alert cannot be {verb}.")


@transaction.atomic
def alert_acknowledge(*, actor: Any, alert_id: int, comment: str = "") -> Alert:
    """Someone has seen it and is on it; said once, with an optional comment."""
    require(actor, Capability.MANAGE_ALERTS, "acknowledge alerts")
    alert = _lock(alert_id)
    _not_resolved(alert, "acknowledged")
    if alert.acknowledged_at is not None:
        raise Conflict(
            f"Alert #{alert.pk} was acknowledged by {alert.acknowledged_by} at "
            f"{alert.acknowledged_at.isoformat()}."
        )
    alert.acknowledged_at, alert.acknowledged_by = timezone.now(), actor
    said = f": {comment.strip()}" if comment.strip() else ""
    set_change_reason(alert, f"acknowledged{said}")
    alert.save(update_fields=["acknowledged_at", "acknowledged_by"])
    audit_alert(alert, "acknowledged", actor, comment=comment.strip())
    alert_incident_note(
        alert=alert,
        kind="alert_acknowledged",
        message=comment.strip() or f"Alert #{alert.pk} acknowledged by {actor.username}.",
        actor=actor,
    )
    return alert


def silence_problems(until: Any, reason: Any, now: datetime) -> dict[str, list[str]]:
    """What is wrong with a silence, by field (the API and the admin show the same)."""
    problems: dict[str, list[str]] = {}
    if not isinstance(until, datetime) or timezone.is_naive(until):
        problems["until"] = ["A date and time with a time zone (e.g. 2026-12-03T09:00:00Z)."]
    elif until <= now:
        problems["until"] = ["Must lie in the future."]
    elif until - now > MAX_SILENCE:
        problems["until"] = [f"A silence lasts at most {MAX_SILENCE.days} days."]
    if not isinstance(reason, str) or not reason.strip():
        problems["reason"] = ["This field may not be blank."]
    return problems


@transaction.atomic
def alert_silence(*, actor: Any, alert_id: int, until: datetime, reason: str) -> Alert:
    """No notifications and no incidents from this alert until `until` (it still counts
    breaches and resolves itself); silencing a silenced alert replaces its silence."""
    require(actor, Capability.MANAGE_ALERTS, "silence alerts")
    problems = silence_problems(until, reason, timezone.now())
    if problems:
        raise InvalidInput("The silence is not valid.", extra=problems)
    alert = _lock(alert_id)
    _not_resolved(alert, "silenced")
    alert.status = Alert.Status.SILENCED
    alert.silenced_until, alert.silence_reason = until, reason.strip()
    alert.silenced_by = actor
    set_change_reason(alert, f"silenced until {until.isoformat()}: {alert.silence_reason}")
    alert.save(update_fields=["status", "silenced_until", "silence_reason", "silenced_by"])
    audit_alert(alert, "silenced", actor, until=until.isoformat(), reason=alert.silence_reason)
    alert_incident_note(
        alert=alert,
        kind="alert_silenced",
        message=f"Alert #{alert.pk} silenced until {until.isoformat()}: {alert.silence_reason}",
        actor=actor,
    )
    return alert


@transaction.atomic
def alert_unsilence(*, actor: Any, alert_id: int, comment: str = "") -> Alert:
    """End a silence now: the alert is open again (its next breach notifies)."""
    require(actor, Capability.MANAGE_ALERTS, "unsilence alerts")
    alert = _lock(alert_id)
    if alert.status != Alert.Status.SILENCED:
        raise Conflict(f"Alert #{alert.pk} is {alert.status}, not silenced.")
    alert.status, alert.silenced_until = Alert.Status.OPEN, timezone.now()
    said = f": {comment.strip()}" if comment.strip() else ""
    set_change_reason(alert, f"unsilenced{said}")
    alert.save(update_fields=["status", "silenced_until"])
    audit_alert(alert, "unsilenced", actor, comment=comment.strip())
    alert_incident_note(
        alert=alert,
        kind="alert_unsilenced",
        message=comment.strip() or f"Alert #{alert.pk} unsilenced by {actor.username}.",
        actor=actor,
    )
    return alert


def expire_silence(alert: Alert) -> None:
    alert.status = Alert.Status.OPEN
    set_change_reason(alert, "silence ended")
    alert.save(update_fields=["status"])
    audit_alert(alert, "silence_expired", until=alert.silenced_until.isoformat())


def alert_silences_expire(*, now: datetime | None = None) -> int:
    """Store `open` on every silenced alert whose time has passed; returns how many. One
    short transaction per alert: it never holds one alert's lock while waiting for
    another's (an evaluation may hold several)."""
    now = now or timezone.now()
    due = Alert.objects.filter(status=Alert.Status.SILENCED, silenced_until__lte=now)
    count = 0
    for alert_id in due.order_by("pk").values_list("pk", flat=True):
        with transaction.atomic():
            alert = _lock(alert_id)
            if alert.status_at(now) != alert.status:
                expire_silence(alert)
                count += 1
    return count
