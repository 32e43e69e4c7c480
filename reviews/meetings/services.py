"""Boards and the life of a meeting: schedule, prepare the agenda, start (freezing it),
attendance, minutes, close (scheduling the next one).

Who may do what: keeping boards and running meetings needs MANAGE_MEETINGS (board members
and compliance officers); any active member of the meeting's board may add agenda items of
their own and remove them before the start. Decisions are in decisions.py.
"""

from __future__ import annotations

import calendar
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from governance.errors import Conflict, InvalidInput, NotAllowed, NotFound
from governance.history import set_change_reason
from governance.roles import Capability, user_can
from governance.services import audit_record, require
from models_registry.models import ModelVersion, RegisteredModel
from monitoring.models import Incident
from reviews.meeting_models import AgendaItem, Attendance, Board, BoardMember, Meeting
from reviews.meetings.agenda_sources import AGENDA_SOURCES, AgendaContext
from reviews.models import PromotionRequest

MANAGE = "run review-board meetings"


def add_months(moment: datetime, months: int) -> datetime:
    """`moment` plus whole months, clamped to the month's last day (31 Jan + 1 = 28/29 Feb)."""
    index = moment.month - 1 + months
    year, month = moment.year + index // 12, index % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


def _audit(action: str, obj: Any, *, actor: Any, **data: Any) -> None:
    audit_record(
        action=f"{obj._meta.model_name}.{action}",
        object_type=obj._meta.model_name,
        object_id=obj.pk,
        data=data,
        actor=actor,
    )


def _save(obj: Any, reason: str, **kwargs: Any) -> None:
    set_change_reason(obj, reason[:100])
    obj.save(**kwargs)


def lock_meeting(meeting_id: int) -> Meeting:
    """The meeting's row, locked: its services run one at a time (governance/locking.py)."""
    try:
        return Meeting.objects.select_for_update().select_related("board").get(pk=meeting_id)
    except (Meeting.DoesNotExist, ValueError, TypeError):
        raise NotFound(f"No meeting #{meeting_id}.") from None


def _require_status(meeting: Meeting, *statuses: str, doing: str) -> None:
    if meeting.status not in statuses:
        raise Conflict(f"The meeting is {meeting.get_status_display().lower()}; {doing}.")


def member_of(board: Board, user: Any) -> BoardMember | None:
    return board.members.filter(user=user, active=True).first()


@transaction.atomic
def board_create(
    *, actor: Any, name: str, description: str = "", cadence_months: int = 3, quorum: int = 2
) -> Board:
    require(actor, Capability.MANAGE_MEETINGS, MANAGE)
    problems = {}
    if not name.strip():
        problems["name"] = ["This field may not be blank."]
    if not 1 <= cadence_months <= 24:
        problems["cadence_months"] = ["Between 1 and 24 months."]
    if quorum < 1:
        problems["quorum"] = ["At least one voting member."]
    if problems:
        raise InvalidInput("The board is not valid.", extra=problems)
    if Board.objects.filter(name=name).exists():
        raise Conflict(f"A board named {name!r} exists.")
    board = Board(name=name, description=description, cadence_months=cadence_months, quorum=quorum)
    _save(board, "created")
    _audit("created", board, actor=actor, name=name, cadence_months=cadence_months, quorum=quorum)
    return board


@transaction.atomic
def board_member_set(
    *, actor: Any, board: Board, user: Any, role: str = "member", voting: bool = True
) -> BoardMember:
    """Seat `user` on the board (or change their seat); a board needs someone who reads."""
    require(actor, Capability.MANAGE_MEETINGS, MANAGE)
    if role not in BoardMember.Role.values:
        raise InvalidInput(
            "Unknown board role.", extra={"role": [f"One of: {', '.join(BoardMember.Role)}."]}
        )
    if not user_can(user, Capability.READ):
        raise InvalidInput(
            f"{user.username} has no role that reads the registry.",
            extra={"user": ["Give the user a role first."]},
        )
    seat, created = BoardMember.objects.get_or_create(
        board=board, user=user, defaults={"role": role, "voting": voting}
    )
    if not created:
        seat.role, seat.voting, seat.active = role, voting, True
        _save(seat, f"seat changed by {actor.username}")
    _audit("set", seat, actor=actor, board=board.name, user=user.username, role=role, voting=voting)
    return seat


@transaction.atomic
def meeting_schedule(
    *, actor: Any, board: Board, scheduled_for: datetime, title: str = ""
) -> Meeting:
    require(actor, Capability.MANAGE_MEETINGS, MANAGE)
    return _schedule(board, scheduled_for, title, actor=actor)


