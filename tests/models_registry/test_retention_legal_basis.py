"""The legal basis of processing (GDPR Art. 6(1)) on a model's retention policy:
GET/PATCH /api/v1/models/{name}/retention-policy/, the service, the admin, on record."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from governance.errors import InvalidInput, NotAllowed
from governance.models import AuditEvent
from models_registry.models import RetentionPolicy
from models_registry.retention import retention_policy_set
from tests.conftest import assert_json_error

pytestmark = pytest.mark.django_db

URL = "/api/v1/models/churn-classifier/retention-policy/"
BASIS = {
    "legal_basis": "legitimate_interests",
    "legal_basis_note": "Keeping subscribers: balancing test LIA-2026-07.",
}


@pytest.fixture
def model(make_model):
    return make_model()


def patch(api, body, who: str = "compliance"):
    return api(who).patch(URL, body, format="json")


def test_without_a_policy_the_api_says_nothing_is_recorded(api, model):
    response = api("validator").get(URL)
    assert response.status_code == 200
    assert response.json() == {
        "model": "churn-classifier",
        "inference_log_days": None,
        "reference_data_days": None,
        "legal_hold": False,
        "legal_hold_reason": "",
        "legal_basis": "",
        "legal_basis_note": "",
        "legal_basis_label": "",
        "updated_at": None,
    }


def test_a_compliance_officer_records_the_basis_on_history_and_audit(api, model, users):
    response = patch(api, BASIS)
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["legal_basis"], body["legal_basis_note"]) == tuple(BASIS.values())
    assert body["legal_basis_label"] == "Legitimate interests (Art. 6(1)(f))"
    assert api("ds").get(URL).json()["legal_basis"] == "legitimate_interests"

    policy = RetentionPolicy.objects.get(model=model)
    assert (policy.legal_basis, policy.legal_basis_note) == tuple(BASIS.values())
    history = policy.history.get()
    assert history.legal_basis == "legitimate_interests"
    assert history.history_change_reason == "created"
    event = AuditEvent.objects.get(action="retention.policy_set")
    assert (event.origin, event.actor_username, event.object_id) == ("api", "carla", model.name)
    assert event.data["legal_basis"] == "legitimate_interests"
    assert event.data["legal_basis_note"] == BASIS["legal_basis_note"]


def test_a_patch_keeps_the_fields_it_does_not_name(api, model, users):
    retention_policy_set(
        actor=users["compliance"],
        model=model,
        inference_log_days=30,
        legal_hold=True,
        legal_hold_reason="litigation 2026-114",
    )
    assert patch(api, BASIS).status_code == 200
    policy = RetentionPolicy.objects.get(model=model)
    assert (policy.inference_log_days, policy.legal_hold) == (30, True)
    assert policy.legal_hold_reason == "litigation 2026-114"
    assert patch(api, {"inference_log_days": 60}).json()["legal_basis"] == "legitimate_interests"
    assert [h.legal_basis for h in policy.history.order_by("history_id")] == [
        "",
        "legitimate_interests",
        "legitimate_interests",
    ]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"legal_basis": "because"}, "legal_basis"),
        ({"legal_basis": "Consent"}, "legal_basis"),
        ({"legal_basis": None}, "legal_basis"),
        ({"legal_basis_note": "x" * 1001}, "legal_basis_note"),
        ({"legal_basis": "consent", "lawful": True}, "lawful"),
        ({"inference_log_days": 0}, "inference_log_days"),
        ({"legal_hold": True}, "legal_hold_reason"),
    ],
)
def test_bad_input_is_a_400_naming_the_field_and_stores_nothing(api, model, body, field):
    response = patch(api, body)
    assert field in assert_json_error(response, 400)
    assert not RetentionPolicy.objects.exists()
    assert not RetentionPolicy.history.exists()
    assert not AuditEvent.objects.filter(action="retention.policy_set").exists()


@pytest.mark.parametrize("who", ["ds", "validator", "board", "ci"])
def test_only_compliance_officers_change_it_others_get_403_and_nothing_is_stored(api, model, who):
    assert_json_error(patch(api, BASIS, who=who), 403)
    assert not RetentionPolicy.objects.exists()
    assert not AuditEvent.objects.filter(action="retention.policy_set").exists()


def test_anonymous_is_401_an_outsider_403_and_an_unknown_model_404(api, model):
    assert_json_error(api(None).get(URL), 401)
    assert_json_error(api("outsider").get(URL), 403)
    assert_json_error(api("compliance").get(URL.replace("churn-classifier", "nope")), 404)
    unknown = URL.replace("churn-classifier", "nope")
    assert_json_error(api("compliance").patch(unknown, BASIS, format="json"), 404)


def test_the_service_refuses_a_basis_outside_art_6_1_and_other_roles(model, users):
    with pytest.raises(InvalidInput) as refused:
        retention_policy_set(
            actor=users["compliance"], model=model, inference_log_days=None, legal_basis="whim"
        )
    assert "legal_basis" in refused.value.extra
    with pytest.raises(NotAllowed):
        retention_policy_set(
            actor=users["ds"], model=model, inference_log_days=None, legal_basis="consent"
        )
    assert not RetentionPolicy.objects.exists()


def test_the_admin_sets_the_basis_through_the_service(model, users):
    client = Client()
    client.force_login(users["compliance"])
    response = client.post(
        reverse("admin:models_registry_retentionpolicy_add"),
        {
            "model": model.pk,
            "inference_log_days": "30",
            "reference_data_days": "",
            "legal_hold_reason": "",
            "legal_basis": "contract",
            "legal_basis_note": "Subscription terms, section 4.",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    policy = RetentionPolicy.objects.get(model=model)
    assert (policy.legal_basis, policy.inference_log_days) == ("contract", 30)
    event = AuditEvent.objects.get(action="retention.policy_set")
    assert (event.origin, event.data["legal_basis"]) == ("admin", "contract")
    listing = client.get(
        reverse("admin:models_registry_retentionpolicy_changelist"), {"legal_basis": "contract"}
    )
    assert listing.status_code == 200 and "Contract (Art. 6(1)(b))" in listing.content.decode()
