"""Banners at the top of the model page: open critical incidents, open requests with their
progress, stale approvals and an overdue revalidation; none when all is well."""

from __future__ import annotations

import pytest
from django.test import TestCase

from governance.audit_context import Origin, acting_as
from models_registry.services import version_update_notes
from monitoring.models import Incident
from monitoring.services import incident_open
from reviews.services import promotion_request_create, signoff_create
from tests.reviews.review_board_data import days_ago, registered_on

pytestmark = pytest.mark.django_db


def banners(client, name: str) -> list[str]:
    html = client.get(f"/models/{name}/").content.decode()
    if 'id="banners"' not in html:
        return []
    block = html.split('id="banners"')[1].split("</ul>")[0]
    return [" ".join(item.split("</li>")[0].split()) for item in block.split("<li")[1:]]


def test_a_quiet_model_has_no_banners(client, users, make_model, make_version):
    make_version(make_model(name="quiet"))
    client.force_login(users["board"])
    assert banners(client, "quiet") == []


def test_the_gravest_comes_first_and_each_says_its_level_in_words(
    client, users, make_model, make_version
):
    model = registered_on(make_model(name="churn", risk_tier="medium"), days_ago(400))
    version = make_version(model)
    request = promotion_request_create(actor=users["ds"], version=version, justification="x")
    signoff_create(actor=users["validator"], request_id=request.pk, decision="approve")
    with TestCase.captureOnCommitCallbacks(execute=True):
        version_update_notes(actor=users["ds"], version=version, limitations="Consumers only.")
    with acting_as(origin=Origin.SYSTEM):
        incident = incident_open(
            model=model,
            severity=Incident.Severity.CRITICAL,
            source=Incident.Source.DRIFT,
            title="Tenure drifted",
            description="",
        )
        incident_open(
            model=model,
            severity=Incident.Severity.WARNING,
            source=Incident.Source.DRIFT,
            title="A warning only",
            description="",
        )
    client.force_login(users["board"])

    shown = banners(client, "churn")

    assert len(shown) == 4, shown
    assert (
        "Critical:" in shown[0] and f"Incident #{incident.pk} is open: Tenure drifted" in shown[0]
    )
    assert f'href="/incidents/{incident.pk}/"' in shown[0]
    warnings = [text for text in shown if "Needs attention:" in text]
    assert any(f"Request #{request.pk}: 1 approval went stale" in text for text in warnings)
    assert any("Revalidation overdue by" in text for text in warnings)
    assert "Waiting:" in shown[3]
    assert f"Request #{request.pk} for v1 is pending: 0 of 2, needs a validator" in shown[3]
    assert not any("A warning only" in text for text in shown)


def test_closed_incidents_and_decided_requests_leave_no_banner(
    client, users, make_model, make_version
):
    model = make_model(name="churn", risk_tier="low")
    version = make_version(model)
    request = promotion_request_create(actor=users["ds"], version=version, justification="x")
    signoff_create(actor=users["validator"], request_id=request.pk, decision="reject", comment="No")
    client.force_login(users["board"])
    assert banners(client, "churn") == []
