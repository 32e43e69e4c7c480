"""Canary gates: measure the canary against production on one window, and give a verdict.

This module only reads; `monitoring.services.canary_decide` acts on the verdict (promote the
canary, or stop it and open an incident). The measurements come from monitoring/windows.py,
computed by the database.

The window is the last `window_minutes` up to now, the same for both versions.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db import models
from django.db.models import Max, Min, QuerySet
from django.utils import timezone

from models_registry.models import ModelVersion, Prediction, RegisteredModel
from monitoring.models import CanaryGates
from monitoring.windows import (
    ANSWERED,
    GroupRates,
    SlotMeasurement,
    group_rates,
    slot_measure,
    window_rows,
)

GATE_FIELDS = (
    "window_minutes",
    "min_requests",
    "max_error_rate_increase",
    "max_latency_ratio",
    "max_quality_drop",
    "max_fairness_gap",
    "min_labelled",
)

# Measured values equal to their threshold pass ("at most"), whatever the float rounding.
TOLERANCE = 1e-9


class Verdict(models.TextChoices):
    WAIT = "wait", "Not enough canary calls yet"
    PASS = "pass", "Passed its gates"
    FAIL = "fail", "Failed a gate"


class Gate(models.TextChoices):
    ERROR_RATE = "error_rate", "Error rate increase"
    LATENCY = "latency", "p95 latency ratio"
    QUALITY = "quality", "Accuracy drop"
    FAIRNESS = "fairness", "Fairness gap"


class CheckStatus(models.TextChoices):
    PASSED = "passed", "Passed"
    FAILED = "failed", "Failed"
    NOT_MEASURED = "not_measured", "Not measured"


@dataclass(frozen=True)
class GateCheck:
    gate: str
    status: str
    value: float | None
    threshold: float
    detail: str


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


def gates_for(model: RegisteredModel) -> CanaryGates:
    """The model's gates, or an unsaved row holding the defaults."""
    return CanaryGates.objects.filter(model=model).first() or CanaryGates(model=model)


def _exceeds(value: float, threshold: float) -> bool:
    return value > threshold + TOLERANCE


def _check(gate: str, value: float, threshold: float, detail: str) -> GateCheck:
    status = CheckStatus.FAILED if _exceeds(value, threshold) else CheckStatus.PASSED
    return GateCheck(gate=gate, status=status, value=value, threshold=threshold, detail=detail)


def _not_measured(gate: str, threshold: float, why: str) -> GateCheck:
    return GateCheck(
        gate=gate, status=CheckStatus.NOT_MEASURED, value=None, threshold=threshold, detail=why
    )


def percent(rate: float) -> str:
    return f"{rate * 100:.2f}%"


def check_error_rate(
    canary: SlotMeasurement, production: SlotMeasurement, gates: CanaryGates
) -> GateCheck:
    # Both versions served calls in the window (canary_evaluate waits otherwise).
    canary_rate = canary.errors / canary.requests
    production_rate = production.errors / production.requests
    increase = canary_rate - production_rate
    limit = gates.max_error_rate_increase
    return _check(
        Gate.ERROR_RATE,
        increase,
        limit,
        f"error rate {percent(canary_rate)} on the canary vs {percent(production_rate)} "
        f"on production ({increase * 100:+.2f} points, at most {limit * 100:+.2f})",
    )


def check_latency(
    canary: SlotMeasurement, production: SlotMeasurement, gates: CanaryGates
) -> GateCheck:
    limit = gates.max_latency_ratio
    if canary.p95_latency_ms is None or not production.p95_latency_ms:
        return _not_measured(Gate.LATENCY, limit, "no latency recorded for one of the versions")
    ratio = canary.p95_latency_ms / production.p95_latency_ms
    return _check(
        Gate.LATENCY,
        ratio,
        limit,
        f"p95 latency {canary.p95_latency_ms:.1f} ms on the canary vs "
        f"{production.p95_latency_ms:.1f} ms on production (x{ratio:.2f}, at most x{limit:.2f})",
    )


