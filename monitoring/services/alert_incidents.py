"""Incidents from alerts: a warning or critical alert opens an incident of its model and
version, or joins the one that is still open; what happens to the alert afterwards
(resolved, acknowledged, silenced) is written on that incident's timeline.

An alert more severe than the incident it joins raises the incident's severity to its own
(a critical alert joining a warning incident makes it critical), on the timeline and in the
audit chain. Nothing lowers it again automatically: that the critical alert resolved does
not mean the incident is less serious.

Called by monitoring/services/alerts.py inside the evaluation's transaction, which holds
the model's row lock (level 1 of governance/locking.py): two rules firing at once on the
same version take turns, so they join one incident instead of opening two.
"""

from __future__ import annotations

from typing import Any

from governance.history import set_change_reason
from governance.services import audit_record
from monitoring.models import Alert, Incident, IncidentEvent
from monitoring.notify.content import SEVERITY_RANK
from monitoring.services.incidents import audit_incident, incident_event_add, incident_open

# Alerts of these severities take part in incidents; info alerts only notify.
INCIDENT_SEVERITIES = (Alert.Severity.WARNING, Alert.Severity.CRITICAL)
# Statuses of an incident that is over (`closed` is the extended incident core's).
ENDED_STATUSES = ("resolved", "closed")


def open_incident_of(alert: Alert) -> Incident | None:
    """The newest incident of the alert's model and version that is not over."""
    return (
        Incident.objects.filter(model_id=alert.model_id, version_id=alert.version_id)
        .exclude(status__in=ENDED_STATUSES)
        .order_by("-opened_at", "-id")
        .first()
    )


def _title(alert: Alert) -> str:
    rule = f"{alert.metric} {alert.comparison} {alert.threshold:g}"
    return f"Alert: {rule} on v{alert.version.version}"


def alert_incident_link(*, alert: Alert) -> Incident | None:
    """Open or join an incident for a warning or critical alert that has none (or whose
    incident is over); returns the incident, None for info alerts."""
    if alert.severity not in INCIDENT_SEVERITIES:
        return None
    if alert.incident_id is not None and alert.incident.status not in ENDED_STATUSES:
        return alert.incident
    incident = open_incident_of(alert)
    description = (
        f"Alert #{alert.pk}: {alert.metric} = {alert.value:.6g} "
        f"({alert.comparison} {alert.threshold:g}, {alert.severity})"
    )
    if incident is None:
        incident = incident_open(
            model=alert.model,
            version=alert.version,
            severity=alert.severity,
            source=Incident.Source.ALERT,
            title=_title(alert),
            description=description,
            details={"alert": alert.pk, "rule": alert.rule, "rule_key": alert.rule_key},
        )
    else:
        incident_event_add(
            incident=incident, kind="alert", message=description, data={"alert": alert.pk}
        )
        audit_record(
            action="incident.alert_joined",
            object_type="incident",
            object_id=incident.pk,
            data={"alert": alert.pk, "metric": alert.metric, "severity": alert.severity},
        )
        incident_severity_raise(incident=incident, alert=alert)
    alert.incident = incident
    set_change_reason(alert, f"joined incident #{incident.pk}")
    alert.save(update_fields=["incident"])
    audit_record(
        action="alert.incident_linked",
        object_type="alert",
        object_id=alert.pk,
        data={"incident": incident.pk, "model": alert.model.name, "metric": alert.metric},
    )
    return incident


def incident_severity_raise(*, incident: Incident, alert: Alert) -> bool:
    """Raise the incident's severity to the alert's if the alert is more severe; never
    lowers it. True if it rose. The caller holds the model's lock (alert evaluations), so
    two alerts joining at once take turns; the incident row is locked before it is read."""
    if SEVERITY_RANK[alert.severity] <= SEVERITY_RANK[incident.severity]:
        return False
    locked = Incident.objects.select_for_update(of=("self",)).select_related("model", "version")
    locked = locked.get(pk=incident.pk)
    previous = locked.severity
    if SEVERITY_RANK[alert.severity] <= SEVERITY_RANK[previous]:
        return False
    locked.severity = alert.severity
    set_change_reason(locked, f"severity {previous} -> {alert.severity} (alert #{alert.pk})")
    locked.save(update_fields=["severity"])
    incident.severity = locked.severity
    incident_event_add(
        incident=locked,
        kind=IncidentEvent.Kind.SEVERITY_RAISED,
        message=f"Severity raised from {previous} to {alert.severity} by alert #{alert.pk} "
        f"({alert.metric} {alert.comparison} {alert.threshold:g}).",
        data={"alert": alert.pk, "from": previous, "to": alert.severity},
    )
    audit_incident(
        locked,
        "severity_raised",
        None,
        alert=alert.pk,
        previous_severity=previous,
        severity=alert.severity,
    )
    return True


def alert_incident_note(*, alert: Alert, kind: str, message: str, actor: Any = None) -> None:
    """A line on the timeline of the alert's incident, while it is not over."""
    if alert.incident_id is None or alert.incident.status in ENDED_STATUSES:
        return
    incident_event_add(
        incident=alert.incident, kind=kind, message=message, actor=actor, data={"alert": alert.pk}
    )
