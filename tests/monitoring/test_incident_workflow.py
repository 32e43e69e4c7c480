"""The incident workflow of issue 10: statuses, owner, comments, serious incidents and their
Art. 73 deadlines, rollbacks from an incident, deployments on the timeline, the data
migration from the older statuses; through the services and the API."""

from __future__ import annotations

import importlib
from datetime import timedelta
from typing import Any

import pytest
from django.apps import apps as django_apps
from django.test import TestCase
from django.utils import timezone

from governance.errors import Conflict, InvalidInput, NotAllowed
from governance.models import AuditEvent
from models_registry import services as registry
from models_registry.models import DeploymentEvent, ModelVersion
from monitoring.models import Alert, Incident, IncidentEvent, report_deadline
from monitoring.services import (
    incident_assign,
    incident_comment,
    incident_event_add,
    incident_flag_serious,
    incident_open,
    incident_report_record,
    incident_status_change,
)
from tests.conftest import assert_json_error

INCIDENTS = "/api/v1/incidents/"
Status = Incident.Status


def url(incident: Incident, action: str = "") -> str:
    return f"{INCIDENTS}{incident.pk}/" + (f"{action}/" if action else "")


@pytest.fixture
def model(make_model, make_version) -> Any:
    model = make_model()
    make_version(model)
    return model


@pytest.fixture
def incident(model) -> Incident:
    return incident_open(
        model=model,
        version=model.versions.get(version=1),
        severity=Incident.Severity.WARNING,
        source=Incident.Source.ALERT,
        title="Tenure drifted",
        description="drift_share 0.6 >= 0.5",
    )


@pytest.fixture
def v2_live(users, make_model, make_version) -> Any:
    """v1 then v2 promoted: a rollback restores v1."""
    model = make_model(name="fraud-detector")
    first, second = make_version(model), make_version(model)
    registry.deployment_promote(version=first, actor=users["ds"])
    registry.deployment_promote(version=second, actor=users["ds"])
    return model


def open_on(model: Any) -> Incident:
    return incident_open(
        model=model,
        severity=Incident.Severity.CRITICAL,
        source=Incident.Source.CANARY,
        title="Latency doubled",
        description="p95 2x",
    )


def post(api: Any, who: str, incident: Incident, action: str, body: dict[str, Any]) -> Any:
    return api(who).post(url(incident, action), body, format="json")


def kinds(incident: Incident) -> list[str]:
    return list(incident.timeline.order_by("id").values_list("kind", flat=True))


# --- the workflow ------------------------------------------------------------------------


def test_an_incident_walks_open_investigating_mitigated_closed(api, incident):
    steps = [
        ("investigating", "looking at tenure"),
        ("mitigated", "rolled back"),
        ("closed", "retrained on fresh data"),
    ]
    for status, comment in steps:
        response = post(api, "ds", incident, "status", {"status": status, "comment": comment})
        assert response.status_code == 200, response.content
        assert response.json()["status"] == status

    body = response.json()
    assert body["resolved_at"] is not None and body["closed_at"] is not None
    changes = [e for e in body["timeline"] if e["kind"] == "status_changed"]
    assert [(e["data"]["from"], e["data"]["to"], e["message"], e["actor"]) for e in changes] == [
        ("open", "investigating", "looking at tenure", "dana"),
        ("investigating", "mitigated", "rolled back", "dana"),
        ("mitigated", "closed", "retrained on fresh data", "dana"),
    ]
    reasons = [h.history_change_reason for h in incident.history.order_by("history_id")]
    assert reasons == [
        "opened (alert)",
        "open -> investigating",
        "investigating -> mitigated",
        "mitigated -> closed",
    ]
    audited = AuditEvent.objects.filter(action="incident.status_changed").order_by("id")
    assert [a.data["previous_status"] for a in audited] == ["open", "investigating", "mitigated"]
    assert audited[2].data["comment"] == "retrained on fresh data"


