"""Closing flags: POST /api/v1/models/{name}/flags/{id}/resolve/ and .../dismiss/, by those
who work alerts, once, on record; the status in listings and the admin."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from governance.models import AuditEvent
from models_registry.models import Prediction, RegisteredModel
from monitoring.models import PredictionFlag
from monitoring.services.flags import flag_create
from tests.conftest import assert_json_error, make_user

pytestmark = pytest.mark.django_db

FLAGS = "/api/v1/models/churn-classifier/flags/"


@pytest.fixture
def flag(users, make_model, make_version) -> PredictionFlag:
    """An open `unfair` flag dana raised on churn-classifier's answered call r-1; fraud has a
    model and a call of its own."""
    model = make_model()
    version = make_version(model)
    other = make_model(name="fraud")
    other_version = make_version(other)
    at = timezone.now() - timedelta(minutes=10)
    Prediction.objects.bulk_create(
        [
            Prediction(
                model=on.model,
                version=on,
                request_id=request_id,
                source=Prediction.Source.SERVED,
                occurred_at=at,
                features={"tenure": 3},
                prediction=0.8,
            )
            for on, request_id in [(version, "r-1"), (version, "r-2"), (other_version, "fraud-1")]
        ]
    )
    return flag_create(actor=users["ds"], model=model, request_id="r-1", reason="unfair").flag


def close(api: Any, flag: PredictionFlag, verb: str, body: Any, who: str = "board") -> Any:
    return api(who).post(f"{FLAGS}{flag.pk}/{verb}/", body, format="json")


def closing_events() -> Any:
    return AuditEvent.objects.filter(action__in=["flag.resolved", "flag.dismissed"])


def assert_still_open(flag: PredictionFlag) -> None:
    flag.refresh_from_db()
    assert (flag.status, flag.resolved_by, flag.resolved_at) == ("open", None, None)
    assert not closing_events().exists()


def test_a_new_flag_is_open(api, flag):
    body = api("validator").get(FLAGS).json()["results"][0]
    assert (body["status"], body["resolved_by"], body["resolved_at"]) == ("open", None, None)
    assert body["resolution_note"] == ""


@pytest.mark.parametrize("who", ["ds", "board", "compliance"])
def test_those_who_work_alerts_resolve_a_flag_on_record(api, flag, users, who):
    response = close(api, flag, "resolve", {"note": "Retrained without the leaky feature."}, who)

    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["status"], body["resolved_by"]) == ("resolved", users[who].username)
    assert body["resolution_note"] == "Retrained without the leaky feature."
    flag.refresh_from_db()
    assert (flag.status, flag.resolved_by) == ("resolved", users[who])
    assert timezone.now() - flag.resolved_at < timedelta(minutes=1)
    event = AuditEvent.objects.get(action="flag.resolved")
    assert (event.origin, event.actor_username, event.object_id) == (
        "api",
        users[who].username,
        str(flag.pk),
    )
    assert event.data == {
        "model": "churn-classifier",
        "version": 1,
        "request_id": "r-1",
        "reason": "unfair",
        "status": "resolved",
        "note": "Retrained without the leaky feature.",
    }


def test_a_dismissal_says_why(api, flag):
    assert "note" in assert_json_error(close(api, flag, "dismiss", {}), 400)
    assert "note" in assert_json_error(close(api, flag, "dismiss", {"note": "  "}), 400)
    assert_still_open(flag)

    response = close(api, flag, "dismiss", {"note": "Same decision for both groups."})
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "dismissed"
    assert AuditEvent.objects.get(action="flag.dismissed").data["note"] == (
        "Same decision for both groups."
    )


@pytest.mark.parametrize(
    ("body", "field"),
    [({"note": "x" * 2001}, "note"), ({"status": "resolved"}, "status"), ({"note": 3}, "note")],
)
def test_bad_input_is_a_400_naming_the_field_and_closes_nothing(api, flag, body, field):
    assert field in assert_json_error(close(api, flag, "resolve", body), 400)
    assert_still_open(flag)


@pytest.mark.parametrize("who", ["validator", "ci", "service", "outsider"])
def test_roles_that_do_not_work_alerts_get_403_and_the_flag_stays_open(api, flag, users, who):
    users["service"] = make_user("checkout-app", "service")
    assert_json_error(close(api, flag, "resolve", {"note": "Fine."}, who), 403)
    assert_json_error(close(api, flag, "dismiss", {"note": "Fine."}, who), 403)
    assert_still_open(flag)


def test_anonymous_gets_401(api, flag):
    assert_json_error(close(api, flag, "resolve", {}, None), 401)
    assert_still_open(flag)


def test_a_closed_flag_stays_closed_409(api, flag):
    assert close(api, flag, "resolve", {}).status_code == 200
    body = assert_json_error(close(api, flag, "dismiss", {"note": "No."}, "compliance"), 409)
    assert body["status"] == "resolved" and "bella" in body["detail"]
    assert_json_error(close(api, flag, "resolve", {}, "compliance"), 409)
    assert closing_events().count() == 1


def test_a_flag_of_another_model_or_no_flag_is_a_404(api, flag, users):
    fraud = RegisteredModel.objects.get(name="fraud")
    other = flag_create(actor=users["ds"], model=fraud, request_id="fraud-1", reason="wrong").flag
    assert_json_error(close(api, other, "resolve", {}), 404)
    assert_json_error(api("board").post(f"{FLAGS}999999/resolve/", {}, format="json"), 404)
    assert_json_error(api("board").post(f"{FLAGS}{2**64}/resolve/", {}, format="json"), 404)
    unknown = "/api/v1/models/nope/flags/1/resolve/"
    assert_json_error(api("board").post(unknown, {}, format="json"), 404)
    assert_still_open(other)


def test_listings_filter_by_status(api, flag, users):
    flag_create(actor=users["board"], model=flag.model, request_id="r-2", reason="wrong")
    close(api, flag, "resolve", {})

    open_ = api("validator").get(FLAGS, {"status": "open"}).json()
    resolved = api("validator").get(FLAGS, {"status": "resolved"}).json()

    assert [f["request_id"] for f in open_["results"]] == ["r-2"]
    assert [(f["request_id"], f["resolved_by"]) for f in resolved["results"]] == [("r-1", "bella")]
    assert_json_error(api("validator").get(FLAGS, {"status": "closed"}), 400)


def test_the_admin_filters_flags_by_status_and_shows_who_closed_them(client, api, flag, users):
    close(api, flag, "dismiss", {"note": "Duplicate of an incident."})
    client.force_login(users["compliance"])

    dismissed = client.get("/admin/monitoring/predictionflag/?status__exact=dismissed")
    still_open = client.get("/admin/monitoring/predictionflag/?status__exact=open")
    change = client.get(f"/admin/monitoring/predictionflag/{flag.pk}/change/")

    assert dismissed.status_code == 200 and "r-1" in dismissed.content.decode()
    assert "r-1" not in still_open.content.decode()
    assert "Duplicate of an incident." in change.content.decode()