def _schedule(
    board: Board, scheduled_for: datetime, title: str = "", *, actor: Any = None
) -> Meeting:
    """`actor` None: scheduled by the board's cadence."""
    meeting = Meeting(
        board=board,
        scheduled_for=scheduled_for,
        title=title.strip() or f"{board.name} {scheduled_for:%Y-%m-%d}",
    )
    _save(meeting, "scheduled")
    _audit(
        "scheduled", meeting, actor=actor, board=board.name, scheduled_for=scheduled_for.isoformat()
    )
    return meeting


def _since(meeting: Meeting, now: datetime) -> datetime:
    """When the board last looked: the start of its previous meeting, or one cadence ago."""
    previous = (
        Meeting.objects.filter(board=meeting.board, started_at__isnull=False)
        .exclude(pk=meeting.pk)
        .order_by("-started_at")
        .first()
    )
    if previous is not None:
        return previous.started_at
    return add_months(now, -meeting.board.cadence_months)


@transaction.atomic
def meeting_prepare(*, actor: Any, meeting_id: int) -> Meeting:
    """(Re)build the generated agenda from the models' state now; members' items stay."""
    require(actor, Capability.MANAGE_MEETINGS, MANAGE)
    meeting = lock_meeting(meeting_id)
    _require_status(
        meeting, Meeting.Status.SCHEDULED, Meeting.Status.PREPARED, doing="its agenda is frozen"
    )
    now = timezone.now()
    context = AgendaContext(meeting=meeting, since=_since(meeting, now), now=now)
    for item in meeting.items.exclude(source=AgendaItem.Source.MEMBER):
        item.delete()
    kept = list(meeting.items.order_by("position", "id"))
    position = 0
    counts: dict[str, int] = {}
    for source in AGENDA_SOURCES:
        for draft in source(context):
            position += 1
            counts[draft.source] = counts.get(draft.source, 0) + 1
            item = AgendaItem(meeting=meeting, position=position, **draft.__dict__)
            _save(item, "generated")
    for item in kept:  # members' items follow the generated ones, in their order
        position += 1
        item.position = position
        _save(item, "renumbered", update_fields=["position"])
    meeting.status = Meeting.Status.PREPARED
    meeting.since = context.since
    meeting.prepared_at = now
    _save(meeting, f"agenda prepared by {actor.username}")
    _audit(
        "prepared",
        meeting,
        actor=actor,
        items=counts,
        member_items=len(kept),
        since=str(context.since),
    )
    return meeting


@transaction.atomic
def agenda_item_add(
    *,
    actor: Any,
    meeting_id: int,
    title: str,
    summary: str = "",
    model: RegisteredModel | None = None,
    version: ModelVersion | None = None,
    request: PromotionRequest | None = None,
    incident: Incident | None = None,
) -> AgendaItem:
    """A member's own item; refused once the meeting has started."""
    meeting = lock_meeting(meeting_id)
    if member_of(meeting.board, actor) is None and not user_can(actor, Capability.MANAGE_MEETINGS):
        raise NotAllowed(f"Only members of {meeting.board.name} add items to its agenda.")
    _require_status(
        meeting, Meeting.Status.SCHEDULED, Meeting.Status.PREPARED, doing="its agenda is frozen"
    )
    if not title.strip():
        raise InvalidInput("An item needs a title.", extra={"title": ["May not be blank."]})
    if version is not None and model is not None and version.model_id != model.pk:
        raise InvalidInput(
            f"{version} is not a version of {model.name}.", extra={"version": ["Wrong model."]}
        )
    last = meeting.items.order_by("-position").values_list("position", flat=True).first()
    item = AgendaItem(
        meeting=meeting,
        position=(last or 0) + 1,
        source=AgendaItem.Source.MEMBER,
        title=title.strip(),
        summary=summary,
        model=model or (version.model if version else None),
        version=version,
        request=request,
        incident=incident,
        added_by=actor,
    )
    _save(item, f"added by {actor.username}")
    _audit("added", item, actor=actor, meeting=meeting.pk, title=item.title)
    return item