def test_mitigating_stamps_resolved_at_and_closing_keeps_it(users, incident):
    mitigated = incident_status_change(
        actor=users["board"], incident_id=incident.pk, status=Status.MITIGATED
    )
    stamp = mitigated.resolved_at
    closed = incident_status_change(
        actor=users["board"], incident_id=incident.pk, status=Status.CLOSED, comment="done"
    )

    assert stamp is not None
    assert closed.resolved_at == stamp
    assert closed.closed_at >= stamp


@pytest.mark.parametrize("previous", [Status.MITIGATED, Status.CLOSED])
def test_a_mitigated_or_closed_incident_is_reopened_with_a_reason(users, incident, previous):
    incident_status_change(
        actor=users["ds"], incident_id=incident.pk, status=previous, comment="thought so"
    )

    with pytest.raises(InvalidInput) as error:
        incident_status_change(actor=users["ds"], incident_id=incident.pk, status="investigating")
    assert "comment" in error.value.extra

    reopened = incident_status_change(
        actor=users["ds"], incident_id=incident.pk, status="investigating", comment="it is back"
    )
    assert reopened.status == Status.INVESTIGATING
    assert reopened.resolved_at is None and reopened.closed_at is None
    event = reopened.timeline.order_by("id").last()
    assert event.data == {"from": previous, "to": "investigating", "reopened": True}
    assert reopened.history.first().history_change_reason.startswith("reopened")


@pytest.mark.parametrize(
    ("start", "target"),
    [
        ("open", "open"),
        ("investigating", "open"),
        ("mitigated", "open"),
        ("closed", "mitigated"),
        ("closed", "open"),
    ],
)
def test_steps_the_workflow_does_not_allow_are_409(api, users, incident, start, target):
    if start != "open":
        incident_status_change(
            actor=users["ds"], incident_id=incident.pk, status=start, comment="step"
        )
    events = incident.timeline.count()

    response = post(api, "ds", incident, "status", {"status": target, "comment": "x"})

    assert_json_error(response, 409)
    incident.refresh_from_db()
    assert incident.status == start
    assert incident.timeline.count() == events


def test_closing_needs_a_comment_and_an_unknown_status_is_a_400(api, incident):
    assert "comment" in assert_json_error(
        post(api, "ds", incident, "status", {"status": "closed"}), 400
    )
    assert "status" in assert_json_error(
        post(api, "ds", incident, "status", {"status": "panicking"}), 400
    )
    assert "status" in assert_json_error(post(api, "ds", incident, "status", {}), 400)
    incident.refresh_from_db()
    assert incident.status == Status.OPEN
    assert kinds(incident) == ["opened"]


def test_acknowledge_and_resolve_are_two_steps_of_the_workflow(users, incident):
    from monitoring.services import incident_acknowledge, incident_resolve

    incident_acknowledge(actor=users["board"], incident_id=incident.pk)
    incident.refresh_from_db()
    assert incident.status == Status.INVESTIGATING
    with pytest.raises(Conflict):
        incident_acknowledge(actor=users["board"], incident_id=incident.pk)
    closed = incident_resolve(actor=users["ds"], incident_id=incident.pk, comment="fixed")
    assert closed.status == Status.CLOSED


# --- owner and comments -------------------------------------------------------------------


def test_an_incident_is_assigned_reassigned_and_unassigned(api, users, incident):
    first = post(api, "board", incident, "assign", {"owner": "dana", "comment": "yours"})
    again = post(api, "board", incident, "assign", {"owner": "dana"})
    second = post(api, "compliance", incident, "assign", {"owner": "carla"})
    nobody = post(api, "compliance", incident, "assign", {"owner": None})

    assert first.status_code == 200, first.content
    assert first.json()["owner"] == "dana"
    assert_json_error(again, 409)
    assert second.json()["owner"] == "carla"
    assert nobody.json()["owner"] is None
    assigned = [e for e in nobody.json()["timeline"] if e["kind"] == "assigned"]
    assert [(e["message"], e["data"]) for e in assigned] == [
        ("Assigned to dana. yours", {"owner": "dana", "previous_owner": None}),
        ("Assigned to carla.", {"owner": "carla", "previous_owner": "dana"}),
        ("No longer assigned.", {"owner": None, "previous_owner": "carla"}),
    ]
    audited = AuditEvent.objects.filter(action="incident.assigned").order_by("id")
    assert [a.data["owner"] for a in audited] == ["dana", "carla", None]
    assert [a.actor.username for a in audited] == ["bella", "carla", "carla"]


