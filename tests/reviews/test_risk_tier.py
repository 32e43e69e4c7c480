"""The risk tier cannot be used to sidestep the approval policy (issue #8, hole 2).

Only compliance officers change a model's tier; a request is decided under the strictest
tier its model has had while the request was open; every model edit's audit event records
old and new values.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client, TestCase

from governance.models import ApprovalPolicy, AuditEvent
from governance.services import policy_save
from models_registry.models import ModelVersion, RegisteredModel
from reviews.models import PromotionRequest
from tests.conftest import assert_json_error

CHURN = "/api/v1/models/churn-classifier/"


def patch(api: Any, who: str, **fields: Any) -> Any:
    return api(who).patch(CHURN, fields, format="json")


def sign(api: Any, who: str, request_id: int) -> Any:
    url = f"/api/v1/promotion-requests/{request_id}/sign-offs/"
    return api(who).post(url, {"decision": "approve"}, format="json")


def execute(api: Any, request_id: int, who: str = "ds") -> Any:
    return api(who).post(f"/api/v1/promotion-requests/{request_id}/execute/")


def shown(api: Any, request_id: int) -> dict[str, Any]:
    return api("compliance").get(f"/api/v1/promotion-requests/{request_id}/").json()


def tier() -> str:
    return RegisteredModel.objects.get().risk_tier


@pytest.fixture
def high_request(api) -> int:
    """A data scientist registers a high-risk model and a version and asks for production."""
    created = api("ds").post(
        "/api/v1/models/", {"name": "churn-classifier", "risk_tier": "high"}, format="json"
    )
    assert created.status_code == 201, created.content
    assert (
        api("ds").post(CHURN + "versions/", {"metrics": {"auc": 0.9}}, format="json").status_code
        == 201
    )
    requested = api("ds").post(
        CHURN + "versions/1/promotion-requests/", {"justification": "ship it"}, format="json"
    )
    assert requested.status_code == 201, requested.content
    assert requested.json()["requested_tier"] == "high"
    return requested.json()["id"]


# --- the sidestep of the issue, end to end --------------------------------------------


def test_the_tier_sidestep_of_issue_8_fails(api, high_request):
    """Create high, request, PATCH to low, one approval, execute, PATCH back to high."""
    lowered = patch(api, "ds", risk_tier="low")
    assert "compliance" in assert_json_error(lowered, 403)["detail"]
    assert tier() == "high"
    assert sign(api, "board", high_request).status_code == 201
    body = assert_json_error(execute(api, high_request), 409)
    assert "not approved" in body["detail"]
    assert patch(api, "ds", risk_tier="high").status_code == 200, "unchanged: nothing to refuse"
    assert not AuditEvent.objects.filter(action="model.edited").exists()
    assert PromotionRequest.objects.get().status == "pending"
    assert ModelVersion.objects.get().stage == "candidate"
    assert shown(api, high_request)["policy"]["risk_tier"] == "high"


def test_a_tier_lowered_by_compliance_still_leaves_the_open_request_under_high(api, high_request):
    assert patch(api, "compliance", risk_tier="low").status_code == 200
    assert tier() == "low"
    assert sign(api, "board", high_request).status_code == 201
    policy = shown(api, high_request)["policy"]
    assert (policy["risk_tier"], policy["satisfied"]) == ("high", False)
    assert_json_error(execute(api, high_request), 409)
    assert patch(api, "compliance", risk_tier="high").status_code == 200
    assert PromotionRequest.objects.get().status == "pending"
    assert ModelVersion.objects.get().stage == "candidate"


def test_a_request_made_after_lowering_is_decided_under_the_new_tier(api, high_request):
    api("ds").post(f"/api/v1/promotion-requests/{high_request}/withdraw/", {}, format="json")
    assert patch(api, "compliance", risk_tier="low").status_code == 200
    requested = api("ds").post(
        CHURN + "versions/1/promotion-requests/", {"justification": "again"}, format="json"
    )
    request_id = requested.json()["id"]
    assert sign(api, "board", request_id).status_code == 201
    assert execute(api, request_id).status_code == 200
    assert shown(api, request_id)["policy"]["risk_tier"] == "low"


def test_a_raised_tier_applies_to_an_open_request_at_once(api, make_model, make_version):
    make_version(make_model(risk_tier="low"))
    requested = api("ci").post(
        CHURN + "versions/1/promotion-requests/", {"justification": "x"}, format="json"
    )
    request_id = requested.json()["id"]
    assert patch(api, "compliance", risk_tier="high").status_code == 200
    assert patch(api, "compliance2", risk_tier="low").status_code == 200
    assert sign(api, "board", request_id).status_code == 201
    assert shown(api, request_id)["policy"]["risk_tier"] == "high"
    assert_json_error(execute(api, request_id), 409)
    for signer in ("validator", "compliance"):
        assert sign(api, signer, request_id).status_code == 201
    assert execute(api, request_id).status_code == 200


def test_an_executed_request_keeps_reading_satisfied_after_a_later_tier_change(
    api, make_model, make_version
):
    make_version(make_model(risk_tier="low"))
    requested = api("ci").post(
        CHURN + "versions/1/promotion-requests/", {"justification": "x"}, format="json"
    )
    request_id = requested.json()["id"]
    sign(api, "board", request_id)
    assert execute(api, request_id).status_code == 200
    assert patch(api, "compliance", risk_tier="high").status_code == 200
    body = shown(api, request_id)
    assert body["status"] == "executed"
    assert (body["policy"]["risk_tier"], body["policy"]["satisfied"]) == ("low", True)


# --- who changes the tier -------------------------------------------------------------


@pytest.mark.parametrize("who", ["ds", "ci", "validator", "board"])
def test_only_compliance_officers_change_the_tier(api, make_model, who):
    make_model(risk_tier="high")
    assert_json_error(patch(api, who, risk_tier="low"), 403)
    assert tier() == "high"
    assert not AuditEvent.objects.filter(action="model.edited").exists()


def test_a_data_scientist_still_edits_the_other_fields(api, make_model):
    make_model(risk_tier="high")
    response = patch(api, "ds", description="new words", risk_tier="high")
    assert response.status_code == 200, response.content
    model = RegisteredModel.objects.get()
    assert (model.description, model.risk_tier) == ("new words", "high")


def test_a_patch_changing_the_tier_and_more_needs_both_capabilities(api, make_model):
    make_model(risk_tier="high", description="before")
    assert_json_error(patch(api, "ds", description="x", risk_tier="low"), 403)
    assert_json_error(patch(api, "compliance", description="x", risk_tier="low"), 403)
    model = RegisteredModel.objects.get()
    assert (model.description, model.risk_tier) == ("before", "high")


def test_a_compliance_officer_changes_the_tier_and_it_is_audited_with_both_values(api, make_model):
    make_model(risk_tier="high")
    response = patch(api, "compliance", risk_tier="medium")
    assert response.status_code == 200, response.content
    assert response.json()["risk_tier"] == "medium"
    event = AuditEvent.objects.get(action="model.edited")
    assert event.actor_username == "carla"
    assert event.data["changes"] == {"risk_tier": {"old": "high", "new": "medium"}}


def test_every_model_edit_records_old_and_new_values_of_each_changed_field(api, make_model):
    make_model(description="before", tags=["a"])
    response = patch(api, "ds", description="after", tags=["a", "b"], intended_use="")
    assert response.status_code == 200, response.content
    event = AuditEvent.objects.get(action="model.edited")
    assert event.data["changes"] == {
        "description": {"old": "before", "new": "after"},
        "tags": {"old": ["a"], "new": ["a", "b"]},
    }


def test_a_policy_edit_reaches_requests_decided_under_a_tier_their_model_left(
    api, users, high_request
):
    assert patch(api, "compliance", risk_tier="low").status_code == 200
    for signer in ("validator", "compliance", "board"):
        assert sign(api, signer, high_request).status_code == 201
    assert PromotionRequest.objects.get().status == "approved"
    policy = ApprovalPolicy.objects.get(risk_tier="high")
    policy.required_approvals = 4
    with TestCase.captureOnCommitCallbacks(execute=True):
        policy_save(actor=users["compliance"], policy=policy)
    assert PromotionRequest.objects.get().status == "pending"
    assert_json_error(execute(api, high_request), 409)


def test_the_request_page_says_which_tier_decides(api, users, high_request):
    assert patch(api, "compliance", risk_tier="low").status_code == 200
    client = Client()
    client.force_login(users["board"])
    page = client.get(f"/requests/{high_request}/").content.decode()
    assert 'id="decided-under"' in page and "Decided under the high tier" in page
