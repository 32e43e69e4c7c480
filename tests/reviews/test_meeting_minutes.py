"""Minutes as Markdown and PDF: attendance, the agenda, minutes and decisions with links."""

from __future__ import annotations

import io

import pytest
from pypdf import PdfReader

from reviews.meetings import services as meetings
from reviews.meetings.decisions import decision_record
from reviews.meetings.minutes import minutes_markdown, minutes_pdf
from tests.reviews.meeting_world import run_meeting

pytestmark = pytest.mark.django_db


@pytest.fixture
def decided(board_world):
    world = board_world
    meeting = run_meeting(world, "board", "board2", "rita")
    item = meeting.items.get(source="promotion_request")
    meetings.minutes_record(
        actor=world.users["compliance"],
        meeting_id=meeting.pk,
        item_id=item.pk,
        text="Bruno asked about the fairness gap: 0.02, within bounds.",
    )
    decision_record(
        actor=world.users["compliance"],
        meeting_id=meeting.pk,
        kind="approve",
        text="Approved for production.",
        item_id=item.pk,
    )
    meetings.meeting_close(actor=world.users["compliance"], meeting_id=meeting.pk)
    meeting.refresh_from_db()
    return world, meeting


def expected_lines(world) -> list[str]:
    request_id = world.request.pk
    return [
        f"Minutes: {world.meeting.title}",
        "bella (chair, voting): present",
        "carla (secretary, non-voting): absent",
        f"Promotion request #{request_id}: churn-classifier v1 to production",
        "Bruno asked about the fairness gap: 0.02, within bounds.",
        "Approve (#",
        "Signed approve: bella",
        "Signed approve: bruno",
        "Could not sign: rita: You requested this promotion; someone else must sign it off.",
        "Request status afterwards: approved.",
        f"http://127.0.0.1:8000/requests/{request_id}/",
        "http://127.0.0.1:8000/models/churn-classifier/versions/1/",
    ]


def test_the_markdown_minutes_hold_attendance_items_decisions_and_links(decided):
    world, meeting = decided
    text = minutes_markdown(meeting)
    assert text.startswith(f"# Minutes: {meeting.title}\n")
    assert "## Attendance" in text and "## Agenda" in text
    for line in expected_lines(world):
        assert line in text, line


def test_the_pdf_minutes_read_back_with_the_same_content(decided):
    world, meeting = decided
    pdf = minutes_pdf(meeting)
    assert pdf.startswith(b"%PDF")
    reader = PdfReader(io.BytesIO(pdf))
    text = " ".join(" ".join(page.extract_text().split()) for page in reader.pages)
    for line in expected_lines(world):
        assert " ".join(line.split()) in text, line
    assert reader.metadata.title == f"Minutes: {meeting.title}"


def test_characters_outside_latin1_do_not_break_the_pdf(board_world):
    world = board_world
    meetings.agenda_item_add(
        actor=world.users["rita"], meeting_id=world.meeting.pk, title="Drift → retrain ✓"
    )
    text = " ".join(
        p.extract_text() for p in PdfReader(io.BytesIO(minutes_pdf(world.meeting))).pages
    )
    assert "Drift ? retrain ?" in text
