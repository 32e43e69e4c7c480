"""The admin as a new compliance officer found it, fixed: people's names lead somewhere,
numbers and JSON read as text, history says "origin", and the audit list shows governance
events without one inference batch per prediction call in between."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from governance.admin_values import formatted_value
from governance.audit.chain import audit_record
from governance.audit_context import Origin, acting_as
from models_registry.models import ModelVersion
from reviews import services as reviews

pytestmark = pytest.mark.django_db


@pytest.fixture
def officer(users: dict[str, Any]) -> Client:
    client = Client()
    client.force_login(users["compliance"])
    return client


@pytest.fixture
def signed(users: dict[str, Any], make_model: Any, make_version: Any) -> Any:
    version = make_version(make_model(), metrics={"auc": 0.8124192759604787})
    with acting_as(origin=Origin.SYSTEM):
        request = reviews.promotion_request_create(
            actor=users["ds"], version=version, justification="Better AUC."
        )
        reviews.signoff_create(actor=users["validator"], request_id=request.pk, decision="approve")
    return request


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (0.8124192759604787, "0.8124"),
        (12.3456, "12.35"),
        (123456.7, "123,457"),
        (0.0, "0.0"),
        (["validator", "board"], "validator, board"),
        ([], None),
        (None, None),
        (True, True),
        ("text", "text"),
    ],
)
def test_values_read_as_text(value: Any, shown: Any) -> None:
    assert formatted_value(value) == shown


def test_json_objects_are_indented_with_rounded_numbers() -> None:
    shown = formatted_value({"auc": 0.8124192759604787, "groups": {"f": 0.333333333}})
    assert shown.startswith('<pre class="json">')
    assert "&quot;auc&quot;: 0.8124" in shown
    assert "&quot;f&quot;: 0.3333" in shown
    assert "0.81241" not in shown


def test_a_version_shows_its_metrics_rounded(officer: Client, signed: Any) -> None:
    version = signed.model_version
    page = officer.get(
        reverse("admin:models_registry_modelversion_change", args=[version.pk])
    ).content.decode()
    assert "0.8124" in page
    assert "0.8124192759604787" not in page
    assert ModelVersion.objects.get(pk=version.pk).metrics["auc"] == 0.8124192759604787


def test_a_sign_off_lists_the_signers_roles_as_words(officer: Client, signed: Any) -> None:
    listing = officer.get(reverse("admin:reviews_signoff_changelist")).content.decode()
    page = officer.get(
        reverse("admin:reviews_promotionrequest_change", args=[signed.pk])
    ).content.decode()
    for html in (listing, page):
        assert "validator" in html
        assert "[&quot;validator&quot;]" not in html and '["validator"]' not in html


def test_a_compliance_officer_follows_a_signer_to_who_they_are(
    officer: Client, users: dict[str, Any], signed: Any
) -> None:
    page = officer.get(reverse("admin:reviews_signoff_change", args=[signed.sign_offs.get().pk]))
    link = reverse("admin:auth_user_change", args=[users["validator"].pk])
    assert link in page.content.decode()
    user_page = officer.get(link)
    assert user_page.status_code == 200
    assert "vera" in user_page.content.decode()
    assert officer.post(link, {"username": "renamed"}).status_code == 403
    users["validator"].refresh_from_db()
    assert users["validator"].username == "vera"


def test_history_is_headed_origin_and_styled_to_wrap(officer: Client, signed: Any) -> None:
    url = reverse("admin:reviews_promotionrequest_history", args=[signed.pk])
    page = officer.get(url).content.decode()
    assert '<th scope="col">origin</th>' in page
    assert "history_origin" not in page
    assert "css/admin-governance.css" in page


def test_the_audit_list_keeps_inference_batches_apart(officer: Client, signed: Any) -> None:
    for batch in range(3):
        audit_record(action="predictions.recorded", object_type="batch", object_id=batch)
    url = reverse("admin:governance_auditevent_changelist")

    def actions(**params: str) -> set[str]:
        response = officer.get(url, params)
        assert response.status_code == 200
        return {event.action for event in response.context["cl"].result_list}

    default = actions()
    assert "promotion_request.signed.approve" in default
    assert "predictions.recorded" not in default
    assert actions(kind="inference") == {"predictions.recorded"}
    everything = actions(kind="all")
    assert {"predictions.recorded", "promotion_request.signed.approve"} <= everything
    assert actions(action="predictions.recorded") == {"predictions.recorded"}
