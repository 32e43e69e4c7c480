"""Canary gates: measure the canary against production on one window, and give a verdict.

The gates are rules of the one rule engine (monitoring/rules/): a preset evaluated on one
window, the canary's values against production's as the baseline (the defaults and what a
gate may say: monitoring/canary_defaults.py, monitoring/services/canary_gates.py). This
module only reads; `monitoring.services.canary_decide` acts on the verdict (promote the
canary, or stop it and open an incident). The measurements come from monitoring/windows.py,
computed by the database.

The window is the last `window_minutes` up to now, the same for both versions.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from django.db import models
from django.utils import timezone

from models_registry.models import ModelVersion, RegisteredModel
from monitoring.canary_defaults import FAIRNESS_FAMILY, gate_name
from monitoring.config_document import SEVERITIES
from monitoring.models import CanaryGates
from monitoring.rules import (
    Evaluation,
    MetricValues,
    Outcome,
    Rule,
    rule_evaluate,
    slot_values,
    with_flags,
)
from monitoring.windows import (
    GroupRates,
    SlotMeasurement,
    positive_rate_gaps,
    slot_measure,
    window_rows,
)

GATE_FIELDS = ("window_minutes", "min_requests", "rules")


class Verdict(models.TextChoices):
    WAIT = "wait", "Not enough canary calls yet"
    PASS = "pass", "Passed its gates"
    FAIL = "fail", "Failed a gate"


class CheckStatus(models.TextChoices):
    PASSED = "passed", "Passed"
    FAILED = "failed", "Failed"
    NOT_MEASURED = "not_measured", "Not measured"


STATUS_OF = {
    Outcome.BREACH: CheckStatus.FAILED,
    Outcome.CLEAN: CheckStatus.PASSED,
    Outcome.SKIPPED: CheckStatus.NOT_MEASURED,
}


@dataclass(frozen=True)
class GateCheck:
    """One gate (a rule) on the window: `value` is what was compared with `threshold`
    (for a relative gate, the canary's `measured` against production's `baseline`)."""

    gate: str
    status: str
    value: float | None
    threshold: float
    detail: str
    metric: str
    comparison: str
    relative: str | None
    measured: float | None
    baseline: float | None
    severity: str


@dataclass(frozen=True)
class CanaryEvaluation:
    """The canary against production on one window: measurements, checks and the verdict."""

    model: RegisteredModel
    canary: ModelVersion
    production: ModelVersion | None
    gates: CanaryGates
    window_start: datetime
    window_end: datetime
    verdict: str
    summary: str
    canary_slot: SlotMeasurement
    production_slot: SlotMeasurement | None
    fairness: list[GroupRates] = field(default_factory=list)
    checks: list[GateCheck] = field(default_factory=list)

    @property
    def failed_gates(self) -> list[str]:
        return [c.gate for c in self.checks if c.status == CheckStatus.FAILED]

    @property
    def severity(self) -> str:
        """The highest severity among the failed gates (critical unless edited)."""
        failed = [c.severity for c in self.checks if c.status == CheckStatus.FAILED]
        return max(failed, key=SEVERITIES.index, default="critical")

    def as_dict(self) -> dict[str, Any]:
        """JSON-safe: the API's body, and the details of the incident a failure opens."""
        return {
            "model": self.model.name,
            "canary_version": self.canary.version,
            "production_version": self.production.version if self.production else None,
            "canary_traffic": self.model.canary_traffic,
            "verdict": self.verdict,
            "summary": self.summary,
            "failed_gates": self.failed_gates,
            "window_start": self.window_start.isoformat(),
            "window_end": self.window_end.isoformat(),
            "canary": asdict(self.canary_slot),
            "production": asdict(self.production_slot) if self.production_slot else None,
            "checks": [asdict(check) for check in self.checks],
            "fairness": [asdict(rates) for rates in self.fairness],
            "gates": {
                "configured": self.gates.pk is not None,
                **{name: getattr(self.gates, name) for name in GATE_FIELDS},
            },
        }


def percent(rate: float) -> str:
    return f"{rate * 100:.2f}%"


def gates_for(model: RegisteredModel) -> CanaryGates:
    """The model's gates, or an unsaved row holding the defaults."""
    return CanaryGates.objects.filter(model=model).first() or CanaryGates(model=model)


def _measure(
    model: RegisteredModel,
    version: ModelVersion,
    slot: SlotMeasurement,
    window: tuple[datetime, datetime],
    *,
    fairness: bool,
) -> tuple[MetricValues, list[GroupRates], str | None]:
    """The window's values of one version and, if asked, its positive-rate gap per protected
    attribute (`demographic_parity_difference.<attribute>`), or why there is none."""
    start, end = window
    values = with_flags(slot_values(slot, start=start, end=end), version=version)
    if not fairness:
        return values, [], None
    rows = window_rows(model=model, version=version, start=start, end=end)
    rates, why = positive_rate_gaps(rows=rows, attributes=model.protected_attributes)
    gaps = {f"{FAIRNESS_FAMILY}{r.attribute}": r.gap for r in rates}
    return replace(values, values={**values.values, **gaps}), rates, why


LABELS = {"error_rate": "error rate", "p95_latency_ms": "p95 latency"}


def _shown(metric: str, value: float) -> str:
    if metric == "error_rate":
        return percent(value)
    if metric == "p95_latency_ms":
        return f"{value:.1f} ms"
    return f"{value:.4g}"


def _difference(metric: str, value: float) -> str:
    return f"{value * 100:+.2f} points" if metric == "error_rate" else f"{value:+.4g}"


