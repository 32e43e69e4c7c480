"""Changing a model's risk tier in the admin: compliance officers only, through the service."""

from __future__ import annotations

from typing import Any

from django.test import Client
from django.urls import reverse

from governance.models import AuditEvent
from governance.services import user_set_roles
from models_registry.models import RegisteredModel


def client_for(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def tier_url(model: RegisteredModel) -> str:
    return reverse("admin:models_registry_registeredmodel_risk_tier", args=[model.pk])


def test_the_model_page_links_compliance_officers_to_the_tier_form(users, make_model):
    model = make_model(risk_tier="high")
    page = client_for(users["compliance"]).get(
        reverse("admin:models_registry_registeredmodel_change", args=[model.pk])
    )
    assert page.status_code == 200
    assert 'id="risk-tier-link"' in page.content.decode()
    form = client_for(users["compliance"]).get(tier_url(model))
    assert 'id="risk-tier-form"' in form.content.decode()


def test_a_compliance_officer_changes_the_tier_and_it_is_audited_from_the_admin(users, make_model):
    model = make_model(risk_tier="high")
    response = client_for(users["compliance"]).post(tier_url(model), {"risk_tier": "medium"})
    assert response.status_code == 302
    model.refresh_from_db()
    assert model.risk_tier == "medium"
    event = AuditEvent.objects.get(action="model.edited")
    assert (event.origin, event.actor_username) == ("admin", "carla")
    assert event.data["changes"] == {"risk_tier": {"old": "high", "new": "medium"}}
    assert model.history.first().history_change_reason == "edited: risk_tier"


def test_a_staff_user_without_the_capability_is_refused(users, make_model):
    model = make_model(risk_tier="high")
    staff, _ = user_set_roles(username="sue", roles=["board"])
    staff.is_staff = staff.is_superuser = True
    staff.save()
    page = client_for(staff).get(
        reverse("admin:models_registry_registeredmodel_change", args=[model.pk])
    )
    assert 'id="risk-tier-link"' not in page.content.decode()
    assert client_for(staff).post(tier_url(model), {"risk_tier": "low"}).status_code == 403
    model.refresh_from_db()
    assert model.risk_tier == "high"


def test_a_bad_tier_is_a_form_error_and_changes_nothing(users, make_model):
    model = make_model(risk_tier="high")
    response = client_for(users["compliance"]).post(tier_url(model), {"risk_tier": "extreme"})
    assert response.status_code == 200
    assert "errorlist" in response.content.decode()
    model.refresh_from_db()
    assert model.risk_tier == "high"
    assert not AuditEvent.objects.filter(action="model.edited").exists()


def test_an_unknown_model_is_not_found(users):
    response = client_for(users["compliance"]).get(
        reverse("admin:models_registry_registeredmodel_risk_tier", args=[999_999])
    )
    assert response.status_code == 404
