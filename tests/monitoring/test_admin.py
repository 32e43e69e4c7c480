"""Monitoring in the admin: incidents and ground truth read-only, canary gates edited."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from governance.models import AuditEvent
from monitoring.models import CanaryGates, GroundTruth, Incident
from monitoring.services import incident_acknowledge, incident_open


@pytest.fixture
def incident(users: dict[str, Any], make_model: Any, make_version: Any) -> Incident:
    model = make_model()
    version = make_version(model)
    GroundTruth.objects.create(model=model, request_id="req-1", label=1.0, actor=users["ci"])
    incident = incident_open(
        model=model,
        version=version,
        severity=Incident.Severity.CRITICAL,
        source=Incident.Source.CANARY,
        title="Canary v1 rolled back: latency",
        description="p95 latency x2.00",
        details={"failed_gates": ["latency"]},
    )
    incident_acknowledge(actor=users["compliance"], incident_id=incident.pk, comment="looking")
    return incident


def client_for(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def superuser(db: Any) -> Any:
    return get_user_model().objects.create_superuser("root", "root@example.com", "pw-for-tests-1")


def gates_form(**values: Any) -> dict[str, Any]:
    form = {
        "window_minutes": 30,
        "min_requests": 100,
        "max_error_rate_increase": 0.02,
        "max_latency_ratio": 1.2,
        "max_quality_drop": 0.01,
        "max_fairness_gap": 0.05,
        "min_labelled": 50,
    }
    form.update(values)
    return form


def test_compliance_reads_incidents_with_their_timeline_and_history(users, incident):
    client = client_for(users["compliance"])

    changelist = client.get(
        reverse("admin:monitoring_incident_changelist") + "?status=investigating"
    )
    change = client.get(reverse("admin:monitoring_incident_change", args=[incident.pk]))
    history = client.get(reverse("admin:monitoring_incident_history", args=[incident.pk]))

    assert changelist.status_code == 200
    assert "Canary v1 rolled back: latency" in changelist.content.decode()
    assert change.status_code == 200
    assert "looking" in change.content.decode()
    assert "failed_gates" in change.content.decode()
    assert history.status_code == 200
    assert "open -&gt; investigating" in history.content.decode()


def test_incidents_and_ground_truth_cannot_be_changed_in_the_admin(users, incident, superuser):
    truth = GroundTruth.objects.get()
    for user in (users["compliance"], superuser):
        client = client_for(user)
        assert client.get(reverse("admin:monitoring_incident_add")).status_code == 403
        assert (
            client.post(
                reverse("admin:monitoring_incident_change", args=[incident.pk]),
                {"title": "nothing to see"},
            ).status_code
            == 403
        )
        assert (
            client.post(
                reverse("admin:monitoring_groundtruth_delete", args=[truth.pk]), {"post": "yes"}
            ).status_code
            == 403
        )
        assert client.get(reverse("admin:monitoring_groundtruth_changelist")).status_code == 200
    incident.refresh_from_db()
    assert incident.title == "Canary v1 rolled back: latency"
    assert GroundTruth.objects.exists()


def test_a_superuser_sets_a_models_canary_gates(incident, superuser):
    client = client_for(superuser)

    response = client.post(
        reverse("admin:monitoring_canarygates_add"),
        gates_form(model=incident.model.pk),
    )

    assert response.status_code == 302, response.content
    gates = CanaryGates.objects.get(model=incident.model)
    assert gates.window_minutes == 30
    assert gates.max_latency_ratio == 1.2
    assert gates.history.get().history_change_reason == "created in admin"
    assert gates.history.get().history_origin == "admin"
    audit = AuditEvent.objects.get(action="canary_gates.created")
    assert audit.object_id == "churn-classifier"
    assert audit.actor == superuser


def test_an_edit_of_the_gates_is_recorded_with_what_changed(incident, superuser):
    gates = CanaryGates.objects.create(model=incident.model)
    client = client_for(superuser)

    response = client.post(
        reverse("admin:monitoring_canarygates_change", args=[gates.pk]),
        gates_form(window_minutes=60, min_requests=50, min_labelled=30, max_fairness_gap=0.1),
    )

    assert response.status_code == 302, response.content
    gates.refresh_from_db()
    assert gates.max_latency_ratio == 1.2
    assert gates.history.order_by("history_id").last().history_change_reason == (
        "edited in admin: max_error_rate_increase, max_latency_ratio, max_quality_drop"
    )
    audit = AuditEvent.objects.get(action="canary_gates.edited")
    assert audit.data["previous"]["max_latency_ratio"] == 1.5


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("max_error_rate_increase", 1.5),
        ("max_fairness_gap", -0.1),
        ("window_minutes", 0),
        ("min_requests", 0),
        ("max_latency_ratio", 0),
    ],
)
def test_gates_out_of_range_are_refused(incident, superuser, field, value):
    client = client_for(superuser)

    response = client.post(
        reverse("admin:monitoring_canarygates_add"),
        gates_form(model=incident.model.pk, **{field: value}),
    )

    assert response.status_code == 200
    assert field in response.context["adminform"].form.errors
    assert not CanaryGates.objects.exists()


def test_gates_are_not_deleted_in_the_admin(incident, superuser):
    gates = CanaryGates.objects.create(model=incident.model)

    response = client_for(superuser).post(
        reverse("admin:monitoring_canarygates_delete", args=[gates.pk]), {"post": "yes"}
    )

    assert response.status_code == 403
    assert CanaryGates.objects.exists()


def test_compliance_officers_edit_canary_gates(users, incident):
    client = client_for(users["compliance"])
    gates = CanaryGates.objects.create(model=incident.model)
    url = reverse("admin:monitoring_canarygates_change", args=[gates.pk])
    response = client.post(url, gates_form())

    assert response.status_code == 302, response.content
    gates.refresh_from_db()
    assert gates.window_minutes == 30
