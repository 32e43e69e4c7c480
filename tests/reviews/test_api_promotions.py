"""Promotion requests through the API: request, sign off, reject, execute, canary, withdraw."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from governance.audit_context import Origin, acting_as
from governance.services import user_set_roles, user_token
from models_registry import services as registry
from models_registry.cards import card_regenerate
from models_registry.models import ModelVersion
from reviews.models import PromotionRequest, SignOff
from tests.conftest import assert_json_error

REQUESTS = "/api/v1/models/churn-classifier/versions/{}/promotion-requests/"


def client_of(user: Any) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {user_token(user=user)}")
    return client


@pytest.fixture
def candidate(make_model, make_version) -> Any:
    """candidate(n=1, tier="low") -> the model's versions 1..n, cards generated."""

    def create(n: int = 1, tier: str = "low") -> list[ModelVersion]:
        model = make_model(risk_tier=tier)
        versions = [make_version(model) for _ in range(n)]
        for version in versions:
            card_regenerate(version_id=version.pk)
            version.refresh_from_db()
        return versions

    return create


def request_promotion(api: Any, who: str = "ci", version: int = 1, **payload: Any) -> Any:
    payload = {"target_stage": "production", "justification": "AUC up 2 points", **payload}
    return api(who).post(REQUESTS.format(version), payload, format="json")


def open_request(api: Any, **kwargs: Any) -> int:
    response = request_promotion(api, **kwargs)
    assert response.status_code == 201, response.content
    return response.json()["id"]


def sign(api: Any, who: str, request_id: int, decision: str = "approve", **extra: Any) -> Any:
    body = {"decision": decision, "comment": f"{who} says {decision}", **extra}
    return api(who).post(f"/api/v1/promotion-requests/{request_id}/sign-offs/", body, format="json")


def execute(api: Any, request_id: int, who: str = "ci") -> Any:
    return api(who).post(f"/api/v1/promotion-requests/{request_id}/execute/")


def withdraw(api: Any, request_id: int, who: str = "ci") -> Any:
    return api(who).post(
        f"/api/v1/promotion-requests/{request_id}/withdraw/", {"reason": "oops"}, format="json"
    )


def status_of(request_id: int) -> str:
    return PromotionRequest.objects.get(pk=request_id).status


def stage_of(version: ModelVersion) -> str:
    version.refresh_from_db()
    return version.stage


# --- requesting -----------------------------------------------------------------------


def test_requesting_a_promotion_returns_201_pending(api, candidate):
    candidate()
    response = request_promotion(api, strategy="direct")
    assert response.status_code == 201, response.content
    body = response.json()
    assert isinstance(body["id"], int)
    assert body["status"] == "pending"
    assert (body["model"], body["version"], body["strategy"]) == ("churn-classifier", 1, "direct")
    assert body["requested_by"] == "ci-bot"
    assert body["sign_offs"] == []


BAD_REQUESTS = {
    "no-justification": ({"strategy": "direct"}, "justification"),
    "blank-justification": ({"justification": "   "}, "justification"),
    "bad-strategy": ({"justification": "x", "strategy": "yolo"}, "strategy"),
    "bad-target": ({"justification": "x", "target_stage": "staging"}, "target_stage"),
    "unknown-field": ({"justification": "x", "approver": "me"}, "approver"),
    "traffic-not-canary": ({"justification": "x", "canary_traffic": 20}, "canary_traffic"),
    "traffic-100": (
        {"justification": "x", "strategy": "canary", "canary_traffic": 100},
        "canary_traffic",
    ),
    "traffic-0": (
        {"justification": "x", "strategy": "canary", "canary_traffic": 0},
        "canary_traffic",
    ),
}


@pytest.mark.parametrize(("body", "field"), BAD_REQUESTS.values(), ids=BAD_REQUESTS.keys())
def test_bad_request_input_is_a_400_naming_the_field_and_stores_nothing(
    api, candidate, body, field
):
    candidate()
    response = api("ci").post(REQUESTS.format(1), body, format="json")
    assert field in assert_json_error(response, 400)
    assert PromotionRequest.objects.count() == 0


