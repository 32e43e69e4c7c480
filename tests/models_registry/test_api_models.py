"""/api/v1/models/: register, list, read, edit, deployment events, rollback."""

from __future__ import annotations

from typing import Any

import pytest

from models_registry import services as registry
from models_registry.cards import card_regenerate
from models_registry.models import DeploymentEvent, ModelCardRevision, ModelVersion, RegisteredModel
from tests.conftest import assert_json_error

MODELS = "/api/v1/models/"
CHURN = "/api/v1/models/churn-classifier/"


@pytest.fixture
def deployed(users, make_model, make_version) -> dict[str, Any]:
    """v1 promoted, then v2 promoted over it (v1 archived), v3 on canary."""
    model = make_model()
    v1, v2, v3 = make_version(model), make_version(model), make_version(model)
    registry.deployment_promote(version=v1, actor=users["ds"])
    registry.deployment_promote(version=v2, actor=users["ds"])
    registry.deployment_start_canary(version=v3, actor=users["ds"], traffic=20)
    return {"model": model, "v1": v1, "v2": v2, "v3": v3}


def stage(version: ModelVersion) -> str:
    version.refresh_from_db()
    return version.stage


# --- create ---------------------------------------------------------------------------


def test_registering_a_model_returns_201_with_the_model(api):
    response = api("ds").post(
        MODELS,
        {
            "name": "churn-classifier",
            "description": "Who leaves next month",
            "risk_tier": "high",
            "protected_attributes": ["gender"],
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["name"] == "churn-classifier"
    assert body["risk_tier"] == "high"
    assert body["description"] == "Who leaves next month"
    assert body["protected_attributes"] == ["gender"]
    assert body["owner"] == "dana"
    assert body["production_version"] is None
    assert body["canary_version"] is None
    assert body["canary_traffic"] == 0
    assert RegisteredModel.objects.get(name="churn-classifier").owner.username == "dana"


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"risk_tier": "low"}, "name"),
        ({"name": "churn-classifier"}, "risk_tier"),
        ({"name": "Churn Classifier!", "risk_tier": "low"}, "name"),
        ({"name": "churn-classifier", "risk_tier": "extreme"}, "risk_tier"),
        (
            {"name": "churn-classifier", "risk_tier": "low", "protected_attributes": "x"},
            "protected_attributes",
        ),
        ({"name": "churn-classifier", "risk_tier": "low", "tags": [{"a": 1}]}, "tags"),
    ],
    ids=["no-name", "no-tier", "bad-slug", "bad-tier", "attrs-not-list", "bad-tags"],
)
def test_bad_model_input_is_a_400_naming_the_field_and_stores_nothing(api, payload, field):
    response = api("ds").post(MODELS, payload, format="json")
    body = assert_json_error(response, 400)
    assert field in body
    assert RegisteredModel.objects.count() == 0


def test_unknown_fields_are_a_400_naming_them(api):
    response = api("ds").post(
        MODELS,
        {"name": "churn-classifier", "risk_tier": "low", "risk_teir": "high", "owner": "x"},
        format="json",
    )
    body = assert_json_error(response, 400)
    assert "risk_teir" in body and "owner" in body
    assert "risk_teir" in body["detail"]
    assert RegisteredModel.objects.count() == 0


def test_malformed_json_is_a_400_not_a_500(api):
    response = api("ds").post(MODELS, "{not json", content_type="application/json")
    assert_json_error(response, 400)
    assert RegisteredModel.objects.count() == 0


def test_a_json_list_body_is_a_400(api):
    response = api("ds").post(MODELS, [1, 2], format="json")
    assert_json_error(response, 400)
    assert RegisteredModel.objects.count() == 0


def test_a_duplicate_model_name_is_a_409(api, make_model):
    make_model()
    response = api("ci").post(
        MODELS, {"name": "churn-classifier", "risk_tier": "low"}, format="json"
    )
    assert_json_error(response, 409)
    assert RegisteredModel.objects.count() == 1
    assert RegisteredModel.objects.get().owner.username == "dana"