@transaction.atomic
def agenda_item_remove(*, actor: Any, item_id: int, meeting_id: int | None = None) -> None:
    """Take a member's item off the agenda before the start (generated ones: re-prepare).
    With `meeting_id`, an item of another meeting is not found."""
    items = AgendaItem.objects.filter(pk=item_id)
    if meeting_id is not None:
        items = items.filter(meeting_id=meeting_id)
    found = items.values_list("meeting_id", flat=True)
    if not found:
        raise NotFound(
            f"No agenda item #{item_id}" + (f" in meeting #{meeting_id}." if meeting_id else ".")
        )
    meeting = lock_meeting(found[0])
    item = meeting.items.get(pk=item_id)
    if item.added_by_id != actor.pk and not user_can(actor, Capability.MANAGE_MEETINGS):
        raise NotAllowed("Only whoever added the item, or whoever runs meetings, removes it.")
    _require_status(
        meeting, Meeting.Status.SCHEDULED, Meeting.Status.PREPARED, doing="its agenda is frozen"
    )
    if item.is_generated:
        raise Conflict("Generated items follow the models' state: prepare the agenda again.")
    _audit("removed", item, actor=actor, meeting=meeting.pk, title=item.title)
    item.delete()


@transaction.atomic
def meeting_start(*, actor: Any, meeting_id: int) -> Meeting:
    """Open the meeting: from now on its agenda is the record of what the board saw."""
    require(actor, Capability.MANAGE_MEETINGS, MANAGE)
    meeting = lock_meeting(meeting_id)
    _require_status(meeting, Meeting.Status.PREPARED, doing="only a prepared meeting starts")
    meeting.status = Meeting.Status.IN_PROGRESS
    meeting.started_at = timezone.now()
    meeting.started_by = actor
    _save(meeting, f"started by {actor.username}")
    _audit("started", meeting, actor=actor, items=meeting.items.count())
    return meeting


@transaction.atomic
def attendance_record(*, actor: Any, meeting_id: int, user: Any, present: bool) -> Attendance:
    require(actor, Capability.MANAGE_MEETINGS, MANAGE)
    meeting = lock_meeting(meeting_id)
    _require_status(meeting, Meeting.Status.IN_PROGRESS, doing="attendance is taken while it runs")
    seat = member_of(meeting.board, user)
    if seat is None:
        raise InvalidInput(
            f"{user.username} does not sit on {meeting.board.name}.",
            extra={"user": ["Not a member of this board."]},
        )
    # The meeting's row lock serialises attendance of one meeting.
    row, _ = Attendance.objects.update_or_create(
        meeting=meeting,
        member=seat,
        defaults={"present": present, "voting": seat.voting, "recorded_by": actor},
    )
    _audit("recorded", row, actor=actor, meeting=meeting.pk, user=user.username, present=present)
    return row


@transaction.atomic
def minutes_record(
    *, actor: Any, meeting_id: int, text: str, item_id: int | None = None
) -> Meeting:
    """Minutes of one item (or the meeting's general notes), while the meeting runs."""
    require(actor, Capability.MANAGE_MEETINGS, MANAGE)
    meeting = lock_meeting(meeting_id)
    _require_status(meeting, Meeting.Status.IN_PROGRESS, doing="minutes are kept while it runs")
    if item_id is None:
        meeting.notes = text
        _save(meeting, f"minutes by {actor.username}", update_fields=["notes"])
        _audit("minutes", meeting, actor=actor, length=len(text))
        return meeting
    item = meeting.items.filter(pk=item_id).first()
    if item is None:
        raise InvalidInput("No such item on this agenda.", extra={"item": ["Not on the agenda."]})
    item.minutes = text
    _save(item, f"minutes by {actor.username}", update_fields=["minutes"])
    _audit("minutes", item, actor=actor, meeting=meeting.pk, length=len(text))
    return meeting


def next_meeting_time(meeting: Meeting) -> datetime:
    return add_months(meeting.scheduled_for, meeting.board.cadence_months)


@transaction.atomic
def meeting_close(*, actor: Any, meeting_id: int) -> Meeting:
    """Close the record, and schedule the board's next meeting if none is planned."""
    require(actor, Capability.MANAGE_MEETINGS, MANAGE)
    meeting = lock_meeting(meeting_id)
    _require_status(meeting, Meeting.Status.IN_PROGRESS, doing="only a running meeting closes")
    meeting.status = Meeting.Status.CLOSED
    meeting.closed_at = timezone.now()
    meeting.closed_by = actor
    _save(meeting, f"closed by {actor.username}")
    _audit("closed", meeting, actor=actor, decisions=meeting.decisions.count())
    board_schedule_next(board=meeting.board, actor=actor)
    return meeting


def board_schedule_next(*, board: Board, actor: Any = None) -> Meeting | None:
    """The board's cadence: a meeting one cadence after its latest, unless one is pending."""
    if board.meetings.exclude(status=Meeting.Status.CLOSED).exists():
        return None
    latest = board.meetings.order_by("-scheduled_for").first()
    start = next_meeting_time(latest) if latest else timezone.now() + timedelta(days=7)
    return _schedule(board, start, actor=actor)
