"""The board and meeting pages (Django's test client): who sees what, what each form does,
and what comes back when the input is bad (400, nothing stored), the role is missing (403)
or the service refuses (a flash message, nothing stored)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from reviews.meeting_models import AgendaItem, Attendance, Board, BoardMember, Decision, Meeting
from reviews.meetings import services as meetings
from reviews.models import PromotionRequest
from tests.reviews.meeting_world import run_meeting

pytestmark = pytest.mark.django_db


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def flashes(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


@pytest.fixture
def chair(board_world) -> Client:
    return signed_in(board_world.users["board"])


def meeting_url(world, tail: str = "") -> str:
    return f"/meetings/{world.meeting.pk}/{tail}"


def prepared(world) -> AgendaItem:
    """Prepare the world's meeting; its pending-request item."""
    meetings.meeting_prepare(actor=world.users["board"], meeting_id=world.meeting.pk)
    return world.meeting.items.get(source=AgendaItem.Source.PROMOTION_REQUEST)


def started(world, *present: str) -> AgendaItem:
    """Prepare and start the world's meeting with `present` there; its pending-request item
    (preparing rebuilds the generated items, so it is read after)."""
    run_meeting(world, *present)
    return world.meeting.items.get(source=AgendaItem.Source.PROMOTION_REQUEST)


# Who sees the pages


@pytest.mark.parametrize("who", ["ds", "validator", "board", "compliance", "ci"])
def test_every_reading_role_sees_the_board_and_meeting_pages(board_world, who):
    client = signed_in(board_world.users[who])
    for url in ("/boards/", f"/boards/{board_world.board.pk}/", meeting_url(board_world)):
        assert client.get(url).status_code == 200, url


def test_a_user_without_a_role_gets_403_and_anonymous_the_login_page(board_world):
    otto = signed_in(board_world.users["outsider"])
    for url in ("/boards/", f"/boards/{board_world.board.pk}/", meeting_url(board_world)):
        assert otto.get(url).status_code == 403
        assert Client().get(url)["Location"].startswith("/login/")
    assert otto.post(meeting_url(board_world, "items/"), {"title": "x"}).status_code == 403
    assert not board_world.meeting.items.exists()


def test_the_board_list_shows_members_with_roles_and_the_next_meeting(board_world, chair):
    page = chair.get("/boards/").content.decode()
    assert "Model risk board" in page
    assert 'bella <span class="badge">chair</span>' in page
    assert 'carla <span class="badge">secretary, no vote</span>' in page
    assert f'href="/meetings/{board_world.meeting.pk}/"' in page
    assert 'id="board-create"' in page


def test_the_create_form_is_only_for_whoever_keeps_boards(board_world):
    ds = signed_in(board_world.users["ds"])
    assert 'id="board-create"' not in ds.get("/boards/").content.decode()
    response = ds.post("/boards/new/", {"name": "Shadow", "cadence_months": 3, "quorum": 1})
    assert response.status_code == 403
    assert not Board.objects.filter(name="Shadow").exists()
    page = ds.get(f"/boards/{board_world.board.pk}/").content.decode()
    assert 'id="member-form"' not in page and 'id="schedule-form"' not in page


# Boards


def test_creating_a_board_leads_to_its_page(board_world, chair):
    response = chair.post(
        "/boards/new/", {"name": "Fairness board", "cadence_months": 3, "quorum": 1}, follow=True
    )
    board = Board.objects.get(name="Fairness board")
    assert response.redirect_chain[-1][0] == f"/boards/{board.pk}/"
    assert "Board Fairness board created; seat its members." in flashes(response)
    assert "(quarterly)" in response.content.decode()


def test_a_bad_board_comes_back_with_its_errors_and_nothing_stored(board_world, chair):
    response = chair.post("/boards/new/", {"name": " ", "cadence_months": 30, "quorum": 0})
    assert response.status_code == 400
    page = response.content.decode()
    assert "Nothing was stored." in page and "Months between meetings" in page
    assert Board.objects.count() == 1


def test_a_second_board_of_the_same_name_is_refused_with_a_message(board_world, chair):
    response = chair.post(
        "/boards/new/", {"name": "Model risk board", "cadence_months": 3, "quorum": 2}, follow=True
    )
    assert "A board named 'Model risk board' exists." in flashes(response)
    assert Board.objects.count() == 1


