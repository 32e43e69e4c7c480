"""Reads of boards and meetings shared by the API and the pages."""

from __future__ import annotations

from django.db.models import Prefetch, QuerySet

from governance.errors import NotFound
from reviews.models import AgendaItem, Attendance, Board, BoardMember, Decision, Meeting


def board_list() -> QuerySet[Board]:
    return Board.objects.prefetch_related(
        Prefetch("members", queryset=BoardMember.objects.select_related("user"))
    )


def board_get(*, board_id: int) -> Board:
    try:
        return board_list().get(pk=board_id)
    except (Board.DoesNotExist, ValueError, TypeError):
        raise NotFound(f"No board #{board_id}.") from None


def meeting_list() -> QuerySet[Meeting]:
    return Meeting.objects.select_related("board")


def meeting_get(*, meeting_id: int) -> Meeting:
    """One meeting with its agenda, attendance and decisions, ready to show or export."""
    items = AgendaItem.objects.select_related("model", "version__model", "added_by")
    decisions = Decision.objects.select_related(
        "model", "version__model", "owner", "recorded_by", "finding"
    )
    attendance = Attendance.objects.select_related("member__user")
    try:
        return (
            meeting_list()
            .prefetch_related(
                Prefetch("items", queryset=items.order_by("position", "id")),
                Prefetch("attendance", queryset=attendance.order_by("member__user__username")),
                Prefetch("decisions", queryset=decisions),
            )
            .get(pk=meeting_id)
        )
    except (Meeting.DoesNotExist, ValueError, TypeError):
        raise NotFound(f"No meeting #{meeting_id}.") from None
