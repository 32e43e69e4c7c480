"""Canary gates: measure the canary against production on one window, and give a verdict.

This module only reads; `monitoring.services.canary_decide` acts on the verdict (promote the
canary, or stop it and open an incident). Every statistic is computed by the database
(aggregates, and one ordered two-row slice for the p95), so a busy window costs the
database a scan and a sort, never a Python loop over its rows.

The window is the last `window_minutes` up to now, the same for both versions. Only calls
served here count (logged calls of models served elsewhere are not split by slot).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db import connections, models
from django.db.models import Count, Max, Min, Q, QuerySet
from django.db.models.fields.json import KeyTextTransform
from django.utils import timezone

from models_registry.models import ModelVersion, Prediction, RegisteredModel
from monitoring.models import CanaryGates, GroundTruth

GATE_FIELDS = (
    "window_minutes",
    "min_requests",
    "max_error_rate_increase",
    "max_latency_ratio",
    "max_quality_drop",
    "max_fairness_gap",
    "min_labelled",
)

# A prediction at or above this is the positive class (binary classifiers output P(y=1)).
POSITIVE_THRESHOLD = 0.5

# Measured values equal to their threshold pass ("at most"), whatever the float rounding.
TOLERANCE = 1e-9
# A group this small says more about chance than about the model: it takes no part in the
# fairness gap (so a handful of calls cannot roll a canary back on its own).
MIN_GROUP_CALLS = 10


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
class SlotMeasurement:
    """What one version did in the window."""

    version: int
    requests: int
    errors: int
    error_rate: float | None
    p95_latency_ms: float | None
    labelled: int
    binary_labels: bool
    accuracy: float | None


@dataclass(frozen=True)
class GroupRates:
    """Positive-prediction rate per value of one protected attribute, on the canary."""

    attribute: str
    groups: dict[str, dict[str, float]]
    gap: float
    highest: str
    lowest: str


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


def window_rows(
    *, model: RegisteredModel, version: ModelVersion, start: datetime, end: datetime
) -> QuerySet[Prediction]:
    """Calls served by `version` in (start, end]; uses the (version, occurred_at) index."""
    return Prediction.objects.filter(
        model=model,
        version=version,
        source=Prediction.Source.SERVED,
        occurred_at__gt=start,
        occurred_at__lte=end,
    )


ANSWERED = Q(error="", prediction__isnull=False)


def _p95(rows: QuerySet[Prediction], timed: int) -> float | None:
    """The 95th percentile of latency_ms, interpolated as numpy.percentile does by default."""
    if timed == 0:
        return None
    position = (timed - 1) * 0.95
    lower = math.floor(position)
    values = list(
        rows.filter(latency_ms__isnull=False)
        .order_by("latency_ms")
        .values_list("latency_ms", flat=True)[lower : lower + 2]
    )
    if len(values) == 1:
        return values[0]
    return values[0] + (values[1] - values[0]) * (position - lower)


def _labelled_totals(rows: QuerySet[Prediction]) -> tuple[int, int, int]:
    """(labelled, non-binary labels, correct) of the answered calls among `rows`.

    GroundTruth has no relation to Prediction that the ORM could join on, and a correlated
    subquery looks a label up per row; a plain join on (model, request_id) lets the database
    hash-join instead (ten times faster on a million-call window).
    """
    answered = rows.filter(ANSWERED).order_by().values("model_id", "request_id", "prediction")
    sql, params = answered.query.get_compiler(using=rows.db).as_sql()
    connection = connections[rows.db]
    truth = connection.ops.quote_name(GroundTruth._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT COUNT(*), "
            "COALESCE(SUM(CASE WHEN g.label IN (0, 1) THEN 0 ELSE 1 END), 0), "
            "COALESCE(SUM(CASE WHEN (g.label = 1 AND p.prediction >= %s) "
            "OR (g.label = 0 AND p.prediction < %s) THEN 1 ELSE 0 END), 0) "
            f"FROM ({sql}) p JOIN {truth} g "
            "ON g.model_id = p.model_id AND g.request_id = p.request_id",
            [POSITIVE_THRESHOLD, POSITIVE_THRESHOLD, *params],
        )
        labelled, non_binary, correct = cursor.fetchone()
    return int(labelled), int(non_binary), int(correct)


def slot_measure(
    *, model: RegisteredModel, version: ModelVersion, start: datetime, end: datetime
) -> SlotMeasurement:
    """Requests, errors, p95 latency and, joined with ground truth, accuracy of one version."""
    rows = window_rows(model=model, version=version, start=start, end=end)
    totals = rows.aggregate(
        requests=Count("pk"),
        errors=Count("pk", filter=~Q(error="")),
        timed=Count("latency_ms"),
    )
    labelled, non_binary, correct = _labelled_totals(rows)
    requests, binary = totals["requests"], non_binary == 0
    return SlotMeasurement(
        version=version.version,
        requests=requests,
        errors=totals["errors"],
        error_rate=totals["errors"] / requests if requests else None,
        p95_latency_ms=_p95(rows, totals["timed"]),
        labelled=labelled,
        binary_labels=binary,
        accuracy=correct / labelled if labelled and binary else None,
    )


def group_rates(*, rows: QuerySet[Prediction], attribute: str) -> GroupRates | None:
    """Positive-prediction rate per group of `attribute`; None unless two groups appear."""
    per_group = (
        rows.filter(ANSWERED)
        .annotate(group=KeyTextTransform(attribute, "features"))
        .filter(group__isnull=False)
        .values("group")
        .annotate(
            calls=Count("pk"), positives=Count("pk", filter=Q(prediction__gte=POSITIVE_THRESHOLD))
        )
        .order_by("group")
    )
    groups = {
        str(row["group"]): {
            "calls": row["calls"],
            "positive_rate": row["positives"] / row["calls"],
        }
        for row in per_group
        if row["calls"] >= MIN_GROUP_CALLS
    }
    if len(groups) < 2:
        return None
    highest = max(groups, key=lambda g: groups[g]["positive_rate"])
    lowest = min(groups, key=lambda g: groups[g]["positive_rate"])
    gap = groups[highest]["positive_rate"] - groups[lowest]["positive_rate"]
    return GroupRates(attribute=attribute, groups=groups, gap=gap, highest=highest, lowest=lowest)


def _exceeds(value: float, threshold: float) -> bool:
    return value > threshold + TOLERANCE


def _check(gate: str, value: float, threshold: float, detail: str) -> GateCheck:
    status = CheckStatus.FAILED if _exceeds(value, threshold) else CheckStatus.PASSED
    return GateCheck(gate=gate, status=status, value=value, threshold=threshold, detail=detail)


def _not_measured(gate: str, threshold: float, why: str) -> GateCheck:
    return GateCheck(
        gate=gate, status=CheckStatus.NOT_MEASURED, value=None, threshold=threshold, detail=why
    )


def _pct(rate: float) -> str:
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
        f"error rate {_pct(canary_rate)} on the canary vs {_pct(production_rate)} "
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
