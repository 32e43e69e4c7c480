"""Incidents: open (services), list and read (API), acknowledge and resolve (the older names
of two steps of the workflow, tests/monitoring/test_incident_workflow.py)."""

from __future__ import annotations

from typing import Any

import pytest

from governance.audit_context import Origin, acting_as
from governance.errors import InvalidInput, NotAllowed
from governance.models import AuditEvent
from monitoring.models import Incident
from monitoring.services import incident_acknowledge, incident_open, incident_resolve
from tests.conftest import assert_json_error

INCIDENTS = "/api/v1/incidents/"


def url(incident: Incident, action: str = "") -> str:
    return f"{INCIDENTS}{incident.pk}/" + (f"{action}/" if action else "")


@pytest.fixture
def churn(make_model, make_version) -> dict[str, Any]:
    model = make_model()
    return {"model": model, "v1": make_version(model)}


def open_incident(model: Any, version: Any = None, **kwargs: Any) -> Incident:
    fields = {
        "severity": Incident.Severity.WARNING,
        "source": Incident.Source.DRIFT,
        "title": "Tenure drifted",
        "description": "Share of drifted features 0.6.",
        "details": {"drift_share": 0.6},
    }
    fields.update(kwargs)
    return incident_open(model=model, version=version, **fields)


# --- services --------------------------------------------------------------------------


def test_opening_an_incident_starts_its_timeline_history_and_audit(churn, users):
    with acting_as(origin=Origin.TASK):
        incident = open_incident(churn["model"], churn["v1"], actor=users["compliance"])

    assert incident.status == Incident.Status.OPEN
    assert incident.resolved_at is None
    (opened,) = incident.timeline.all()
    assert opened.kind == "opened"
    assert opened.message == "Share of drifted features 0.6."
    assert opened.actor == users["compliance"]
    history = incident.history.get()
    assert history.history_change_reason == "opened (drift)"
    assert history.history_origin == "task"
    audit = AuditEvent.objects.get(action="incident.opened")
    assert audit.object_type == "incident"
    assert audit.object_id == str(incident.pk)
    assert audit.data["model"] == "churn-classifier"
    assert audit.data["version"] == 1
    assert audit.actor == users["compliance"]


def test_an_incident_without_actor_is_the_systems(churn):
    incident = open_incident(churn["model"])

    assert incident.timeline.get().actor is None
    assert AuditEvent.objects.get(action="incident.opened").actor is None


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"severity": "apocalyptic"}, "severity"),
        ({"source": "rumour"}, "source"),
        ({"title": "  "}, "title"),
    ],
)
def test_an_invalid_incident_is_refused(churn, changes, field):
    with pytest.raises(InvalidInput) as error:
        open_incident(churn["model"], **changes)

    assert field in error.value.extra
    assert not Incident.objects.exists()


def test_an_incident_cannot_name_another_models_version(churn, make_model, make_version):
    other = make_version(make_model(name="fraud-detector"))

    with pytest.raises(InvalidInput) as error:
        open_incident(churn["model"], other)

    assert "version" in error.value.extra


def test_only_those_who_work_incidents_acknowledge_or_resolve(churn, users):
    incident = open_incident(churn["model"])

    with pytest.raises(NotAllowed):
        incident_acknowledge(actor=users["validator"], incident_id=incident.pk)
    with pytest.raises(NotAllowed):
        incident_resolve(actor=users["ci"], incident_id=incident.pk, comment="fixed")


# --- API: read -------------------------------------------------------------------------


def test_incidents_are_listed_newest_first_and_paginated(api, churn):
    first = open_incident(churn["model"], churn["v1"])
    second = open_incident(churn["model"], severity=Incident.Severity.CRITICAL)

    response = api("board").get(INCIDENTS)

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["count"] == 2
    assert [i["id"] for i in body["results"]] == [second.pk, first.pk]
    assert body["results"][1] == {
        "id": first.pk,
        "model": "churn-classifier",
        "version": 1,
        "severity": "warning",
        "status": "open",
        "source": "drift",
        "title": "Tenure drifted",
        "description": "Share of drifted features 0.6.",
        "details": {"drift_share": 0.6},
        "opened_at": body["results"][1]["opened_at"],
        "resolved_at": None,
        "closed_at": None,
        "owner": None,
        "serious": False,
        "serious_kind": "",
        "serious_reason": "",
        "aware_at": None,
        "report_deadline": None,
        "time_left_seconds": None,
        "overdue": False,
        "reported_at": None,
        "reported_by": None,
        "report_reference": "",
    }
    assert body["results"][0]["version"] is None


def test_incidents_filter_by_model_status_and_severity(api, users, churn, make_model):
    fraud = make_model(name="fraud-detector")
    churn_warning = open_incident(churn["model"])
    churn_critical = open_incident(churn["model"], severity=Incident.Severity.CRITICAL)
    fraud_warning = open_incident(fraud)
    incident_resolve(actor=users["compliance"], incident_id=churn_warning.pk, comment="done")

    def ids(query: str) -> list[int]:
        response = api("ci").get(f"{INCIDENTS}?{query}")
        assert response.status_code == 200, response.content
        return sorted(i["id"] for i in response.json()["results"])

    assert ids("model=churn-classifier") == sorted([churn_warning.pk, churn_critical.pk])
    assert ids("model=fraud-detector") == [fraud_warning.pk]
    assert ids("model=nope") == []
    assert ids("status=open") == sorted([churn_critical.pk, fraud_warning.pk])
    assert ids("severity=critical") == [churn_critical.pk]
    assert ids("model=churn-classifier&status=closed") == [churn_warning.pk]
    assert ids("source=drift") == sorted([churn_warning.pk, churn_critical.pk, fraud_warning.pk])


