"""A meeting's agenda is generated from the models' state and frozen once the meeting starts."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from governance.errors import Conflict, NotAllowed
from governance.models import AuditEvent
from monitoring.models import Incident
from monitoring.services import incident_open
from reviews.meetings import services as meetings
from reviews.meetings.agenda_sources import AGENDA_SOURCES
from reviews.models import AgendaItem, Meeting
from tests.governance.test_url_permissions import stored_alert
from tests.monitoring.check_data import make_check
from tests.reviews.meeting_world import run_meeting

pytestmark = pytest.mark.django_db


def sources(meeting: Meeting) -> list[str]:
    return list(meeting.items.order_by("position").values_list("source", flat=True))


def test_the_agenda_shows_requests_incidents_alerts_and_trends(board_world):
    world = board_world
    make_check(world.version, "quality", metrics={"f1": 0.80}, ago=timedelta(days=200))
    make_check(world.version, "quality", metrics={"f1": 0.72}, ago=timedelta(hours=1))
    make_check(world.version, "drift", metrics={"drift_share": 0.4, "drift.age": 0.3})
    incident = incident_open(
        model=world.model,
        version=world.version,
        severity="warning",
        source="manual",
        title="Tenure drifted",
        description="Seen by on-call.",
    )
    alert = stored_alert(world.version)

    meetings.meeting_prepare(actor=world.users["board"], meeting_id=world.meeting.pk)

    items = {item.source: item for item in world.meeting.items.all()}
    assert sources(world.meeting) == ["promotion_request", "incident", "alert", "trend"]
    request_item = items["promotion_request"]
    assert request_item.request == world.request and request_item.version == world.version
    assert request_item.data["requested_by"] == "rita" and request_item.data["waited_days"] >= 0
    assert items["incident"].incident == incident and items["incident"].data["status"] == "open"
    assert items["alert"].data["alert"] == alert.pk and items["alert"].model == world.model
    trend = {m["name"]: m for m in items["trend"].data["metrics"]}
    assert set(trend) == {"f1", "drift_share"}  # per-feature drift stays on the check pages
    assert trend["f1"]["at_last_meeting"] == 0.80 and trend["f1"]["now"] == 0.72
    assert trend["f1"]["change"] == pytest.approx(-0.08)
    assert trend["drift_share"]["at_last_meeting"] is None
    world.meeting.refresh_from_db()
    assert world.meeting.status == "prepared" and world.meeting.since is not None
    assert AuditEvent.objects.filter(action="meeting.prepared", object_id=str(world.meeting.pk))


def test_since_the_last_meeting_only_what_is_new_or_still_open(board_world):
    world = board_world
    old = incident_open(
        model=world.model, severity="info", source="manual", title="Old", description=""
    )
    Incident.objects.filter(pk=old.pk).update(status="closed")
    run_meeting(world, "board", "board2")
    meetings.meeting_close(actor=world.users["board"], meeting_id=world.meeting.pk)
    following = Meeting.objects.exclude(pk=world.meeting.pk).get()

    following = meetings.meeting_prepare(actor=world.users["board"], meeting_id=following.pk)

    # The closed incident was on the first agenda; the second no longer shows it.
    assert world.meeting.items.filter(incident=old).exists()
    assert not following.items.filter(incident=old).exists()
    assert following.since == world.meeting.started_at


def test_preparing_again_refreshes_generated_items_and_keeps_members_items(board_world):
    world = board_world
    meetings.meeting_prepare(actor=world.users["board"], meeting_id=world.meeting.pk)
    mine = meetings.agenda_item_add(
        actor=world.users["rita"],
        meeting_id=world.meeting.pk,
        title="Retraining budget",
        model=world.model,
    )
    incident_open(
        model=world.model, severity="critical", source="manual", title="Outage", description=""
    )

    meetings.meeting_prepare(actor=world.users["board"], meeting_id=world.meeting.pk)

    assert sources(world.meeting) == ["promotion_request", "incident", "member"]
    mine.refresh_from_db()
    assert mine.position == 3 and mine.added_by == world.users["rita"]


def test_the_agenda_is_frozen_once_the_meeting_starts(board_world):
    world = board_world
    meeting = run_meeting(world, "board", "board2")
    item = meeting.items.get()
    before = list(meeting.items.values_list("id", "title", "summary", "data"))

    with pytest.raises(Conflict, match="frozen"):
        meetings.agenda_item_add(actor=world.users["rita"], meeting_id=meeting.pk, title="Late")
    with pytest.raises(Conflict, match="frozen"):
        meetings.meeting_prepare(actor=world.users["board"], meeting_id=meeting.pk)
    with pytest.raises(Conflict, match="frozen"):
        item.title = "Rewritten"
        item.save()
    with pytest.raises(Conflict, match="frozen"):
        item.delete()

    assert list(meeting.items.values_list("id", "title", "summary", "data")) == before
    meetings.minutes_record(
        actor=world.users["compliance"], meeting_id=meeting.pk, item_id=item.pk, text="Discussed."
    )
    assert meeting.items.get().minutes == "Discussed."


def test_members_add_and_remove_their_own_items_and_outsiders_may_not(board_world):
    world = board_world
    with pytest.raises(NotAllowed):
        meetings.agenda_item_add(
            actor=world.users["validator"], meeting_id=world.meeting.pk, title="Not my board"
        )
    item = meetings.agenda_item_add(
        actor=world.users["rita"], meeting_id=world.meeting.pk, title="Fairness review"
    )
    with pytest.raises(NotAllowed):
        meetings.agenda_item_remove(actor=world.users["validator"], item_id=item.pk)
    meetings.agenda_item_remove(actor=world.users["rita"], item_id=item.pk)
    assert not AgendaItem.objects.filter(pk=item.pk).exists()
    assert AuditEvent.objects.filter(action="agendaitem.removed").exists()


def test_only_meeting_runners_prepare_start_and_close(board_world):
    world = board_world
    for actor in (world.users["ds"], world.users["validator"]):
        with pytest.raises(NotAllowed):
            meetings.meeting_prepare(actor=actor, meeting_id=world.meeting.pk)
    with pytest.raises(Conflict, match="only a prepared meeting starts"):
        meetings.meeting_start(actor=world.users["board"], meeting_id=world.meeting.pk)


def test_closing_schedules_the_next_meeting_one_cadence_later(board_world):
    world = board_world
    run_meeting(world, "board", "board2")
    meetings.meeting_close(actor=world.users["board"], meeting_id=world.meeting.pk)

    following = Meeting.objects.exclude(pk=world.meeting.pk).get()
    assert following.status == "scheduled"
    assert following.scheduled_for == meetings.add_months(world.meeting.scheduled_for, 3)
    assert meetings.board_schedule_next(board=world.board) is None  # one is pending


def test_add_months_clamps_to_the_end_of_the_month():
    start = timezone.now().replace(year=2027, month=11, day=30)
    assert meetings.add_months(start, 3).date().isoformat() == "2028-02-29"
    assert meetings.add_months(start, -11).date().isoformat() == "2026-12-30"


def test_every_agenda_source_is_a_plain_function_of_the_context():
    assert [source.__name__ for source in AGENDA_SOURCES] == [
        "pending_requests",
        "incidents",
        "open_alerts",
        "metric_trends",
        "flags",
        "revalidations",
        "open_findings",
        "impact_reviews",
        "open_action_items",
    ]
