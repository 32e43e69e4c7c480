"""DELETE /api/v1/meetings/{id}/items/{item_id}/: a member takes their own item off the
agenda before the start; frozen agendas answer 409, others' items 403, other meetings' 404."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from governance.models import AuditEvent
from reviews.meetings import services as meetings
from reviews.models import AgendaItem
from tests.conftest import assert_json_error

pytestmark = pytest.mark.django_db


def item_url(meeting_id: int, item_id: int) -> str:
    return f"/api/v1/meetings/{meeting_id}/items/{item_id}/"


@pytest.fixture
def own_item(board_world) -> AgendaItem:
    return meetings.agenda_item_add(
        actor=board_world.users["board2"], meeting_id=board_world.meeting.pk, title="Fairness"
    )


def test_whoever_added_an_item_removes_it_before_the_start(api, board_world, own_item):
    response = api("board2").delete(item_url(board_world.meeting.pk, own_item.pk))

    assert response.status_code == 204, response.content
    assert not AgendaItem.objects.filter(pk=own_item.pk).exists()
    removed = AuditEvent.objects.get(action="agendaitem.removed")
    assert removed.actor_username == "bruno" and removed.data["title"] == "Fairness"


def test_whoever_runs_meetings_removes_a_members_item(api, board_world, own_item):
    response = api("compliance").delete(item_url(board_world.meeting.pk, own_item.pk))

    assert response.status_code == 204, response.content
    assert not AgendaItem.objects.filter(pk=own_item.pk).exists()


def test_others_may_not_remove_it(api, board_world, own_item):
    url = item_url(board_world.meeting.pk, own_item.pk)

    assert_json_error(api("outsider").delete(url), 403)  # no capability at all
    assert_json_error(api("ds").delete(url), 403)  # reads, but neither added it nor runs meetings
    assert_json_error(api(None).delete(url), 401)
    assert AgendaItem.objects.filter(pk=own_item.pk).exists()


def test_a_frozen_agenda_answers_409(api, board_world, own_item):
    world = board_world
    meetings.meeting_prepare(actor=world.users["board"], meeting_id=world.meeting.pk)
    meetings.meeting_start(actor=world.users["board"], meeting_id=world.meeting.pk)

    refused = api("board2").delete(item_url(world.meeting.pk, own_item.pk))

    assert "frozen" in assert_json_error(refused, 409)["detail"]
    assert AgendaItem.objects.filter(pk=own_item.pk).exists()


def test_a_generated_item_is_not_removed_but_prepared_again(api, board_world):
    world = board_world
    meetings.meeting_prepare(actor=world.users["board"], meeting_id=world.meeting.pk)
    generated = world.meeting.items.get(source="promotion_request")

    refused = api("board").delete(item_url(world.meeting.pk, generated.pk))

    assert "prepare the agenda again" in assert_json_error(refused, 409)["detail"]
    assert AgendaItem.objects.filter(pk=generated.pk).exists()


def test_an_item_of_another_meeting_or_no_meeting_is_not_found(api, board_world, own_item):
    world = board_world
    other = meetings.meeting_schedule(
        actor=world.users["board"],
        board=world.board,
        scheduled_for=timezone.now() + timedelta(days=90),
    )

    assert_json_error(api("board2").delete(item_url(other.pk, own_item.pk)), 404)
    assert_json_error(api("board2").delete(item_url(other.pk + 1000, own_item.pk)), 404)
    assert_json_error(api("board2").delete(item_url(world.meeting.pk, own_item.pk + 1000)), 404)
    assert AgendaItem.objects.filter(pk=own_item.pk).exists()
