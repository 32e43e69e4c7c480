"""The incident pages: the list with its filters and deadlines, one incident with its
timeline and the forms each role may use; forbidden posts are 403 and change nothing."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client, TestCase
from django.urls import reverse
from django.utils import timezone

from models_registry import services as registry
from models_registry.models import ModelVersion
from monitoring.models import Alert, Incident, RetrainingRun
from monitoring.services import incident_flag_serious, incident_open, incident_status_change
from tests.monitoring.alert_page_helpers import plain_alert

pytestmark = pytest.mark.django_db


def client_for(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def live(users, make_model, make_version) -> Any:
    """v1 then v2 promoted, so a rollback restores v1."""
    model = make_model()
    v1, v2 = make_version(model), make_version(model)
    registry.deployment_promote(version=v1, actor=users["ds"])
    registry.deployment_promote(version=v2, actor=users["ds"])
    return model


def open_on(model: Any, title: str = "Tenure drifted") -> Incident:
    return incident_open(
        model=model,
        severity=Incident.Severity.WARNING,
        source=Incident.Source.DRIFT,
        title=title,
        description="drift_share 0.6",
    )


def detail(incident: Incident) -> str:
    return reverse("monitoring:incident", args=[incident.pk])


def action(incident: Incident, name: str) -> str:
    return reverse(f"monitoring:incident-{name}", args=[incident.pk])


def test_the_list_shows_filters_time_left_and_overdue(users, live, make_model):
    late = open_on(live, "Late one")
    calm = open_on(live, "Calm one")
    other = open_on(make_model(name="fraud-detector"), "Elsewhere")
    incident_flag_serious(
        actor=users["compliance"],
        incident_id=late.pk,
        kind="widespread",
        reason="Grid forecasts down.",
        aware_at=timezone.now() - timedelta(days=3),
    )
    incident_flag_serious(
        actor=users["compliance"], incident_id=calm.pk, kind="standard", reason="Refusals."
    )
    client = client_for(users["validator"])

    everything = client.get(reverse("monitoring:incidents")).content.decode()
    overdue = client.get(reverse("monitoring:incidents") + "?overdue=true&status=&model=")
    fraud = client.get(reverse("monitoring:incidents") + "?model=fraud-detector").content.decode()

    assert all(i.title in everything for i in (late, calm, other))
    assert "overdue" in everything and "left" in everything
    assert 'href="/incidents/"' in everything  # in the navigation
    assert overdue.status_code == 200
    assert "Late one" in overdue.content.decode() and "Calm one" not in overdue.content.decode()
    assert "Elsewhere" in fraud and "Late one" not in fraud


def test_the_model_pages_link_to_the_incidents(users, live):
    incident = open_on(live)
    client = client_for(users["board"])

    model_page = client.get(reverse("registry:model", args=[live.name])).content.decode()
    health = client.get(reverse("monitoring:model-health", args=[live.name])).content.decode()

    assert "/incidents/?model=churn-classifier" in model_page
    assert detail(incident) in health


def test_the_incident_page_shows_the_timeline_and_the_forms_of_the_role(users, live):
    incident = open_on(live)

    compliance = client_for(users["compliance"]).get(detail(incident)).content.decode()
    ds = client_for(users["ds"]).get(detail(incident)).content.decode()
    validator = client_for(users["validator"]).get(detail(incident)).content.decode()

    assert "drift_share 0.6" in compliance and 'id="timeline"' in compliance
    for form in ("assign-form", "status-form", "comment-form", "serious-form", "rollback-form"):
        assert form in compliance
    assert "csrfmiddlewaretoken" in compliance
    assert "assign-form" in ds and "rollback-form" in ds and "serious-form" not in ds
    for form in ("assign-form", "status-form", "comment-form", "serious-form", "rollback-form"):
        assert form not in validator


def test_forms_post_and_say_so(users, live):
    incident = open_on(live)
    ds = client_for(users["ds"])
    carla = client_for(users["compliance"])

    assigned = ds.post(action(incident, "assign"), {"owner": "dana", "comment": ""}, follow=True)
    commented = ds.post(action(incident, "comment"), {"comment": "upstream change"}, follow=True)
    moved = ds.post(action(incident, "status"), {"status": "investigating"}, follow=True)
    flagged = carla.post(
        action(incident, "flag-serious"),
        {"kind": "standard", "reason": "Wrong refusals.", "aware_at": ""},
        follow=True,
    )
    with TestCase.captureOnCommitCallbacks(execute=True):
        rolled = carla.post(
            action(incident, "rollback"), {"comment": "back to v1", "from_version": 2}, follow=True
        )

    for response, said in [
        (assigned, "Assignment saved."),
        (commented, "Comment added."),
        (moved, "Status changed."),
        (flagged, "Flagged serious"),
        (rolled, "Rolled back"),
    ]:
        assert response.status_code == 200
        assert response.redirect_chain[-1][0] == detail(incident)
        assert said in response.content.decode()
    incident.refresh_from_db()
    assert incident.owner == users["ds"]
    assert incident.status == Incident.Status.INVESTIGATING
    assert incident.serious and incident.report_due is not None
    assert ModelVersion.objects.get(model=live, version=1).stage == "production"
    kinds = list(incident.timeline.order_by("id").values_list("kind", flat=True))
    assert kinds == [
        "opened",
        "assigned",
        "comment",
        "status_changed",
        "flagged_serious",
        "rollback",
    ]
    assert "left" in rolled.content.decode()  # the deadline box


def test_refusals_of_the_service_are_shown_and_nothing_changes(users, live):
    incident = open_on(live)
    ds = client_for(users["ds"])

    closing = ds.post(action(incident, "status"), {"status": "closed", "comment": ""}, follow=True)
    not_a_worker = ds.post(action(incident, "assign"), {"owner": "vera"}, follow=True)
    blank = ds.post(action(incident, "comment"), {"comment": ""}, follow=True)

    assert "Say what was done to close the incident." in closing.content.decode()
    assert "Nothing was changed." in not_a_worker.content.decode()
    assert "Nothing was changed." in blank.content.decode()
    incident.refresh_from_db()
    assert incident.status == Incident.Status.OPEN and incident.owner is None
    assert incident.timeline.count() == 1


@pytest.mark.parametrize(
    ("who", "name", "body"),
    [
        ("validator", "assign", {"owner": "dana"}),
        ("validator", "comment", {"comment": "x"}),
        ("ci", "status", {"status": "investigating"}),
        ("ds", "flag-serious", {"kind": "death", "reason": "x"}),
        ("board", "flag-serious", {"kind": "death", "reason": "x"}),
        ("validator", "rollback", {"comment": "x"}),
        ("outsider", "comment", {"comment": "x"}),
        ("board", "retrain", {}),
        ("validator", "retrain", {}),
    ],
)
def test_forbidden_posts_are_403_and_change_nothing(users, live, who, name, body):
    incident = open_on(live)

    response = client_for(users[who]).post(action(incident, name), body)

    assert response.status_code == 403
    incident.refresh_from_db()
    assert incident.timeline.count() == 1
    assert not incident.serious and incident.owner is None
    assert ModelVersion.objects.get(model=live, version=2).stage == "production"
    assert not RetrainingRun.objects.exists()


def test_a_data_scientist_retrains_from_the_incident_and_the_run_is_listed(users, live):
    """The button queues a run linked to the incident (its task runs on commit, elsewhere)."""
    incident = open_on(live)
    board_page = client_for(users["board"]).get(detail(incident)).content.decode()
    assert 'id="retrain"' not in board_page  # board members may not start one
    client = client_for(users["ds"])
    assert "Retrain v2" in client.get(detail(incident)).content.decode()

    response = client.post(action(incident, "retrain"), follow=True)

    (run,) = RetrainingRun.objects.all()
    assert (run.incident, run.trigger, run.requested_by) == (incident, "incident", users["ds"])
    assert run.base_version.version == 2 and run.status == "queued"
    page = response.content.decode()
    assert f"Retraining run #{run.pk} queued" in page
    assert f"Run #{run.pk}: Queued" in page
    assert incident.timeline.filter(kind="retraining_started").count() == 1

    again = client.post(action(incident, "retrain"), follow=True)  # one run at a time
    assert RetrainingRun.objects.count() == 1
    assert "Nothing was changed" not in again.content.decode()
    assert (
        f"Retraining run #{run.pk} of {live.name} is queued; wait for it." in again.content.decode()
    )


def test_outsiders_see_no_incident_pages_and_anonymous_visitors_log_in(users, live):
    incident = open_on(live)

    assert client_for(users["outsider"]).get(reverse("monitoring:incidents")).status_code == 403
    assert client_for(users["outsider"]).get(detail(incident)).status_code == 403
    anonymous = Client().get(detail(incident))
    assert anonymous.status_code == 302 and "/login" in anonymous["Location"]


def test_a_post_without_the_csrf_token_is_refused(users, live):
    incident = open_on(live)
    client = Client(enforce_csrf_checks=True)
    client.force_login(users["ds"])

    response = client.post(action(incident, "comment"), {"comment": "x"})

    assert response.status_code == 403
    assert incident.timeline.count() == 1


def test_an_unknown_incident_is_404_and_a_get_on_an_action_405(users, make_model):
    client = client_for(users["compliance"])

    assert client.get(reverse("monitoring:incident", args=[999999])).status_code == 404
    assert client.post(reverse("monitoring:incident-comment", args=[999999]), {}).status_code == 404
    incident = open_on(make_model())
    assert client.get(action(incident, "comment")).status_code == 405


def test_a_closed_incident_shows_no_assign_flag_or_rollback(users, live):
    incident = open_on(live)
    incident_status_change(
        actor=users["compliance"], incident_id=incident.pk, status="closed", comment="done"
    )

    page = client_for(users["compliance"]).get(detail(incident)).content.decode()

    assert "assign-form" not in page and "serious-form" not in page
    assert "rollback-form" not in page
    assert "status-form" in page and "comment-form" in page  # reopen, add a note


def test_the_admin_shows_the_workflow_fields_the_timeline_and_filters_overdue(users, live):
    late = open_on(live, "Late one")
    open_on(live, "Calm one")
    incident_flag_serious(
        actor=users["compliance"],
        incident_id=late.pk,
        kind="widespread",
        reason="Grid forecasts down.",
        aware_at=timezone.now() - timedelta(days=3),
    )
    client = client_for(users["compliance"])
    changelist = reverse("admin:monitoring_incident_changelist")

    overdue = client.get(changelist + "?overdue=yes").content.decode()
    not_overdue = client.get(changelist + "?overdue=no").content.decode()
    serious = client.get(changelist + "?serious__exact=1").content.decode()
    change = client.get(reverse("admin:monitoring_incident_change", args=[late.pk]))

    assert "Late one" in overdue and "Calm one" not in overdue
    assert "Calm one" in not_overdue and "Late one" not in not_overdue
    assert "Late one" in serious and "Calm one" not in serious
    assert change.status_code == 200
    page = change.content.decode()
    assert "Grid forecasts down." in page and "overdue by" in page
    assert "flagged_serious" in page or "Flagged serious" in page  # the timeline inline
    assert "report_due" in page  # the links of the timeline entry


def test_an_alert_whose_silence_ran_out_reads_open_on_the_incident_page(users, live):
    incident = open_on(live)
    version = live.versions.first()
    past = plain_alert(
        version,
        incident=incident,
        status=Alert.Status.SILENCED,
        silenced_until=timezone.now() - timedelta(minutes=1),
    )
    plain_alert(
        version,
        incident=incident,
        status=Alert.Status.SILENCED,
        silenced_until=timezone.now() + timedelta(hours=1),
    )

    page = client_for(users["board"]).get(detail(incident)).content.decode()

    rows = page[page.index(f'href="/alerts/{past.pk}/"') :]
    assert "<td>open</td>" in rows.split("</tr>")[0]
    assert page.count("<td>silenced</td>") == 1
