"""An incident is as severe as its most severe alert: a critical alert joining a warning
incident raises it (timeline, audit, history), nothing lowers it again; notifications stay
routed by the alert's own severity and say the incident's."""

from __future__ import annotations

import json
from typing import Any

import pytest

from governance.models import AuditEvent
from monitoring.models import Incident, IncidentEvent, NotificationDelivery
from tests.monitoring.alert_helpers import configure, evaluate, finished_run
from tests.monitoring.notification_helpers import http_receiver, route, webhook

__all__ = ["http_receiver"]  # a fixture

WARNING_RULE = {"metric": "drift_share", "threshold": 0.3, "severity": "warning", "clear_after": 1}
CRITICAL_RULE = {
    "metric": "drift.tenure",
    "threshold": 0.1,
    "severity": "critical",
    "clear_after": 1,
}


@pytest.fixture
def version(make_model, make_version) -> Any:
    version = make_version(make_model())
    configure(version.model, [WARNING_RULE, CRITICAL_RULE])
    return version


def kinds(incident: Incident) -> list[str]:
    return list(incident.timeline.order_by("id").values_list("kind", flat=True))


def test_a_critical_alert_joining_a_warning_incident_raises_it(version):
    evaluate(finished_run(version, drift_share=0.5, **{"drift.tenure": 0.0}))
    incident = Incident.objects.get()
    assert incident.severity == "warning"

    evaluate(finished_run(version, drift_share=0.5, **{"drift.tenure": 0.4}))

    incident.refresh_from_db()
    assert incident.severity == "critical"
    assert kinds(incident) == ["opened", "alert", "severity_raised"]
    raised = incident.timeline.get(kind=IncidentEvent.Kind.SEVERITY_RAISED)
    critical = incident.alerts.get(severity="critical")
    assert raised.data == {"alert": critical.pk, "from": "warning", "to": "critical"}
    assert raised.actor is None
    assert f"alert #{critical.pk}" in raised.message
    audit = AuditEvent.objects.get(action="incident.severity_raised")
    assert audit.object_id == str(incident.pk)
    assert (audit.data["previous_severity"], audit.data["severity"]) == ("warning", "critical")
    assert audit.data["alert"] == critical.pk
    change = incident.history.order_by("history_id").last()
    assert change.severity == "critical" and "warning -> critical" in change.history_change_reason


def test_a_critical_alert_opens_a_critical_incident_without_a_raise(version):
    evaluate(finished_run(version, drift_share=0.0, **{"drift.tenure": 0.4}))

    incident = Incident.objects.get()
    assert incident.severity == "critical"
    assert kinds(incident) == ["opened"]
    assert not AuditEvent.objects.filter(action="incident.severity_raised").exists()


def test_a_warning_alert_joining_a_critical_incident_does_not_lower_it(version):
    evaluate(finished_run(version, drift_share=0.0, **{"drift.tenure": 0.4}))

    evaluate(finished_run(version, drift_share=0.5, **{"drift.tenure": 0.4}))

    incident = Incident.objects.get()
    assert incident.severity == "critical"
    assert kinds(incident) == ["opened", "alert"]


def test_the_critical_alert_resolving_leaves_the_incident_critical(version):
    evaluate(finished_run(version, drift_share=0.5, **{"drift.tenure": 0.0}))
    evaluate(finished_run(version, drift_share=0.5, **{"drift.tenure": 0.4}))

    evaluate(finished_run(version, drift_share=0.5, **{"drift.tenure": 0.0}))  # clear_after 1

    incident = Incident.objects.get()
    assert incident.alerts.get(severity="critical").status == "resolved"
    assert incident.severity == "critical"
    assert kinds(incident)[-1] == "alert_resolved"


def test_an_info_alert_never_touches_the_incident(make_model, make_version):
    version = make_version(make_model())
    configure(
        version.model,
        [WARNING_RULE, {"metric": "rows", "threshold": 100, "severity": "info", "comparison": "<"}],
    )

    evaluate(finished_run(version, rows=50, drift_share=0.5))

    incident = Incident.objects.get()
    assert incident.severity == "warning" and kinds(incident) == ["opened"]


def test_routes_follow_the_alert_and_the_message_says_the_incident_is_critical(
    version, http_receiver, settings
):
    settings.NOTIFICATION_MAX_ATTEMPTS = 1
    team = webhook("team", http_receiver.url)
    pager = webhook("pager", http_receiver.url + "/pager")
    route(team, version.model, min_severity="warning")
    route(pager, version.model, min_severity="critical")

    evaluate(finished_run(version, drift_share=0.5, **{"drift.tenure": 0.0}))
    evaluate(finished_run(version, drift_share=0.5, **{"drift.tenure": 0.4}))

    incident = Incident.objects.get()
    sent = {
        (delivery.endpoint.name, delivery.alert.severity)
        for delivery in NotificationDelivery.objects.select_related("endpoint", "alert")
    }
    # The warning alert stays a warning: the pager, which takes critical only, never gets it.
    assert sent == {("team", "warning"), ("team", "critical"), ("pager", "critical")}
    bodies = [json.loads(request.body) for request in http_receiver.requests]
    by_severity = {body["alert"]["severity"]: body for body in bodies}
    assert by_severity["warning"]["incident"]["severity"] == "warning"  # as it was then
    assert by_severity["critical"]["incident"] == {
        "id": incident.pk,
        "url": f"{settings.SITE_URL}/incidents/{incident.pk}/",
        "severity": "critical",
    }