def _skipped(evaluation: Evaluation, missing: dict[str, str]) -> str:
    """Why a gate was not measured, in the canary's words (the engine's `baseline` is
    production here)."""
    metric, reason = evaluation.rule.metric, evaluation.reason
    if evaluation.measured is None:
        return missing.get(gate_name(metric)) or f"{metric} not measured on the canary"
    if reason.startswith("baseline: "):
        return f"production: {reason.removeprefix('baseline: ')}"
    if reason.startswith("no baseline "):
        return f"production has no {metric} in the window"
    if reason.startswith("baseline "):
        return f"production's {reason.removeprefix('baseline ')}"
    return f"canary: {reason}"


def _measured(evaluation: Evaluation, rates: list[GroupRates]) -> str:
    rule, measured, metric = evaluation.rule, evaluation.measured, evaluation.rule.metric
    label = LABELS.get(metric, metric)
    canary = f"{label} {_shown(metric, measured)} on the canary"
    if rule.relative == "difference":
        text = (
            f"{canary} vs {_shown(metric, evaluation.baseline)} on production "
            f"({_difference(metric, evaluation.value)}; fails when {rule.comparison} "
            f"{_difference(metric, rule.threshold)})"
        )
    elif rule.relative == "ratio":
        text = (
            f"{canary} vs {_shown(metric, evaluation.baseline)} on production "
            f"(x{evaluation.value:.2f}; fails when {rule.comparison} x{rule.threshold:g})"
        )
    else:
        text = f"{canary} (fails when {rule.comparison} {rule.threshold:g})"
    attribute = rule.metric.removeprefix(FAIRNESS_FAMILY)
    shown = [r for r in rates if attribute in ("*", r.attribute)]
    if rule.metric.startswith(FAIRNESS_FAMILY) and shown:
        worst = max(shown, key=lambda r: r.gap)
        high, low = worst.groups[worst.highest], worst.groups[worst.lowest]
        text += (
            f": positive-rate gap {worst.gap:.3f} between {worst.attribute} {worst.highest} "
            f"({high['positive_rate']:.3f}) and {worst.lowest} ({low['positive_rate']:.3f})"
        )
    return text


def _detail(evaluation: Evaluation, rates: list[GroupRates], missing: dict[str, str]) -> str:
    if evaluation.outcome == Outcome.SKIPPED:
        return _skipped(evaluation, missing)
    return _measured(evaluation, rates)


def _missing(slot: SlotMeasurement, fairness_why: str | None) -> dict[str, str]:
    """Gate -> why the canary's window has no value for it."""
    why = {}
    if fairness_why:
        why["fairness"] = fairness_why
    if slot.labelled == 0:
        why["quality"] = "no labelled canary calls in the window"
    elif not slot.binary_labels:
        why["quality"] = "labels are not binary (0 or 1)"
    if slot.p95_latency_ms is None:
        why["latency"] = "no latency recorded for the canary's calls"
    return why


def gate_check(evaluation: Evaluation, detail: str) -> GateCheck:
    rule = evaluation.rule
    return GateCheck(
        gate=gate_name(rule.metric),
        status=STATUS_OF[evaluation.outcome],
        value=evaluation.value,
        threshold=rule.threshold,
        detail=detail,
        metric=rule.metric,
        comparison=rule.comparison,
        relative=rule.relative,
        measured=evaluation.measured,
        baseline=evaluation.baseline,
        severity=rule.severity,
    )


def canary_evaluate(
    *,
    model: RegisteredModel,
    canary: ModelVersion,
    production: ModelVersion | None,
    gates: CanaryGates,
    now: datetime | None = None,
) -> CanaryEvaluation:
    """Measure both versions on the last `gates.window_minutes` and give the verdict: every
    gate is a rule the engine evaluates on the canary's values, production's the baseline.

    A stored gate the engine cannot read raises RuleError: the canary then stays where it
    is (neither promoted nor stopped) until the gates are fixed.
    """
    rules = [Rule.from_dict({"severity": "critical", **data}) for data in gates.rules]
    end = now or timezone.now()
    start = end - timedelta(minutes=gates.window_minutes)
    canary_slot = slot_measure(model=model, version=canary, start=start, end=end)
    production_slot = (
        slot_measure(model=model, version=production, start=start, end=end)
        if production is not None
        else None
    )
    base = {
        "model": model,
        "canary": canary,
        "production": production,
        "gates": gates,
        "window_start": start,
        "window_end": end,
        "canary_slot": canary_slot,
        "production_slot": production_slot,
    }
    needed = max(gates.min_requests, 1)
    if canary_slot.requests < needed:
        why = f"{canary_slot.requests} canary calls in the window, {needed} needed"
        return CanaryEvaluation(verdict=Verdict.WAIT, summary=why, **base)
    if production is None or production_slot is None or production_slot.requests == 0:
        why = "production served no calls in the window to compare with"
        return CanaryEvaluation(verdict=Verdict.WAIT, summary=why, **base)
    window = (start, end)
    fair = [r for r in rules if r.metric.startswith(FAIRNESS_FAMILY)]
    values, fairness, missing = _measure(model, canary, canary_slot, window, fairness=bool(fair))
    baseline, _, _ = _measure(
        model, production, production_slot, window, fairness=any(r.relative for r in fair)
    )
    why = _missing(canary_slot, missing)
    checks = []
    for rule in rules:
        evaluation = rule_evaluate(rule, values, baseline=baseline)
        checks.append(gate_check(evaluation, _detail(evaluation, fairness, why)))
    failed = [c for c in checks if c.status == CheckStatus.FAILED]
    verdict = Verdict.FAIL if failed else Verdict.PASS
    summary = "; ".join(
        f"{c.gate} {c.status.replace('_', ' ')}: {c.detail}" for c in (failed or checks)
    )
    return CanaryEvaluation(
        verdict=verdict, summary=summary, fairness=fairness, checks=checks, **base
    )