def test_seating_a_member_and_changing_a_seat(board_world, chair):
    url = f"/boards/{board_world.board.pk}/members/"
    response = chair.post(url, {"user": "vera", "role": "member", "voting": "on"}, follow=True)
    assert "vera sits on Model risk board as member." in flashes(response)
    response = chair.post(url, {"user": "bruno", "role": "secretary"}, follow=True)
    assert "bruno sits on Model risk board as secretary, without a vote." in flashes(response)
    seat = BoardMember.objects.get(board=board_world.board, user__username="bruno")
    assert (seat.role, seat.voting) == ("secretary", False)


def test_a_seat_for_someone_without_a_role_is_refused_with_400(board_world, chair):
    url = f"/boards/{board_world.board.pk}/members/"
    response = chair.post(url, {"user": "otto", "role": "member"})
    assert response.status_code == 400
    assert "Give the user a role first." in response.content.decode()
    response = chair.post(url, {"user": "nobody-here", "role": "emperor"})
    assert response.status_code == 400
    assert not BoardMember.objects.filter(user__username__in=["otto", "nobody-here"]).exists()


def test_scheduling_a_meeting_suggests_one_cadence_later(board_world, chair):
    page = chair.get(f"/boards/{board_world.board.pk}/").content.decode()
    suggested = meetings.next_meeting_time(board_world.meeting)
    assert timezone.localtime(suggested).strftime("%Y-%m-%dT%H:%M") in page
    when = (timezone.localtime() + timedelta(days=40)).strftime("%Y-%m-%dT%H:%M")
    response = chair.post(
        f"/boards/{board_world.board.pk}/meetings/",
        {"scheduled_for": when, "title": "Extra session"},
        follow=True,
    )
    meeting = Meeting.objects.get(title="Extra session")
    assert response.redirect_chain[-1][0] == f"/meetings/{meeting.pk}/"


def test_a_meeting_without_a_date_is_not_scheduled(board_world, chair):
    response = chair.post(f"/boards/{board_world.board.pk}/meetings/", {"scheduled_for": "soon"})
    assert response.status_code == 400
    assert board_world.board.meetings.count() == 1


# The meeting's life


def test_prepare_shows_each_item_with_its_source_and_links(board_world, chair):
    response = chair.post(meeting_url(board_world, "prepare/"), follow=True)
    page = response.content.decode()
    request, version = board_world.request, board_world.version
    assert "Pending promotion request" in page
    assert f'href="/requests/{request.pk}/"' in page
    assert f'href="/models/{version.model.name}/versions/{version.version}/"' in page
    assert "Starting freezes the agenda" in page
    board_world.meeting.refresh_from_db()
    assert board_world.meeting.status == Meeting.Status.PREPARED


def test_prepare_needs_whoever_runs_meetings(board_world):
    ds = signed_in(board_world.users["ds"])
    assert 'id="prepare"' not in ds.get(meeting_url(board_world)).content.decode()
    assert ds.post(meeting_url(board_world, "prepare/")).status_code == 403
    board_world.meeting.refresh_from_db()
    assert board_world.meeting.status == Meeting.Status.SCHEDULED


def test_a_member_adds_and_removes_an_item_before_the_start(board_world, chair):
    meetings.board_member_set(
        actor=board_world.users["board"], board=board_world.board, user=board_world.users["ds"]
    )
    dana = signed_in(board_world.users["ds"])
    response = dana.post(meeting_url(board_world, "items/"), {"title": "Explainability"})
    assert response.status_code == 302
    item = board_world.meeting.items.get(title="Explainability")
    assert item.added_by == board_world.users["ds"]
    assert f"items/{item.pk}/remove/" in dana.get(meeting_url(board_world)).content.decode()
    response = dana.post(meeting_url(board_world, f"items/{item.pk}/remove/"), follow=True)
    assert f"Item #{item.pk} removed from the agenda." in flashes(response)
    assert not board_world.meeting.items.exists()


def test_an_item_without_a_title_or_from_a_non_member_is_not_added(board_world):
    vera = signed_in(board_world.users["validator"])
    response = vera.post(meeting_url(board_world, "items/"), {"title": ""})
    assert response.status_code == 400
    response = vera.post(meeting_url(board_world, "items/"), {"title": "Mine"}, follow=True)
    assert "Only members of Model risk board add items to its agenda." in flashes(response)
    assert not board_world.meeting.items.exists()


