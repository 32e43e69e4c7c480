"""The home page's reads: what waits for me, models at risk, recent deployments.

The sign-off queue itself comes from `reviews.selectors.requests_awaiting` (the one rule on
who may sign); this module adds what else a person owns (board action items, incidents,
findings) and what the whole organisation should see first.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.db.models import F, QuerySet

from models_registry.models import DeploymentEvent, RegisteredModel
from monitoring.models import Incident
from monitoring.selectors import incident_list
from reviews.finding_models import Finding
from reviews.finding_selectors import findings_open
from reviews.meeting_models import Decision
from reviews.revalidation_selectors import revalidations_due

SHOWN = 10


def action_items_of(user: Any) -> QuerySet[Decision]:
    """The board's open action items this user owns, earliest due first (none last)."""
    return (
        Decision.objects.filter(
            kind=Decision.Kind.ACTION_ITEM, status=Decision.Status.OPEN, owner=user
        )
        .select_related("meeting__board", "model")
        .order_by(F("due_date").asc(nulls_last=True), "id")
    )


def incidents_of(user: Any) -> QuerySet[Incident]:
    """Unresolved incidents this user owns, newest first."""
    return incident_list().filter(owner=user).exclude(status=Incident.Status.CLOSED)


def recent_deployments() -> QuerySet[DeploymentEvent]:
    return DeploymentEvent.objects.select_related(
        "model", "version", "previous_version", "actor"
    ).order_by("-occurred_at", "-id")


@dataclass
class ModelAtRisk:
    model: RegisteredModel
    reasons: list[str] = field(default_factory=list)


def models_at_risk(*, today: date) -> list[ModelAtRisk]:
    """Models with an unresolved critical incident, an overdue revalidation or an open high
    or critical finding, each with its reasons in words; the most reasons first."""
    found: dict[int, ModelAtRisk] = {}

    def add(model: RegisteredModel, reason: str) -> None:
        found.setdefault(model.pk, ModelAtRisk(model)).reasons.append(reason)

    critical = (
        incident_list()
        .filter(severity=Incident.Severity.CRITICAL)
        .exclude(status=Incident.Status.CLOSED)
        .order_by("opened_at", "id")
    )
    for incident in critical:
        add(incident.model, f"critical incident #{incident.pk}")
    for state in revalidations_due(as_of=today, status="overdue"):
        add(state.model, f"revalidation overdue by {state.days_overdue} days")
    for finding in findings_open(min_severity=Finding.Severity.HIGH):
        add(finding.model, f"{finding.severity} finding #{finding.pk}")
    return sorted(found.values(), key=lambda risk: (-len(risk.reasons), risk.model.name))
