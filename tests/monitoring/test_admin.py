"""Monitoring in the admin: incidents and ground truth read-only (canary gates:
test_canary_gates.py)."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from monitoring.models import GroundTruth, Incident
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
