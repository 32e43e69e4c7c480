"""The model health page: production traffic, the canary against its gates, open incidents."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from models_registry import services as registry
from monitoring.models import Incident
from monitoring.services import incident_open, incident_resolve
from tests.conftest import make_user
from tests.monitoring.test_canary import label, log_calls

pytestmark = pytest.mark.django_db


def page(user, name: str = "churn-classifier") -> tuple[int, str]:
    client = Client()
    client.force_login(user)
    response = client.get(reverse("monitoring:model-health", args=[name]))
    return response.status_code, response.content.decode()


@pytest.fixture
def deployed(users, make_model, make_version):
    model = make_model(protected_attributes=["gender"])
    v1, v2 = make_version(model), make_version(model)
    registry.deployment_promote(version=v1, actor=users["ds"])
    registry.deployment_start_canary(version=v2, actor=users["ds"], traffic=20)
    return model, v1, v2


def test_a_board_member_sees_traffic_the_canary_gates_and_open_incidents(users, deployed):
    model, v1, v2 = deployed
    v1.refresh_from_db()
    v2.refresh_from_db()
    served = log_calls(v1, 200, errors=4, latency_ms=lambda i: 10.0 + i % 50)
    label(model, served[4:54], 1)
    log_calls(v2, 60, errors=30)  # half the canary's calls fail
    incident_open(
        model=model,
        version=v2,
        severity=Incident.Severity.WARNING,
        source=Incident.Source.MANUAL,
        title="Checkout saw odd scores",
        description="Reported by the retention team.",
    )
    closed = incident_open(
        model=model,
        severity=Incident.Severity.INFO,
        source=Incident.Source.MANUAL,
        title="An old, resolved matter",
        description="Done with.",
    )
    incident_resolve(actor=users["compliance"], incident_id=closed.pk, comment="fixed")

    status, html = page(users["board"])

    assert status == 200
    assert "200" in html and "2.00%" in html  # production calls and error rate, last hour
    assert "accuracy 1.000" in html  # the 50 labelled calls were all right (prediction 0.8)
    assert 'class="badge verdict-fail"' in html
    assert 'class="badge check-failed"' in html and "error_rate" in html
    assert "50.00%" in html  # the canary's error rate
    assert "Checkout saw odd scores" in html
    assert "An old, resolved matter" not in html


def test_without_canary_or_incidents_the_page_says_so(users, make_model, make_version):
    model = make_model()
    registry.deployment_promote(version=make_version(model), actor=users["ds"])
    status, html = page(users["validator"])
    assert status == 200
    assert "No canary." in html and "None open." in html


def test_the_model_page_links_to_it_and_strangers_are_kept_out(users, deployed):
    client = Client()
    client.force_login(users["ds"])
    detail = client.get(reverse("registry:model", args=["churn-classifier"])).content.decode()
    assert reverse("monitoring:model-health", args=["churn-classifier"]) in detail
    assert page(make_user("nobody"))[0] == 403  # signed in, but no role
    anonymous = Client().get(reverse("monitoring:model-health", args=["churn-classifier"]))
    assert anonymous.status_code == 302 and "login" in anonymous["Location"]
    assert page(users["board"], name="no-such-model")[0] == 404
