"""Every historical row says who changed the object, from where, and why."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from governance.audit_context import Origin, acting_as
from governance.models import ApprovalPolicy
from models_registry import services as registry
from models_registry.models import ModelVersion, RegisteredModel
from models_registry.tasks import card_generate
from reviews import services as reviews
from reviews.models import PromotionRequest, SignOff


def logged_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def version(make_model: Any, make_version: Any) -> ModelVersion:
    version = make_version(make_model())
    card_generate(version.pk, "registered")
    version.refresh_from_db()
    return version


@pytest.fixture
def promotion(users: dict[str, Any], version: ModelVersion) -> PromotionRequest:
    with acting_as(origin=Origin.SYSTEM):
        return reviews.promotion_request_create(
            actor=users["ds"], version=version, justification="Better AUC."
        )


def test_registering_through_the_api_records_the_token_user_and_api(
    users: dict[str, Any], api: Any
) -> None:
    client = api("ci")

    model_response = client.post(
        "/api/v1/models/", {"name": "fraud-detector", "risk_tier": "high"}, format="json"
    )
    version_response = client.post(
        "/api/v1/models/fraud-detector/versions/", {"metrics": {"auc": 0.8}}, format="json"
    )

    assert (model_response.status_code, version_response.status_code) == (201, 201)
    model_row = RegisteredModel.history.get(name="fraud-detector", history_type="+")
    version_row = ModelVersion.history.get(model__name="fraud-detector", history_type="+")
    for row in (model_row, version_row):
        assert row.history_user == users["ci"]
        assert row.history_origin == Origin.API
        assert row.history_change_reason == "registered"
    # Whatever changed the version after that was the card task it queued, not the API.
    later = ModelVersion.history.filter(model__name="fraud-detector").exclude(history_type="+")
    assert {(row.history_origin, row.history_user) for row in later} <= {(Origin.TASK, None)}


def test_editing_through_the_api_names_the_changed_fields(
    users: dict[str, Any], api: Any, make_model: Any
) -> None:
    model = make_model()

    response = api("ds2").patch(
        f"/api/v1/models/{model.name}/", {"description": "Churn, monthly."}, format="json"
    )

    assert response.status_code == 200
    row = model.history.latest()
    assert (row.history_user, row.history_origin) == (users["ds2"], Origin.API)
    assert row.history_change_reason == "edited: description"
    assert row.diff_against(row.prev_record).changed_fields == ["description"]


def test_requesting_and_signing_through_the_api(
    users: dict[str, Any], api: Any, version: ModelVersion
) -> None:
    created = api("ds").post(
        f"/api/v1/models/{version.model.name}/versions/{version.version}/promotion-requests/",
        {"justification": "Better AUC."},
        format="json",
    )
    request_id = created.json()["id"]

    signed = api("validator").post(
        f"/api/v1/promotion-requests/{request_id}/sign-offs/",
        {"decision": "approve", "comment": "Checked."},
        format="json",
    )

    assert (created.status_code, signed.status_code) == (201, 201)
    request_rows = list(PromotionRequest.history.filter(id=request_id).order_by("history_id"))
    assert [(r.history_user, r.history_origin, r.history_change_reason) for r in request_rows] == [
        (users["ds"], Origin.API, "requested"),
        (users["validator"], Origin.API, "approval by vera"),
    ]
    assert [r.status for r in request_rows] == ["pending", "approved"]
    sign_off_row = SignOff.history.get(request_id=request_id)
    assert (sign_off_row.history_user, sign_off_row.history_origin) == (
        users["validator"],
        Origin.API,
    )
    assert sign_off_row.history_change_reason == "approve"


def test_signing_on_the_page_records_page(
    users: dict[str, Any], promotion: PromotionRequest
) -> None:
    response = logged_in(users["board"]).post(
        reverse("reviews:sign-off", args=[promotion.pk]), {"decision": "approve"}
    )

    assert response.status_code == 302
    assert reverse("reviews:sign-off", args=[promotion.pk]) == (
        f"/requests/{promotion.pk}/sign-off/"
    )
    row = SignOff.history.get(request_id=promotion.pk)
    assert (row.history_user, row.history_origin) == (users["board"], Origin.PAGE)
    assert row.history_change_reason == "approve"
    request_row = promotion.history.latest()
    assert (request_row.history_origin, request_row.status) == (Origin.PAGE, "approved")


def test_rejecting_on_the_page_records_the_veto(
    users: dict[str, Any], promotion: PromotionRequest, version: ModelVersion
) -> None:
    logged_in(users["validator"]).post(
        reverse("reviews:sign-off", args=[promotion.pk]),
        {"decision": "reject", "comment": "Recall dropped."},
    )

    request_row = promotion.history.latest()
    version_row = version.history.latest()
    assert request_row.history_change_reason == "rejected by vera"
    assert version_row.history_change_reason == f"request #{promotion.pk} rejected"
    for row in (request_row, version_row):
        assert (row.history_user, row.history_origin) == (users["validator"], Origin.PAGE)


def test_signing_in_the_admin_records_admin(
    users: dict[str, Any], promotion: PromotionRequest
) -> None:
    logged_in(users["compliance"]).post(
        reverse("admin:reviews_promotionrequest_sign_off", args=[promotion.pk]),
        {"decision": "approve"},
    )

    row = SignOff.history.get(request_id=promotion.pk)
    assert (row.history_user, row.history_origin) == (users["compliance"], Origin.ADMIN)
    assert promotion.history.latest().history_origin == Origin.ADMIN


def test_editing_a_policy_in_the_admin_records_admin(users: dict[str, Any]) -> None:
    policy = ApprovalPolicy.objects.get(risk_tier="medium")

    logged_in(users["compliance"]).post(
        reverse("admin:governance_approvalpolicy_change", args=[policy.pk]),
        {"required_approvals": 3, "required_roles": ["validator", "board"]},
    )

    row = policy.history.latest()
    assert (row.history_user, row.history_origin) == (users["compliance"], Origin.ADMIN)
    assert row.history_change_reason == "edited in admin: required_approvals, required_roles"
    assert (row.required_approvals, row.required_roles) == (3, ["validator", "board"])
    assert sorted(row.diff_against(row.prev_record).changed_fields) == [
        "required_approvals",
        "required_roles",
    ]


def test_the_card_task_records_task_and_no_user(users: dict[str, Any], make_model: Any) -> None:
    with acting_as(origin=Origin.SYSTEM):
        version = registry.version_register(actor=users["ds"], model=make_model())

    card_generate(version.pk, "registered")

    rows = list(version.history.order_by("history_id"))
    assert [(r.history_origin, r.history_change_reason) for r in rows] == [
        (Origin.SYSTEM, "registered"),
        (Origin.TASK, "card revision 1: registered"),
    ]
    assert rows[-1].history_user is None
    assert rows[-1].card_status == ModelVersion.CardStatus.READY


def test_a_card_change_in_a_task_reopens_an_approved_request(
    users: dict[str, Any], promotion: PromotionRequest, version: ModelVersion
) -> None:
    with acting_as(origin=Origin.SYSTEM):
        reviews.signoff_create(
            actor=users["validator"], request_id=promotion.pk, decision="approve"
        )
        version.model.description = "Now with a description."
        version.model.save()

    card_generate(version.pk, "model details edited")

    row = promotion.history.latest()
    assert (row.history_origin, row.history_user, row.status) == (Origin.TASK, None, "pending")
    assert row.history_change_reason == "card revision 2: earlier approvals are stale"


def test_a_command_context_records_command(users: dict[str, Any], make_model: Any) -> None:
    model = make_model()

    with acting_as(origin=Origin.COMMAND, user=users["ds"]):
        registry.model_update(actor=users["ds"], model=model, tags=["churn"])

    row = model.history.latest()
    assert (row.history_user, row.history_origin) == (users["ds"], Origin.COMMAND)


def test_outside_any_entry_point_the_origin_is_system(users: dict[str, Any]) -> None:
    policy = ApprovalPolicy.objects.get(risk_tier="low")
    policy.required_approvals = 2
    policy.save()

    row = policy.history.latest()
    assert (row.history_origin, row.history_user) == (Origin.SYSTEM, None)
