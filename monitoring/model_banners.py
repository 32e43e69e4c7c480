"""What monitoring puts at the top of a model page: its open critical incidents (registered
in MonitoringConfig.ready; models_registry/page_panels.py)."""

from __future__ import annotations

from django.http import HttpRequest
from django.urls import reverse

from models_registry.models import RegisteredModel
from models_registry.page_panels import Banner
from monitoring.models import Incident
from monitoring.selectors import incident_list

SHOWN = 3  # the rest are counted, on the incident list


def incident_banners(model: RegisteredModel, request: HttpRequest) -> list[Banner]:
    critical = list(
        incident_list()
        .filter(model=model, severity=Incident.Severity.CRITICAL)
        .exclude(status=Incident.Status.CLOSED)
        .order_by("-opened_at", "-id")[: SHOWN + 1]
    )
    banners = [
        Banner(
            "critical",
            f"Incident #{incident.pk} is {incident.status}: {incident.title}",
            reverse("monitoring:incident", args=[incident.pk]),
        )
        for incident in critical[:SHOWN]
    ]
    if len(critical) > SHOWN:
        url = reverse("monitoring:incidents") + f"?model={model.name}&severity=critical"
        banners.append(Banner("critical", "More open critical incidents", url))
    return banners
