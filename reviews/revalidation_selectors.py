"""Reads of the revalidation schedule, shared by the API, pages, admin and (later) the
board's agendas and the weekly summary.

    revalidations_due(as_of=day, within_days=30)   due and overdue models, most overdue first
    revalidation_state(model=m, as_of=day)         one model, whatever its status
    revalidation_states(as_of=day)                 every model
    validation_list(model=m)                       a model's validations, newest first
    revalidation_policy_rows()                     each risk level's interval, stored or default
    revalidation_policy_changes(limit=n)           who changed which interval or materiality,
                                                   when and why, newest first

Each answers with `RevalidationState`s (reviews/revalidation_schedule.py, which holds
the rule: risk level, interval, due date, status).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from django.db.models import OuterRef, Prefetch, Q, QuerySet, Subquery
from django.utils import timezone

from governance.errors import InvalidInput
from models_registry.models import RegisteredModel
from reviews.finding_models import Finding
from reviews.revalidation_models import ModelMateriality, RevalidationPolicy, Validation
from reviews.revalidation_schedule import (
    DEFAULT_INTERVAL_MONTHS,
    LEVEL_ORDER,
    RevalidationState,
    RevalidationStatus,
    revalidation_state_compute,
)

DEFAULT_WITHIN_DAYS = 30
MAX_WITHIN_DAYS = 3660


def revalidation_intervals() -> dict[str, int]:
    """Months between validations per risk level: the policy table over the defaults."""
    stored = dict(RevalidationPolicy.objects.values_list("risk_level", "interval_months"))
    return {
        str(level): stored.get(level, months) for level, months in DEFAULT_INTERVAL_MONTHS.items()
    }


def _day(as_of: date) -> date:
    if isinstance(as_of, datetime):  # a moment: the day it is here
        return timezone.localdate(as_of)
    return as_of


def _checked_window(within_days: int) -> int:
    if isinstance(within_days, bool) or not isinstance(within_days, int):
        raise InvalidInput(
            "within_days is a number of days.", extra={"within_days": ["Must be an integer."]}
        )
    if not 0 <= within_days <= MAX_WITHIN_DAYS:
        raise InvalidInput(
            "within_days is out of range.",
            extra={"within_days": [f"Between 0 and {MAX_WITHIN_DAYS}."]},
        )
    return within_days


def _with_validation_facts(models: QuerySet[RegisteredModel]) -> QuerySet[RegisteredModel]:
    """Each model with its last passing validation's date and its latest validation."""
    passing = Validation.objects.filter(
        model=OuterRef("pk"), outcome__in=Validation.RESETS_SCHEDULE
    ).order_by("-validated_on", "-id")
    latest = Validation.objects.filter(model=OuterRef("pk")).order_by("-validated_on", "-id")
    return models.select_related("materiality", "owner").annotate(
        last_validated_on=Subquery(passing.values("validated_on")[:1]),
        last_outcome=Subquery(latest.values("outcome")[:1]),
        last_validation_id=Subquery(latest.values("pk")[:1]),
    )


def _states(
    models: QuerySet[RegisteredModel], *, as_of: date, within_days: int
) -> list[RevalidationState]:
    as_of, within_days = _day(as_of), _checked_window(within_days)
    intervals = revalidation_intervals()
    states = []
    if "last_validated_on" not in models.query.annotations:
        models = _with_validation_facts(models)
    for model in models:
        recorded = getattr(model, "materiality", None)
        states.append(
            revalidation_state_compute(
                model=model,
                materiality=recorded.materiality if recorded else None,
                intervals=intervals,
                last_validated_on=model.last_validated_on,
                registered_on=timezone.localdate(model.created_at),
                last_outcome=model.last_outcome,
                last_validation_id=model.last_validation_id,
                as_of=as_of,
                within_days=within_days,
            )
        )
    return sorted(states, key=lambda s: (s.due_date, s.model.name))


def revalidation_states(
    *, as_of: date, within_days: int = DEFAULT_WITHIN_DAYS
) -> list[RevalidationState]:
    """Every model's revalidation state on `as_of`, earliest due date first."""
    return _states(RegisteredModel.objects.all(), as_of=as_of, within_days=within_days)


def revalidation_state(
    *, model: RegisteredModel, as_of: date, within_days: int = DEFAULT_WITHIN_DAYS
) -> RevalidationState:
    """One model's revalidation state on `as_of`."""
    found = _states(
        RegisteredModel.objects.filter(pk=model.pk), as_of=as_of, within_days=within_days
    )
    return found[0]


