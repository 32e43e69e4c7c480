"""Board decisions: quorum first, sign-offs through the usual service, action items carried."""

from __future__ import annotations

from datetime import date

import pytest

from governance.errors import Conflict, InvalidInput, NotAllowed
from governance.models import AuditEvent
from reviews.meetings import services as meetings
from reviews.meetings.decisions import action_item_complete, decision_record
from reviews.models import Decision, Meeting, SignOff
from tests.reviews.meeting_world import run_meeting

pytestmark = pytest.mark.django_db


def request_item(meeting: Meeting):
    return meeting.items.get(source="promotion_request")


def test_approving_signs_off_for_each_present_voter_and_refuses_the_requester(board_world):
    world = board_world
    meeting = run_meeting(world, "board", "board2", "rita", "compliance")

    decision = decision_record(
        actor=world.users["compliance"],
        meeting_id=meeting.pk,
        kind="approve",
        text="Quality holds; approved.",
        item_id=request_item(meeting).pk,
    )

    assert decision.request == world.request and decision.version == world.version
    assert decision.model == world.model
    assert decision.present_voters == ["bella", "bruno", "rita"]  # carla has no vote
    assert [s["username"] for s in decision.signed] == ["bella", "bruno"]
    assert decision.refused == [
        {
            "username": "rita",
            "status": 403,
            "reason": "You requested this promotion; someone else must sign it off.",
        }
    ]
    assert decision.request_status == "approved"
    world.request.refresh_from_db()
    assert world.request.status == "approved"
    sign_offs = SignOff.objects.filter(request=world.request).order_by("signer__username")
    assert [s.signer.username for s in sign_offs] == ["bella", "bruno"]
    for sign_off in sign_offs:
        assert sign_off.card_hash == world.version.card_hash
        assert (
            f"meeting #{meeting.pk}" in sign_off.comment and "recorded by carla" in sign_off.comment
        )
    assert AuditEvent.objects.filter(
        action="promotion_request.signed.approve", data__signer="bella"
    ).exists()
    assert (
        AuditEvent.objects.get(action="decision.recorded").data["refused"][0]["username"] == "rita"
    )


def test_a_rejection_is_one_veto_and_later_voters_are_told_why_they_could_not_sign(board_world):
    world = board_world
    meeting = run_meeting(world, "board", "board2")

    decision = decision_record(
        actor=world.users["board"],
        meeting_id=meeting.pk,
        kind="reject",
        text="Fairness gap too wide.",
        request=world.request,
    )

    assert [s["username"] for s in decision.signed] == ["bella"]
    assert decision.refused[0]["username"] == "bruno" and decision.refused[0]["status"] == 409
    assert "rejected" in decision.refused[0]["reason"]
    world.request.refresh_from_db()
    assert world.request.status == "rejected"


def test_without_quorum_there_is_no_decision(board_world):
    world = board_world
    meeting = run_meeting(world, "board", "compliance")  # one voter present, two needed

    with pytest.raises(Conflict, match="No quorum: 1 voting member"):
        decision_record(
            actor=world.users["board"],
            meeting_id=meeting.pk,
            kind="approve",
            text="Go.",
            request=world.request,
        )
    assert not Decision.objects.exists() and not SignOff.objects.exists()


def test_a_decision_needs_a_running_meeting_and_the_capability(board_world):
    world = board_world
    with pytest.raises(Conflict, match="decisions are taken while it runs"):
        decision_record(
            actor=world.users["board"], meeting_id=world.meeting.pk, kind="defer", text="Later."
        )
    meeting = run_meeting(world, "board", "board2")
    with pytest.raises(NotAllowed):
        decision_record(actor=world.users["ds"], meeting_id=meeting.pk, kind="defer", text="Later.")
    with pytest.raises(InvalidInput) as error:
        decision_record(actor=world.users["board"], meeting_id=meeting.pk, kind="approve", text=" ")
    assert set(error.value.extra) == {"text", "request"}
    with pytest.raises(InvalidInput) as error:
        decision_record(
            actor=world.users["board"],
            meeting_id=meeting.pk,
            kind="action_item",
            text="Rerun the fairness check.",
        )
    assert set(error.value.extra) == {"owner", "due_date"}
    assert not Decision.objects.exists()


def test_a_deferral_changes_nothing_on_the_request(board_world):
    world = board_world
    meeting = run_meeting(world, "board", "board2")
    decision = decision_record(
        actor=world.users["board"],
        meeting_id=meeting.pk,
        kind="defer",
        text="Wait for the next quality check.",
        item_id=request_item(meeting).pk,
    )
    assert decision.request == world.request and decision.signed == []
    world.request.refresh_from_db()
    assert world.request.status == "pending"


def test_action_items_are_carried_to_the_next_agenda_until_done(board_world):
    world = board_world
    meeting = run_meeting(world, "board", "board2")
    item = decision_record(
        actor=world.users["board"],
        meeting_id=meeting.pk,
        kind="action_item",
        text="Rerun the fairness check on the new data.",
        owner=world.users["ds"],
        due_date=date(2027, 1, 15),
        model=world.model,
    )
    assert item.status == "open"
    meetings.meeting_close(actor=world.users["board"], meeting_id=meeting.pk)
    following = Meeting.objects.exclude(pk=meeting.pk).get()

    meetings.meeting_prepare(actor=world.users["board"], meeting_id=following.pk)
    carried = following.items.get(source="action_item")
    assert carried.action_item == item and carried.data["owner"] == "dana"
    assert carried.data["due_date"] == "2027-01-15"

    with pytest.raises(NotAllowed):
        action_item_complete(actor=world.users["ds2"], decision_id=item.pk)
    action_item_complete(actor=world.users["ds"], decision_id=item.pk, note="Done, no gap.")
    with pytest.raises(Conflict):
        action_item_complete(actor=world.users["ds"], decision_id=item.pk)
    meetings.meeting_prepare(actor=world.users["board"], meeting_id=following.pk)
    assert not following.items.filter(source="action_item").exists()
    assert item.history.count() == 2


def test_attendance_is_for_members_of_the_board(board_world):
    world = board_world
    run_meeting(world, "board")
    with pytest.raises(InvalidInput, match="does not sit on"):
        meetings.attendance_record(
            actor=world.users["board"],
            meeting_id=world.meeting.pk,
            user=world.users["validator"],
            present=True,
        )
