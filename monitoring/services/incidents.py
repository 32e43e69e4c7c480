"""Incidents: open (by monitoring itself or a person), acknowledge, resolve; each on a timeline."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from governance.errors import Conflict, InvalidInput, NotFound
from governance.history import set_change_reason
from governance.roles import Capability
from governance.services import audit_record, require
from models_registry.models import ModelVersion, RegisteredModel
from models_registry.services import card_queue
from monitoring.models import Incident, IncidentEvent


def _timeline(incident: Incident, *, kind: str, message: str, actor: Any) -> IncidentEvent:
    return IncidentEvent.objects.create(incident=incident, kind=kind, message=message, actor=actor)


def _audit_incident(incident: Incident, action: str, actor: Any, **data: Any) -> None:
    audit_record(
        action=f"incident.{action}",
        object_type="incident",
        object_id=incident.pk,
        data={
            "model": incident.model.name,
            "version": incident.version.version if incident.version else None,
            "status": incident.status,
            **data,
        },
        actor=actor,
    )
    if incident.version is not None:  # the version's card lists its open incidents
        card_queue(incident.version, f"incident #{incident.pk} {action}")


@transaction.atomic
def incident_open(
    *,
    model: RegisteredModel,
    version: ModelVersion | None = None,
    severity: str,
    source: str,
    title: str,
    description: str,
    details: dict[str, Any] | None = None,
    actor: Any = None,
) -> Incident:
    """Record that something went wrong; the timeline starts with its opening."""
    problems = {}
    if severity not in Incident.Severity.values:
        problems["severity"] = [f"One of: {', '.join(Incident.Severity.values)}."]
    if source not in Incident.Source.values:
        problems["source"] = [f"One of: {', '.join(Incident.Source.values)}."]
    if not title.strip():
        problems["title"] = ["This field may not be blank."]
    if version is not None and version.model_id != model.pk:
        problems["version"] = [f"{version} is not a version of {model.name}."]
    if problems:
        raise InvalidInput("The incident is not valid.", extra=problems)
    incident = Incident(
        model=model,
        version=version,
        severity=severity,
        source=source,
        title=title.strip()[:200],
        description=description,
        details=details or {},
    )
    set_change_reason(incident, f"opened ({source})")
    incident.save()
    _timeline(incident, kind="opened", message=description or incident.title, actor=actor)
    _audit_incident(
        incident, "opened", actor, severity=severity, source=source, title=incident.title
    )
    return incident


def _lock_incident(incident_id: int) -> Incident:
    try:
        return (
            Incident.objects.select_for_update(of=("self",))
            .select_related("model", "version")
            .get(pk=incident_id)
        )
    except Incident.DoesNotExist:
        raise NotFound(f"No incident #{incident_id}.") from None


@transaction.atomic
def incident_acknowledge(*, actor: Any, incident_id: int, comment: str = "") -> Incident:
    """Someone is on it: open -> acknowledged."""
    require(actor, Capability.MANAGE_INCIDENTS, "manage incidents")
    incident = _lock_incident(incident_id)
    if incident.status != Incident.Status.OPEN:
        raise Conflict(
            f"Incident #{incident.pk} is {incident.status}; only an open incident can be "
            "acknowledged."
        )
    incident.status = Incident.Status.ACKNOWLEDGED
    set_change_reason(incident, "acknowledged")
    incident.save(update_fields=["status"])
    _timeline(
        incident,
        kind="acknowledged",
        message=comment.strip() or f"Acknowledged by {actor.username}.",
        actor=actor,
    )
    _audit_incident(incident, "acknowledged", actor, comment=comment)
    return incident


@transaction.atomic
def incident_resolve(*, actor: Any, incident_id: int, comment: str) -> Incident:
    """Done: open or acknowledged -> resolved, saying what was done (the comment)."""
    require(actor, Capability.MANAGE_INCIDENTS, "manage incidents")
    if not comment.strip():
        raise InvalidInput(
            "Say what was done to resolve the incident.",
            extra={"comment": ["This field may not be blank."]},
        )
    incident = _lock_incident(incident_id)
    if incident.status == Incident.Status.RESOLVED:
        raise Conflict(f"Incident #{incident.pk} is already resolved.")
    incident.status = Incident.Status.RESOLVED
    incident.resolved_at = timezone.now()
    set_change_reason(incident, "resolved")
    incident.save(update_fields=["status", "resolved_at"])
    _timeline(incident, kind="resolved", message=comment.strip(), actor=actor)
    _audit_incident(incident, "resolved", actor, comment=comment)
    return incident
