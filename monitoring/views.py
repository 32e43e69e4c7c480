"""Browser pages: a model's health, for whoever decides whether to keep it or roll it back."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.crypto import constant_time_compare
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST

from governance.pages import page_public, page_requires
from governance.roles import Capability, user_can
from models_registry import selectors as registry
from monitoring import selectors
from monitoring.models import Incident
from monitoring.prometheus import metrics_scrape
from monitoring.windows import slot_measure

TRAFFIC_WINDOW = timedelta(hours=1)


@page_requires(Capability.READ)
@require_GET
def model_health(request: HttpRequest, name: str) -> HttpResponse:
    """Production traffic of the last hour, the canary against its gates, open incidents."""
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
    incidents = (
        selectors.incident_list().filter(model=model).exclude(status=Incident.Status.RESOLVED)
    )
    return render(
        request,
        "monitoring/model_health.html",
        {
            "model": model,
            "production": production,
            "traffic": traffic,
            "traffic_minutes": int(TRAFFIC_WINDOW.total_seconds() // 60),
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