def test_anonymous_requests_get_401(api, make_model):
    make_model()
    anonymous = api(None)
    assert_json_error(anonymous.get(MODELS), 401)
    assert_json_error(anonymous.get(CHURN), 401)
    created = anonymous.post(MODELS, {"name": "fraud", "risk_tier": "low"}, format="json")
    assert_json_error(created, 401)
    assert_json_error(anonymous.post(CHURN + "rollback/", {"reason": "x"}, format="json"), 401)
    assert RegisteredModel.objects.count() == 1


def test_a_wrong_token_gets_401(api, make_model):
    client = api(None)
    client.credentials(HTTP_AUTHORIZATION="Token " + "0" * 40)
    assert_json_error(client.get(MODELS), 401)


def test_a_signing_role_may_not_register_a_model(api):
    response = api("board").post(MODELS, {"name": "fraud", "risk_tier": "low"}, format="json")
    assert_json_error(response, 403)
    assert RegisteredModel.objects.count() == 0


# --- read -----------------------------------------------------------------------------


def test_the_model_list_is_paginated(api, make_model):
    for name in ("alpha", "beta", "gamma"):
        make_model(name=name)
    body = api("validator").get(MODELS).json()
    assert body["count"] == 3
    assert [m["name"] for m in body["results"]] == ["alpha", "beta", "gamma"]
    assert "next" in body and "previous" in body


def test_the_model_list_shows_production_and_canary_versions(api, deployed, make_model):
    make_model(name="fraud")
    results = {m["name"]: m for m in api("ds").get(MODELS).json()["results"]}
    assert results["churn-classifier"]["production_version"] == 2
    assert results["churn-classifier"]["canary_version"] == 3
    assert results["fraud"]["production_version"] is None


def test_a_model_shows_its_production_canary_and_traffic(api, deployed):
    body = api("compliance").get(CHURN).json()
    assert body["production_version"] == 2
    assert body["canary_version"] == 3
    assert body["canary_traffic"] == 20


def test_an_unknown_model_is_a_404(api):
    body = assert_json_error(api("ds").get("/api/v1/models/nope/"), 404)
    assert "nope" in body["detail"]


# --- edit -----------------------------------------------------------------------------


def test_editing_a_model_changes_it(api, make_model):
    make_model()
    response = api("ds").patch(CHURN, {"description": "new words", "tags": ["x"]}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["description"] == "new words"
    model = RegisteredModel.objects.get()
    assert (model.description, model.tags) == ("new words", ["x"])


def test_a_model_edit_adds_a_card_revision_and_changes_the_card_hash(api, make_model, make_version):
    version = make_version(make_model())
    card_regenerate(version_id=version.pk)
    version.refresh_from_db()
    old_hash = version.card_hash
    response = api("ds").patch(CHURN, {"description": "now with more words"}, format="json")
    assert response.status_code == 200
    version.refresh_from_db()
    assert version.card_hash != old_hash
    assert version.card_revisions.count() == 2
    card = api("ds").get(CHURN + "versions/1/card/")
    assert card["X-Card-Revision"] == "2"
    assert card.json()["model_details"]["description"] == "now with more words"


def test_an_edit_that_changes_nothing_adds_no_card_revision(api, make_model, make_version):
    version = make_version(make_model(description="same"))
    card_regenerate(version_id=version.pk)
    response = api("ds").patch(CHURN, {"description": "same"}, format="json")
    assert response.status_code == 200
    assert ModelCardRevision.objects.filter(model_version=version).count() == 1


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"name": "renamed"}, "name"),
        ({"risk_tier": "extreme"}, "risk_tier"),
        ({"canary_traffic": 50}, "canary_traffic"),
    ],
    ids=["rename", "bad-tier", "canary-traffic"],
)
def test_a_bad_model_edit_is_a_400_naming_the_field_and_changes_nothing(
    api, make_model, payload, field
):
    make_model(description="before")
    body = assert_json_error(api("ds").patch(CHURN, payload, format="json"), 400)
    assert field in body
    model = RegisteredModel.objects.get()
    assert (model.name, model.risk_tier, model.canary_traffic) == ("churn-classifier", "low", 0)


def test_a_signing_role_may_not_edit_a_model(api, make_model):
    make_model(description="before")
    assert_json_error(api("validator").patch(CHURN, {"description": "x"}, format="json"), 403)
    assert RegisteredModel.objects.get().description == "before"


def test_editing_an_unknown_model_is_a_404(api):
    assert_json_error(api("ds").patch("/api/v1/models/nope/", {"description": "x"}), 404)


