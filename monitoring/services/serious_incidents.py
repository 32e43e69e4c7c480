"""Serious incidents (EU AI Act Art. 73): the flag that starts the reporting deadline, and the
record that the report was made to the market surveillance authority.

Both are compliance's (MANAGE_INCIDENTS): the flag starts a legal duty and the report ends
it. The deadline runs from the moment of awareness: 15, 10 or 2 days by kind. Once the
report is recorded the incident is no longer overdue, whatever its status; closing an
incident is not the report (a closed serious incident that was never reported is still
overdue once its deadline passes). One report is recorded per incident: the one that meets
the deadline (an initial report may be incomplete, Art. 73(5)); follow-ups go on the
timeline as comments.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from governance.errors import Conflict, InvalidInput
from governance.history import set_change_reason
from governance.roles import Capability
from governance.services import require
from monitoring.models import Incident, IncidentEvent, report_deadline
from monitoring.services.incidents import (
    MAX_TEXT,
    audit_incident,
    incident_event_add,
    lock_incident,
    refuse_closed,
)

MAX_REFERENCE = 200


def _moment_problems(moment: datetime | None, now: datetime, what: str) -> list[str]:
    if moment is None:
        return []
    if timezone.is_naive(moment):
        return ["Give a time zone."]
    if moment > now:
        return [f"The moment {what} cannot be in the future."]
    return []


@transaction.atomic
def incident_flag_serious(
    *,
    actor: Any,
    incident_id: int,
    kind: str,
    reason: str,
    aware_at: datetime | None = None,
) -> Incident:
    """Flag a serious incident (Art. 73): its report is due 15, 10 or 2 days (by `kind`)
    after `aware_at`, the moment one became aware of it (now unless given; an incident
    flagged again keeps its first moment unless another is given). Flagging again changes
    the kind or reason; the timeline keeps what it was."""
    require(actor, Capability.MANAGE_INCIDENTS, "flag serious incidents")
    problems: dict[str, list[str]] = {}
    if kind not in Incident.SeriousKind.values:
        problems["kind"] = [f"One of: {', '.join(Incident.SeriousKind.values)}."]
    if not (reason or "").strip():
        problems["reason"] = ["This field is required."]
    elif len(reason) > MAX_TEXT:
        problems["reason"] = [f"At most {MAX_TEXT} characters."]
    now = timezone.now()
    if aware := _moment_problems(aware_at, now, "of awareness"):
        problems["aware_at"] = aware
    if problems:
        raise InvalidInput("The serious-incident flag is not valid.", extra=problems)
    incident = lock_incident(incident_id)
    refuse_closed(incident, "flag it serious")
    previous = (
        {
            "kind": incident.serious_kind,
            "reason": incident.serious_reason,
            "aware_at": incident.aware_at.isoformat() if incident.aware_at else None,
        }
        if incident.serious
        else None
    )
    aware = aware_at or (incident.aware_at if incident.serious else None) or now
    incident.serious = True
    incident.serious_kind = kind
    incident.serious_reason = reason.strip()
    incident.aware_at = aware
    incident.report_due = report_deadline(kind, aware)
    set_change_reason(incident, f"flagged serious ({kind})")
    incident.save(
        update_fields=["serious", "serious_kind", "serious_reason", "aware_at", "report_due"]
    )
    due = incident.report_due.isoformat()
    incident_event_add(
        incident=incident,
        kind=IncidentEvent.Kind.FLAGGED_SERIOUS,
        message=f"{Incident.SeriousKind(kind).label}: {incident.serious_reason}",
        actor=actor,
        data={"kind": kind, "aware_at": aware.isoformat(), "report_due": due, "previous": previous},
    )
    audit_incident(
        incident,
        "flagged_serious",
        actor,
        kind=kind,
        reason=incident.serious_reason,
        aware_at=aware.isoformat(),
        report_due=due,
        previous=previous,
    )
    return incident


@transaction.atomic
def incident_report_record(
    *,
    actor: Any,
    incident_id: int,
    reference: str,
    reported_at: datetime | None = None,
    comment: str = "",
) -> Incident:
    """Record that the serious incident was reported to the authority: when (now unless
    given; not in the future, not before the moment of awareness), by whom (`actor`) and
    under which reference. Closed incidents too: the report may come after the work.

    409 for an incident not flagged serious, or one whose report is recorded already.
    """
    require(actor, Capability.MANAGE_INCIDENTS, "record reports of serious incidents")
    problems: dict[str, list[str]] = {}
    reference = (reference or "").strip()
    if not reference:
        problems["reference"] = ["This field is required."]
    elif len(reference) > MAX_REFERENCE:
        problems["reference"] = [f"At most {MAX_REFERENCE} characters."]
    comment = (comment or "").strip()
    if len(comment) > MAX_TEXT:
        problems["comment"] = [f"At most {MAX_TEXT} characters."]
    now = timezone.now()
    if moment := _moment_problems(reported_at, now, "of the report"):
        problems["reported_at"] = moment
    if problems:
        raise InvalidInput("The report is not valid.", extra=problems)
    incident = lock_incident(incident_id)
    if not incident.serious:
        raise Conflict(f"Incident #{incident.pk} is not flagged serious: there is no report due.")
    if incident.is_reported:
        raise Conflict(
            f"Incident #{incident.pk} was reported on {incident.reported_at.isoformat()} "
            f"(reference {incident.report_reference or 'none'}); add a comment for a follow-up."
        )
    reported = reported_at or now
    if incident.aware_at is not None and reported < incident.aware_at:
        raise InvalidInput(
            "The report is not valid.",
            extra={"reported_at": ["The report cannot precede the moment of awareness."]},
        )
    overdue = incident.report_due is not None and reported > incident.report_due
    incident.reported_at, incident.reported_by = reported, actor
    incident.report_reference = reference
    set_change_reason(incident, "reported to the authority")
    incident.save(update_fields=["reported_at", "reported_by", "report_reference"])
    message = f"Reported to the authority, reference {reference}."
    if overdue:
        message += " After the deadline."
    incident_event_add(
        incident=incident,
        kind=IncidentEvent.Kind.REPORTED,
        message=f"{message} {comment}".strip(),
        actor=actor,
        data={
            "reported_at": reported.isoformat(),
            "reference": reference,
            "report_due": incident.report_due.isoformat() if incident.report_due else None,
            "late": overdue,
        },
    )
    audit_incident(
        incident,
        "reported",
        actor,
        card=False,
        reported_at=reported.isoformat(),
        reference=reference,
        report_due=incident.report_due.isoformat() if incident.report_due else None,
        late=overdue,
        comment=comment,
    )
    return incident
