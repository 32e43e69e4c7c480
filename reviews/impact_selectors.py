"""Reads of business impact for the API, the page, the admin and (later) board agendas.

- `impact_reviews_due(as_of=)`: pending reviews due on or before a day, oldest first: what
  an agenda or a weekly summary lists.
- `business_impact(model=)`: everything the model's business-impact page shows: each KPI's
  periods with the quality metrics of production aligned to them and the correlations
  (reviews/impact_analysis.py says how), the deployments and the reviews.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from django.db.models import Prefetch, QuerySet

from governance.errors import NotFound
from models_registry.models import DeploymentEvent, RegisteredModel
from monitoring.config_document import BINARY_MEASURES, REGRESSION_MEASURES, metric_direction
from monitoring.models import CheckMetric, CheckRun
from reviews.impact_analysis import (
    Correlation,
    MetricPoint,
    Span,
    correlate,
    period_means,
    production_spans,
    utc_day,
)
from reviews.impact_models import BusinessImpactReview, BusinessKpi, KpiValue

QUALITY_METRICS = (*BINARY_MEASURES, *REGRESSION_MEASURES)
# Deployment events after which another version serves production.
PRODUCTION_CHANGES = (
    DeploymentEvent.Kind.PROMOTED,
    DeploymentEvent.Kind.CANARY_PROMOTED,
    DeploymentEvent.Kind.ROLLED_BACK,
)


def kpi_list(*, model: RegisteredModel) -> QuerySet[BusinessKpi]:
    """The model's KPIs by name, each with its values in period order."""
    values = KpiValue.objects.order_by("period_start").select_related("recorded_by")
    return (
        BusinessKpi.objects.filter(model=model)
        .select_related("model", "created_by")
        .prefetch_related(Prefetch("values", queryset=values))
        .order_by("name")
    )


def impact_review_list() -> QuerySet[BusinessImpactReview]:
    return BusinessImpactReview.objects.select_related(
        "model", "version", "reviewed_by", "deployment_event"
    ).order_by("due_on", "id")


def impact_review_get(*, review_id: int) -> BusinessImpactReview:
    try:
        return impact_review_list().get(pk=review_id)
    except (BusinessImpactReview.DoesNotExist, ValueError, TypeError):
        raise NotFound(f"No business-impact review #{review_id}.") from None


def impact_reviews_due(*, as_of: date | datetime) -> QuerySet[BusinessImpactReview]:
    """Pending reviews due on or before `as_of` (a day, or a moment's day in UTC), the most
    overdue first."""
    day = utc_day(as_of) if isinstance(as_of, datetime) else as_of
    return impact_review_list().filter(status=BusinessImpactReview.Status.PENDING, due_on__lte=day)


@dataclass(frozen=True)
class KpiImpact:
    """One KPI with its values, the production quality metrics per period, correlations."""

    kpi: BusinessKpi
    values: list[KpiValue]
    metrics: dict[str, list[float | None]]  # metric name -> mean per period of `values`
    correlations: list[Correlation]

    @property
    def rows(self) -> list[tuple[KpiValue, list[float | None]]]:
        """Per period: the value and the metrics in `metrics` order (for tables)."""
        return [
            (value, [means[i] for means in self.metrics.values()])
            for i, value in enumerate(self.values)
        ]


@dataclass(frozen=True)
class BusinessImpact:
    model: RegisteredModel
    kpis: list[KpiImpact]
    deployments: list[DeploymentEvent]  # newest first
    reviews: list[BusinessImpactReview]  # by due date


def _quality_points(model: RegisteredModel, start: date, end: date) -> list[MetricPoint]:
    """Quality metrics of checks whose window ended in [start, end] (days in TIME_ZONE,
    UTC, as period_means reads them)."""
    rows = CheckMetric.objects.filter(
        model=model,
        kind=CheckRun.Kind.QUALITY,
        name__in=QUALITY_METRICS,
        value__isnull=False,
        run__window_end__date__gte=start,
        run__window_end__date__lte=end,
    ).values_list("name", "value", "version_id", "run__window_end")
    return [MetricPoint(name=n, value=v, version_id=ver, at=at) for n, v, ver, at in rows]


def _kpi_impact(kpi: BusinessKpi, points: list[MetricPoint], spans: list[Span]) -> KpiImpact:
    values = list(kpi.values.all())
    metrics = period_means([(v.period_start, v.period_end) for v in values], points, spans)
    correlations = [
        correlate(
            [v.value for v in values],
            means,
            kpi=kpi.name,
            kpi_higher_better=kpi.direction == BusinessKpi.Direction.HIGHER,
            metric=name,
            metric_direction=metric_direction(name),
        )
        for name, means in metrics.items()
    ]
    return KpiImpact(kpi=kpi, values=values, metrics=metrics, correlations=correlations)


def business_impact(*, model: RegisteredModel) -> BusinessImpact:
    """What the model's business-impact page shows (see module doc)."""
    kpis = list(kpi_list(model=model))
    deployments = list(
        DeploymentEvent.objects.filter(model=model)
        .select_related("version", "previous_version", "actor")
        .order_by("-occurred_at", "-id")
    )
    spans = production_spans(
        (event.occurred_at, event.version_id)
        for event in deployments
        if event.kind in PRODUCTION_CHANGES
    )
    starts = [v.period_start for k in kpis for v in k.values.all()]
    ends = [v.period_end for k in kpis for v in k.values.all()]
    points = _quality_points(model, min(starts), max(ends)) if starts else []
    return BusinessImpact(
        model=model,
        kpis=[_kpi_impact(kpi, points, spans) for kpi in kpis],
        deployments=deployments,
        reviews=list(impact_review_list().filter(model=model)),
    )
