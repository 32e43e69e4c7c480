"""Reads of the flags people raise on predictions, for the API, pages, rules and summaries.

A flag counts in the window it was raised in (start < created_at <= end, as windows of the
inference log count calls), whenever its prediction was made: what a window says is what
people reported in it. `flags_summary` is the one count per reason that the monitoring
page, and later the board's agendas and weekly summaries, show.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, QuerySet

from models_registry.models import ModelVersion, Prediction, RegisteredModel
from monitoring.models import PredictionFlag


@dataclass(frozen=True)
class FlagsSummary:
    """The flags of one model raised in (start, end], by reason, beside its predictions."""

    model: str
    start: datetime
    end: datetime
    by_reason: dict[str, int]  # every reason, in PredictionFlag.Reason order, 0 when none
    flags: int
    flagged_predictions: int  # distinct request ids among the flags
    predictions: int  # the model's predictions (served and logged) made in the window

    @property
    def flag_rate(self) -> float | None:
        """Flags per prediction of the window; None without predictions."""
        return self.flags / self.predictions if self.predictions else None

    def as_dict(self) -> dict[str, object]:
        return {
            "model": self.model,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "by_reason": dict(self.by_reason),
            "flags": self.flags,
            "flagged_predictions": self.flagged_predictions,
            "predictions": self.predictions,
            "flag_rate": self.flag_rate,
        }


def flag_list() -> QuerySet[PredictionFlag]:
    """Every flag, newest first, with what the API and admin show of it."""
    return PredictionFlag.objects.select_related("model", "version", "flagged_by", "resolved_by")


def flags_raised(*, version: ModelVersion, start: datetime, end: datetime) -> int:
    """Flags raised in (start, end] on predictions of `version` (the `flags` window metric)."""
    return PredictionFlag.objects.filter(
        version=version, created_at__gt=start, created_at__lte=end
    ).count()


def flags_summary(*, model: RegisteredModel, start: datetime, end: datetime) -> FlagsSummary:
    """Flags of `model` raised in (start, end], per reason, and the window's predictions."""
    flags = PredictionFlag.objects.filter(model=model, created_at__gt=start, created_at__lte=end)
    counts = dict(
        flags.order_by().values("reason").annotate(n=Count("pk")).values_list("reason", "n")
    )
    by_reason = {reason: counts.get(reason, 0) for reason in PredictionFlag.Reason.values}
    flagged = flags.order_by().values("request_id").distinct().count()
    predictions = Prediction.objects.filter(
        model=model, occurred_at__gt=start, occurred_at__lte=end
    ).count()
    return FlagsSummary(
        model=model.name,
        start=start,
        end=end,
        by_reason=by_reason,
        flags=sum(by_reason.values()),
        flagged_predictions=flagged,
        predictions=predictions,
    )
