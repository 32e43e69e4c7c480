"""Revalidation and findings in the admin: compliance officers edit intervals and
materialities with a reason (through the services), and read validations and findings with
their history."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from governance.models import AuditEvent
from reviews.revalidation_models import ModelMateriality, RevalidationPolicy
from tests.reviews.review_board_data import raise_finding, validate

pytestmark = pytest.mark.django_db


def client_for(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def policy(level: str) -> RevalidationPolicy:
    return RevalidationPolicy.objects.get(risk_level=level)


def test_compliance_edits_an_interval_with_a_reason(users):
    url = reverse("admin:reviews_revalidationpolicy_change", args=[policy("high").pk])
    client = client_for(users["compliance"])

    form = client.get(url)
    response = client.post(url, {"interval_months": 3, "reason": "Regulator letter 2026-09."})

    assert form.status_code == 200 and "Why: kept with the change" in form.content.decode()
    assert response.status_code == 302, response.content.decode()[:2000]
    changed = policy("high")
    assert (changed.interval_months, changed.reason) == (3, "Regulator letter 2026-09.")
    latest = changed.history.order_by("history_id").last()
    assert (latest.history_origin, latest.history_user) == ("admin", users["compliance"])
    assert latest.history_change_reason == "6 -> 3 months: Regulator letter 2026-09."
    event = AuditEvent.objects.get(action="revalidation_policy.edited")
    assert event.origin == "admin" and event.data["reason"] == "Regulator letter 2026-09."
    history = client.get(reverse("admin:reviews_revalidationpolicy_history", args=[changed.pk]))
    assert history.status_code == 200 and "Regulator letter" in history.content.decode()


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ({"interval_months": 3, "reason": ""}, "reason"),
        ({"interval_months": 0, "reason": "x"}, "0"),
    ],
)
def test_an_edit_without_a_reason_or_in_range_interval_changes_nothing(users, body, problem):
    url = reverse("admin:reviews_revalidationpolicy_change", args=[policy("high").pk])
    response = client_for(users["compliance"]).post(url, body)
    assert response.status_code == 200  # the form again, with its errors
    assert "errorlist" in response.content.decode()
    assert policy("high").interval_months == 6
    assert not AuditEvent.objects.filter(action="revalidation_policy.edited").exists()


def test_policies_are_neither_added_nor_deleted_while_every_level_has_one(users):
    client = client_for(users["compliance"])
    assert client.get(reverse("admin:reviews_revalidationpolicy_add")).status_code == 403
    delete = reverse("admin:reviews_revalidationpolicy_delete", args=[policy("low").pk])
    assert client.get(delete).status_code == 403


def test_compliance_sets_a_models_materiality_with_a_reason(users, make_model):
    model = make_model()
    client = client_for(users["compliance"])

    response = client.post(
        reverse("admin:reviews_modelmateriality_add"),
        {"model": model.pk, "materiality": "high", "reason": "Decides credit limits."},
    )

    assert response.status_code == 302, response.content.decode()[:2000]
    row = ModelMateriality.objects.get()
    assert (row.materiality, row.updated_by) == ("high", users["compliance"])
    change = reverse("admin:reviews_modelmateriality_change", args=[row.pk])
    assert client.post(change, {"materiality": "medium", "reason": ""}).status_code == 200
    assert ModelMateriality.objects.get().materiality == "high"
    assert (
        client.post(change, {"materiality": "medium", "reason": "Fewer customers."}).status_code
        == 302
    )
    assert ModelMateriality.objects.get().history.count() == 2


def test_staff_without_the_compliance_role_cannot_edit(users):
    # Only compliance officers are staff; a validator is sent to the admin's login.
    url = reverse("admin:reviews_revalidationpolicy_change", args=[policy("high").pk])
    response = client_for(users["validator"]).post(url, {"interval_months": 1, "reason": "x"})
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
    assert policy("high").interval_months == 6


def test_compliance_reads_validations_and_findings_with_their_history(users, make_model):
    model = make_model()
    validation = validate(
        model,
        users["validator"],
        outcome="failed",
        findings=[{"title": "Leaks the label", "description": "d", "severity": "critical"}],
    )
    finding = validation.findings.get()
    raise_finding(model, users["board"], title="Board's own")
    client = client_for(users["compliance"])

    pages = {
        "validations": client.get(reverse("admin:reviews_validation_changelist")),
        "validation": client.get(reverse("admin:reviews_validation_change", args=[validation.pk])),
        "findings": client.get(reverse("admin:reviews_finding_changelist") + "?severity=critical"),
        "finding": client.get(reverse("admin:reviews_finding_change", args=[finding.pk])),
        "history": client.get(reverse("admin:reviews_finding_history", args=[finding.pk])),
    }

    assert {name: page.status_code for name, page in pages.items()} == dict.fromkeys(pages, 200)
    assert "Leaks the label" in pages["validation"].content.decode()
    assert "Leaks the label" in pages["findings"].content.decode()
    assert "Board&#x27;s own" not in pages["findings"].content.decode()
    assert "raised" in pages["finding"].content.decode()
