"""A board with a requester among its members, a pending request, and a meeting: the
state the meeting tests start from (imported as fixtures by their modules)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from governance.audit_context import Origin, acting_as
from reviews.meetings import services as meetings
from reviews.models import Board, Meeting, PromotionRequest
from reviews.services import promotion_request_create
from tests.conftest import make_user


@dataclass
class BoardWorld:
    users: dict[str, Any]
    board: Board
    meeting: Meeting
    request: PromotionRequest
    model: Any
    version: Any


@pytest.fixture
def board_world(users, make_model, make_version) -> BoardWorld:
    """Board "Model risk board" (quorum 2): bella chairs, bruno and rita (a data scientist
    who requested the promotion) vote, carla (compliance) keeps the minutes without a vote."""
    rita = make_user("rita", "data_scientist", "board")
    users = {**users, "rita": rita}
    model = make_model(risk_tier="low")
    version = make_version(model)
    with acting_as(origin=Origin.SYSTEM):
        request = promotion_request_create(actor=rita, version=version, justification="AUC up.")
        board = meetings.board_create(actor=users["compliance"], name="Model risk board")
        for who, role, voting in (
            ("board", "chair", True),
            ("board2", "member", True),
            ("rita", "member", True),
            ("compliance", "secretary", False),
        ):
            meetings.board_member_set(
                actor=users["compliance"], board=board, user=users[who], role=role, voting=voting
            )
        meeting = meetings.meeting_schedule(
            actor=users["board"], board=board, scheduled_for=timezone.now() + timedelta(days=1)
        )
    return BoardWorld(users, board, meeting, request, model, version)


def run_meeting(world: BoardWorld, *present: str) -> Meeting:
    """Prepare and start the world's meeting, with `present` (user keys) present."""
    chair = world.users["board"]
    meetings.meeting_prepare(actor=chair, meeting_id=world.meeting.pk)
    meetings.meeting_start(actor=chair, meeting_id=world.meeting.pk)
    for who in ("board", "board2", "rita", "compliance"):
        meetings.attendance_record(
            actor=chair, meeting_id=world.meeting.pk, user=world.users[who], present=who in present
        )
    world.meeting.refresh_from_db()
    return world.meeting


def meeting_rows(users: dict[str, Any], *, model: Any) -> dict[str, Any]:
    """One row of every meeting model, through the services: a board, a seat, a started
    meeting with an agenda item, attendance and an action item. Keys as the API's paths
    and path parameters."""
    from reviews.meetings.decisions import decision_record

    chair = users["board"]
    with acting_as(origin=Origin.SYSTEM, user=chair):
        board = meetings.board_create(actor=chair, name="Walk board", quorum=1)
        meetings.board_member_set(actor=chair, board=board, user=chair, role="chair")
        meeting = meetings.meeting_schedule(actor=chair, board=board, scheduled_for=timezone.now())
        meetings.meeting_prepare(actor=chair, meeting_id=meeting.pk)
        item = meetings.agenda_item_add(
            actor=chair, meeting_id=meeting.pk, title="Walk", model=model
        )
        meetings.meeting_start(actor=chair, meeting_id=meeting.pk)
        meetings.attendance_record(actor=chair, meeting_id=meeting.pk, user=chair, present=True)
        action = decision_record(
            actor=chair,
            meeting_id=meeting.pk,
            kind="action_item",
            text="Walk every route.",
            owner=users["ds"],
            due_date=timezone.now().date(),
        )
    return {
        "boards": board.pk,
        "meetings": meeting.pk,
        "action-items": action.pk,
        "item_id": item.pk,  # meetings/<pk>/items/<item_id>/: frozen, so DELETE is a 409
    }