def check_quality(
    canary: SlotMeasurement, production: SlotMeasurement, gates: CanaryGates
) -> GateCheck:
    limit = gates.max_quality_drop
    needed = max(gates.min_labelled, 1)
    if canary.labelled < needed or production.labelled < needed:
        return _not_measured(
            Gate.QUALITY,
            limit,
            f"{canary.labelled} labelled canary and {production.labelled} labelled production "
            f"calls, {needed} of each needed",
        )
    if canary.accuracy is None or production.accuracy is None:
        return _not_measured(Gate.QUALITY, limit, "labels are not binary (0 or 1)")
    drop = production.accuracy - canary.accuracy
    return _check(
        Gate.QUALITY,
        drop,
        limit,
        f"accuracy {canary.accuracy:.3f} on the canary vs {production.accuracy:.3f} on "
        f"production (drop {drop:.3f}, at most {limit:.3f}; {canary.labelled} and "
        f"{production.labelled} labelled calls)",
    )


def check_fairness(
    canary: SlotMeasurement,
    rows: QuerySet[Prediction],
    model: RegisteredModel,
    gates: CanaryGates,
) -> tuple[GateCheck, list[GroupRates]]:
    limit = gates.max_fairness_gap
    needed = max(gates.min_labelled, 1)
    attributes = [a for a in model.protected_attributes if isinstance(a, str) and a]
    if not attributes:
        return _not_measured(Gate.FAIRNESS, limit, "the model has no protected attributes"), []
    if canary.labelled < needed:
        why = f"{canary.labelled} labelled canary calls, {needed} needed"
        return _not_measured(Gate.FAIRNESS, limit, why), []
    bounds = rows.filter(ANSWERED).aggregate(low=Min("prediction"), high=Max("prediction"))
    if bounds["low"] is not None and (bounds["low"] < 0 or bounds["high"] > 1):
        why = "predictions are not probabilities, so there is no positive rate"
        return _not_measured(Gate.FAIRNESS, limit, why), []
    rates = [r for a in attributes if (r := group_rates(rows=rows, attribute=a)) is not None]
    if not rates:
        why = f"no protected attribute ({', '.join(attributes)}) with two groups in the features"
        return _not_measured(Gate.FAIRNESS, limit, why), []
    worst = max(rates, key=lambda r: r.gap)
    detail = (
        f"positive-rate gap {worst.gap:.3f} on the canary between {worst.attribute} "
        f"{worst.highest} ({worst.groups[worst.highest]['positive_rate']:.3f}) and "
        f"{worst.lowest} ({worst.groups[worst.lowest]['positive_rate']:.3f}), at most {limit:.3f}"
    )
    return _check(Gate.FAIRNESS, worst.gap, limit, detail), rates


def canary_evaluate(
    *,
    model: RegisteredModel,
    canary: ModelVersion,
    production: ModelVersion | None,
    gates: CanaryGates,
    now: datetime | None = None,
) -> CanaryEvaluation:
    """Measure both versions on the last `gates.window_minutes` and give the verdict."""
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
    if production_slot is None or production_slot.requests == 0:
        why = "production served no calls in the window to compare with"
        return CanaryEvaluation(verdict=Verdict.WAIT, summary=why, **base)
    rows = window_rows(model=model, version=canary, start=start, end=end)
    fairness_check, fairness = check_fairness(canary_slot, rows, model, gates)
    checks = [
        check_error_rate(canary_slot, production_slot, gates),
        check_latency(canary_slot, production_slot, gates),
        check_quality(canary_slot, production_slot, gates),
        fairness_check,
    ]
    failed = [c for c in checks if c.status == CheckStatus.FAILED]
    verdict = Verdict.FAIL if failed else Verdict.PASS
    summary = "; ".join(
        f"{c.gate} {c.status.replace('_', ' ')}: {c.detail}" for c in (failed or checks)
    )
    return CanaryEvaluation(
        verdict=verdict, summary=summary, fairness=fairness, checks=checks, **base
    )
