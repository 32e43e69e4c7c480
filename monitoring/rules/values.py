"""Where a rule's metric comes from: a check run's named metrics, or a window measurement.

Both become a MetricValues: numbers by name plus the sample counts a rule's `min_samples`
is held against (rows of the window, or labelled rows for quality metrics). A rule names a
built-in metric (`drift_share`, `f1`, `demographic_parity_difference.gender`,
`error_rate`) or one of the config's `metrics:` names (an alias, computed from the built-in
ones by MonitoringSettings.aliases, as the check stored it).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime

from models_registry.models import ModelVersion, RegisteredModel
from monitoring.config import MonitoringSettings
from monitoring.config_document import (
    FAIRNESS_MEASURES,
    METRIC_TYPES,
    alias_target,
    metric_direction,
    metric_kind,
)
from monitoring.flag_selectors import flags_raised
from monitoring.models import CheckRun
from monitoring.windows import SlotMeasurement, slot_measure

WINDOW = "window"


@dataclass(frozen=True)
class MetricValues:
    """The numbers one evaluation reads, and how many rows (labelled rows) they rest on."""

    kind: str  # the check kind, or "window"
    values: Mapping[str, float | None]
    rows: int | None
    labelled: int | None
    source: str  # "drift check #12", "window 10:00-11:00"
    check_run: CheckRun | None = None
    window: tuple[datetime, datetime] | None = None

    def samples_for(self, target: str | None) -> int | None:
        return self.labelled if samples_basis(target) == "labelled rows" else self.rows


def samples_basis(target: str | None) -> str:
    """What `min_samples` counts: labelled rows for quality metrics (they need ground
    truth), rows otherwise."""
    return "labelled rows" if target and metric_kind(target) == "quality" else "rows"


def metric_target(metric: str, settings: MonitoringSettings | None) -> str | None:
    """The built-in metric a rule's metric stands for (an alias's target), or None."""
    for entry in settings.metrics if settings else []:
        if entry["name"] == metric:
            return alias_target(entry)
    return metric if metric_kind(metric) is not None else None


def rule_kind(metric: str, settings: MonitoringSettings | None) -> str | None:
    """What produces the metric: a check kind, "window", "any" (`rows`), or None."""
    for entry in settings.metrics if settings else []:
        if entry["name"] == metric:
            return METRIC_TYPES[entry["type"]][0]
    return metric_kind(metric)


def applies_to(metric: str, settings: MonitoringSettings | None, kind: str) -> bool:
    produced_by = rule_kind(metric, settings)
    return produced_by == kind or (produced_by == "any" and kind != WINDOW)


def metric_value(
    metric: str, values: MetricValues, settings: MonitoringSettings | None
) -> float | None:
    """The metric's value among `values`; None when this evaluation did not produce it."""
    if metric in values.values:
        return values.values[metric]
    if settings is not None and any(entry["name"] == metric for entry in settings.metrics):
        return settings.aliases(values.kind, dict(values.values)).get(metric)
    head, _, rest = metric.partition(".")
    if head in FAIRNESS_MEASURES and rest == "*":
        return _worst_of_family(head, values.values)
    return None


def _worst_of_family(measure: str, values: Mapping[str, float | None]) -> float | None:
    """`demographic_parity_difference.*`: the worst attribute (highest difference, lowest
    ratio)."""
    prefix = f"{measure}."
    found = [v for name, v in values.items() if name.startswith(prefix) and v is not None]
    if not found:
        return None
    return min(found) if metric_direction(measure) == "lower_is_worse" else max(found)


def run_values(run: CheckRun) -> MetricValues:
    """A finished run's CheckMetric rows (the built-in names and the aliases it stored)."""
    return MetricValues(
        kind=run.kind,
        values=dict(run.metrics.values_list("name", "value")),
        rows=run.current_rows,
        labelled=run.labelled_rows,
        source=f"{run.kind} check #{run.pk}",
        check_run=run,
        window=(run.window_start, run.window_end),
    )


def window_values(
    *,
    model: RegisteredModel,
    version: ModelVersion,
    start: datetime,
    end: datetime,
    served_only: bool = True,
) -> MetricValues:
    """Error rate, p95 latency and volume of the calls of `version` in (start, end], as
    monitoring/windows.py measures them (and accuracy on the labelled ones): calls served
    here (the canary's view), or with `served_only=False` logged calls too (alert rules);
    and the flags people raised on the version's predictions in the window."""
    slot = slot_measure(model=model, version=version, start=start, end=end, served_only=served_only)
    return with_flags(slot_values(slot, start=start, end=end), version=version)


def with_flags(values: MetricValues, *, version: ModelVersion) -> MetricValues:
    """`values` of a window plus `flags` (raised in it on `version`'s predictions) and
    `flag_rate` (flags per call of the window; None without calls)."""
    start, end = values.window
    flags = flags_raised(version=version, start=start, end=end)
    rate = flags / values.rows if values.rows else None
    return replace(values, values={**values.values, "flags": float(flags), "flag_rate": rate})


def slot_values(slot: SlotMeasurement, *, start: datetime, end: datetime) -> MetricValues:
    """One version's window measurement as the values a rule reads."""
    return MetricValues(
        kind=WINDOW,
        values={
            "error_rate": slot.error_rate,
            "p95_latency_ms": slot.p95_latency_ms,
            "prediction_volume": float(slot.requests),
            "accuracy": slot.accuracy,
            "labelled": float(slot.labelled),
        },
        rows=slot.requests,
        labelled=slot.labelled,
        source=f"window {start.isoformat()} - {end.isoformat()}",
        window=(start, end),
    )
