"""GET /api/v1/alerts/ (contract), acknowledge and silence through the API and the admin."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from governance.models import AuditEvent
from monitoring.models import Alert
from monitoring.services.alerts import alert_silence
from tests.conftest import assert_json_error
from tests.monitoring.alert_helpers import configure, evaluate, finished_run

ALERTS = "/api/v1/alerts/"
CONTRACT_FIELDS = [
    "id",
    "model",
    "version",
    "metric",
    "value",
    "threshold",
    "severity",
    "status",
    "count",
    "first_seen",
    "last_seen",
    "incident",
]
EXTRA_FIELDS = ["comparison", "check_run", "acknowledged_at", "silenced_until", "silence_reason"]


@pytest.fixture
def alerts(make_model, make_version) -> dict[str, Alert]:
    """churn v1: a warning drift alert (with an incident) and an info f1 alert; fraud v1:
    a critical drift alert."""
    churn = make_version(make_model("churn"))
    fraud = make_version(make_model("fraud"))
    configure(
        churn.model,
        [
            {"metric": "drift_share", "threshold": 0.3, "severity": "warning"},
            {"metric": "f1", "threshold": 0.8, "severity": "info"},
        ],
    )
    configure(fraud.model, [{"metric": "drift_share", "threshold": 0.3, "severity": "critical"}])
    drift = evaluate(finished_run(churn, drift_share=0.5))[0].alert
    evaluate(finished_run(churn, drift_share=0.6))
    f1 = evaluate(finished_run(churn, "quality", labelled=100, f1=0.6))[0].alert
    fraud_drift = evaluate(finished_run(fraud, drift_share=0.9))[0].alert
    return {"drift": drift, "f1": f1, "fraud": fraud_drift}


def later(hours: float = 2) -> str:
    return (timezone.now() + timedelta(hours=hours)).isoformat()


def test_the_list_has_the_contract_fields_and_extras(api, alerts):
    body = api("validator").get(ALERTS, {"model": "churn", "metric": "drift_share"}).json()

    [alert] = body["results"] if isinstance(body, dict) else body
    assert list(alert) == CONTRACT_FIELDS + EXTRA_FIELDS
    drift = alerts["drift"]
    drift.refresh_from_db()
    assert alert["id"] == drift.pk and alert["model"] == "churn" and alert["version"] == 1
    assert (alert["metric"], alert["value"], alert["threshold"]) == ("drift_share", 0.6, 0.3)
    assert (alert["severity"], alert["status"], alert["count"]) == ("warning", "open", 2)
    assert alert["incident"] == drift.incident_id is not None
    assert alert["comparison"] == ">=" and alert["check_run"] == drift.check_run_id
    assert alert["acknowledged_at"] is None and alert["silence_reason"] == ""


def items(response: Any) -> list[dict[str, Any]]:
    body = response.json()
    assert response.status_code == 200, body
    return body["results"] if isinstance(body, dict) else body


def test_the_list_filters_by_model_status_severity_and_version(api, alerts, users):
    client = api("board")
    ids = lambda **q: sorted(a["id"] for a in items(client.get(ALERTS, q)))  # noqa: E731
    alert_silence(
        actor=users["ds"],
        alert_id=alerts["f1"].pk,
        until=timezone.now() + timedelta(hours=1),
        reason="labels late",
    )

    assert ids(model="churn") == sorted([alerts["drift"].pk, alerts["f1"].pk])
    assert ids(severity="critical") == [alerts["fraud"].pk]
    assert ids(status="silenced") == [alerts["f1"].pk]
    assert ids(status="open") == sorted([alerts["drift"].pk, alerts["fraud"].pk])
    assert ids(model="churn", version=2) == []
    assert ids(model="nope") == []
    assert_json_error(client.get(ALERTS, {"status": "asleep"}), 400)


def test_a_silence_whose_time_passed_lists_as_open(api, alerts):
    alert = alerts["f1"]
    alert.status, alert.silenced_until = "silenced", timezone.now() - timedelta(minutes=1)
    alert.save()

    open_ids = [a["id"] for a in items(api("ci").get(ALERTS, {"status": "open"}))]

    assert alert.pk in open_ids
    assert items(api("ci").get(ALERTS, {"status": "silenced"})) == []
    assert api("ci").get(f"{ALERTS}{alert.pk}/").json()["status"] == "open"


def test_one_alert_has_its_rule_and_404_for_an_unknown_one(api, alerts):
    body = api("validator").get(f"{ALERTS}{alerts['drift'].pk}/").json()

    assert body["rule"]["metric"] == "drift_share" and len(body["rule_key"]) == 64
    assert body["acknowledged_by"] is None and body["resolved_at"] is None
    assert_json_error(api("validator").get(f"{ALERTS}999999/"), 404)
    assert_json_error(api(None).get(ALERTS), 401)
    assert_json_error(api("outsider").get(ALERTS), 403)


def test_acknowledging_through_the_api(api, alerts):
    url = f"{ALERTS}{alerts['drift'].pk}/acknowledge/"

    response = api("ds").post(url, {"comment": "retraining"}, format="json")

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["acknowledged_by"] == "dana" and body["acknowledged_at"]
    assert_json_error(api("board").post(url, {}, format="json"), 409)
    assert_json_error(api("ds").post(f"{ALERTS}999999/acknowledge/", {}, format="json"), 404)


@pytest.mark.parametrize("who", ["validator", "ci", "outsider"])
def test_roles_without_manage_alerts_cannot_acknowledge_or_silence(api, alerts, who):
    alert = alerts["drift"]
    client = api(who)

    assert_json_error(client.post(f"{ALERTS}{alert.pk}/acknowledge/", {}, format="json"), 403)
    silence = {"until": later(), "reason": "r"}
    assert_json_error(client.post(f"{ALERTS}{alert.pk}/silence/", silence, format="json"), 403)
    alert.refresh_from_db()
    assert alert.acknowledged_at is None and alert.status == "open"


def test_silencing_through_the_api(api, alerts):
    alert = alerts["drift"]
    until = later(3)

    response = api("compliance").post(
        f"{ALERTS}{alert.pk}/silence/", {"until": until, "reason": "vendor outage"}, format="json"
    )

    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["status"], body["silence_reason"], body["silenced_by"]) == (
        "silenced",
        "vendor outage",
        "carla",
    )
    event = AuditEvent.objects.get(action="alert.silenced")
    assert event.data["reason"] == "vendor outage" and event.actor.username == "carla"

    response = api("board").post(f"{ALERTS}{alert.pk}/unsilence/", {}, format="json")
    assert response.status_code == 200 and response.json()["status"] == "open"
    assert_json_error(api("board").post(f"{ALERTS}{alert.pk}/unsilence/", {}, format="json"), 409)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"until": "2020-01-01T00:00:00Z", "reason": "old"}, "until"),
        ({"until": "2099-01-01T10:00:00", "reason": "no zone"}, "until"),
        ({"until": "tomorrow", "reason": "words"}, "until"),
        ({"until": "LATER", "reason": "   "}, "reason"),
        ({"until": "LATER"}, "reason"),
        ({"reason": "no time"}, "until"),
        ({"until": "LATER", "reason": "r", "for": "ever"}, "for"),
    ],
)
def test_a_bad_silence_is_a_400_naming_the_field_and_changes_nothing(api, alerts, body, field):
    alert = alerts["drift"]
    body = {k: later() if v == "LATER" else v for k, v in body.items()}

    error = assert_json_error(
        api("ds").post(f"{ALERTS}{alert.pk}/silence/", body, format="json"), 400
    )

    assert field in error, error
    alert.refresh_from_db()
    assert alert.status == "open" and alert.silenced_until is None
    assert not AuditEvent.objects.filter(action="alert.silenced").exists()


# --- admin ----------------------------------------------------------------------------------


def admin_client(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_compliance_reads_alerts_in_the_admin_and_cannot_edit_them(users, alerts):
    client = admin_client(users["compliance"])

    listing = client.get("/admin/monitoring/alert/", {"severity": "critical"})
    page = client.get(f"/admin/monitoring/alert/{alerts['drift'].pk}/change/")

    assert listing.status_code == 200 and page.status_code == 200
    assert listing.context["cl"].result_count == 1
    assert b"drift_share" in page.content
    assert client.get("/admin/monitoring/alert/add/").status_code == 403


def test_admin_actions_acknowledge_and_silence_through_the_services(users, alerts):
    client = admin_client(users["compliance"])
    ids = [str(alerts["drift"].pk), str(alerts["fraud"].pk)]

    client.post("/admin/monitoring/alert/", {"action": "acknowledge", "_selected_action": ids})
    asked = client.post("/admin/monitoring/alert/", {"action": "silence", "_selected_action": ids})
    bad = client.post(
        "/admin/monitoring/alert/",
        {
            "action": "silence",
            "_selected_action": ids,
            "apply": "1",
            "until": "2020-01-01 10:00",
            "reason": "x",
        },
    )
    done = client.post(
        "/admin/monitoring/alert/",
        {
            "action": "silence",
            "_selected_action": ids,
            "apply": "1",
            "until": (timezone.now() + timedelta(hours=5)).strftime("%Y-%m-%d %H:%M:%S"),
            "reason": "maintenance window",
        },
    )

    assert asked.status_code == 200 and b"silence-form" in asked.content
    assert bad.status_code == 200 and b"Must lie in the future." in bad.content
    assert done.status_code == 302
    for alert in Alert.objects.filter(pk__in=ids):
        assert alert.acknowledged_by == users["compliance"]
        assert (alert.status, alert.silence_reason) == ("silenced", "maintenance window")
    assert AuditEvent.objects.filter(action="alert.silenced").count() == 2
