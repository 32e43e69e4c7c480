"""Editing an approval policy re-evaluates the open requests of its tier at once."""

from __future__ import annotations

import pytest
from django.test import TestCase

from governance.errors import NotAllowed
from governance.models import ApprovalPolicy
from governance.services import policy_save
from reviews.models import PromotionRequest
from reviews.services import promotion_request_create, signoff_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def approved_medium_request(users, make_model, make_version):
    version = make_version(make_model(risk_tier="medium"))
    request = promotion_request_create(actor=users["ds"], version=version, justification="x")
    for signer in ("validator", "board"):
        signoff_create(actor=users[signer], request_id=request.pk, decision="approve")
    request.refresh_from_db()
    assert request.status == PromotionRequest.Status.APPROVED
    return request


def edit_policy(actor, tier: str, approvals: int) -> None:
    policy = ApprovalPolicy.objects.get(risk_tier=tier)
    policy.required_approvals = approvals
    with TestCase.captureOnCommitCallbacks(execute=True):
        policy_save(actor=actor, policy=policy)


def test_a_stricter_policy_sends_an_approved_request_back_to_pending(
    users, approved_medium_request
):
    edit_policy(users["compliance"], "medium", 3)
    approved_medium_request.refresh_from_db()
    assert approved_medium_request.status == PromotionRequest.Status.PENDING
    edit_policy(users["compliance"], "medium", 2)
    approved_medium_request.refresh_from_db()
    assert approved_medium_request.status == PromotionRequest.Status.APPROVED


def test_other_tiers_are_left_alone(users, approved_medium_request):
    edit_policy(users["compliance"], "high", 5)
    approved_medium_request.refresh_from_db()
    assert approved_medium_request.status == PromotionRequest.Status.APPROVED


def test_only_compliance_officers_edit_policies(users):
    policy = ApprovalPolicy.objects.get(risk_tier="low")
    policy.required_approvals = 2
    with pytest.raises(NotAllowed):
        policy_save(actor=users["board"], policy=policy)
    assert ApprovalPolicy.objects.get(risk_tier="low").required_approvals == 1