@pytest.mark.parametrize(
    ("owner", "field"), [("nobody-by-that-name", "owner"), ("vera", "owner"), ("ci-bot", "owner")]
)
def test_the_owner_must_be_a_user_who_works_on_incidents(api, incident, owner, field):
    response = post(api, "ds", incident, "assign", {"owner": owner})

    assert field in assert_json_error(response, 400)
    incident.refresh_from_db()
    assert incident.owner is None
    assert kinds(incident) == ["opened"]


def test_a_body_without_owner_is_a_400(api, incident):
    assert "owner" in assert_json_error(post(api, "ds", incident, "assign", {}), 400)


def test_comments_go_on_the_timeline_and_the_audit_chain(api, users, incident):
    response = post(api, "ds", incident, "comment", {"comment": "tenure feed changed upstream"})

    assert response.status_code == 200, response.content
    last = response.json()["timeline"][-1]
    assert (last["kind"], last["message"], last["actor"]) == (
        "comment",
        "tenure feed changed upstream",
        "dana",
    )
    audit = AuditEvent.objects.get(action="incident.commented")
    assert audit.data["comment"] == "tenure feed changed upstream"
    for blank in ({}, {"comment": "  "}):
        assert "comment" in assert_json_error(post(api, "ds", incident, "comment", blank), 400)
    assert incident.timeline.filter(kind="comment").count() == 1


def test_a_closed_incident_takes_comments_but_no_owner(users, incident):
    incident_status_change(
        actor=users["ds"], incident_id=incident.pk, status="closed", comment="fixed"
    )

    incident_comment(actor=users["ds"], incident_id=incident.pk, comment="post-mortem written")
    with pytest.raises(Conflict):
        incident_assign(actor=users["ds"], incident_id=incident.pk, owner=users["ds"])


# --- serious incidents: Art. 73 deadlines --------------------------------------------------


@pytest.mark.parametrize(("kind", "days"), [("standard", 15), ("death", 10), ("widespread", 2)])
def test_the_report_is_due_15_10_or_2_days_after_awareness(users, incident, kind, days):
    aware = timezone.now() - timedelta(hours=1)

    flagged = incident_flag_serious(
        actor=users["compliance"],
        incident_id=incident.pk,
        kind=kind,
        reason="Customers were refused credit.",
        aware_at=aware,
    )

    assert flagged.serious
    assert flagged.aware_at == aware
    assert flagged.report_due == aware + timedelta(days=days) == report_deadline(kind, aware)
    left = flagged.time_left()
    assert timedelta(days=days, hours=-1, minutes=-1) < left < timedelta(days=days, hours=-1)
    assert not flagged.is_overdue()


def test_awareness_defaults_to_now_and_the_api_shows_deadline_and_time_left(api, incident):
    before = timezone.now()
    response = post(
        api, "compliance", incident, "flag-serious", {"kind": "death", "reason": "A death."}
    )

    assert response.status_code == 200, response.content
    body = response.json()
    incident.refresh_from_db()
    assert before <= incident.aware_at <= timezone.now()
    assert body["serious"] is True and body["serious_kind"] == "death"
    assert body["report_deadline"] is not None
    assert 10 * 86400 - 60 < body["time_left_seconds"] <= 10 * 86400
    assert body["overdue"] is False
    flagged = body["timeline"][-1]
    assert flagged["kind"] == "flagged_serious"
    assert flagged["data"]["kind"] == "death" and flagged["data"]["previous"] is None
    audit = AuditEvent.objects.get(action="incident.flagged_serious")
    assert audit.data["report_due"] == incident.report_due.isoformat()


