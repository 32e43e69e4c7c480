"""Signing off from the admin: the same service, the same rules, errors as messages."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from governance.audit_context import Origin, acting_as
from governance.services import user_set_roles
from models_registry.models import ModelVersion
from models_registry.tasks import card_generate
from reviews import services as reviews
from reviews.models import PromotionRequest, SignOff


@pytest.fixture
def version(make_model: Any, make_version: Any) -> ModelVersion:
    version = make_version(make_model(risk_tier="medium"))
    card_generate(version.pk, "registered")
    version.refresh_from_db()
    return version


def request_by(actor: Any, version: ModelVersion) -> PromotionRequest:
    with acting_as(origin=Origin.SYSTEM):
        return reviews.promotion_request_create(
            actor=actor, version=version, justification="Better recall on recent data."
        )


@pytest.fixture
def promotion(users: dict[str, Any], version: ModelVersion) -> PromotionRequest:
    return request_by(users["ds"], version)


def client_for(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def sign_off_url(promotion: PromotionRequest) -> str:
    return reverse("admin:reviews_promotionrequest_sign_off", args=[promotion.pk])


def test_the_change_page_links_to_the_sign_off_form(
    users: dict[str, Any], promotion: PromotionRequest
) -> None:
    response = client_for(users["compliance"]).get(
        reverse("admin:reviews_promotionrequest_change", args=[promotion.pk])
    )

    assert response.status_code == 200
    assert sign_off_url(promotion) in response.content.decode()


def test_a_closed_request_has_no_sign_off_link(
    users: dict[str, Any], promotion: PromotionRequest
) -> None:
    with acting_as(origin=Origin.SYSTEM):
        reviews.promotion_withdraw(actor=users["ds"], request_id=promotion.pk)

    response = client_for(users["compliance"]).get(
        reverse("admin:reviews_promotionrequest_change", args=[promotion.pk])
    )

    assert sign_off_url(promotion) not in response.content.decode()


def test_the_sign_off_form_shows_the_request_and_its_policy(
    users: dict[str, Any], promotion: PromotionRequest, version: ModelVersion
) -> None:
    response = client_for(users["compliance"]).get(sign_off_url(promotion))

    page = response.content.decode()
    assert response.status_code == 200
    assert "Better recall on recent data." in page
    assert "Needs 2 more approvals, including one from a validator." in page
    assert version.card_hash in page
    assert 'id="sign-off-form"' in page


def test_a_compliance_officer_signs_off_in_the_admin(
    users: dict[str, Any], promotion: PromotionRequest, version: ModelVersion
) -> None:
    client = client_for(users["compliance"])

    response = client.post(
        sign_off_url(promotion), {"decision": "approve", "comment": "Fairness report checked."}
    )

    change_url = reverse("admin:reviews_promotionrequest_change", args=[promotion.pk])
    assert response.status_code == 302
    assert response["Location"] == change_url
    sign_off = SignOff.objects.get(request=promotion)
    assert (sign_off.signer, sign_off.decision) == (users["compliance"], "approve")
    assert sign_off.comment == "Fairness report checked."
    assert sign_off.signer_roles == ["compliance"]
    assert sign_off.card_hash == version.card_hash
    row = sign_off.history.get()
    assert (row.history_user, row.history_origin) == (users["compliance"], Origin.ADMIN)
    assert row.history_change_reason == "approve"
    assert f"You approved request #{promotion.pk}." in client.get(change_url).content.decode()


def test_a_rejection_in_the_admin_vetoes_the_request(
    users: dict[str, Any], promotion: PromotionRequest, version: ModelVersion
) -> None:
    client_for(users["compliance"]).post(
        sign_off_url(promotion), {"decision": "reject", "comment": "No fairness report."}
    )

    promotion.refresh_from_db()
    version.refresh_from_db()
    assert promotion.status == PromotionRequest.Status.REJECTED
    assert version.stage == ModelVersion.Stage.REJECTED
    assert promotion.history.latest().history_origin == Origin.ADMIN


def test_approvals_from_the_admin_count_toward_the_policy(
    users: dict[str, Any], promotion: PromotionRequest
) -> None:
    with acting_as(origin=Origin.SYSTEM):
        reviews.signoff_create(
            actor=users["validator"], request_id=promotion.pk, decision="approve"
        )

    client_for(users["compliance"]).post(sign_off_url(promotion), {"decision": "approve"})

    promotion.refresh_from_db()
    assert promotion.status == PromotionRequest.Status.APPROVED
    assert promotion.history.latest().history_change_reason == "approval by carla"


def test_an_officer_who_requested_the_promotion_cannot_sign_it(
    users: dict[str, Any], version: ModelVersion
) -> None:
    officer, _ = user_set_roles(
        username="cora", roles=["compliance", "data_scientist"], password="pw-for-tests-1"
    )
    promotion = request_by(officer, version)
    client = client_for(officer)

    form = client.get(sign_off_url(promotion)).content.decode()
    response = client.post(sign_off_url(promotion), {"decision": "approve", "comment": "Fine."})

    assert 'id="sign-off-form"' not in form
    assert "You requested this promotion; someone else must sign it off." in form
    assert response.status_code == 200
    messages = [str(m) for m in response.context["messages"]]
    assert messages == ["You requested this promotion; someone else must sign it off."]
    assert not SignOff.objects.exists()


def test_an_officer_who_registered_the_version_cannot_sign_it(
    users: dict[str, Any], make_model: Any, make_version: Any
) -> None:
    officer, _ = user_set_roles(
        username="cora", roles=["compliance", "data_scientist"], password="pw-for-tests-1"
    )
    version = make_version(make_model(name="own-model"), actor=officer)
    card_generate(version.pk, "registered")
    promotion = request_by(users["ds"], version)

    response = client_for(officer).post(sign_off_url(promotion), {"decision": "approve"})

    assert response.status_code == 200
    assert "You registered this version" in response.content.decode()
    assert not SignOff.objects.exists()


def test_a_second_sign_off_is_an_error_not_a_crash(
    users: dict[str, Any], promotion: PromotionRequest
) -> None:
    client = client_for(users["compliance"])
    client.post(sign_off_url(promotion), {"decision": "approve"})

    response = client.post(sign_off_url(promotion), {"decision": "reject", "comment": "Oops."})

    assert response.status_code == 200
    messages = [str(m) for m in response.context["messages"]]
    assert messages[-1] == "You have already signed this request."
    assert SignOff.objects.get().decision == "approve"


def test_signing_a_closed_request_is_an_error(
    users: dict[str, Any], promotion: PromotionRequest
) -> None:
    with acting_as(origin=Origin.SYSTEM):
        reviews.promotion_withdraw(actor=users["ds"], request_id=promotion.pk)

    response = client_for(users["compliance"]).post(
        sign_off_url(promotion), {"decision": "approve"}
    )

    assert response.status_code == 200
    assert f"Request #{promotion.pk} is withdrawn" in response.content.decode()
    assert not SignOff.objects.exists()


def test_a_decision_is_required(users: dict[str, Any], promotion: PromotionRequest) -> None:
    response = client_for(users["compliance"]).post(
        sign_off_url(promotion), {"comment": "Undecided."}
    )

    assert response.status_code == 200
    assert "Choose Approve or Reject." in response.content.decode()
    assert not SignOff.objects.exists()


def test_a_superuser_without_a_signing_role_is_refused(
    users: dict[str, Any], promotion: PromotionRequest, django_user_model: Any
) -> None:
    root = django_user_model.objects.create_superuser("root", password="pw-for-tests-1")

    response = client_for(root).post(sign_off_url(promotion), {"decision": "approve"})

    assert response.status_code == 200
    assert "Only validators, board members and compliance officers sign off." in (
        response.content.decode()
    )
    assert not SignOff.objects.exists()


def test_a_board_member_is_sent_to_the_admin_login(
    users: dict[str, Any], promotion: PromotionRequest
) -> None:
    response = client_for(users["board"]).post(sign_off_url(promotion), {"decision": "approve"})

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))
    assert not SignOff.objects.exists()


def test_an_unknown_request_is_not_found(users: dict[str, Any]) -> None:
    response = client_for(users["compliance"]).get(
        reverse("admin:reviews_promotionrequest_sign_off", args=[999_999])
    )

    assert response.status_code == 404