def test_requesting_a_promotion_of_an_unknown_version_is_a_404(api, candidate):
    candidate()
    assert_json_error(request_promotion(api, version=2), 404)
    response = api("ci").post(
        "/api/v1/models/nope/versions/1/promotion-requests/", {"justification": "x"}, format="json"
    )
    assert_json_error(response, 404)
    assert PromotionRequest.objects.count() == 0


def test_anonymous_promotion_calls_get_401(api, candidate):
    candidate()
    url = f"/api/v1/promotion-requests/{open_request(api)}/"
    anonymous = api(None)
    assert_json_error(anonymous.post(REQUESTS.format(1), {"justification": "x"}), 401)
    assert_json_error(anonymous.get(url), 401)
    assert_json_error(anonymous.post(url + "sign-offs/", {"decision": "approve"}), 401)
    assert_json_error(anonymous.post(url + "execute/"), 401)
    assert SignOff.objects.count() == 0


def test_a_version_has_at_most_one_open_request(api, candidate):
    candidate()
    first = open_request(api)
    assert assert_json_error(request_promotion(api, who="ds"), 409)["open_request"] == first
    sign(api, "board", first)
    assert status_of(first) == "approved"
    assert_json_error(request_promotion(api, who="ds"), 409)
    assert PromotionRequest.objects.count() == 1


def test_after_a_withdrawal_the_version_may_be_requested_again(api, candidate):
    candidate()
    assert withdraw(api, open_request(api)).status_code == 200
    assert request_promotion(api).status_code == 201


@pytest.mark.parametrize("stage", ["production", "canary", "archived", "rejected"])
def test_only_a_candidate_can_be_requested(api, candidate, stage):
    (version,) = candidate()
    ModelVersion.objects.filter(pk=version.pk).update(stage=stage)
    assert_json_error(request_promotion(api), 409)
    assert PromotionRequest.objects.count() == 0


# --- signing off ----------------------------------------------------------------------


def test_a_sign_off_is_recorded_bound_to_the_card_hash(api, candidate):
    (version,) = candidate(tier="medium")
    request_id = open_request(api)
    response = sign(api, "validator", request_id)
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["signer"], body["decision"], body["comment"], body["stale"]) == (
        "vera",
        "approve",
        "validator says approve",
        False,
    )
    assert body["card_hash"] == version.card_hash
    assert body["signed_at"]
    shown = api("ds").get(f"/api/v1/promotion-requests/{request_id}/").json()["sign_offs"]
    assert [(s["signer"], s["decision"], s["stale"]) for s in shown] == [("vera", "approve", False)]


@pytest.mark.parametrize("who", ["ds", "ci", "outsider"])
def test_roles_that_do_not_sign_off_get_403(api, candidate, who):
    candidate()
    request_id = open_request(api, who="ds2" if who == "ds" else "ds")
    assert_json_error(sign(api, who, request_id), 403)
    assert SignOff.objects.count() == 0
    assert status_of(request_id) == "pending"


def test_the_requester_may_not_approve_their_own_request(api, candidate):
    candidate()
    requester, _ = user_set_roles(username="rita", roles=["data_scientist", "validator"])
    response = client_of(requester).post(
        REQUESTS.format(1), {"justification": "mine"}, format="json"
    )
    request_id = response.json()["id"]
    refused = client_of(requester).post(
        f"/api/v1/promotion-requests/{request_id}/sign-offs/", {"decision": "approve"}
    )
    assert "requested" in assert_json_error(refused, 403)["detail"]
    assert SignOff.objects.count() == 0
    assert status_of(request_id) == "pending"


def test_the_registrant_may_not_approve_their_own_version(api, make_model):
    make_model()
    registrant, _ = user_set_roles(username="rolf", roles=["data_scientist", "board"])
    created = client_of(registrant).post("/api/v1/models/churn-classifier/versions/", {})
    assert created.status_code == 201
    request_id = open_request(api, who="ci")
    refused = client_of(registrant).post(
        f"/api/v1/promotion-requests/{request_id}/sign-offs/", {"decision": "approve"}
    )
    assert "registered" in assert_json_error(refused, 403)["detail"]
    assert SignOff.objects.count() == 0