def test_an_unknown_filter_value_is_a_400(api, churn):
    assert "status" in assert_json_error(api("ci").get(f"{INCIDENTS}?status=panicking"), 400)


def test_an_incident_is_read_with_its_timeline(api, users, churn):
    incident = open_incident(churn["model"], churn["v1"])
    incident_acknowledge(actor=users["compliance"], incident_id=incident.pk, comment="on it")

    body = api("validator").get(url(incident)).json()

    assert body["status"] == "investigating"
    assert [(e["kind"], e["message"], e["actor"]) for e in body["timeline"]] == [
        ("opened", "Share of drifted features 0.6.", None),
        ("status_changed", "on it", "carla"),
    ]
    assert body["timeline"][1]["data"] == {"from": "open", "to": "investigating", "reopened": False}
    assert body["alerts"] == []


def test_an_unknown_incident_is_404(api, churn):
    assert_json_error(api("ci").get(f"{INCIDENTS}999/"), 404)
    assert_json_error(
        api("compliance").post(f"{INCIDENTS}999/acknowledge/", {}, format="json"), 404
    )


def test_anonymous_calls_are_401(api, churn):
    incident = open_incident(churn["model"])

    assert_json_error(api(None).get(INCIDENTS), 401)
    assert_json_error(api(None).post(url(incident, "acknowledge"), {}, format="json"), 401)


# --- API: the state machine --------------------------------------------------------------


def test_compliance_acknowledges_then_resolves(api, users, churn):
    incident = open_incident(churn["model"])
    client = api("compliance")

    acknowledged = client.post(url(incident, "acknowledge"), {"comment": "on it"}, format="json")
    resolved = client.post(
        url(incident, "resolve"), {"comment": "rolled back to v1"}, format="json"
    )

    assert acknowledged.status_code == 200, acknowledged.content
    assert acknowledged.json()["status"] == "investigating"
    assert resolved.status_code == 200, resolved.content
    body = resolved.json()
    assert body["status"] == "closed"
    assert body["resolved_at"] is not None
    assert body["closed_at"] is not None
    assert [e["kind"] for e in body["timeline"]] == ["opened", "status_changed", "status_changed"]
    assert body["timeline"][2]["message"] == "rolled back to v1"
    assert body["timeline"][2]["actor"] == "carla"
    incident.refresh_from_db()
    assert [h.history_change_reason for h in incident.history.order_by("history_id")] == [
        "opened (drift)",
        "open -> investigating",
        "investigating -> closed",
    ]
    assert {
        h.history_origin
        for h in incident.history.exclude(history_change_reason__startswith="opened")
    } == {"api"}
    actions = AuditEvent.objects.filter(object_type="incident").order_by("id")
    assert [a.action for a in actions] == [
        "incident.opened",
        "incident.status_changed",
        "incident.status_changed",
    ]
    assert actions[2].data["comment"] == "rolled back to v1"


def test_acknowledging_without_a_comment_says_who(api, churn):
    incident = open_incident(churn["model"])

    body = api("compliance").post(url(incident, "acknowledge"), {}, format="json").json()

    assert body["timeline"][1]["message"] == "Investigating by carla."


def test_an_open_incident_may_be_resolved_directly(api, churn):
    incident = open_incident(churn["model"])

    response = api("compliance").post(
        url(incident, "resolve"), {"comment": "false alarm"}, format="json"
    )

    assert response.status_code == 200, response.content
    assert response.json()["status"] == "closed"


def test_resolving_needs_a_comment(api, churn):
    incident = open_incident(churn["model"])

    for body in ({}, {"comment": "   "}):
        error = assert_json_error(
            api("compliance").post(url(incident, "resolve"), body, format="json"), 400
        )
        assert "comment" in error
    incident.refresh_from_db()
    assert incident.status == Incident.Status.OPEN


def test_an_unknown_body_field_is_a_400(api, churn):
    incident = open_incident(churn["model"])

    response = api("compliance").post(url(incident, "acknowledge"), {"coment": "x"}, format="json")

    assert "coment" in assert_json_error(response, 400)


def test_acknowledging_twice_is_a_409(api, churn):
    incident = open_incident(churn["model"])
    client = api("compliance")
    client.post(url(incident, "acknowledge"), {}, format="json")

    response = client.post(url(incident, "acknowledge"), {}, format="json")

    assert "acknowledged" in assert_json_error(response, 409)["detail"]
    assert incident.timeline.count() == 2


def test_a_resolved_incident_is_neither_acknowledged_nor_resolved_again(api, churn):
    incident = open_incident(churn["model"])
    client = api("compliance2")
    client.post(url(incident, "resolve"), {"comment": "fixed"}, format="json")

    assert_json_error(client.post(url(incident, "acknowledge"), {}, format="json"), 409)
    assert_json_error(
        client.post(url(incident, "resolve"), {"comment": "again"}, format="json"), 409
    )
    assert incident.timeline.count() == 2


@pytest.mark.parametrize("who", ["ci", "validator", "outsider"])
def test_other_roles_get_403_and_nothing_changes(api, churn, who):
    incident = open_incident(churn["model"])

    assert_json_error(api(who).post(url(incident, "acknowledge"), {}, format="json"), 403)
    assert_json_error(api(who).post(url(incident, "resolve"), {"comment": "x"}, format="json"), 403)
    incident.refresh_from_db()
    assert incident.status == Incident.Status.OPEN


def test_outsiders_do_not_read_incidents(api, churn):
    assert_json_error(api("outsider").get(INCIDENTS), 403)