# --- deployment events ----------------------------------------------------------------


def test_deployment_events_list_what_went_live_newest_first(api, deployed):
    response = api("validator").get(CHURN + "deployment-events/")
    assert response.status_code == 200
    events = response.json()["results"]
    assert [(e["kind"], e["version"], e["previous_version"]) for e in events] == [
        ("canary_started", 3, 2),
        ("promoted", 2, 1),
        ("promoted", 1, None),
    ]
    assert events[0]["canary_traffic"] == 20
    assert events[0]["actor"] == "dana"


def test_deployment_events_of_an_unknown_model_are_a_404(api):
    assert_json_error(api("ds").get("/api/v1/models/nope/deployment-events/"), 404)


# --- rollback -------------------------------------------------------------------------


def test_rollback_restores_the_previous_production_version_and_stops_the_canary(api, deployed):
    response = api("ds").post(CHURN + "rollback/", {"reason": "latency spike"}, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["production_version"] == 1
    assert body["canary_version"] is None
    assert body["canary_traffic"] == 0
    assert (stage(deployed["v1"]), stage(deployed["v2"]), stage(deployed["v3"])) == (
        "production",
        "archived",
        "archived",
    )
    assert {e["kind"] for e in body["events"]} == {"canary_stopped", "rolled_back"}
    latest = DeploymentEvent.objects.filter(kind="rolled_back").get()
    assert (latest.version, latest.previous_version) == (deployed["v1"], deployed["v2"])
    assert latest.reason == "latency spike"


def test_rollback_with_only_a_canary_stops_it_and_keeps_production(
    api, users, make_model, make_version
):
    model = make_model()
    v1, v2 = make_version(model), make_version(model)
    registry.deployment_promote(version=v1, actor=users["ds"])
    registry.deployment_start_canary(version=v2, actor=users["ds"], traffic=30)
    response = api("compliance").post(CHURN + "rollback/", {"reason": "canary bad"}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["production_version"] == 1
    assert response.json()["canary_version"] is None
    assert (stage(v1), stage(v2)) == ("production", "archived")


def test_rollback_with_nothing_to_roll_back_is_a_409(api, users, make_model, make_version):
    model = make_model()
    registry.deployment_promote(version=make_version(model), actor=users["ds"])
    events = DeploymentEvent.objects.count()
    assert_json_error(api("ds").post(CHURN + "rollback/", {"reason": "x"}, format="json"), 409)
    assert DeploymentEvent.objects.count() == events
    assert ModelVersion.objects.get().stage == "production"


def test_rollback_of_a_model_never_deployed_is_a_409(api, make_model, make_version):
    make_version(make_model())
    assert_json_error(api("ds").post(CHURN + "rollback/", {"reason": "x"}, format="json"), 409)


@pytest.mark.parametrize("who", ["ci", "validator", "outsider"])
def test_roles_without_rollback_get_403_and_nothing_moves(api, deployed, who):
    events = DeploymentEvent.objects.count()
    response = api(who).post(CHURN + "rollback/", {"reason": "x"}, format="json")
    assert_json_error(response, 403)
    assert DeploymentEvent.objects.count() == events
    assert stage(deployed["v2"]) == "production"
    assert stage(deployed["v3"]) == "canary"


@pytest.mark.parametrize("payload", [{}, {"reason": ""}, {"reason": "   "}, {"reason": None}])
def test_rollback_without_a_reason_is_a_400_naming_it(api, deployed, payload):
    events = DeploymentEvent.objects.count()
    body = assert_json_error(api("ds").post(CHURN + "rollback/", payload, format="json"), 400)
    assert "reason" in body
    assert DeploymentEvent.objects.count() == events
    assert stage(deployed["v2"]) == "production"


def test_rollback_with_an_unknown_field_is_a_400(api, deployed):
    response = api("ds").post(CHURN + "rollback/", {"reason": "x", "to": 1}, format="json")
    assert "to" in assert_json_error(response, 400)
    assert stage(deployed["v2"]) == "production"


def test_rollback_of_an_unknown_model_is_a_404(api):
    response = api("ds").post("/api/v1/models/nope/rollback/", {"reason": "x"}, format="json")
    assert_json_error(response, 404)
