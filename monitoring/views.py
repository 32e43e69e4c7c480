"""Browser pages: a model's health and monitoring, its checks and their reports; /metrics."""

from __future__ import annotations

from datetime import timedelta

from csp.decorators import csp
from django.conf import settings
from django.contrib import messages
from django.http import FileResponse, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.crypto import constant_time_compare
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST
from prometheus_client import CONTENT_TYPE_LATEST

from governance.errors import ApplicationError
from governance.pages import page_public, page_requires
from governance.roles import Capability, user_can
from models_registry import selectors as registry
from monitoring import check_pages, selectors, services
from monitoring.flag_selectors import flag_list, flags_summary
from monitoring.health_charts import HEALTH_HOURS, health_charts
from monitoring.models import CheckReport, Incident
from monitoring.prometheus import metrics_scrape
from monitoring.windows import slot_measure

TRAFFIC_WINDOW = timedelta(hours=1)
RECENT_CHECKS = 50
RECENT_FLAGS = 20


@page_requires(Capability.READ)
@require_GET
def model_health(request: HttpRequest, name: str) -> HttpResponse:
    """Production traffic of the last hour, the last day hour by hour (production and
    canary overlaid, deployments marked), the canary against its gates, open incidents."""
    model = registry.model_get(name=name)
    production = selectors.production_version(model=model)
    end = timezone.now()
    traffic = (
        slot_measure(model=model, version=production, start=end - TRAFFIC_WINDOW, end=end)
        if production is not None
        else None
    )
    has_canary = selectors.canary_versions().filter(model=model).exists()
    evaluation = selectors.canary_evaluation_current(model=model) if has_canary else None
    incidents = selectors.incident_list().filter(model=model).exclude(status=Incident.Status.CLOSED)
    return render(
        request,
        "monitoring/model_health.html",
        {
            "model": model,
            "production": production,
            "traffic": traffic,
            "traffic_minutes": int(TRAFFIC_WINDOW.total_seconds() // 60),
            "charts": health_charts(model=model, end=end),
            "chart_hours": HEALTH_HOURS,
            "evaluation": evaluation,
            "incidents": incidents[:50],
            "can_roll_back": user_can(request.user, Capability.ROLLBACK),
        },
    )


@page_public
@never_cache
@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    """Prometheus scrape. Open like /healthz (contract), unless METRICS_TOKEN is set: then
    only `Authorization: Bearer <METRICS_TOKEN>` gets it, anyone else a 401."""
    expected = settings.METRICS_TOKEN
    if expected:
        given = request.headers.get("Authorization", "")
        if not constant_time_compare(given, f"Bearer {expected}"):
            response = HttpResponse("Unauthorized.\n", status=401, content_type="text/plain")
            response["WWW-Authenticate"] = 'Bearer realm="metrics"'
            return response
    return HttpResponse(metrics_scrape(), content_type=CONTENT_TYPE_LATEST)


@page_requires(Capability.READ)
@require_GET
def model_monitoring(request: HttpRequest, name: str) -> HttpResponse:
    """Drift share, quality, fairness and estimated performance over time; the flags people
    raised in the same days; recent checks."""
    model = registry.model_get(name=name)
    end = timezone.now()
    start = end - timedelta(days=check_pages.HISTORY_DAYS)
    return render(
        request,
        "monitoring/model_monitoring.html",
        {
            "model": model,
            "charts": check_pages.monitoring_charts(model),
            "checks": selectors.check_list(model=model)[:RECENT_CHECKS],
            "history_days": check_pages.HISTORY_DAYS,
            "flags": flags_summary(model=model, start=start, end=end),
            "recent_flags": flag_list().filter(model=model)[:RECENT_FLAGS],
        },
    )


@page_requires(Capability.READ)
@require_GET
def check_detail(request: HttpRequest, name: str, check_id: int) -> HttpResponse:
    """One check: what was compared, what it found, who started it, its Evidently report."""
    model = registry.model_get(name=name)
    run = selectors.check_get(model=model, check_id=check_id)
    metrics = {metric.name: metric.value for metric in run.metrics.all()}
    thresholds = check_pages.alert_thresholds(model)
    return render(
        request,
        "monitoring/check_detail.html",
        {
            "model": model,
            "run": run,
            "results": run.results or {},
            "features": check_pages.drift_features(run),
            "metrics": sorted(metrics.items()),
            "fairness": check_pages.fairness_attributes(run, thresholds),
            "estimation": check_pages.estimation_rows(metrics),
            "report": selectors.check_report_get(run=run),
            "can_render": user_can(request.user, Capability.RUN_CHECKS),
            "sample_rows": settings.CHECK_REPORT_SAMPLE_ROWS,
        },
    )


@page_requires(Capability.RUN_CHECKS)
@require_POST
def check_report_request(request: HttpRequest, name: str, check_id: int) -> HttpResponse:
    """The "Render the Evidently report" button."""
    model = registry.model_get(name=name)
    run = selectors.check_get(model=model, check_id=check_id)
    try:
        report = services.check_report_request(actor=request.user, run_id=run.pk)
    except ApplicationError as error:
        messages.error(request, error.detail)
    else:
        messages.success(request, f"Report {report.get_status_display().lower()}.")
    return redirect("monitoring:check", name=model.name, check_id=run.pk)


# The report is Evidently's page: inline scripts, and values from the log that callers
# wrote. It runs sandboxed (an opaque origin: no cookies, no same-origin API calls) and may
# reach nothing outside itself (no connections, forms or frames).
REPORT_POLICY = {
    "sandbox": ["allow-scripts"],
    "default-src": ["'none'"],
    "script-src": ["'unsafe-inline'", "'unsafe-eval'"],
    "style-src": ["'unsafe-inline'"],
    "img-src": ["data:", "blob:"],
    "font-src": ["data:"],
    "connect-src": ["'none'"],
    "form-action": ["'none'"],
    "base-uri": ["'none'"],
    "frame-ancestors": ["'none'"],
}


@page_requires(Capability.READ)
@require_GET
@csp(REPORT_POLICY)
def check_report(request: HttpRequest, name: str, check_id: int) -> HttpResponse:
    """The stored Evidently report; until it is ready, back to the check page."""
    model = registry.model_get(name=name)
    run = selectors.check_get(model=model, check_id=check_id)
    report = selectors.check_report_get(run=run)
    if report is None or report.status != CheckReport.Status.DONE or not report.file:
        messages.info(request, "The Evidently report of this check is not ready.")
        return redirect("monitoring:check", name=model.name, check_id=run.pk)
    response = FileResponse(report.file.open("rb"), content_type="text/html; charset=utf-8")
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response