def revalidations_due(
    *, as_of: date, within_days: int = DEFAULT_WITHIN_DAYS, status: str | None = None
) -> list[RevalidationState]:
    """Models whose revalidation is overdue on `as_of` or due within `within_days` of it,
    most overdue first; `status` ("due" or "overdue") keeps only one of the two."""
    if status is not None and status not in (RevalidationStatus.DUE, RevalidationStatus.OVERDUE):
        raise InvalidInput(
            "Not a revalidation status.", extra={"status": ["One of: due, overdue."]}
        )
    wanted = {status} if status else {RevalidationStatus.DUE, RevalidationStatus.OVERDUE}
    as_of, within_days = _day(as_of), _checked_window(within_days)
    if status == RevalidationStatus.OVERDUE:
        within_days = 0
    candidates = _may_be_due(
        _with_validation_facts(RegisteredModel.objects.all()), as_of=as_of, within_days=within_days
    )
    states = _states(candidates, as_of=as_of, within_days=within_days)
    return [state for state in states if state.status in wanted]


def _may_be_due(
    models: QuerySet[RegisteredModel], *, as_of: date, within_days: int
) -> QuerySet[RegisteredModel]:
    """Only the models that could be due within `within_days` of `as_of`, so the rule is
    computed for those and not for every model: a model is due once its last passing
    validation (else its registration) is an interval back, and no interval is shorter
    than its number of months times 28 days. This keeps models the rule may still find
    current (it decides); it never drops one that the rule finds due."""
    shortest = min(revalidation_intervals().values())
    latest = as_of + timedelta(days=within_days - 28 * shortest)
    registered_by = timezone.make_aware(datetime.combine(latest + timedelta(days=2), time.min))
    return models.filter(
        Q(last_validated_on__lte=latest)
        | Q(last_validated_on__isnull=True, created_at__lt=registered_by)
    )


def validation_list(*, model: RegisteredModel | None = None) -> QuerySet[Validation]:
    """Validations (of one model, if given), newest first, with the findings they raised."""
    validations = Validation.objects.select_related(
        "model", "version", "validated_by"
    ).prefetch_related(Prefetch("findings", queryset=Finding.objects.order_by("id")))
    return validations.filter(model=model) if model is not None else validations


@dataclass(frozen=True)
class PolicyRow:
    """One risk level's interval as it applies now: stored (with who, when, why) or default."""

    risk_level: str
    interval_months: int
    default_months: int
    stored: RevalidationPolicy | None


def revalidation_policy_rows() -> list[PolicyRow]:
    """The risk levels, strictest first, each with the interval that applies to it."""
    stored = {p.risk_level: p for p in RevalidationPolicy.objects.select_related("updated_by")}
    return [
        PolicyRow(
            risk_level=str(level),
            interval_months=stored[level].interval_months
            if level in stored
            else DEFAULT_INTERVAL_MONTHS[level],
            default_months=DEFAULT_INTERVAL_MONTHS[level],
            stored=stored.get(level),
        )
        for level in reversed(LEVEL_ORDER)
    ]


@dataclass(frozen=True)
class PolicyChange:
    """One history row of an interval or a materiality: what it became, who, when, why."""

    kind: str  # "interval" or "materiality"
    subject: str  # the risk level, or the model's name
    value: str
    reason: str
    who: str | None
    when: datetime


def _who(row: Any) -> str | None:
    """Who made the change: the row's updated_by (the service sets it), else the history's."""
    user = row.updated_by or row.history_user
    return user.get_username() if user else None


def revalidation_policy_changes(*, limit: int = 100) -> list[PolicyChange]:
    """Interval and materiality changes (their history rows), newest first."""
    intervals = RevalidationPolicy.history.select_related("updated_by", "history_user").order_by(
        "-history_date"
    )[:limit]
    materialities = ModelMateriality.history.select_related(
        "updated_by", "history_user", "model"
    ).order_by("-history_date")[:limit]
    changes = [
        PolicyChange(
            kind="interval",
            subject=row.risk_level,
            value=f"every {row.interval_months} months",
            reason=row.reason,
            who=_who(row),
            when=row.history_date,
        )
        for row in intervals
    ] + [
        PolicyChange(
            kind="materiality",
            subject=row.model.name,
            value=row.materiality,
            reason=row.reason,
            who=_who(row),
            when=row.history_date,
        )
        for row in materialities
    ]
    return sorted(changes, key=lambda change: change.when, reverse=True)[:limit]
