"""The revalidation rule, in one place: a model's risk level, its interval and its due date.

- Risk level: the stricter of the model's risk tier and its materiality (materiality is
  the tier unless a compliance officer recorded another: reviews.ModelMateriality).
- Interval: the RevalidationPolicy of that level, else DEFAULT_INTERVAL_MONTHS.
- Due date: the last validation that passed (with or without findings), else the day the
  model was registered, plus the interval in calendar months (the 31st of a shorter
  month falls on its last day). A failed validation does not restart the clock.
- Status on a day: `overdue` once that day is past the due date, `due` when the due date
  lies within the look-ahead window, `current` otherwise.
"""

from __future__ import annotations

import calendar
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.db import models

from governance.models import RiskTier

DEFAULT_INTERVAL_MONTHS: dict[str, int] = {
    RiskTier.HIGH: 6,
    RiskTier.MEDIUM: 12,
    RiskTier.LOW: 24,
}
LEVEL_ORDER = (RiskTier.LOW, RiskTier.MEDIUM, RiskTier.HIGH)  # least strict first


class RevalidationStatus(models.TextChoices):
    CURRENT = "current", "Current"
    DUE = "due", "Due"
    OVERDUE = "overdue", "Overdue"


def stricter_level(*levels: str) -> str:
    """The strictest of the given risk levels ("low", "high" -> "high")."""
    return max(levels, key=lambda level: LEVEL_ORDER.index(RiskTier(level)))


def add_months(day: date, months: int) -> date:
    """`day` plus whole calendar months; Aug 31 + 6 months is the last day of February."""
    total = day.month - 1 + months
    year, month = day.year + total // 12, total % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


@dataclass(frozen=True)
class RevalidationState:
    """Where one model stands: what pages, API, agendas and summaries show."""

    model: Any  # RegisteredModel
    risk_tier: str
    materiality: str
    risk_level: str
    interval_months: int
    last_validated_on: date | None
    registered_on: date
    due_date: date
    status: str
    days_overdue: int  # 0 unless overdue
    days_until_due: int  # negative once overdue
    last_outcome: str | None  # of the latest validation, whatever its outcome
    last_validation_id: int | None

    @property
    def is_overdue(self) -> bool:
        return self.status == RevalidationStatus.OVERDUE

    @property
    def is_due(self) -> bool:
        return self.status == RevalidationStatus.DUE

    @property
    def last_failed(self) -> bool:
        return self.last_outcome == "failed"


def revalidation_state_compute(
    *,
    model: Any,
    materiality: str | None,
    intervals: Mapping[str, int],
    last_validated_on: date | None,
    registered_on: date,
    last_outcome: str | None,
    last_validation_id: int | None,
    as_of: date,
    within_days: int,
) -> RevalidationState:
    """The state of one model on `as_of`, from facts the selectors read."""
    materiality = materiality or model.risk_tier
    level = stricter_level(model.risk_tier, materiality)
    months = intervals.get(level, DEFAULT_INTERVAL_MONTHS[RiskTier(level)])
    due = add_months(last_validated_on or registered_on, months)
    until = (due - as_of).days
    if until < 0:
        status = RevalidationStatus.OVERDUE
    elif until <= within_days:
        status = RevalidationStatus.DUE
    else:
        status = RevalidationStatus.CURRENT
    return RevalidationState(
        model=model,
        risk_tier=model.risk_tier,
        materiality=materiality,
        risk_level=level,
        interval_months=months,
        last_validated_on=last_validated_on,
        registered_on=registered_on,
        due_date=due,
        status=status,
        days_overdue=max(0, -until),
        days_until_due=until,
        last_outcome=last_outcome,
        last_validation_id=last_validation_id,
    )