def test_it_rejects_a_second_sign_off_by_the_same_user(api, candidate):
    candidate(tier="medium")
    request_id = open_request(api)
    assert sign(api, "validator", request_id).status_code == 201
    assert_json_error(sign(api, "validator", request_id), 409)
    assert_json_error(sign(api, "validator", request_id, decision="reject"), 409)
    assert SignOff.objects.count() == 1
    assert status_of(request_id) == "pending"


@pytest.mark.parametrize(
    ("payload", "field"),
    [({"decision": "maybe"}, "decision"), ({}, "decision"), ({"decision": "approve", "x": 1}, "x")],
    ids=["bad-decision", "no-decision", "unknown-field"],
)
def test_bad_sign_off_input_is_a_400_and_stores_nothing(api, candidate, payload, field):
    candidate()
    request_id = open_request(api)
    response = api("board").post(
        f"/api/v1/promotion-requests/{request_id}/sign-offs/", payload, format="json"
    )
    assert field in assert_json_error(response, 400)
    assert SignOff.objects.count() == 0


def test_an_unknown_request_is_a_404(api, candidate):
    assert_json_error(api("ds").get("/api/v1/promotion-requests/999/"), 404)
    assert_json_error(sign(api, "board", 999), 404)
    assert_json_error(execute(api, 999), 404)
    assert_json_error(withdraw(api, 999), 404)


def test_signing_before_the_card_exists_is_a_409(api, users, make_model):
    with acting_as(origin=Origin.SYSTEM):
        registry.version_register(actor=users["ds"], model=make_model())
    request_id = open_request(api)
    assert_json_error(sign(api, "board", request_id), 409)
    assert SignOff.objects.count() == 0


# --- rejecting ------------------------------------------------------------------------


def test_a_single_reject_rejects_the_request_and_the_version(api, candidate):
    (version,) = candidate(tier="high")
    request_id = open_request(api)
    sign(api, "validator", request_id)
    sign(api, "compliance", request_id)
    assert sign(api, "board", request_id, decision="reject").status_code == 201
    assert status_of(request_id) == "rejected"
    assert stage_of(version) == "rejected"
    assert api("ds").get(f"/api/v1/promotion-requests/{request_id}/").json()["status"] == "rejected"


def test_a_reject_overturns_an_approved_request(api, candidate):
    (version,) = candidate()
    request_id = open_request(api)
    sign(api, "board", request_id)
    assert status_of(request_id) == "approved"
    sign(api, "validator", request_id, decision="reject")
    assert status_of(request_id) == "rejected"
    assert stage_of(version) == "rejected"
    assert_json_error(execute(api, request_id), 409)


def test_a_rejected_request_takes_no_more_sign_offs_and_its_version_no_new_request(api, candidate):
    candidate()
    request_id = open_request(api)
    sign(api, "board", request_id, decision="reject")
    assert_json_error(sign(api, "validator", request_id), 409)
    assert_json_error(request_promotion(api), 409)
    assert SignOff.objects.count() == 1


# --- executing ------------------------------------------------------------------------


def test_executing_a_pending_request_is_a_409_and_changes_nothing(api, candidate):
    (version,) = candidate(tier="medium")
    request_id = open_request(api)
    sign(api, "board", request_id)
    body = assert_json_error(execute(api, request_id), 409)
    assert "not approved" in body["detail"]
    assert status_of(request_id) == "pending"
    assert stage_of(version) == "candidate"


def test_executing_an_approved_direct_request_puts_the_version_in_production(api, candidate):
    (version,) = candidate()
    request_id = open_request(api)
    sign(api, "board", request_id)
    response = execute(api, request_id)
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "executed"
    assert response.json()["executed_by"] == "ci-bot"
    assert stage_of(version) == "production"
    assert api("ds").get("/api/v1/models/churn-classifier/").json()["production_version"] == 1


