"""Helpers for the revalidation and findings tests: a model registered some time ago,
validations and findings recorded through the services."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from django.utils import timezone

from models_registry.models import RegisteredModel
from reviews.finding_services import finding_raise
from reviews.revalidation_services import validation_record


def registered_on(model: RegisteredModel, day: date) -> RegisteredModel:
    """Pretend `model` was registered on `day` (noon, local time)."""
    moment = timezone.make_aware(datetime.combine(day, time(12)))
    RegisteredModel.objects.filter(pk=model.pk).update(created_at=moment)
    model.refresh_from_db()
    return model


def days_ago(days: int) -> date:
    return timezone.localdate() - timedelta(days=days)


def validate(model: Any, who: Any, *, outcome: str = "passed", on: date | None = None, **kw: Any):
    return validation_record(
        actor=who,
        model=model,
        scope=kw.pop("scope", "Back-test on 2026 Q3, stability and fairness by gender."),
        outcome=outcome,
        validated_on=on,
        **kw,
    )


def raise_finding(model: Any, who: Any, *, severity: str = "high", **kw: Any):
    return finding_raise(
        actor=who,
        model=model,
        title=kw.pop("title", "Recall drops for tenure under 3 months"),
        description=kw.pop("description", "Recall 0.41 on the new-customer segment."),
        severity=severity,
        **kw,
    )
