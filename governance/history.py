"""django-simple-history wiring: every governed model's history row carries who and from where."""

from __future__ import annotations

from typing import Any

from django.db import models
from simple_history.models import HistoricalRecords

from governance.audit_context import Origin, current_audit_context


class HistoryOrigin(models.Model):
    """Abstract base of every historical model: adds the origin of the change."""

    history_origin = models.CharField(
        max_length=16, choices=Origin.choices, default=Origin.SYSTEM, db_index=True
    )

    class Meta:
        abstract = True


def history_user(instance: Any = None, request: Any = None, **kwargs: Any) -> Any:
    return current_audit_context().acting_user()


def governed_history(**kwargs: Any) -> HistoricalRecords:
    """HistoricalRecords for a governed model, with user and origin from the audit context."""
    return HistoricalRecords(bases=[HistoryOrigin], get_user=history_user, **kwargs)


def set_change_reason(instance: models.Model, reason: str) -> None:
    """The reason stored with the next history row of `instance` (read by simple-history)."""
    instance._change_reason = reason  # type: ignore[attr-defined]