def test_an_incident_past_its_deadline_is_overdue_until_reported(api, users, model, incident):
    on_time = open_on(model)
    aware = timezone.now() - timedelta(days=3)
    incident_flag_serious(
        actor=users["compliance"],
        incident_id=incident.pk,
        kind="widespread",
        reason="Outage of a grid operator's forecasts.",
        aware_at=aware,
    )
    incident_flag_serious(
        actor=users["compliance"],
        incident_id=on_time.pk,
        kind="standard",
        reason="Wrong refusals.",
        aware_at=aware,
    )

    def ids(query: str) -> list[int]:
        response = api("validator").get(f"{INCIDENTS}?{query}")
        assert response.status_code == 200, response.content
        return sorted(i["id"] for i in response.json()["results"])

    late = api("validator").get(url(incident)).json()
    assert late["overdue"] is True
    assert -86400 - 60 < late["time_left_seconds"] <= -86400
    assert ids("overdue=true") == [incident.pk]
    assert ids("overdue=false") == [on_time.pk]
    assert ids("serious=true") == sorted([incident.pk, on_time.pk])
    assert ids("serious=false") == []
    assert ids("overdue=&serious=") == sorted([incident.pk, on_time.pk])  # empty: any
    for bad in ("overdue=yes", "serious=1", "version="):
        assert_json_error(api("validator").get(f"{INCIDENTS}?{bad}"), 400)

    incident_status_change(
        actor=users["compliance"], incident_id=incident.pk, status="closed", comment="fixed"
    )
    assert ids("overdue=true") == [incident.pk]  # closing is not the report
    incident_report_record(
        actor=users["compliance"], incident_id=incident.pk, reference="MSA-2026-0042"
    )
    assert ids("overdue=true") == []
    incident.refresh_from_db()
    assert not incident.is_overdue() and incident.time_left() is None


def test_flagging_again_reclassifies_and_keeps_the_first_awareness(users, incident):
    aware = timezone.now() - timedelta(days=1)
    incident_flag_serious(
        actor=users["compliance"],
        incident_id=incident.pk,
        kind="standard",
        reason="Wrong refusals.",
        aware_at=aware,
    )

    again = incident_flag_serious(
        actor=users["compliance2"], incident_id=incident.pk, kind="death", reason="A death."
    )

    assert again.aware_at == aware
    assert again.report_due == aware + timedelta(days=10)
    event = again.timeline.order_by("id").last()
    assert event.data["previous"] == {
        "kind": "standard",
        "reason": "Wrong refusals.",
        "aware_at": aware.isoformat(),
    }


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"kind": "bad-day", "reason": "x"}, "kind"),
        ({"kind": "standard", "reason": ""}, "reason"),
        ({"kind": "standard"}, "reason"),
        ({"reason": "x"}, "kind"),
        ({"kind": "standard", "reason": "x", "aware_at": "yesterday"}, "aware_at"),
        ({"kind": "standard", "reason": "x", "aware_at": "2999-01-01T00:00:00Z"}, "aware_at"),
    ],
)
def test_a_bad_serious_flag_is_a_400_naming_the_field(api, incident, body, field):
    response = post(api, "compliance", incident, "flag-serious", body)

    assert field in assert_json_error(response, 400)
    incident.refresh_from_db()
    assert not incident.serious and incident.report_due is None


def test_a_closed_incident_is_not_flagged(api, users, incident):
    incident_status_change(
        actor=users["ds"], incident_id=incident.pk, status="closed", comment="fixed"
    )
    response = post(api, "compliance", incident, "flag-serious", {"kind": "death", "reason": "x"})
    assert "reopen" in assert_json_error(response, 409)["detail"]


# --- roles ---------------------------------------------------------------------------------

