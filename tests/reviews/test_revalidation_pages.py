"""Recording a validation in the browser, and the revalidation policy page: who sees which
link and form, what a recorded validation does to the due date, and that refused input
changes nothing."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from models_registry.models import RegisteredModel
from reviews.revalidation_models import ModelMateriality, RevalidationPolicy, Validation
from reviews.revalidation_schedule import add_months
from tests.reviews.review_board_data import days_ago, registered_on

pytestmark = pytest.mark.django_db


def client_for(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def model(make_model, make_version) -> RegisteredModel:
    model = make_model(risk_tier="high")  # every 6 months by default
    make_version(model)
    make_version(model)
    return registered_on(model, days_ago(400))  # overdue


def new_url(model: RegisteredModel) -> str:
    return reverse("reviews:validation-new", args=[model.name])


def good(**given: Any) -> dict[str, Any]:
    return {
        "version": "2",
        "validated_on": "",
        "scope": "Back-test on 2026 Q3; stability; fairness by gender.",
        "outcome": "passed",
        "evidence": "AUC 0.91 on hold-out.",
        "links": "https://wiki.example.org/val/42\n",
        **given,
    }


def test_validators_find_the_form_from_the_model_page_and_the_schedule(model, users):
    validator = client_for(users["validator"])
    ci = client_for(users["ci"])

    model_page = validator.get(reverse("registry:model", args=[model.name])).content.decode()
    schedule = validator.get(reverse("reviews:revalidations")).content.decode()
    form = validator.get(new_url(model))

    assert f'href="{new_url(model)}"' in model_page and f'href="{new_url(model)}"' in schedule
    assert 'id="policy-link"' not in schedule
    assert form.status_code == 200
    html = form.content.decode()
    assert '<option value="2">v2</option>' in html and "the model as a whole" in html
    assert "Validated by vera." in html
    ci_page = ci.get(reverse("registry:model", args=[model.name])).content.decode()
    assert f'href="{new_url(model)}"' not in ci_page


def test_recording_a_validation_restarts_the_clock_and_says_the_new_due_date(model, users):
    response = client_for(users["validator"]).post(new_url(model), good(), follow=True)

    due = add_months(timezone.localdate(), 6).isoformat()
    assert response.redirect_chain[-1][0] == reverse("registry:model", args=[model.name])
    html = response.content.decode()
    assert f"Validation recorded (passed). Next revalidation due {due}." in html
    assert f'<dd id="revalidation-due-date">{due}</dd>' in html
    validation = Validation.objects.get()
    assert (validation.validated_by, validation.version.version) == (users["validator"], 2)
    assert validation.links == ["https://wiki.example.org/val/42"]
    assert validation.scope == "Back-test on 2026 Q3; stability; fairness by gender."


def test_a_failed_validation_is_recorded_but_leaves_the_model_due(model, users):
    old_due = add_months(days_ago(400), 6).isoformat()

    response = client_for(users["compliance"]).post(
        new_url(model), good(outcome="failed", version=""), follow=True
    )

    assert f"the schedule does not restart; due {old_due}" in response.content.decode()
    assert Validation.objects.get().version is None


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ({"scope": "   "}, "This field is required."),
        ({"scope": "x" * 10001}, "At most 10000 characters."),
        ({"outcome": "great"}, "Select a valid choice."),
        ({"version": "9"}, "Select a valid choice."),
        ({"validated_on": "2999-01-01"}, "May not be in the future."),
        ({"validated_on": "2000-01-01"}, "was registered on"),
        ({"links": "ftp://files.example.org/x"}, "http"),
    ],
)
def test_bad_input_is_a_400_saying_why_and_stores_nothing(model, users, given, message):
    response = client_for(users["validator"]).post(new_url(model), good(**given))

    assert response.status_code == 400
    assert message in response.content.decode()
    assert not Validation.objects.exists()


def test_a_validation_must_be_independent_of_the_model(model, users):
    RegisteredModel.objects.filter(pk=model.pk).update(owner=users["validator"])
    client = client_for(users["validator"])

    form = client.get(new_url(model)).content.decode()
    response = client.post(new_url(model), good())

    assert "its validation must be independent" in form
    assert response.status_code == 403
    assert "its validation must be independent" in response.content.decode()
    assert not Validation.objects.exists()


def test_roles_that_do_not_record_validations_get_403_and_unknown_models_404(model, users):
    for who in ("ds", "board", "ci"):
        client = client_for(users[who])
        assert client.get(new_url(model)).status_code == 403
        assert client.post(new_url(model), good()).status_code == 403
    unknown = reverse("reviews:validation-new", args=["no-such-model"])
    assert client_for(users["validator"]).get(unknown).status_code == 404
    assert not Validation.objects.exists()


# --- The policy page ------------------------------------------------------------------------

POLICY = "/revalidations/policy/"


def test_compliance_sees_the_intervals_and_the_link_others_get_403(model, users):
    compliance = client_for(users["compliance"])

    schedule = compliance.get(reverse("reviews:revalidations")).content.decode()
    page = compliance.get(POLICY)

    assert f'href="{POLICY}"' in schedule
    html = page.content.decode()
    assert page.status_code == 200
    assert "every 6 months" in html and "every 12 months" in html and "every 24 months" in html
    assert 'id="policy-history"' in html
    for who in ("validator", "board", "ds", "ci"):
        client = client_for(users[who])
        assert client.get(POLICY).status_code == 403
        assert client.post(reverse("reviews:revalidation-interval"), {}).status_code == 403
        assert client.post(reverse("reviews:revalidation-materiality"), {}).status_code == 403


def test_editing_an_interval_with_a_reason_shows_in_the_history_and_the_schedule(model, users):
    compliance = client_for(users["compliance"])
    edit = reverse("reviews:revalidation-interval")

    done = compliance.post(
        edit,
        {"risk_level": "high", "interval_months": "4", "reason": " Credit models: SR 26-2. "},
        follow=True,
    )

    html = done.content.decode()
    assert "High risk: every 4 months." in html
    assert "every 4 months" in html and "carla" in html and "Credit models: SR 26-2." in html
    policy = RevalidationPolicy.objects.get(risk_level="high")
    assert (policy.interval_months, policy.reason) == (4, "Credit models: SR 26-2.")
    model_page = compliance.get(reverse("registry:model", args=[model.name])).content.decode()
    assert add_months(days_ago(400), 4).isoformat() in model_page


@pytest.mark.parametrize(
    "given",
    [
        {"risk_level": "high", "interval_months": "4", "reason": "  "},
        {"risk_level": "high", "interval_months": "0", "reason": "Why not."},
        {"risk_level": "high", "interval_months": "121", "reason": "Why not."},
        {"risk_level": "extreme", "interval_months": "4", "reason": "Why not."},
    ],
)
def test_a_refused_interval_says_why_and_stores_nothing(users, given):
    before = list(RevalidationPolicy.objects.values_list("risk_level", "interval_months"))
    history = RevalidationPolicy.history.count()

    response = client_for(users["compliance"]).post(
        reverse("reviews:revalidation-interval"), given, follow=True
    )

    assert "Nothing was changed." in response.content.decode()
    assert list(RevalidationPolicy.objects.values_list("risk_level", "interval_months")) == before
    assert RevalidationPolicy.history.count() == history


def test_setting_a_materiality_with_a_reason(model, make_model, users):
    low = make_model("fraud", risk_tier="low")
    compliance = client_for(users["compliance"])
    edit = reverse("reviews:revalidation-materiality")

    refused = compliance.post(edit, {"model": "fraud", "materiality": "high", "reason": ""})
    done = compliance.post(
        edit, {"model": "fraud", "materiality": "high", "reason": "Blocks payments."}, follow=True
    )

    assert refused.status_code == 302
    html = done.content.decode()
    assert "fraud: high materiality." in html
    assert "materiality of fraud" in html and "Blocks payments." in html
    row = ModelMateriality.objects.get()
    assert (row.model, row.materiality, row.updated_by) == (low, "high", users["compliance"])
    assert ModelMateriality.history.count() == 1
