"""Meetings in the admin: compliance officers read boards and meetings (agenda, attendance,
minutes, decisions) with filters, search and history; nothing is added, changed or deleted."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from reviews.meetings import services as meetings
from reviews.meetings.decisions import decision_record
from reviews.models import Decision, Meeting
from tests.reviews.meeting_world import run_meeting

pytestmark = pytest.mark.django_db


def client_for(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def decided(board_world) -> Decision:
    world = board_world
    meeting = run_meeting(world, "board", "board2")
    item = meeting.items.get(source="promotion_request")
    meetings.minutes_record(
        actor=world.users["board"], meeting_id=meeting.pk, item_id=item.pk, text="Gap is 0.02."
    )
    return decision_record(
        actor=world.users["board"],
        meeting_id=meeting.pk,
        kind="finding",
        text="Recall too low for new customers.",
        item_id=item.pk,
        severity="high",
    )


def test_a_meeting_shows_its_agenda_attendance_minutes_and_decisions(users, decided):
    meeting = decided.meeting
    url = reverse("admin:reviews_meeting_change", args=[meeting.pk])

    page = client_for(users["compliance"]).get(url)

    assert page.status_code == 200
    html = page.content.decode()
    for shown in (
        "churn-classifier v1 to production",  # the agenda item
        "Gap is 0.02.",  # its minutes
        "bruno",  # attendance
        "Recall too low for new customers.",  # the decision
        f"/api/v1/meetings/{meeting.pk}/minutes.md/",
        f"/api/v1/meetings/{meeting.pk}/minutes.pdf/",
    ):
        assert shown in html, shown
    assert 'name="_save"' not in html


def test_meetings_filter_search_and_go_by_date(users, decided):
    client = client_for(users["compliance"])
    changelist = reverse("admin:reviews_meeting_changelist")
    meeting = decided.meeting
    scheduled = meeting.scheduled_for

    running = client.get(changelist, {"status": "in_progress"}).content.decode()
    closed = client.get(changelist, {"status": "closed"}).content.decode()
    found = client.get(changelist, {"q": "Model risk board"}).content.decode()
    by_day = client.get(
        changelist,
        {
            "scheduled_for__year": scheduled.year,
            "scheduled_for__month": scheduled.month,
            "scheduled_for__day": scheduled.day,
        },
    )

    assert meeting.title in running and meeting.title not in closed
    assert meeting.title in found
    assert by_day.status_code == 200 and meeting.title in by_day.content.decode()


def test_decisions_filter_by_kind_and_finding_severity_and_keep_their_history(users, decided):
    client = client_for(users["compliance"])
    changelist = reverse("admin:reviews_decision_changelist")

    findings = client.get(changelist, {"kind": "finding", "finding__severity": "high"})
    approvals = client.get(changelist, {"kind": "approve"})
    history = client.get(reverse("admin:reviews_decision_history", args=[decided.pk]))

    assert "Recall too low" in findings.content.decode()
    assert "Recall too low" not in approvals.content.decode()
    assert history.status_code == 200 and "finding recorded by bella" in history.content.decode()


def test_nothing_is_changed_or_deleted_here(users, decided, django_user_model):
    root = django_user_model.objects.create_superuser("root", password="pw-for-tests-1")
    meeting = decided.meeting
    for who in (users["compliance"], root):
        client = client_for(who)
        change = client.post(
            reverse("admin:reviews_meeting_change", args=[meeting.pk]), {"status": "closed"}
        )
        delete = client.post(
            reverse("admin:reviews_decision_delete", args=[decided.pk]), {"post": "yes"}
        )
        add = client.get(reverse("admin:reviews_board_add"))
        assert (change.status_code, delete.status_code, add.status_code) == (403, 403, 403)
    assert Meeting.objects.get(pk=meeting.pk).status == "in_progress"
    assert Decision.objects.filter(pk=decided.pk).exists()


def test_a_board_member_is_sent_to_the_admin_login(users, decided):
    response = client_for(users["board"]).get(reverse("admin:reviews_meeting_changelist"))

    assert response.status_code == 302 and "/admin/login/" in response["Location"]