def test_start_freezes_the_agenda_and_says_so(board_world, chair):
    prepared(board_world)
    member_item = meetings.agenda_item_add(
        actor=board_world.users["board"], meeting_id=board_world.meeting.pk, title="AOB"
    )
    response = chair.post(meeting_url(board_world, "start/"), follow=True)
    assert any("its agenda is frozen" in m for m in flashes(response))
    page = response.content.decode()
    assert "The agenda is frozen." in page and "/remove/" not in page
    response = chair.post(meeting_url(board_world, f"items/{member_item.pk}/remove/"), follow=True)
    assert "The meeting is in progress; its agenda is frozen." in flashes(response)
    response = chair.post(meeting_url(board_world, "items/"), {"title": "Late"}, follow=True)
    assert "The meeting is in progress; its agenda is frozen." in flashes(response)
    assert set(board_world.meeting.items.values_list("title", flat=True)) >= {"AOB"}
    assert not board_world.meeting.items.filter(title="Late").exists()


def test_an_item_of_another_meeting_is_not_found(board_world, chair):
    other = meetings.meeting_schedule(
        actor=board_world.users["board"], board=board_world.board, scheduled_for=timezone.now()
    )
    item = meetings.agenda_item_add(
        actor=board_world.users["board"], meeting_id=other.pk, title="Elsewhere"
    )
    assert chair.post(meeting_url(board_world, f"items/{item.pk}/remove/")).status_code == 404
    assert AgendaItem.objects.filter(pk=item.pk).exists()
    assert chair.get("/meetings/999999/").status_code == 404


def test_attendance_and_the_quorum_against_the_boards_rule(board_world, chair):
    run_meeting(board_world, "board")
    page = chair.get(meeting_url(board_world)).content.decode()
    assert "1 voting member present (bella); the board's quorum is 2" in page
    assert "no decision without quorum." in page
    response = chair.post(
        meeting_url(board_world, "attendance/"), {"user": "bruno", "present": "yes"}, follow=True
    )
    assert "bruno: present." in flashes(response)
    assert "2 voting members present (bella, bruno)" in response.content.decode()
    assert "it can decide." in response.content.decode()


def test_attendance_of_a_non_member_or_without_a_choice_is_refused(board_world, chair):
    run_meeting(board_world)
    before = Attendance.objects.count()
    response = chair.post(
        meeting_url(board_world, "attendance/"), {"user": "vera", "present": "yes"}
    )
    assert response.status_code == 400
    assert "Not a member of this board." in response.content.decode()
    response = chair.post(
        meeting_url(board_world, "attendance/"), {"user": "bella", "present": "?"}
    )
    assert response.status_code == 400
    assert Attendance.objects.count() == before


def test_minutes_per_item_and_general_notes(board_world, chair):
    item = started(board_world, "board", "board2")
    url = meeting_url(board_world, "minutes/")
    response = chair.post(url, {"item": item.pk, "text": "Holdout AUC checked."}, follow=True)
    assert "Minutes saved." in flashes(response)
    item.refresh_from_db()
    assert item.minutes == "Holdout AUC checked."
    chair.post(url, {"text": "Everyone agreed."})
    board_world.meeting.refresh_from_db()
    assert board_world.meeting.notes == "Everyone agreed."
    response = chair.post(url, {"item": 999999, "text": "Lost"})
    assert response.status_code == 400


def test_an_approval_signs_off_as_each_present_voter_and_names_who_could_not(board_world, chair):
    item = started(board_world, "board", "board2", "rita")
    response = chair.post(
        meeting_url(board_world, "decisions/"),
        {"item": item.pk, "kind": "approve", "text": "Approved on the holdout."},
        follow=True,
    )
    (message,) = flashes(response)
    assert message.startswith("Approve recorded. Signed by bella, bruno.")
    refusal = "You requested this promotion; someone else must sign it off."
    assert f"Could not sign: rita: {refusal}" in message
    page = response.content.decode()
    assert f"Could not sign for <strong>rita</strong>: {refusal}" in page
    request = PromotionRequest.objects.get(pk=board_world.request.pk)
    assert request.status == PromotionRequest.Status.APPROVED
    signers = set(request.sign_offs.values_list("signer__username", flat=True))
    assert signers == {"bella", "bruno"}


def test_without_quorum_there_is_no_decision(board_world, chair):
    item = started(board_world, "board")
    response = chair.post(
        meeting_url(board_world, "decisions/"),
        {"item": item.pk, "kind": "approve", "text": "Go."},
        follow=True,
    )
    assert "No quorum: 1 voting member(s) present, 2 needed." in flashes(response)
    assert not Decision.objects.exists()
    assert board_world.request.sign_offs.count() == 0


