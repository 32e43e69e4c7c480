"""The one place a metric is compared with a threshold. Pure: reads values, writes nothing.

An evaluation of a rule is a breach, clean, or skipped. Skipped (neither a breach nor clean:
it does not count towards `consecutive` or `clear_after`) when the metric was not produced
(not computable, another kind of check), when fewer rows than `min_samples` stand behind
it, or, for a relative rule, when the baseline has no value, rests on fewer than
`min_samples` rows itself, or is 0 for a ratio.
What a breach does over time (consecutive, alerts, auto-resolve) is the services' part:
monitoring/services/alerts.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from monitoring.config import MonitoringSettings
from monitoring.rules.definition import Rule
from monitoring.rules.values import MetricValues, metric_target, metric_value, samples_basis

# Values equal to their threshold count as equal whatever the float rounding (the canary
# gates' tolerance): 0.30000000000000004 reaches 0.3.
TOLERANCE = 1e-9


class Outcome(StrEnum):
    BREACH = "breach"
    CLEAN = "clean"
    SKIPPED = "skipped"


@dataclass(frozen=True)
class Evaluation:
    """One rule against one set of values."""

    rule: Rule
    outcome: Outcome
    value: float | None  # what was compared with the threshold
    measured: float | None  # the metric's own value (equal to `value` unless relative)
    baseline: float | None
    samples: int | None
    reason: str

    @property
    def key(self) -> str:
        return self.rule.key


def compare(value: float, comparison: str, threshold: float) -> bool:
    """True when `value comparison threshold` holds (the rule is breached)."""
    if comparison == ">=":
        return value >= threshold - TOLERANCE
    if comparison == ">":
        return value > threshold + TOLERANCE
    if comparison == "<=":
        return value <= threshold + TOLERANCE
    if comparison == "<":
        return value < threshold - TOLERANCE
    raise ValueError(f"Unknown comparison {comparison!r}.")


def rule_evaluate(
    rule: Rule,
    values: MetricValues,
    *,
    settings: MonitoringSettings | None = None,
    baseline: MetricValues | None = None,
) -> Evaluation:
    """Breach, clean or skipped, with the numbers and a sentence saying why."""
    target = metric_target(rule.metric, settings)
    measured = metric_value(rule.metric, values, settings)
    samples = values.samples_for(target)

    def result(outcome: Outcome, value: float | None, base: float | None, why: str) -> Evaluation:
        return Evaluation(rule, outcome, value, measured, base, samples, why)

    if measured is None:
        return result(Outcome.SKIPPED, None, None, f"{rule.metric} not measured")
    if rule.min_samples and (samples is None or samples < rule.min_samples):
        why = f"{samples or 0} {samples_basis(target)}, {rule.min_samples} needed"
        return result(Outcome.SKIPPED, None, None, why)
    value, base = measured, None
    if rule.relative is not None:
        base = metric_value(rule.metric, baseline, settings) if baseline is not None else None
        if base is None:
            return result(Outcome.SKIPPED, None, None, f"no baseline {rule.metric}")
        base_samples = baseline.samples_for(target)
        if rule.min_samples and (base_samples is None or base_samples < rule.min_samples):
            why = (
                f"baseline: {base_samples or 0} {samples_basis(target)}, {rule.min_samples} needed"
            )
            return result(Outcome.SKIPPED, None, base, why)
        if rule.relative == "ratio":
            if base == 0:
                return result(Outcome.SKIPPED, None, base, f"baseline {rule.metric} is 0")
            value = measured / base
        else:
            value = measured - base
    breached = compare(value, rule.comparison, rule.threshold)
    outcome = Outcome.BREACH if breached else Outcome.CLEAN
    shown = f"{rule.metric} = {measured:.6g}"
    if base is not None:
        shown += f" (baseline {base:.6g}, {rule.relative} {value:.6g})"
    verb = "breaches" if breached else "within"
    return result(outcome, value, base, f"{shown}: {verb} {rule.describe()}")
