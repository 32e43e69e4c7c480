"""The business-impact page of a model, and completing a review from it."""

from __future__ import annotations

from datetime import UTC, datetime, time

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.safestring import SafeString
from django.views.decorators.http import require_GET, require_POST

from governance.charts import Event, Series, line_chart_svg
from governance.errors import ApplicationError
from governance.pages import page_requires
from governance.roles import Capability, user_can
from models_registry.selectors import model_get
from reviews.impact_analysis import MIN_CORRELATION_PERIODS, caution
from reviews.impact_models import BusinessImpactReview, KpiValue
from reviews.impact_reviews import impact_review_complete
from reviews.impact_selectors import KpiImpact, business_impact


def _middle(value: KpiValue) -> datetime:
    """Where a period's value sits on a time axis: noon (UTC) of its middle day."""
    middle = value.period_start + (value.period_end - value.period_start) / 2
    return datetime.combine(middle, time(12), tzinfo=UTC)


def _chart(
    *, title: str, series: list[Series], events: list[Event], chart_id: str
) -> SafeString | None:
    """A line chart with the deployments, or None without any point (the template then
    says why there is nothing to draw). The periods' table below the charts holds the
    same numbers, and the deployments' table names the markers."""
    if not any(s.points for s in series):
        return None
    return line_chart_svg(
        title=title, series=series, events=events, chart_id=chart_id, events_note="see the table"
    )


def _charts(impact: KpiImpact, events: list[Event]) -> tuple[SafeString | None, SafeString | None]:
    """The KPI over its periods, and production's quality metrics over the same periods,
    both with the deployments."""
    kpi = impact.kpi
    unit = f" ({kpi.unit})" if kpi.unit else ""
    kpi_chart = _chart(
        title=f"{kpi.name}{unit}",
        series=[Series(name=kpi.name, points=[(_middle(v), v.value) for v in impact.values])],
        events=events,
        chart_id=f"kpi-{kpi.pk}-values",
    )
    metric_series = [
        Series(
            name=name,
            points=[
                (_middle(v), m) for v, m in zip(impact.values, means, strict=True) if m is not None
            ],
        )
        for name, means in impact.metrics.items()
    ]
    quality_chart = _chart(
        title=f"Quality of production per period of {kpi.name}",
        series=metric_series,
        events=events,
        chart_id=f"kpi-{kpi.pk}-quality",
    )
    return kpi_chart, quality_chart


@page_requires(Capability.READ)
@require_GET
def model_business_impact(request: HttpRequest, name: str) -> HttpResponse:
    """KPIs over time beside production's quality metrics and the deployments, with the
    correlation of each pair and what it can and cannot say; the impact reviews."""
    model = model_get(name=name)
    impact = business_impact(model=model)
    events = [
        Event(label=f"v{e.version.version}: {e.get_kind_display().lower()}", at=e.occurred_at)
        for e in impact.deployments
    ]
    return render(
        request,
        "reviews/business_impact.html",
        {
            "model": model,
            "kpis": [(kpi, *_charts(kpi, events)) for kpi in impact.kpis],
            "deployments": impact.deployments,
            "reviews": impact.reviews,
            "caution": caution(),
            "min_periods": MIN_CORRELATION_PERIODS,
            "can_review": user_can(request.user, Capability.REVIEW_BUSINESS_IMPACT),
            "pending": BusinessImpactReview.Status.PENDING,
        },
    )


@page_requires(Capability.REVIEW_BUSINESS_IMPACT)
@require_POST
def impact_review_done(request: HttpRequest, name: str, review_id: int) -> HttpResponse:
    """The "Complete the review" form of a pending review."""
    model = model_get(name=name)
    try:
        review = impact_review_complete(
            actor=request.user,
            review_id=review_id,
            notes=request.POST.get("notes", ""),
            model=model,
        )
    except ApplicationError as error:
        messages.error(request, error.detail)
    else:
        messages.success(request, f"Review of v{review.version.version} recorded as done.")
    return redirect("reviews:business-impact", name=model.name)