def test_executing_twice_is_a_409(api, candidate):
    candidate()
    request_id = open_request(api)
    sign(api, "board", request_id)
    assert execute(api, request_id).status_code == 200
    assert_json_error(execute(api, request_id, who="ds"), 409)


def test_the_replaced_production_version_is_archived_and_the_rollback_target(api, users, candidate):
    v1, v2 = candidate(2)
    registry.deployment_promote(version=v1, actor=users["ds"])
    request_id = open_request(api, version=2)
    sign(api, "board", request_id)
    assert execute(api, request_id).status_code == 200
    assert (stage_of(v1), stage_of(v2)) == ("archived", "production")
    rolled = api("ds").post(
        "/api/v1/models/churn-classifier/rollback/", {"reason": "bad"}, format="json"
    )
    assert rolled.json()["production_version"] == 1


def test_a_canary_request_executes_onto_canary_with_traffic(api, users, candidate):
    v1, v2 = candidate(2)
    registry.deployment_promote(version=v1, actor=users["ds"])
    request_id = open_request(api, version=2, strategy="canary", canary_traffic=25)
    sign(api, "board", request_id)
    assert execute(api, request_id).status_code == 200
    assert (stage_of(v1), stage_of(v2)) == ("production", "canary")
    model = api("ds").get("/api/v1/models/churn-classifier/").json()
    assert (model["production_version"], model["canary_version"]) == (1, 2)
    assert model["canary_traffic"] == 25


def test_a_canary_without_traffic_gets_the_default_share(api, users, candidate, settings):
    v1, v2 = candidate(2)
    registry.deployment_promote(version=v1, actor=users["ds"])
    request_id = open_request(api, version=2, strategy="canary")
    sign(api, "board", request_id)
    assert execute(api, request_id).status_code == 200
    assert stage_of(v2) == "canary"
    model = api("ds").get("/api/v1/models/churn-classifier/").json()
    assert model["canary_traffic"] == settings.CANARY_DEFAULT_TRAFFIC


def test_a_canary_without_a_production_version_is_a_409(api, candidate):
    (version,) = candidate()
    request_id = open_request(api, strategy="canary")
    sign(api, "board", request_id)
    assert_json_error(execute(api, request_id), 409)
    assert stage_of(version) == "candidate"
    assert status_of(request_id) == "approved"


# --- withdrawing ----------------------------------------------------------------------


def test_the_requester_may_withdraw_an_open_request(api, candidate):
    candidate()
    request_id = open_request(api)
    response = withdraw(api, request_id)
    assert response.status_code == 200
    assert response.json()["status"] == "withdrawn"
    assert_json_error(sign(api, "board", request_id), 409)
    assert_json_error(execute(api, request_id), 409)


@pytest.mark.parametrize("who", ["ds", "validator", "compliance"])
def test_only_the_requester_may_withdraw(api, candidate, who):
    candidate()
    request_id = open_request(api)
    assert_json_error(withdraw(api, request_id, who=who), 403)
    assert status_of(request_id) == "pending"


@pytest.mark.parametrize("close", ["withdraw", "reject", "execute"])
def test_withdrawing_a_closed_request_is_a_409(api, candidate, close):
    candidate()
    request_id = open_request(api)
    if close == "withdraw":
        withdraw(api, request_id)
    else:
        sign(api, "board", request_id, decision="reject" if close == "reject" else "approve")
        if close == "execute":
            execute(api, request_id)
    before = status_of(request_id)
    assert_json_error(withdraw(api, request_id), 409)
    assert status_of(request_id) == before


def test_request_lists_filter_by_status(api, candidate):
    candidate()
    request_id = open_request(api)
    pending = api("board").get("/api/v1/promotion-requests/", {"status": "pending"}).json()
    assert [r["id"] for r in pending["results"]] == [request_id]
    assert api("board").get("/api/v1/promotion-requests/?status=executed").json()["count"] == 0
    listed = api("board").get(REQUESTS.format(1)).json()
    assert [r["id"] for r in listed["results"]] == [request_id]
