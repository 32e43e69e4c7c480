"""Reporting a serious incident to the authority (EU AI Act Art. 73): recorded by compliance
with when and a reference, on the timeline and in the audit chain; it ends the overdue
state, which closing no longer does; through the service, the API, the page and the admin."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.apps import apps as django_apps
from django.test import Client
from django.urls import reverse
from django.utils import timezone

import monitoring.migrations
from governance.errors import NotAllowed
from governance.models import AuditEvent
from monitoring.models import Incident, IncidentEvent
from monitoring.services import (
    incident_flag_serious,
    incident_open,
    incident_report_record,
    incident_status_change,
)
from tests.conftest import assert_json_error

INCIDENTS = "/api/v1/incidents/"


@pytest.fixture
def incident(make_model, make_version) -> Incident:
    model = make_model()
    return incident_open(
        model=model,
        version=make_version(model),
        severity=Incident.Severity.CRITICAL,
        source=Incident.Source.MANUAL,
        title="Credit refused to a whole region",
        description="Reported by customer service.",
    )


@pytest.fixture
def serious(users, incident) -> Incident:
    """Flagged three days ago as widespread: two days to report, so one day overdue."""
    return incident_flag_serious(
        actor=users["compliance"],
        incident_id=incident.pk,
        kind="widespread",
        reason="A region was refused credit.",
        aware_at=timezone.now() - timedelta(days=3),
    )


def report(api: Any, who: str, incident: Incident, body: dict[str, Any]) -> Any:
    return api(who).post(f"{INCIDENTS}{incident.pk}/report/", body, format="json")


def overdue_ids(api: Any) -> list[int]:
    response = api("validator").get(f"{INCIDENTS}?overdue=true")
    assert response.status_code == 200, response.content
    return [row["id"] for row in response.json()["results"]]


def test_recording_the_report_ends_the_overdue_state(api, users, serious):
    assert serious.is_overdue() and overdue_ids(api) == [serious.pk]
    before = timezone.now()

    response = report(api, "compliance", serious, {"reference": "MSA-2026-0042"})

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["reported_by"] == "carla" and body["report_reference"] == "MSA-2026-0042"
    serious.refresh_from_db()
    assert before <= serious.reported_at <= timezone.now()
    assert body["overdue"] is False and body["time_left_seconds"] is None
    assert overdue_ids(api) == []
    event = body["timeline"][-1]
    assert (event["kind"], event["actor"]) == ("reported", "carla")
    assert event["data"]["reference"] == "MSA-2026-0042" and event["data"]["late"] is True
    assert "After the deadline." in event["message"]
    audit = AuditEvent.objects.get(action="incident.reported")
    assert audit.actor == users["compliance"] and audit.object_id == str(serious.pk)
    assert audit.data["reference"] == "MSA-2026-0042" and audit.data["late"] is True
    assert audit.data["reported_at"] == serious.reported_at.isoformat()
    assert serious.history.order_by("history_id").last().reported_by_id == users["compliance"].pk


def test_a_report_made_earlier_is_recorded_with_its_time_on_time(users, incident):
    aware = timezone.now() - timedelta(days=5)
    incident_flag_serious(
        actor=users["compliance"],
        incident_id=incident.pk,
        kind="standard",
        reason="Wrong refusals.",
        aware_at=aware,
    )
    made = aware + timedelta(days=2)

    recorded = incident_report_record(
        actor=users["compliance2"],
        incident_id=incident.pk,
        reference="case 17",
        reported_at=made,
        comment="Initial report; the complete one follows.",
    )

    assert (recorded.reported_at, recorded.reported_by) == (made, users["compliance2"])
    event = recorded.timeline.get(kind=IncidentEvent.Kind.REPORTED)
    assert event.data["late"] is False
    assert event.message.endswith("Initial report; the complete one follows.")


def test_closing_is_not_the_report_and_a_closed_incident_can_still_be_reported(api, users, serious):
    incident_status_change(
        actor=users["ds"], incident_id=serious.pk, status="closed", comment="fixed"
    )
    serious.refresh_from_db()
    assert serious.is_closed and serious.is_overdue()
    assert overdue_ids(api) == [serious.pk]

    response = report(api, "compliance", serious, {"reference": "MSA-7"})

    assert response.status_code == 200, response.content
    assert response.json()["status"] == "closed" and response.json()["overdue"] is False


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "reference"),
        ({"reference": "   "}, "reference"),
        ({"reference": "x" * 201}, "reference"),
        ({"reference": "MSA-1", "reported_at": "2999-01-01T00:00:00Z"}, "reported_at"),
        ({"reference": "MSA-1", "reported_at": "yesterday"}, "reported_at"),
        ({"reference": "MSA-1", "reported_at": "2000-01-01T00:00:00Z"}, "reported_at"),
        ({"reference": "MSA-1", "extra": 1}, "extra"),
    ],
)
def test_a_bad_report_is_a_400_naming_the_field_and_stores_nothing(api, serious, body, field):
    response = report(api, "compliance", serious, body)

    assert field in assert_json_error(response, 400)
    serious.refresh_from_db()
    assert serious.reported_at is None and serious.report_reference == ""
    assert not serious.timeline.filter(kind="reported").exists()
    assert not AuditEvent.objects.filter(action="incident.reported").exists()


def test_an_incident_not_flagged_serious_has_nothing_to_report(api, incident):
    response = report(api, "compliance", incident, {"reference": "MSA-1"})

    assert "not flagged serious" in assert_json_error(response, 409)["detail"]
    incident.refresh_from_db()
    assert incident.reported_at is None


def test_a_report_is_recorded_once(api, users, serious):
    incident_report_record(actor=users["compliance"], incident_id=serious.pk, reference="MSA-1")

    response = report(api, "compliance2", serious, {"reference": "MSA-2"})

    assert "MSA-1" in assert_json_error(response, 409)["detail"]
    serious.refresh_from_db()
    assert (serious.report_reference, serious.reported_by) == ("MSA-1", users["compliance"])
    assert serious.timeline.filter(kind="reported").count() == 1


@pytest.mark.parametrize("who", ["ds", "board", "validator", "ci", "outsider"])
def test_only_compliance_records_reports(users, serious, who):
    with pytest.raises(NotAllowed):
        incident_report_record(actor=users[who], incident_id=serious.pk, reference="MSA-1")
    with pytest.raises(NotAllowed):  # the role is checked before the input
        incident_report_record(actor=users[who], incident_id=serious.pk, reference="")
    serious.refresh_from_db()
    assert serious.reported_at is None


# --- the page and the admin ---------------------------------------------------------------


def client_for(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_page_offers_compliance_the_report_form_and_shows_the_report(users, serious):
    page = reverse("monitoring:incident", args=[serious.pk])
    url = reverse("monitoring:incident-report", args=[serious.pk])
    carla = client_for(users["compliance"])

    offered = carla.get(page).content.decode()
    not_offered = client_for(users["ds"]).get(page).content.decode()
    posted = carla.post(url, {"reference": "MSA-2026-0042", "comment": ""}, follow=True)

    assert 'id="report-form"' in offered and "overdue" in offered
    assert 'id="report-form"' not in not_offered
    shown = posted.content.decode()
    assert "Report recorded; the deadline no longer runs." in shown
    assert "Reported to the authority on" in shown and "MSA-2026-0042" in shown
    assert 'id="report-form"' not in shown and "reported " in shown
    listed = carla.get(reverse("monitoring:incidents")).content.decode()
    assert "reported " in listed


def test_the_page_refuses_other_roles_and_bad_input(users, serious):
    url = reverse("monitoring:incident-report", args=[serious.pk])

    refused = client_for(users["board"]).post(url, {"reference": "MSA-1"})
    blank = client_for(users["compliance"]).post(url, {"reference": ""}, follow=True)

    assert refused.status_code == 403
    assert "Nothing was changed." in blank.content.decode()
    serious.refresh_from_db()
    assert serious.reported_at is None


def test_the_admin_shows_the_report(users, serious, client):
    client.force_login(users["compliance"])
    overdue = reverse("admin:monitoring_incident_changelist") + "?overdue=yes"
    before = client.get(overdue)
    incident_report_record(actor=users["compliance"], incident_id=serious.pk, reference="MSA-9")

    page = client.get(reverse("admin:monitoring_incident_change", args=[serious.pk]))
    listed = client.get(overdue)

    assert page.status_code == 200
    assert "MSA-9" in page.content.decode() and "reported " in page.content.decode()
    assert before.status_code == listed.status_code == 200
    assert serious.title in before.content.decode()
    assert serious.title not in listed.content.decode()


# --- the migration ------------------------------------------------------------------------


def migration_module() -> Any:
    """The migration that added reports, whatever number it carries."""
    import importlib

    folder = Path(monitoring.migrations.__file__).parent
    [path] = folder.glob("*_incident_reports_severity_resend.py")
    return importlib.import_module(f"monitoring.migrations.{path.stem}")


def test_the_migration_counts_serious_incidents_closed_before_it_as_reported(serious):
    closed_at = timezone.now() - timedelta(hours=5)
    Incident.objects.filter(pk=serious.pk).update(status="closed", closed_at=closed_at)
    still_open = incident_open(
        model=serious.model,
        severity="warning",
        source="manual",
        title="Open one",
        description="",
    )
    Incident.objects.filter(pk=still_open.pk).update(serious=True)

    migration_module().closed_serious_reported(django_apps, None)

    serious.refresh_from_db()
    still_open.refresh_from_db()
    assert serious.reported_at == closed_at and serious.reported_by is None
    assert "closing stood for the report" in serious.report_reference
    assert not serious.is_overdue()
    assert still_open.reported_at is None
