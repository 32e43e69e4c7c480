"""The findings pages, the revalidation page and what the model page shows of both: forms
only for the steps a role may take; a form posted by a role without the capability is a
403 and changes nothing; a step the service refuses says why and changes nothing."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from reviews.finding_models import Finding
from reviews.finding_services import finding_status_change
from tests.reviews.review_board_data import days_ago, raise_finding, registered_on, validate

pytestmark = pytest.mark.django_db


def client_for(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def model(make_model, make_version):
    model = make_model(risk_tier="high")
    make_version(model)
    return model


def detail(finding: Finding) -> str:
    return reverse("reviews:finding", args=[finding.pk])


def test_the_list_filters_findings_and_is_in_the_navigation(model, make_model, users):
    raise_finding(model, users["validator"], title="Recall drops", severity="high")
    raise_finding(make_model("fraud"), users["board"], title="Unfair to young", severity="low")
    client = client_for(users["ci"])

    everything = client.get(reverse("reviews:findings")).content.decode()
    grave = client.get(reverse("reviews:findings") + "?min_severity=high&status=&model=")
    bad = client.get(reverse("reviews:findings") + "?status=fixed").content.decode()

    assert "Recall drops" in everything and "Unfair to young" in everything
    assert 'href="/findings/"' in everything and 'href="/revalidations/"' in everything
    assert grave.status_code == 200
    assert "Recall drops" in grave.content.decode()
    assert "Unfair to young" not in grave.content.decode()
    assert "status:" in bad and "No findings match." in bad


def test_the_detail_offers_each_role_only_its_steps(model, users):
    finding = raise_finding(model, users["validator"], links=["https://jira.example.org/R-1"])

    ds_page = client_for(users["ds"]).get(detail(finding)).content.decode()
    board_page = client_for(users["board"]).get(detail(finding)).content.decode()
    ci_page = client_for(users["ci"]).get(detail(finding)).content.decode()

    assert 'value="in_remediation"' in ds_page and 'value="accepted_risk"' not in ds_page
    assert 'id="evidence-form"' in ds_page
    assert 'value="accepted_risk"' in board_page
    assert 'id="work"' not in ci_page and "https://jira.example.org/R-1" in ci_page


def test_working_a_finding_from_its_page(model, users):
    finding = raise_finding(model, users["validator"])
    ds, validator = client_for(users["ds"]), client_for(users["validator"])

    evidence = ds.post(
        reverse("reviews:finding-evidence", args=[finding.pk]),
        {"evidence": "Retrained on 2026 data", "links": "https://mlflow.example.org/runs/1\n"},
        follow=True,
    )
    remediated = ds.post(
        reverse("reviews:finding-status", args=[finding.pk]),
        {"status": "remediated", "comment": "", "evidence": "", "links": ""},
        follow=True,
    )
    refused = validator.post(
        reverse("reviews:finding-status", args=[finding.pk]), {"status": "closed"}, follow=True
    )
    closed = validator.post(
        reverse("reviews:finding-status", args=[finding.pk]),
        {"status": "closed", "comment": "Checked the run."},
        follow=True,
    )

    assert "Evidence added." in evidence.content.decode()
    assert "https://mlflow.example.org/runs/1" in evidence.content.decode()
    assert "Status changed." in remediated.content.decode()
    assert "Say what was verified before closing." in refused.content.decode()
    assert "Status changed." in closed.content.decode()
    finding.refresh_from_db()
    assert (finding.status, finding.remediated_by) == ("closed", users["ds"])


def test_a_step_the_service_refuses_says_why_and_changes_nothing(model, users):
    finding = raise_finding(model, users["validator"])

    response = client_for(users["ds"]).post(
        reverse("reviews:finding-status", args=[finding.pk]),
        {"status": "accepted_risk", "comment": "not worth it"},
        follow=True,
    )

    assert "Your roles do not allow you to move a finding to accepted_risk." in (
        response.content.decode()
    )
    assert Finding.objects.get().status == "open"


@pytest.mark.parametrize("action", ["finding-status", "finding-evidence"])
def test_a_role_without_the_capability_gets_403_and_nothing_changes(model, users, action):
    finding = raise_finding(model, users["validator"])
    response = client_for(users["ci"]).post(
        reverse(f"reviews:{action}", args=[finding.pk]),
        {"status": "in_remediation", "evidence": "x"},
    )
    assert response.status_code == 403
    assert Finding.objects.get().status == "open" and finding.timeline.count() == 1


def test_unknown_findings_are_404(users):
    client = client_for(users["ds"])
    assert client.get(reverse("reviews:finding", args=[999])).status_code == 404
    response = client.post(reverse("reviews:finding-evidence", args=[999]), {"evidence": "x"})
    assert response.status_code == 404


def test_the_model_page_shows_revalidation_and_grave_open_findings(model, users):
    registered_on(model, days_ago(400))
    validate(model, users["validator"], on=days_ago(200))
    raise_finding(model, users["validator"], title="Critical leak", severity="critical")
    raise_finding(model, users["validator"], title="Minor wording", severity="low")
    settled = raise_finding(model, users["validator"], title="Old issue", severity="high")
    client_for(users["board"]).post(
        reverse("reviews:finding-status", args=[settled.pk]),
        {"status": "accepted_risk", "comment": "accepted"},
    )

    page = client_for(users["ci"]).get(reverse("registry:model", args=[model.name]))
    html = page.content.decode()

    assert page.status_code == 200
    assert 'id="revalidation-overdue"' in html
    assert f'id="last-validated">{days_ago(200):%Y-%m-%d}' in html
    assert "every 6 months" in html
    assert "Critical leak" in html
    assert "Minor wording" not in html and "Old issue" not in html
    assert "All open findings of this model (2)" in html


def test_the_model_page_of_a_fresh_model_has_no_badge(make_model, users):
    model = make_model(risk_tier="low")
    html = client_for(users["ds"]).get(reverse("registry:model", args=[model.name])).content
    html = html.decode()
    assert "never (registered" in html and "revalidation-overdue" not in html
    assert 'id="revalidation-due"' not in html and '<p class="empty">None.</p>' in html


def test_the_revalidation_page_lists_overdue_models_first(make_model, users):
    registered_on(make_model("fresh", risk_tier="low"), days_ago(1))
    registered_on(make_model("late", risk_tier="high"), days_ago(300))

    html = client_for(users["validator"]).get(reverse("reviews:revalidations")).content.decode()

    assert html.index("late") < html.index("fresh")
    assert "overdue" in html and "current" in html


def test_the_page_offers_no_step_the_service_would_refuse(model, users):
    """Separation of duties holds on the page too: whoever marked a finding remediated is
    not offered its closing, and a finding's owner is not offered accepting its risk."""
    finding = raise_finding(model, users["validator"], owner=users["board"])
    finding_status_change(actor=users["board"], finding_id=finding.pk, status="in_remediation")
    finding_status_change(
        actor=users["board"],
        finding_id=finding.pk,
        status="remediated",
        evidence="Retrained with the 2026 cohort; recall 0.78.",
    )

    remediator = client_for(users["board"]).get(detail(finding)).content.decode()
    verifier = client_for(users["validator"]).get(detail(finding)).content.decode()

    assert 'value="closed"' not in remediator and 'value="accepted_risk"' not in remediator
    assert 'value="closed"' in verifier