ACTIONS = {
    "assign": {"owner": "dana"},
    "comment": {"comment": "x"},
    "status": {"status": "investigating"},
    "acknowledge": {},
    "resolve": {"comment": "x"},
    "flag-serious": {"kind": "standard", "reason": "x"},
    "report": {"reference": "MSA-1"},
    "rollback": {"comment": "x"},
}
ALLOWED = {
    "assign": {"ds", "board", "compliance"},
    "comment": {"ds", "board", "compliance"},
    "status": {"ds", "board", "compliance"},
    "acknowledge": {"ds", "board", "compliance"},
    "resolve": {"ds", "board", "compliance"},
    "flag-serious": {"compliance"},
    "report": {"compliance"},
    "rollback": {"ds", "board", "compliance"},
}


ROLES = ["ds", "board", "compliance", "validator", "ci", "outsider"]
FORBIDDEN = [(a, who) for a in ACTIONS for who in ROLES if who not in ALLOWED[a]]


@pytest.mark.parametrize(("action", "who"), FORBIDDEN)
def test_each_action_needs_its_role(api, incident, action, who):
    response = post(api, who, incident, action, ACTIONS[action])

    assert_json_error(response, 403)
    assert kinds(incident) == ["opened"]
    incident.refresh_from_db()
    assert incident.status == Status.OPEN and incident.owner is None and not incident.serious


def test_the_services_refuse_the_roles_too(users, incident):
    with pytest.raises(NotAllowed):
        incident_assign(actor=users["validator"], incident_id=incident.pk, owner=None)
    with pytest.raises(NotAllowed):
        incident_comment(actor=users["ci"], incident_id=incident.pk, comment="x")
    with pytest.raises(NotAllowed):
        incident_flag_serious(
            actor=users["ds"], incident_id=incident.pk, kind="standard", reason="x"
        )


@pytest.mark.parametrize("action", ACTIONS)
def test_actions_on_an_unknown_incident_are_404(api, incident, action):
    response = api("compliance").post(f"{INCIDENTS}999999/{action}/", ACTIONS[action], "json")
    assert_json_error(response, 404)


# --- timeline links: alerts, events from other parts, deployments, rollbacks ----------------


def test_the_detail_lists_the_alerts_of_the_incident(api, incident):
    now = timezone.now()
    alert = Alert.objects.create(
        model=incident.model,
        version=incident.version,
        rule_key="drift-share",
        metric="drift_share",
        value=0.6,
        threshold=0.5,
        comparison=">=",
        severity="warning",
        first_seen=now,
        last_seen=now,
        count=3,
        incident=incident,
    )
    incident_event_add(
        incident=incident,
        kind=IncidentEvent.Kind.ALERT,
        message="drift_share 0.6 >= 0.5",
        data={"alert": alert.pk},
    )

    body = api("validator").get(url(incident)).json()

    assert [(a["id"], a["metric"], a["count"], a["version"]) for a in body["alerts"]] == [
        (alert.pk, "drift_share", 3, 1)
    ]
    assert body["timeline"][-1]["data"] == {"alert": alert.pk}
    assert body["timeline"][-1]["actor"] is None


def test_other_parts_add_only_known_kinds(incident):
    with pytest.raises(InvalidInput) as error:
        incident_event_add(incident=incident, kind="gossip", message="x")
    assert "kind" in error.value.extra

    event = incident_event_add(
        incident=incident,
        kind="retraining_failed",
        message="Too few labels: 12 of 200.",
        data={"retraining_run": 4},
    )
    assert event.data == {"retraining_run": 4}


def test_deployments_of_the_model_go_on_its_open_incidents_only(users, v2_live, make_version):
    open_one = open_on(v2_live)
    closed_one = open_on(v2_live)
    incident_status_change(
        actor=users["ds"], incident_id=closed_one.pk, status="closed", comment="x"
    )
    v3 = make_version(v2_live)

    with TestCase.captureOnCommitCallbacks(execute=True):
        event = registry.deployment_start_canary(version=v3, actor=users["ds"], traffic=10)

    (entry,) = open_one.timeline.filter(kind="deployment")
    assert entry.data == {
        "deployment_event": event.pk,
        "deployment_kind": "canary_started",
        "version": 3,
        "previous_version": 2,
    }
    assert entry.actor == users["ds"]
    assert "Canary started (v3, replacing v2)" in entry.message
    assert not closed_one.timeline.filter(kind="deployment").exists()