def test_an_incomplete_decision_comes_back_with_400(board_world, chair):
    prepared(board_world)
    aob = meetings.agenda_item_add(
        actor=board_world.users["board"], meeting_id=board_world.meeting.pk, title="AOB"
    )
    run_meeting(board_world, "board", "board2")
    url = meeting_url(board_world, "decisions/")
    page = chair.get(meeting_url(board_world)).content.decode()
    kinds = page.split(f'id="kind-{aob.pk}"')[1].split("</select>")[0]
    assert 'value="approve"' not in kinds and 'value="defer"' in kinds
    response = chair.post(url, {"item": aob.pk, "kind": "approve", "text": "Go."})
    assert response.status_code == 400
    assert "An approval or rejection names the promotion request." in response.content.decode()
    response = chair.post(url, {"item": aob.pk, "kind": "action_item", "text": "Fix it."})
    assert response.status_code == 400
    assert "An action item has an owner." in response.content.decode()
    assert chair.post(url, {"item": aob.pk, "kind": "veto", "text": "No."}).status_code == 400
    assert not Decision.objects.exists()


def test_a_finding_decision_raises_a_finding_with_its_severity(board_world, chair):
    item = started(board_world, "board", "board2")
    url = meeting_url(board_world, "decisions/")
    page = chair.get(meeting_url(board_world)).content.decode()
    assert f'id="severity-{item.pk}"' in page
    text = {"item": item.pk, "kind": "finding", "text": "Card lacks a fairness section."}
    response = chair.post(url, text)
    assert response.status_code == 400
    assert "A finding has a severity." in response.content.decode()
    assert not Decision.objects.exists()
    due = (timezone.localdate() + timedelta(days=30)).isoformat()
    response = chair.post(
        url, {**text, "severity": "medium", "owner": "dana", "due_date": due}, follow=True
    )
    assert "Finding recorded." in flashes(response)
    decision = Decision.objects.get()
    assert decision.kind == Decision.Kind.FINDING
    assert decision.finding.severity == "medium"


def test_an_action_item_is_marked_done_from_the_meeting_page(board_world, chair):
    item = started(board_world, "board", "board2")
    due = (timezone.localdate() + timedelta(days=14)).isoformat()
    chair.post(
        meeting_url(board_world, "decisions/"),
        {
            "item": item.pk,
            "kind": "action_item",
            "text": "Add a fairness section.",
            "owner": "dana",
            "due_date": due,
        },
    )
    action = Decision.objects.get(kind=Decision.Kind.ACTION_ITEM)
    done_url = meeting_url(board_world, f"action-items/{action.pk}/done/")
    vera = signed_in(board_world.users["validator"])
    assert done_url not in vera.get(meeting_url(board_world)).content.decode()
    response = vera.post(done_url, {"note": "not mine"}, follow=True)
    assert "Only the owner, or whoever runs meetings, completes an action item." in flashes(
        response
    )
    dana = signed_in(board_world.users["ds"])
    assert done_url in dana.get(meeting_url(board_world)).content.decode()
    response = dana.post(done_url, {"note": "Section added."}, follow=True)
    assert f"Action item #{action.pk} is done." in flashes(response)
    action.refresh_from_db()
    assert (action.status, action.done_note) == (Decision.Status.DONE, "Section added.")
    response = dana.post(done_url, {}, follow=True)
    assert f"Action item #{action.pk} is done already." in flashes(response)


def test_close_ends_the_record_and_schedules_the_next_meeting(board_world, chair):
    run_meeting(board_world, "board", "board2")
    response = chair.post(meeting_url(board_world, "close/"), follow=True)
    board_world.meeting.refresh_from_db()
    assert board_world.meeting.status == Meeting.Status.CLOSED
    following = board_world.board.meetings.get(status=Meeting.Status.SCHEDULED)
    assert f"The meeting is closed. Next: {following.title}." in flashes(response)
    response = chair.post(meeting_url(board_world, "close/"), follow=True)
    assert "The meeting is closed; only a running meeting closes." in flashes(response)


def test_the_minutes_download_through_the_api_with_the_browser_session(board_world, chair):
    prepared(board_world)
    page = chair.get(meeting_url(board_world)).content.decode()
    md_url = f"/api/v1/meetings/{board_world.meeting.pk}/minutes.md/"
    pdf_url = f"/api/v1/meetings/{board_world.meeting.pk}/minutes.pdf/"
    assert md_url in page and pdf_url in page
    markdown = chair.get(md_url)
    assert markdown.status_code == 200
    assert markdown["Content-Type"].startswith("text/markdown")
    assert f"Minutes: {board_world.meeting.title}" in markdown.content.decode()
    pdf = chair.get(pdf_url)
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    assert signed_in(board_world.users["outsider"]).get(md_url).status_code == 403
