"""The home page's reads: what waits for me, models at risk, recent deployments.

The sign-off queue itself comes from `reviews.selectors.requests_awaiting` (the one rule on
who may sign); this module adds what else a person owns (board action items, incidents,
findings) and what the whole organisation should see first.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.db.models import Count, F, QuerySet

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


def models_at_risk(*, today: date, limit: int = SHOWN) -> list[ModelAtRisk]:
    """The `limit` models with the most reasons for concern (an unresolved critical
    incident, an overdue revalidation, an open high or critical finding: each one a
    reason), each with its reasons in words; the most reasons first, then by name.

    The reasons are counted per model in the database (one grouped query each) and only
    the shown models and their reasons are read, so the cost hardly grows with the number
    of models, incidents or findings."""
    critical = (
        incident_list()
        .filter(severity=Incident.Severity.CRITICAL)
        .exclude(status=Incident.Status.CLOSED)
        .order_by("opened_at", "id")
    )
    grave = findings_open(min_severity=Finding.Severity.HIGH)
    overdue = {state.model.pk: state for state in revalidations_due(as_of=today, status="overdue")}
    counts: Counter[int] = Counter(dict.fromkeys(overdue, 1))
    for rows in (critical, grave):
        counts.update(
            dict(rows.order_by().values("model").annotate(n=Count("pk")).values_list("model", "n"))
        )
    names = dict(RegisteredModel.objects.filter(pk__in=list(counts)).values_list("pk", "name"))
    top = sorted(counts, key=lambda model_id: (-counts[model_id], names[model_id]))[:limit]
    shown = RegisteredModel.objects.in_bulk(top)
    found = {model_id: ModelAtRisk(shown[model_id]) for model_id in top}
    for incident in critical.filter(model__in=list(found)):
        found[incident.model_id].reasons.append(f"critical incident #{incident.pk}")
    for model_id, risk in found.items():
        if model_id in overdue:
            risk.reasons.append(f"revalidation overdue by {overdue[model_id].days_overdue} days")
    for finding in grave.filter(model__in=list(found)):
        found[finding.model_id].reasons.append(f"{finding.severity} finding #{finding.pk}")
    return list(found.values())