def test_an_incident_rolls_its_model_back_and_records_it_once(api, v2_live):
    incident = open_on(v2_live)

    response = post(api, "board", incident, "rollback", {"comment": "latency", "from_version": 2})

    assert response.status_code == 200, response.content
    stages = dict(ModelVersion.objects.filter(model=v2_live).values_list("version", "stage"))
    assert stages == {1: "production", 2: "archived"}
    event = DeploymentEvent.objects.get(kind="rolled_back")
    assert event.reason == f"incident #{incident.pk}: latency"
    assert event.actor.username == "bella"
    rollbacks = [e for e in response.json()["timeline"] if e["kind"] == "rollback"]
    assert len(rollbacks) == 1  # the deployment receiver does not add it a second time
    assert rollbacks[0]["data"]["deployment_event"] == event.pk
    assert rollbacks[0]["data"]["version"] == 1 and rollbacks[0]["data"]["previous_version"] == 2
    audit = AuditEvent.objects.get(action="incident.rolled_back")
    assert audit.data["deployment_events"] == [event.pk]
    assert AuditEvent.objects.filter(action="deployment.rolled_back").exists()


def test_a_rollback_from_an_incident_with_a_canary_stops_it_too(api, users, v2_live, make_version):
    v3 = make_version(v2_live)
    registry.deployment_start_canary(version=v3, actor=users["ds"], traffic=10)
    incident = open_on(v2_live)

    response = post(api, "compliance", incident, "rollback", {"comment": "fairness gap"})

    assert response.status_code == 200, response.content
    rollbacks = [e for e in response.json()["timeline"] if e["kind"] == "rollback"]
    assert [e["data"]["deployment_kind"] for e in rollbacks] == ["canary_stopped", "rolled_back"]


def test_rollback_refusals(api, users, v2_live, model):
    incident = open_on(v2_live)
    nothing = open_on(model)  # v1 registered, never deployed

    assert "comment" in assert_json_error(post(api, "ds", incident, "rollback", {}), 400)
    stale = post(api, "ds", incident, "rollback", {"comment": "x", "from_version": 1})
    assert assert_json_error(stale, 409)["production_version"] == 2
    assert_json_error(post(api, "ds", nothing, "rollback", {"comment": "x"}), 409)
    incident_status_change(actor=users["ds"], incident_id=incident.pk, status="closed", comment="x")
    assert_json_error(post(api, "ds", incident, "rollback", {"comment": "x"}), 409)
    assert not DeploymentEvent.objects.filter(kind="rolled_back").exists()
    assert not IncidentEvent.objects.filter(kind="rollback").exists()


# --- the data migration ----------------------------------------------------------------------

MIGRATION = importlib.import_module("monitoring.migrations.0007_incident_workflow")


def test_the_migration_maps_acknowledged_and_resolved_and_back(users, model):
    acknowledged, resolved, untouched = open_on(model), open_on(model), open_on(model)
    stamp = timezone.now() - timedelta(days=2)
    Incident.objects.filter(pk=acknowledged.pk).update(status="acknowledged")
    Incident.objects.filter(pk=resolved.pk).update(status="resolved", resolved_at=stamp)

    MIGRATION.statuses_forward(django_apps, None)

    rows = {i.pk: i for i in Incident.objects.all()}
    assert rows[acknowledged.pk].status == "investigating"
    assert rows[resolved.pk].status == "closed"
    assert rows[resolved.pk].closed_at == stamp == rows[resolved.pk].resolved_at
    assert rows[untouched.pk].status == "open"

    MIGRATION.statuses_backward(django_apps, None)

    statuses = dict(Incident.objects.values_list("pk", "status"))
    assert statuses == {
        acknowledged.pk: "acknowledged",
        resolved.pk: "resolved",
        untouched.pk: "open",
    }
