"""PostgreSQL refuses changes to the agenda of a started meeting, whoever writes: the last
guard behind the services and AgendaItem.save() (reviews/migrations/0009). Only an item's
minutes change, while the meeting runs."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from reviews.meetings import services as meetings
from reviews.models import AgendaItem, Meeting
from tests.conftest import is_postgres, skip_unless
from tests.reviews.meeting_world import run_meeting

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]
FROZEN = "its agenda is frozen"


@pytest.fixture
def started(board_world: Any) -> Meeting:
    skip_unless(is_postgres(), "the frozen-agenda trigger is PostgreSQL's")
    meetings.agenda_item_add(
        actor=board_world.users["board2"], meeting_id=board_world.meeting.pk, title="Fairness"
    )
    return run_meeting(board_world, "board", "board2")


def refused_at_the_database(write: Any) -> bool:
    try:
        with transaction.atomic():
            write()
    except DatabaseError as error:
        assert FROZEN in str(error)
        return True
    return False


def test_a_raw_orm_update_of_a_frozen_item_fails_at_the_database(started):
    item = started.items.get(source="member")
    items = AgendaItem.objects.filter(pk=item.pk)

    assert refused_at_the_database(lambda: items.update(title="Forged"))
    assert refused_at_the_database(lambda: items.update(position=99, minutes="x"))
    assert refused_at_the_database(lambda: items.update(data={"forged": True}))
    item.refresh_from_db()
    assert item.title == "Fairness" and item.minutes == "" and item.data == {}


def test_inserting_deleting_or_moving_items_of_a_started_meeting_fails(started, board_world):
    item = started.items.get(source="member")
    draft = AgendaItem(meeting=started, position=50, source="member", title="Late")
    later = meetings.meeting_schedule(
        actor=board_world.users["board"],
        board=board_world.board,
        scheduled_for=timezone.now() + timedelta(days=90),
    )
    open_item = meetings.agenda_item_add(
        actor=board_world.users["board"], meeting_id=later.pk, title="Next time"
    )

    assert refused_at_the_database(lambda: AgendaItem.objects.bulk_create([draft]))
    assert refused_at_the_database(lambda: AgendaItem.objects.filter(pk=item.pk).delete())
    assert refused_at_the_database(
        lambda: AgendaItem.objects.filter(pk=open_item.pk).update(meeting=started)
    )
    assert refused_at_the_database(
        lambda: AgendaItem.objects.filter(pk=item.pk).update(meeting=later)
    )

    def raw_delete() -> None:
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM reviews_agendaitem WHERE meeting_id = %s", [started.pk])

    assert refused_at_the_database(raw_delete)
    assert started.items.count() == 2 and later.items.get() == open_item


def test_minutes_are_written_while_the_meeting_runs_and_not_after(started, board_world):
    item = started.items.get(source="member")
    items = AgendaItem.objects.filter(pk=item.pk)

    assert not refused_at_the_database(lambda: items.update(minutes="Gap within bounds."))
    meetings.meeting_close(actor=board_world.users["board"], meeting_id=started.pk)

    assert refused_at_the_database(lambda: items.update(minutes="Rewritten afterwards."))
    item.refresh_from_db()
    assert item.minutes == "Gap within bounds."


def test_before_the_start_the_agenda_is_open_at_the_database(board_world):
    skip_unless(is_postgres(), "the frozen-agenda trigger is PostgreSQL's")
    item = meetings.agenda_item_add(
        actor=board_world.users["board2"], meeting_id=board_world.meeting.pk, title="Fairness"
    )
    items = AgendaItem.objects.filter(pk=item.pk)

    assert not refused_at_the_database(lambda: items.update(title="Fairness gap"))
    meetings.meeting_prepare(actor=board_world.users["board"], meeting_id=board_world.meeting.pk)
    assert not refused_at_the_database(lambda: items.update(position=1))
    assert not refused_at_the_database(lambda: items.delete())
