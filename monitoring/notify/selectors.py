"""Reads about notifications shared by the receivers, the admin and the model's page."""

from __future__ import annotations

from django.db.models import Prefetch, Q, QuerySet

from models_registry.models import RegisteredModel
from monitoring.alert_models import Alert
from monitoring.notification_models import (
    NotificationDelivery,
    NotificationEndpoint,
    NotificationRoute,
)
from monitoring.notify.content import SEVERITY_RANK


def severities_at_least(severity: str) -> list[str]:
    """The severities that are `severity` or above it."""
    return [name for name, rank in SEVERITY_RANK.items() if rank >= SEVERITY_RANK[severity]]


def severities_up_to(severity: str) -> list[str]:
    """The severities that are `severity` or below it (info < warning < critical)."""
    return [name for name, rank in SEVERITY_RANK.items() if rank <= SEVERITY_RANK[severity]]


def endpoints_routed(*, alert: Alert) -> list[NotificationEndpoint]:
    """Enabled endpoints with a route that takes this alert (its model or every model, and a
    minimum severity at or below the alert's), each once, by name."""
    routes = NotificationRoute.objects.filter(
        Q(model=alert.model_id) | Q(model__isnull=True),
        endpoint__enabled=True,
        min_severity__in=severities_up_to(alert.severity),
    ).select_related("endpoint")
    found = {route.endpoint_id: route.endpoint for route in routes}
    return sorted(found.values(), key=lambda endpoint: endpoint.name)


def failed_deliveries(model: RegisteredModel) -> QuerySet[NotificationDelivery]:
    """Messages about this model's alerts that were given up on, newest first."""
    return (
        NotificationDelivery.objects.filter(
            alert__model=model, status=NotificationDelivery.Status.FAILED
        )
        .select_related("endpoint", "alert", "alert__version")
        .order_by("-created_at", "-id")
    )


def alert_deliveries(*, alert: Alert) -> QuerySet[NotificationDelivery]:
    """Every message about this alert (fired and resolved, to each endpoint), newest first,
    for the alert's page: a failed e-mail or webhook shows there with its last error."""
    return (
        NotificationDelivery.objects.filter(alert=alert)
        .select_related("endpoint")
        .order_by("-created_at", "-id")
    )


def route_list() -> QuerySet[NotificationRoute]:
    return NotificationRoute.objects.select_related("endpoint", "model").order_by("id")


def endpoint_list() -> QuerySet[NotificationEndpoint]:
    """Endpoints by name, with their routes."""
    return NotificationEndpoint.objects.prefetch_related(
        Prefetch("routes", queryset=route_list())
    ).order_by("name")


def delivery_list() -> QuerySet[NotificationDelivery]:
    """Deliveries, newest first."""
    return NotificationDelivery.objects.select_related(
        "endpoint", "alert", "alert__model", "resent_by"
    ).order_by("-created_at", "-id")
