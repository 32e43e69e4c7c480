"""What the check page and the monitoring page show, read from CheckRun and CheckMetric rows.

Pure reads and shaping for templates (no writes): per-feature drift rows with their
pictures, fairness tables, and the history charts with the thresholds of the model's
alert rules (MonitoringConfig.document["alerts"]).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Q
from django.utils import timezone
from django.utils.safestring import SafeString

from governance.charts import Series, Threshold, line_chart_svg
from models_registry.models import RegisteredModel
from monitoring.drift_pictures import drift_picture_svg
from monitoring.health_charts import deployment_events
from monitoring.models import CheckMetric, CheckRun, MonitoringConfig

HISTORY_DAYS = 90
HISTORY_POINTS = 500  # per chart: the newest ones
QUALITY_CHARTED = ("accuracy", "precision", "recall", "f1", "roc_auc", "mae", "rmse", "r2")
FAIRNESS_CHARTED = ("demographic_parity_difference.", "equalized_odds_difference.")
ESTIMATION_CHARTED = (
    "estimated_accuracy",
    "realized_accuracy",
    "estimated_roc_auc",
    "realized_roc_auc",
)


def alert_thresholds(model: RegisteredModel) -> dict[str, list[float]]:
    """metric name -> thresholds of the alert rules on it (the normalized config's rules)."""
    config = MonitoringConfig.objects.filter(model=model).first()
    rules = (config.document if config else {}).get("alerts") or []
    thresholds: dict[str, list[float]] = defaultdict(list)
    for rule in rules:
        if isinstance(rule, dict) and isinstance(rule.get("threshold"), int | float):
            thresholds[str(rule.get("metric"))].append(float(rule["threshold"]))
    return thresholds


@dataclass(frozen=True)
class FeatureDrift:
    name: str
    method: str
    statistic: float | None
    threshold: float | None
    drifted: bool
    column_type: str
    picture: SafeString


def drift_features(run: CheckRun) -> list[FeatureDrift]:
    """Drifted features first, then by name."""
    features = (run.results or {}).get("features") or {}
    rows = [
        FeatureDrift(
            name=name,
            method=str(one.get("method", "")),
            statistic=one.get("statistic"),
            threshold=one.get("threshold"),
            drifted=bool(one.get("drifted")),
            column_type=str(one.get("column_type", "")),
            picture=drift_picture_svg(feature=name, picture=one.get("picture")),
        )
        for name, one in features.items()
        if isinstance(one, dict)
    ]
    return sorted(rows, key=lambda row: (not row.drifted, row.name))


@dataclass(frozen=True)
class FairnessMeasure:
    name: str
    value: float | None
    thresholds: list[float]

    @property
    def breached(self) -> bool:
        return self.value is not None and any(self.value >= t for t in self.thresholds)


@dataclass(frozen=True)
class FairnessAttribute:
    name: str
    groups: list[tuple[str, dict[str, Any]]]
    measures: list[FairnessMeasure]


FAIRNESS_MEASURES = (
    "demographic_parity_difference",
    "demographic_parity_ratio",
    "equalized_odds_difference",
)


def fairness_attributes(
    run: CheckRun, thresholds: dict[str, list[float]]
) -> list[FairnessAttribute]:
    attributes = (run.results or {}).get("attributes") or {}
    shown = []
    for name, one in sorted(attributes.items()):
        if not isinstance(one, dict):
            continue
        groups = one.get("groups") or {}
        shown.append(
            FairnessAttribute(
                name=name,
                groups=sorted((str(g), v) for g, v in groups.items() if isinstance(v, dict)),
                measures=[
                    FairnessMeasure(
                        name=measure,
                        value=one.get(measure),
                        thresholds=thresholds.get(f"{measure}.{name}", []),
                    )
                    for measure in FAIRNESS_MEASURES
                ],
            )
        )
    return shown


@dataclass(frozen=True)
class EstimatedBesideRealized:
    measure: str
    estimated: float | None
    realized: float | None


def estimation_rows(metrics: dict[str, float | None]) -> list[EstimatedBesideRealized]:
    return [
        EstimatedBesideRealized(
            measure=measure,
            estimated=metrics.get(f"estimated_{measure}"),
            realized=metrics.get(f"realized_{measure}"),
        )
        for measure in ("accuracy", "roc_auc")
        if f"estimated_{measure}" in metrics or f"realized_{measure}" in metrics
    ]


@dataclass
class Chart:
    key: str
    title: str
    svg: SafeString
    rows: list[tuple[datetime, int, str, float]] = field(default_factory=list)


def _names(charted: tuple[str, ...]) -> Q:
    """The charted metric names as a filter: exact names, and prefixes ending in a dot."""
    exact = [c for c in charted if not c.endswith(".")]
    query = Q(name__in=exact)
    for prefix in (c for c in charted if c.endswith(".")):
        query |= Q(name__startswith=prefix)
    return query


def monitoring_charts(model: RegisteredModel) -> list[Chart]:
    """Drift share, quality, fairness differences and estimated performance over time, the
    model's deployments marked."""
    now = timezone.now()
    since = now - timedelta(days=HISTORY_DAYS)
    events = deployment_events(model=model, start=since, end=now)
    thresholds = alert_thresholds(model)
    groups = (
        ("drift", "Drift share", CheckRun.Kind.DRIFT, ("drift_share",)),
        ("quality", "Quality (with ground truth)", CheckRun.Kind.QUALITY, QUALITY_CHARTED),
        ("fairness", "Fairness differences", CheckRun.Kind.FAIRNESS, FAIRNESS_CHARTED),
        (
            "estimation",
            "Estimated and realized performance",
            CheckRun.Kind.ESTIMATION,
            ESTIMATION_CHARTED,
        ),
    )
    charts = []
    for key, title, kind, charted in groups:
        history = (
            CheckMetric.objects.filter(
                _names(charted), model=model, kind=kind, computed_at__gte=since
            )
            .exclude(value__isnull=True)
            .order_by("-computed_at", "-id")
            .values_list("computed_at", "version__version", "name", "value")
        )
        rows = sorted(history[:HISTORY_POINTS])
        versions = {version for _, version, _, _ in rows}
        points: dict[str, list[tuple[datetime, float]]] = defaultdict(list)
        for when, version, name, value in rows:
            label = name if len(versions) == 1 else f"{name} (v{version})"
            points[label].append((when, value))
        names = {name for _, _, name, _ in rows}
        lines = [
            Threshold(label=f"alert on {name}", value=value)
            for name in sorted(names)
            for value in thresholds.get(name, [])
        ]
        svg = line_chart_svg(
            title=f"{model.name}: {title}",
            series=[Series(name=label, points=p) for label, p in sorted(points.items())],
            thresholds=lines,
            events=events,
            span=(rows[0][0], now) if rows else None,
            chart_id=f"monitoring-{key}",
        )
        charts.append(Chart(key=key, title=title, svg=svg, rows=rows))
    return charts
