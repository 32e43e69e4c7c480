"""The approval rules: quorum and required roles per risk tier, policy edits, stale sign-offs."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from governance.audit_context import Origin, acting_as
from governance.models import ApprovalPolicy
from governance.services import user_set_roles, user_token
from models_registry import services as registry
from models_registry.cards import card_regenerate
from models_registry.models import ModelVersion
from reviews.models import PromotionRequest
from reviews.policy import policy_evaluate

REQUESTS = "/api/v1/models/churn-classifier/versions/1/promotion-requests/"


@pytest.fixture
def version(make_model, make_version) -> Any:
    """version(tier) -> churn-classifier v1 of that risk tier, its card generated."""

    def create(tier: str) -> ModelVersion:
        created = make_version(make_model(risk_tier=tier))
        card_regenerate(version_id=created.pk)
        created.refresh_from_db()
        return created

    return create


@pytest.fixture
def dual_role(users) -> APIClient:
    """A client for one person who is both validator and compliance officer."""
    user, _ = user_set_roles(username="vicky", roles=["validator", "compliance"])
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {user_token(user=user)}")
    return client


def open_request(api: Any) -> int:
    response = api("ci").post(REQUESTS, {"justification": "better"}, format="json")
    assert response.status_code == 201, response.content
    return response.json()["id"]


def approve(client: APIClient, request_id: int) -> None:
    response = client.post(
        f"/api/v1/promotion-requests/{request_id}/sign-offs/", {"decision": "approve"}
    )
    assert response.status_code == 201, response.content


def approve_as(api: Any, request_id: int, *who: str) -> None:
    for name in who:
        approve(api(name), request_id)


def shown(api: Any, request_id: int) -> dict[str, Any]:
    return api("compliance").get(f"/api/v1/promotion-requests/{request_id}/").json()


def status_of(request_id: int) -> str:
    return PromotionRequest.objects.get(pk=request_id).status


# --- quorum and roles per tier --------------------------------------------------------


@pytest.mark.parametrize("signer", ["validator", "board", "compliance"])
def test_a_low_risk_request_is_approved_by_any_one_signer(api, version, signer):
    version("low")
    request_id = open_request(api)
    assert status_of(request_id) == "pending"
    approve_as(api, request_id, signer)
    assert status_of(request_id) == "approved"
    assert shown(api, request_id)["policy"]["satisfied"] is True


def test_a_medium_risk_request_needs_two_approvals(api, version):
    version("medium")
    request_id = open_request(api)
    approve_as(api, request_id, "validator")
    assert status_of(request_id) == "pending"
    assert shown(api, request_id)["policy"]["missing_approvals"] == 1
    approve_as(api, request_id, "board")
    assert status_of(request_id) == "approved"


def test_a_medium_risk_request_needs_a_validator_among_its_approvers(api, version):
    version("medium")
    request_id = open_request(api)
    approve_as(api, request_id, "board", "board2", "compliance")
    assert status_of(request_id) == "pending"
    policy = shown(api, request_id)["policy"]
    assert (policy["missing_approvals"], policy["missing_roles"]) == (0, ["validator"])
    approve_as(api, request_id, "validator")
    assert status_of(request_id) == "approved"


def test_a_high_risk_request_needs_three_approvals(api, version):
    version("high")
    request_id = open_request(api)
    approve_as(api, request_id, "validator", "compliance")
    assert status_of(request_id) == "pending"
    approve_as(api, request_id, "board")
    assert status_of(request_id) == "approved"


def test_a_high_risk_request_needs_a_compliance_officer(api, version):
    version("high")
    request_id = open_request(api)
    approve_as(api, request_id, "validator", "validator2", "board")
    assert status_of(request_id) == "pending"
    assert shown(api, request_id)["policy"]["missing_roles"] == ["compliance"]
    approve_as(api, request_id, "compliance")
    assert status_of(request_id) == "approved"


def test_a_high_risk_request_needs_a_validator(api, version):
    version("high")
    request_id = open_request(api)
    approve_as(api, request_id, "compliance", "compliance2", "board")
    assert status_of(request_id) == "pending"
    assert shown(api, request_id)["policy"]["missing_roles"] == ["validator"]


def test_one_person_holding_two_roles_does_not_satisfy_two_role_requirements(
    api, version, dual_role
):
    version("high")
    request_id = open_request(api)
    approve(dual_role, request_id)
    approve_as(api, request_id, "board", "board2")
    assert status_of(request_id) == "pending"
    policy = shown(api, request_id)["policy"]
    assert policy["valid_approvals"] == 3
    assert len(policy["missing_roles"]) == 1
    approve_as(api, request_id, "compliance")
    assert status_of(request_id) == "approved"


def test_a_two_role_signer_covers_whichever_role_the_others_leave_open(api, version, dual_role):
    version("high")
    request_id = open_request(api)
    approve(dual_role, request_id)
    approve_as(api, request_id, "validator", "board")
    assert status_of(request_id) == "approved"


def test_a_two_role_signer_counts_for_one_of_their_roles(api, version, dual_role):
    version("medium")
    request_id = open_request(api)
    approve(dual_role, request_id)
    approve_as(api, request_id, "board")
    assert status_of(request_id) == "approved"


def test_the_roles_held_when_signing_are_the_ones_that_count(api, users, version):
    version("medium")
    request_id = open_request(api)
    approve_as(api, request_id, "validator")
    user_set_roles(username="vera", roles=["board"])
    approve_as(api, request_id, "board")
    assert status_of(request_id) == "approved"


# --- policy edits ---------------------------------------------------------------------


def test_raising_the_low_tier_quorum_takes_effect(api, version):
    ApprovalPolicy.objects.filter(risk_tier="low").update(required_approvals=2)
    version("low")
    request_id = open_request(api)
    approve_as(api, request_id, "board")
    assert status_of(request_id) == "pending"
    approve_as(api, request_id, "validator")
    assert status_of(request_id) == "approved"


def test_changing_the_medium_tiers_required_role_takes_effect(api, version):
    ApprovalPolicy.objects.filter(risk_tier="medium").update(required_roles=["board"])
    version("medium")
    request_id = open_request(api)
    approve_as(api, request_id, "validator", "validator2")
    assert status_of(request_id) == "pending"
    assert shown(api, request_id)["policy"]["missing_roles"] == ["board"]
    approve_as(api, request_id, "board")
    assert status_of(request_id) == "approved"


def test_relaxing_the_high_tier_policy_takes_effect(api, version):
    ApprovalPolicy.objects.filter(risk_tier="high").update(required_approvals=1, required_roles=[])
    version("high")
    request_id = open_request(api)
    approve_as(api, request_id, "board")
    assert status_of(request_id) == "approved"


def test_a_policy_tightened_after_approval_blocks_execution(api, version):
    version("low")
    request_id = open_request(api)
    approve_as(api, request_id, "board")
    ApprovalPolicy.objects.filter(risk_tier="low").update(required_approvals=2)
    response = api("ci").post(f"/api/v1/promotion-requests/{request_id}/execute/")
    assert response.status_code == 409
    assert ModelVersion.objects.get().stage == "candidate"


def test_the_policy_of_a_models_current_tier_applies(api, users, version):
    created = version("low")
    with acting_as(origin=Origin.SYSTEM):
        registry.model_update(actor=users["compliance"], model=created.model, risk_tier="medium")
    card_regenerate(version_id=created.pk)
    request_id = open_request(api)
    approve_as(api, request_id, "board")
    assert status_of(request_id) == "pending"
    assert shown(api, request_id)["policy"]["risk_tier"] == "medium"


# --- sign-offs bound to the card ------------------------------------------------------


def edit_description(users: dict[str, Any], version: ModelVersion, capture: Any, text: str):
    """Edit the model through the service; the card rebuilds when the edit commits."""
    with capture(execute=True), acting_as(origin=Origin.SYSTEM):
        registry.model_update(actor=users["ds"], model=version.model, description=text)


def test_an_approval_goes_stale_when_the_card_changes(
    api, users, version, django_capture_on_commit_callbacks
):
    created = version("low")
    request_id = open_request(api)
    approve_as(api, request_id, "board")
    assert status_of(request_id) == "approved"
    signed_hash = created.card_hash

    edit_description(users, created, django_capture_on_commit_callbacks, "now retrained")

    created.refresh_from_db()
    assert created.card_hash != signed_hash
    body = shown(api, request_id)
    assert body["status"] == "pending"
    assert [(s["card_hash"], s["stale"]) for s in body["sign_offs"]] == [(signed_hash, True)]
    assert body["policy"]["stale_approvals"] == 1
    assert body["policy"]["valid_approvals"] == 0
    response = api("ci").post(f"/api/v1/promotion-requests/{request_id}/execute/")
    assert response.status_code == 409
    assert created.stage == "candidate"


def test_a_metrics_change_makes_earlier_approvals_stale_and_new_ones_count(api, version):
    created = version("medium")
    request_id = open_request(api)
    approve_as(api, request_id, "validator")
    ModelVersion.objects.filter(pk=created.pk).update(metrics={"auc": 0.42})
    assert card_regenerate(version_id=created.pk, reason="metrics corrected") is not None

    approve_as(api, request_id, "board")
    assert status_of(request_id) == "pending"
    assert shown(api, request_id)["policy"]["missing_roles"] == ["validator"]
    approve_as(api, request_id, "validator2")
    assert status_of(request_id) == "approved"
    stale = {s["signer"]: s["stale"] for s in shown(api, request_id)["sign_offs"]}
    assert stale == {"vera": True, "bella": False, "vince": False}


def test_a_stale_signer_cannot_sign_the_same_request_again(
    api, users, version, django_capture_on_commit_callbacks
):
    created = version("low")
    request_id = open_request(api)
    approve_as(api, request_id, "board")
    edit_description(users, created, django_capture_on_commit_callbacks, "changed")
    response = api("board").post(
        f"/api/v1/promotion-requests/{request_id}/sign-offs/", {"decision": "approve"}
    )
    assert response.status_code == 409


def test_regenerating_an_unchanged_card_keeps_approvals_valid(api, version):
    created = version("low")
    request_id = open_request(api)
    approve_as(api, request_id, "board")
    api("ds").post("/api/v1/models/churn-classifier/versions/1/card/regenerate/")
    assert card_regenerate(version_id=created.pk) is None
    assert status_of(request_id) == "approved"
    assert shown(api, request_id)["sign_offs"][0]["stale"] is False


def test_sign_offs_do_not_make_each_other_stale(api, version):
    created = version("high")
    request_id = open_request(api)
    approve_as(api, request_id, "validator", "compliance", "board")
    assert created.card_revisions.count() == 1
    body = shown(api, request_id)
    assert body["status"] == "approved"
    assert [s["stale"] for s in body["sign_offs"]] == [False, False, False]


def test_an_executed_requests_approvals_do_not_turn_stale_afterwards(api, version):
    created = version("low")
    request_id = open_request(api)
    approve_as(api, request_id, "board")
    executed = api("ci").post(f"/api/v1/promotion-requests/{request_id}/execute/")
    assert executed.status_code == 200
    assert created.card_revisions.count() == 2, "executing records the approval in the card"
    body = shown(api, request_id)
    assert body["status"] == "executed"
    assert [s["stale"] for s in body["sign_offs"]] == [False]
    assert body["policy"]["satisfied"] is True


def test_a_card_change_after_execution_does_not_reopen_the_request(
    api, users, version, django_capture_on_commit_callbacks
):
    created = version("low")
    request_id = open_request(api)
    approve_as(api, request_id, "board")
    assert api("ci").post(f"/api/v1/promotion-requests/{request_id}/execute/").status_code == 200
    edit_description(users, created, django_capture_on_commit_callbacks, "later edit")
    assert status_of(request_id) == "executed"


def test_policy_evaluate_counts_only_approvals_on_the_current_card(api, version):
    created = version("low")
    request_id = open_request(api)
    approve_as(api, request_id, "board")
    request = PromotionRequest.objects.get(pk=request_id)
    assert policy_evaluate(request).satisfied
    ModelVersion.objects.filter(pk=created.pk).update(card_hash="0" * 64)
    request = PromotionRequest.objects.get(pk=request_id)
    outcome = policy_evaluate(request)
    assert not outcome.satisfied
    assert [s.signer.username for s in outcome.stale] == ["bella"]
