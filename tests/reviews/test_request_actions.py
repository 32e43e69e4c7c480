"""The request page's actions: a rejection says why, an approved request is executed from
the page, and its requester withdraws it there; each refusal stores nothing."""

from __future__ import annotations

import pytest
from django.test import TestCase

from models_registry.models import DeploymentEvent
from reviews.models import PromotionRequest, SignOff
from reviews.services import promotion_request_create, signoff_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def pending(users, make_model, make_version) -> PromotionRequest:
    version = make_version(make_model(name="churn-classifier", risk_tier="low"))
    return promotion_request_create(actor=users["ds"], version=version, justification="Better.")


def page(client, request: PromotionRequest) -> str:
    return client.get(f"/requests/{request.pk}/").content.decode()


def test_a_rejection_without_a_reason_is_refused_and_keeps_nothing(client, users, pending):
    client.force_login(users["validator"])
    response = client.post(f"/requests/{pending.pk}/sign-off/", {"decision": "reject"})
    assert response.status_code == 400
    assert "Say why you reject: the requester reads it." in response.content.decode()
    assert not SignOff.objects.exists()
    pending.refresh_from_db()
    assert pending.status == "pending"


def test_a_rejection_with_a_reason_closes_the_request(client, users, pending):
    client.force_login(users["validator"])
    client.post(f"/requests/{pending.pk}/sign-off/", {"decision": "reject", "comment": "No."})
    pending.refresh_from_db()
    assert pending.status == "rejected"


def test_an_approval_needs_no_comment(client, users, pending):
    client.force_login(users["validator"])
    client.post(f"/requests/{pending.pk}/sign-off/", {"decision": "approve"})
    pending.refresh_from_db()
    assert pending.status == "approved"


def test_buttons_that_act_ask_first(client, users, pending):
    client.force_login(users["validator"])
    html = page(client, pending)
    assert 'data-confirm="Approve churn-classifier v1 for production?' in html
    assert f'data-confirm="Reject request #{pending.pk}? It closes' in html
    assert "js/confirm.js" in html


def test_the_execute_button_shows_only_once_approved_and_to_who_may_execute(client, users, pending):
    client.force_login(users["ds"])
    assert 'id="execute"' not in page(client, pending)
    signoff_create(actor=users["validator"], request_id=pending.pk, decision="approve")
    assert 'id="execute"' in page(client, pending)
    client.force_login(users["validator"])  # signed it: someone else must execute
    assert 'id="execute"' not in page(client, pending)


def test_executing_from_the_page_puts_the_version_in_production(client, users, pending):
    signoff_create(actor=users["validator"], request_id=pending.pk, decision="approve")
    client.force_login(users["ds"])
    with TestCase.captureOnCommitCallbacks(execute=True):
        response = client.post(f"/requests/{pending.pk}/execute/", follow=True)
    assert "Executed: churn-classifier v1 is in production." in response.content.decode()
    pending.refresh_from_db()
    assert pending.status == "executed" and pending.executed_by == users["ds"]
    assert pending.model_version.stage == "production"


def test_executing_an_unapproved_request_says_why_and_deploys_nothing(client, users, pending):
    client.force_login(users["ds"])
    response = client.post(f"/requests/{pending.pk}/execute/", follow=True)
    assert "is not approved. Needs 1 more approval." in response.content.decode()
    assert not DeploymentEvent.objects.exists()


def test_a_board_member_may_not_execute(client, users, pending):
    signoff_create(actor=users["validator"], request_id=pending.pk, decision="approve")
    client.force_login(users["board"])
    assert client.post(f"/requests/{pending.pk}/execute/").status_code == 403
    assert not DeploymentEvent.objects.exists()


def test_the_requester_withdraws_with_a_reason(client, users, pending):
    client.force_login(users["ds"])
    assert 'id="withdraw"' in page(client, pending)
    response = client.post(
        f"/requests/{pending.pk}/withdraw/", {"reason": "Found a leak in the features."}
    )
    assert response.status_code == 302
    pending.refresh_from_db()
    assert pending.status == "withdrawn"
    assert pending.history.first().history_change_reason.startswith("withdrawn: Found a leak")


def test_withdrawing_without_a_reason_is_refused(client, users, pending):
    client.force_login(users["ds"])
    response = client.post(f"/requests/{pending.pk}/withdraw/", {"reason": "  "})
    assert response.status_code == 400
    assert 'id="reason-error"' in response.content.decode()
    pending.refresh_from_db()
    assert pending.status == "pending"


def test_only_the_requester_may_withdraw(client, users, pending):
    client.force_login(users["ds2"])  # a data scientist, not the requester
    assert 'id="withdraw"' not in page(client, pending)
    response = client.post(f"/requests/{pending.pk}/withdraw/", {"reason": "mine"}, follow=True)
    assert "Only the requester can withdraw a request." in response.content.decode()
    pending.refresh_from_db()
    assert pending.status == "pending"
