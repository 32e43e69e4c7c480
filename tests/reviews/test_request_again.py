"""A request stuck on stale approvals goes forward: its requester requests again (withdraw,
and a new request for the same version on the current card), from the page or the API; the
signers then sign the new request, and the old one keeps its sign-offs on record."""

from __future__ import annotations

import pytest
from django.test import TestCase

from governance.audit.models import AuditEvent
from models_registry.services import version_update_notes
from reviews.models import PromotionRequest
from reviews.services import promotion_request_create, signoff_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def stuck(users, make_model, make_version) -> PromotionRequest:
    """A medium-risk request whose one validator's approval went stale after a card edit."""
    version = make_version(make_model(risk_tier="medium"))
    request = promotion_request_create(actor=users["ds"], version=version, justification="AUC up.")
    signoff_create(actor=users["validator"], request_id=request.pk, decision="approve")
    with TestCase.captureOnCommitCallbacks(execute=True):
        version_update_notes(actor=users["ds"], version=version, limitations="Consumers only.")
    return request


def again(client, request: PromotionRequest, reason: str = "card edited after approval"):
    with TestCase.captureOnCommitCallbacks(execute=True):
        return client.post(f"/requests/{request.pk}/request-again/", {"again-reason": reason})


def test_the_stale_signer_cannot_sign_again_and_is_told_the_way_forward(client, users, stuck):
    client.force_login(users["validator"])
    html = client.get(f"/requests/{stuck.pk}/").content.decode()
    assert "You have already signed this request." in html
    assert "ask dana (the requester) to request again" in html
    assert 'id="request-again"' not in html


def test_the_requester_requests_again_and_the_signer_signs_the_new_request(client, users, stuck):
    client.force_login(users["ds"])
    html = client.get(f"/requests/{stuck.pk}/").content.decode()
    assert 'id="request-again"' in html
    assert f'data-confirm="Withdraw request #{stuck.pk} and request again' in html

    response = again(client, stuck)
    stuck.refresh_from_db()
    new = stuck.replaced_by
    assert response.status_code == 302 and response["Location"] == f"/requests/{new.pk}/"
    assert stuck.status == "withdrawn"
    assert (new.status, new.model_version_id, new.justification) == (
        "pending",
        stuck.model_version_id,
        "AUC up.",
    )
    assert stuck.sign_offs.count() == 1  # the stale approval stays on record
    assert (
        client.get(f"/requests/{new.pk}/")
        .content.decode()
        .count(f'in place of <a href="/requests/{stuck.pk}/">request #{stuck.pk}</a>')
        == 1
    )

    signoff_create(actor=users["validator"], request_id=new.pk, decision="approve")
    signoff_create(actor=users["board"], request_id=new.pk, decision="approve")
    new.refresh_from_db()
    assert new.status == "approved"  # the withdrawal's card rebuild left no approval stale
    event = AuditEvent.objects.get(action="promotion_request.requested_again")
    assert event.data["replaces"] == stuck.pk
    assert event.data["reason"] == "card edited after approval"


def test_requesting_again_needs_a_reason_and_stores_nothing_without_one(client, users, stuck):
    client.force_login(users["ds"])
    response = again(client, stuck, reason="  ")
    assert response.status_code == 400
    assert 'id="again-reason-error"' in response.content.decode()
    stuck.refresh_from_db()
    assert stuck.status == "pending"
    assert PromotionRequest.objects.count() == 1


def test_only_the_requester_may_request_again(client, users, stuck):
    client.force_login(users["validator"])  # no request_promotion capability: the page refuses
    assert again(client, stuck).status_code == 403
    client.force_login(users["ds2"])  # may request promotions, but did not request this one
    response = again(client, stuck)
    assert response.status_code == 302 and response["Location"] == f"/requests/{stuck.pk}/"
    stuck.refresh_from_db()
    assert stuck.status == "pending"
    assert PromotionRequest.objects.count() == 1
    messages = client.get(f"/requests/{stuck.pk}/").content.decode()
    assert "Only the requester can withdraw a request." in messages


def test_the_api_requests_again_and_links_both_requests(api, stuck):
    response = api("ds").post(
        f"/api/v1/promotion-requests/{stuck.pk}/request-again/", {"reason": "stale"}, format="json"
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["replaces"] == stuck.pk and body["status"] == "pending"
    assert body["sign_offs"] == []
    old = api("ds").get(f"/api/v1/promotion-requests/{stuck.pk}/").json()
    assert (old["status"], old["replaced_by"]) == ("withdrawn", body["id"])

    closed = api("ds").post(f"/api/v1/promotion-requests/{stuck.pk}/request-again/", {})
    assert closed.status_code == 409
    assert PromotionRequest.objects.count() == 2


def test_the_api_refuses_others_and_unknown_fields(api, stuck):
    assert (
        api("validator").post(f"/api/v1/promotion-requests/{stuck.pk}/request-again/").status_code
        == 403
    )
    assert (
        api("ds2").post(f"/api/v1/promotion-requests/{stuck.pk}/request-again/").status_code == 403
    )
    bad = api("ds").post(
        f"/api/v1/promotion-requests/{stuck.pk}/request-again/", {"why": "x"}, format="json"
    )
    assert bad.status_code == 400
    assert PromotionRequest.objects.count() == 1
