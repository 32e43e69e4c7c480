"""A board decision of kind finding raises a real Finding through the findings service: its
severity is required, its rules hold, and a refusal stores neither decision nor finding."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.utils import timezone
from pypdf import PdfReader

from governance.errors import InvalidInput
from governance.models import AuditEvent
from reviews.meetings import services as meetings
from reviews.meetings.decisions import decision_record
from reviews.meetings.minutes import minutes_markdown, minutes_pdf
from reviews.models import Decision, Finding, Meeting
from tests.conftest import assert_json_error
from tests.reviews.meeting_world import run_meeting

pytestmark = pytest.mark.django_db


def raise_finding(world, meeting: Meeting, **overrides) -> Decision:
    arguments = {
        "actor": world.users["compliance"],
        "meeting_id": meeting.pk,
        "kind": "finding",
        "text": "Recall for new customers is too low.\nBruno showed the segment figures.",
        "item_id": meeting.items.get(source="promotion_request").pk,
        "severity": "high",
        **overrides,
    }
    return decision_record(**arguments)


def nothing_stored() -> bool:
    return not Decision.objects.exists() and not Finding.objects.exists()


def test_a_finding_decision_raises_a_finding_on_what_the_item_concerns(board_world):
    world = board_world
    meeting = run_meeting(world, "board", "board2")
    due = timezone.localdate() + timedelta(days=30)

    decision = raise_finding(world, meeting, owner=world.users["ds"], due_date=due)

    finding = decision.finding
    assert Finding.objects.get() == finding
    assert finding.model == world.model and finding.version == world.version
    assert finding.severity == "high" and finding.status == "open"
    assert finding.title == "Recall for new customers is too low."
    assert f"meeting #{meeting.pk}" in finding.description
    assert finding.raised_by == world.users["compliance"]
    assert finding.owner == world.users["ds"] and finding.due_date == due
    assert finding.timeline.get().kind == "raised"
    assert decision.owner is None and decision.status == ""  # the finding holds them
    recorded = AuditEvent.objects.get(action="decision.recorded")
    assert recorded.data["finding"] == finding.pk and recorded.data["severity"] == "high"
    assert AuditEvent.objects.filter(action="finding.raised", object_id=str(finding.pk)).exists()


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"severity": None}, "severity"),
        ({"severity": "grave"}, "severity"),
        ({"item_id": None}, "model"),  # nothing names a model
    ],
)
def test_a_finding_decision_without_severity_or_model_stores_nothing(board_world, overrides, field):
    world = board_world
    meeting = run_meeting(world, "board", "board2")

    with pytest.raises(InvalidInput) as refused:
        raise_finding(world, meeting, **overrides)

    assert field in refused.value.extra
    assert nothing_stored()


def test_the_finding_services_rules_refuse_the_whole_decision(board_world):
    world = board_world
    meeting = run_meeting(world, "board", "board2")

    with pytest.raises(InvalidInput) as refused:  # CI does not work on findings
        raise_finding(world, meeting, owner=world.users["ci"])
    assert "owner" in refused.value.extra
    with pytest.raises(InvalidInput) as refused:
        raise_finding(world, meeting, due_date=timezone.localdate() - timedelta(days=1))
    assert "due_date" in refused.value.extra
    assert nothing_stored()


def test_only_a_finding_has_a_severity(board_world):
    world = board_world
    meeting = run_meeting(world, "board", "board2")

    with pytest.raises(InvalidInput) as refused:
        raise_finding(world, meeting, kind="defer", severity="low")

    assert "severity" in refused.value.extra and nothing_stored()


def test_the_finding_is_open_on_the_next_meetings_agenda(board_world):
    world = board_world
    meeting = run_meeting(world, "board", "board2")
    finding = raise_finding(world, meeting, severity="critical").finding
    meetings.meeting_close(actor=world.users["board"], meeting_id=meeting.pk)
    following = Meeting.objects.get(board=world.board, status="scheduled")

    meetings.meeting_prepare(actor=world.users["board"], meeting_id=following.pk)

    (item,) = following.items.filter(source="finding")
    assert item.data["finding"] == finding.pk and item.data["severity"] == "critical"
    assert item.model == world.model and item.version == world.version


def test_the_minutes_show_the_finding_with_its_severity_and_link(board_world):
    world = board_world
    meeting = run_meeting(world, "board", "board2")
    finding = raise_finding(world, meeting, owner=world.users["ds"]).finding
    expected = [
        f"Finding #{finding.pk} raised, severity high: Recall for new customers is too low.",
        "Owner dana, due no date.",
        f"Finding #{finding.pk}: http://127.0.0.1:8000/findings/{finding.pk}/",
    ]

    markdown = minutes_markdown(meeting)
    pdf_text = " ".join(
        " ".join(page.extract_text().split())
        for page in PdfReader(io.BytesIO(minutes_pdf(meeting))).pages
    )

    for line in expected:
        assert line in markdown
        assert line in pdf_text


def test_the_api_takes_the_severity_and_answers_with_the_finding(api, board_world):
    world = board_world
    meeting = run_meeting(world, "board", "board2")
    url = f"/api/v1/meetings/{meeting.pk}/decisions/"
    item = meeting.items.get(source="promotion_request").pk
    body = {"kind": "finding", "text": "Recall too low.", "item": item}

    assert_json_error(api("board").post(url, body, format="json"), 400)
    bad = api("board").post(url, {**body, "severity": "grave"}, format="json")
    assert "severity" in assert_json_error(bad, 400)
    unknown_owner = {**body, "severity": "high", "owner": "nobody-here"}
    assert "owner" in assert_json_error(api("board").post(url, unknown_owner, format="json"), 400)
    assert nothing_stored()

    created = api("board").post(url, {**body, "severity": "medium", "owner": "dana"}, format="json")

    assert created.status_code == 201, created.content
    decision = created.json()
    finding = Finding.objects.get()
    assert decision["finding"] == finding.pk and decision["severity"] == "medium"
    assert finding.owner.username == "dana" and finding.raised_by.username == "bella"
    shown = api("ds").get(f"/api/v1/findings/{finding.pk}/")
    assert shown.status_code == 200 and shown.json()["status"] == "open"
    detail = api("ds").get(f"/api/v1/meetings/{meeting.pk}/").json()
    assert detail["decisions"][0]["severity"] == "medium"
