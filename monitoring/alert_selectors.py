"""Reads of alerts shared by the API, the admin and the services."""

from __future__ import annotations

from datetime import datetime

from django.db.models import Q, QuerySet
from django.utils import timezone

from governance.errors import NotFound
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
