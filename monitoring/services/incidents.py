"""Incidents: open, work on (assign, comment, change status, roll back); every
step on the incident's timeline, in its history and (for what people do) in the audit chain.

The workflow (docs in README.md, "Incidents"):

    open -> investigating -> mitigated -> closed
    open -> mitigated | closed;  investigating -> closed     (a step may be skipped)
    mitigated | closed -> investigating                       (reopen, with a comment)

Closing and reopening need a comment (what was done; why it is back). `incident_acknowledge`
and `incident_resolve` are the older names of two of these steps (open -> investigating;
anything not closed -> closed) and stay for their callers.

Who: WORK_INCIDENTS (data scientists, board members, compliance officers) assign, comment and
change the status; ROLLBACK rolls the model back. Serious incidents (EU AI Act Art. 73: the
flag, the deadline, the report) are compliance's and live in serious_incidents.py.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from governance.errors import Conflict, InvalidInput, NotFound
from governance.history import set_change_reason
from governance.locking import retry_on_lock_conflict
from governance.roles import Capability, user_can
from governance.services import audit_record, require
from models_registry.models import DeploymentEvent, ModelVersion, RegisteredModel
from models_registry.services import card_queue, deployment_rollback
from monitoring.models import Incident, IncidentEvent

Status = Incident.Status

# Where each status may go next.
TRANSITIONS: dict[str, frozenset[str]] = {
    Status.OPEN: frozenset({Status.INVESTIGATING, Status.MITIGATED, Status.CLOSED}),
    Status.INVESTIGATING: frozenset({Status.MITIGATED, Status.CLOSED}),
    Status.MITIGATED: frozenset({Status.INVESTIGATING, Status.CLOSED}),
    Status.CLOSED: frozenset({Status.INVESTIGATING}),
}
MAX_TEXT = 5000


def required_text(text: str, field: str, say: str) -> str:
    if not (text or "").strip():
        raise InvalidInput(say, extra={field: ["This field is required."]})
    if len(text) > MAX_TEXT:
        raise InvalidInput(say, extra={field: [f"At most {MAX_TEXT} characters."]})
    return text.strip()


def audit_incident(
    incident: Incident, action: str, actor: Any, *, card: bool = True, **data: Any
) -> None:
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
    if card and incident.version is not None:  # the version's card lists its open incidents
        card_queue(incident.version, f"incident #{incident.pk} {action}")


def incident_event_add(
    *,
    incident: Incident,
    kind: str,
    message: str,
    actor: Any = None,
    data: dict[str, Any] | None = None,
) -> IncidentEvent:
    """Put one entry on an incident's timeline: the public way for alerts, retraining runs and
    deployments to say what happened to the incident's model.

    `kind` is one of IncidentEvent.Kind (e.g. "alert", "retraining_failed"); `data` links
    what it is about by id ({"alert": 3}, {"retraining_run": 2}). Not audited here: the
    action it records is audited by the service that did it.
    """
    if kind not in IncidentEvent.Kind.values:
        raise InvalidInput(
            "Not a timeline entry.",
            extra={"kind": [f"One of: {', '.join(IncidentEvent.Kind.values)}."]},
        )
    return IncidentEvent.objects.create(
        incident=incident, kind=kind, message=message, actor=actor, data=data or {}
    )


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
    incident_event_add(
        incident=incident,
        kind=IncidentEvent.Kind.OPENED,
        message=description or incident.title,
        actor=actor,
    )
    audit_incident(
        incident, "opened", actor, severity=severity, source=source, title=incident.title
    )
    return incident


def lock_incident(incident_id: int) -> Incident:
    try:
        return (
            Incident.objects.select_for_update(of=("self",))
            .select_related("model", "version", "owner")
            .get(pk=incident_id)
        )
    except (Incident.DoesNotExist, ValueError, TypeError):
        raise NotFound(f"No incident #{incident_id}.") from None


def refuse_closed(incident: Incident, what: str) -> None:
    if incident.is_closed:
        raise Conflict(f"Incident #{incident.pk} is closed; reopen it to {what}.")


@transaction.atomic
def incident_status_change(
    *, actor: Any, incident_id: int, status: str, comment: str = ""
) -> Incident:
    """Move the incident along its workflow (TRANSITIONS); 409 for a step it does not allow."""
    require(actor, Capability.WORK_INCIDENTS, "work on incidents")
    if status not in Status.values:
        raise InvalidInput(
            "Not a status.", extra={"status": [f"One of: {', '.join(Status.values)}."]}
        )
    incident = lock_incident(incident_id)
    previous = incident.status
    if status == previous:
        raise Conflict(f"Incident #{incident.pk} is already {previous}.")
    if status not in TRANSITIONS[previous]:
        allowed = ", ".join(sorted(TRANSITIONS[previous]))
        raise Conflict(f"Incident #{incident.pk} is {previous}; from there it may go to {allowed}.")
    reopening = previous in (Status.MITIGATED, Status.CLOSED) and status == Status.INVESTIGATING
    if status == Status.CLOSED:
        comment = required_text(comment, "comment", "Say what was done to close the incident.")
    elif reopening:
        comment = required_text(comment, "comment", "Say why the incident is reopened.")
    else:
        comment = (comment or "").strip()[:MAX_TEXT]
    now = timezone.now()
    incident.status = status
    if reopening:
        incident.resolved_at = incident.closed_at = None
    if status in (Status.MITIGATED, Status.CLOSED) and incident.resolved_at is None:
        incident.resolved_at = now
    if status == Status.CLOSED:
        incident.closed_at = now
    reason = f"reopened ({previous} -> {status})" if reopening else f"{previous} -> {status}"
    set_change_reason(incident, reason)
    incident.save(update_fields=["status", "resolved_at", "closed_at"])
    label = Status(status).label
    incident_event_add(
        incident=incident,
        kind=IncidentEvent.Kind.STATUS_CHANGED,
        message=comment or f"{label} by {actor.get_username()}.",
        actor=actor,
        data={"from": previous, "to": status, "reopened": reopening},
    )
    audit_incident(incident, "status_changed", actor, previous_status=previous, comment=comment)
    return incident


@transaction.atomic
def incident_acknowledge(*, actor: Any, incident_id: int, comment: str = "") -> Incident:
    """Someone is on it: open -> investigating (409 from any other status)."""
    require(actor, Capability.WORK_INCIDENTS, "work on incidents")
    incident = lock_incident(incident_id)
    if incident.status != Status.OPEN:
        raise Conflict(
            f"Incident #{incident.pk} is {incident.status}; only an open incident can be "
            "acknowledged."
        )
    return incident_status_change(
        actor=actor, incident_id=incident_id, status=Status.INVESTIGATING, comment=comment
    )


def incident_resolve(*, actor: Any, incident_id: int, comment: str) -> Incident:
    """Done with it: any status but closed -> closed; the comment says what was done."""
    return incident_status_change(
        actor=actor, incident_id=incident_id, status=Status.CLOSED, comment=comment
    )


@transaction.atomic
def incident_assign(*, actor: Any, incident_id: int, owner: Any, comment: str = "") -> Incident:
    """Give the incident to `owner` (a user who may work on incidents), or to nobody (None)."""
    require(actor, Capability.WORK_INCIDENTS, "work on incidents")
    if owner is not None and not user_can(owner, Capability.WORK_INCIDENTS):
        raise InvalidInput(
            f"{owner.get_username()} may not work on incidents.",
            extra={"owner": ["Choose a data scientist, board member or compliance officer."]},
        )
    incident = lock_incident(incident_id)
    refuse_closed(incident, "assign it")
    previous = incident.owner
    if (previous.pk if previous else None) == (owner.pk if owner else None):
        who = owner.get_username() if owner else "nobody"
        raise Conflict(f"Incident #{incident.pk} is already assigned to {who}.")
    incident.owner = owner
    name = owner.get_username() if owner else None
    set_change_reason(incident, f"assigned to {name}" if name else "unassigned")
    incident.save(update_fields=["owner"])
    comment = (comment or "").strip()[:MAX_TEXT]
    message = f"Assigned to {name}." if name else "No longer assigned."
    incident_event_add(
        incident=incident,
        kind=IncidentEvent.Kind.ASSIGNED,
        message=f"{message} {comment}".strip(),
        actor=actor,
        data={
            "owner": name,
            "previous_owner": previous.get_username() if previous else None,
        },
    )
    audit_incident(
        incident,
        "assigned",
        actor,
        card=False,
        owner=name,
        previous_owner=previous.get_username() if previous else None,
    )
    return incident


@transaction.atomic
def incident_comment(*, actor: Any, incident_id: int, comment: str) -> IncidentEvent:
    """A note on the timeline (closed incidents too: what was learnt afterwards)."""
    require(actor, Capability.WORK_INCIDENTS, "work on incidents")
    comment = required_text(comment, "comment", "Write the comment.")
    incident = lock_incident(incident_id)
    event = incident_event_add(
        incident=incident, kind=IncidentEvent.Kind.COMMENT, message=comment, actor=actor
    )
    audit_incident(incident, "commented", actor, card=False, comment=comment)
    return event


def deployment_message(event: DeploymentEvent) -> str:
    """ "Rolled back (v2, replacing v3): drift" — one deployment event in a timeline line."""
    text = f"{event.get_kind_display()} (v{event.version.version}"
    if event.previous_version is not None:
        text += f", replacing v{event.previous_version.version}"
    text += ")"
    return f"{text}: {event.reason}" if event.reason else text


def deployment_data(event: DeploymentEvent) -> dict[str, Any]:
    return {
        "deployment_event": event.pk,
        "deployment_kind": event.kind,
        "version": event.version.version,
        "previous_version": event.previous_version.version if event.previous_version else None,
    }


@retry_on_lock_conflict
@transaction.atomic
def incident_rollback(
    *, actor: Any, incident_id: int, comment: str, from_version: int | None = None
) -> list[DeploymentEvent]:
    """Roll the incident's model back (models_registry's deployment_rollback: stop any
    canary, restore the previous production version) and put each step on the timeline.

    `from_version` is the production version the caller saw (as on the model page): if it
    changed meanwhile, nothing is rolled back (409). The model is locked before the incident
    (governance/locking.py), so the incident is read first and locked after the rollback.
    """
    require(actor, Capability.ROLLBACK, "roll back deployments")
    comment = required_text(comment, "comment", "Say why you roll back.")
    try:
        seen = Incident.objects.select_related("model").get(pk=incident_id)
    except (Incident.DoesNotExist, ValueError, TypeError):
        raise NotFound(f"No incident #{incident_id}.") from None
    refuse_closed(seen, "roll back from it")
    events = deployment_rollback(
        model=seen.model,
        actor=actor,
        reason=f"incident #{seen.pk}: {comment}",
        from_version=from_version,
    )
    incident = lock_incident(incident_id)
    for event in events:
        incident_event_add(
            incident=incident,
            kind=IncidentEvent.Kind.ROLLBACK,
            message=deployment_message(event),
            actor=actor,
            data=deployment_data(event),
        )
    audit_incident(
        incident,
        "rolled_back",
        actor,
        card=False,
        comment=comment,
        deployment_events=[event.pk for event in events],
    )
    return events


def incident_deployment_record(*, event: DeploymentEvent) -> list[IncidentEvent]:
    """A deployment or rollback of a model goes on the timeline of each of its incidents not
    yet closed (once: a rollback started from an incident is there already)."""
    recorded = []
    incidents = Incident.objects.filter(model_id=event.model_id).exclude(status=Status.CLOSED)
    for incident in incidents:
        if incident.timeline.filter(data__deployment_event=event.pk).exists():
            continue
        rollback = event.kind == DeploymentEvent.Kind.ROLLED_BACK or event.reference == "rollback"
        kind = IncidentEvent.Kind.ROLLBACK if rollback else IncidentEvent.Kind.DEPLOYMENT
        recorded.append(
            incident_event_add(
                incident=incident,
                kind=kind,
                message=deployment_message(event),
                actor=event.actor,
                data=deployment_data(event),
            )
        )
    return recorded
