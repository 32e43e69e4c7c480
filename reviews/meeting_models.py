"""The review board and its meetings: members, agenda, attendance, minutes and decisions.

Imported by reviews/models.py, so Django finds the models in the reviews app. Every write
goes through reviews/meetings/services.py and decisions.py; the agenda of a started meeting
is frozen (AgendaItem refuses to save or delete itself then), so the record shows what the
board saw.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models

from governance.errors import Conflict
from governance.history import governed_history
from models_registry.models import ModelVersion, RegisteredModel


class Board(models.Model):
    """A review board: who sits on it, how often it meets, how many voters make a quorum."""

    name = models.CharField(max_length=100, unique=True)
    description = models.TextField(blank=True)
    cadence_months = models.PositiveSmallIntegerField(
        default=3, help_text="Months between meetings; closing one schedules the next."
    )
    quorum = models.PositiveSmallIntegerField(
        default=2, help_text="Voting members who must be present for the board to decide."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    history = governed_history()

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class BoardMember(models.Model):
    """One person's seat on a board: their role in it and whether they vote."""

    class Role(models.TextChoices):
        CHAIR = "chair", "Chair"
        MEMBER = "member", "Member"
        SECRETARY = "secretary", "Secretary"

    board = models.ForeignKey(Board, on_delete=models.PROTECT, related_name="members")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="board_seats"
    )
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.MEMBER)
    voting = models.BooleanField(default=True)
    active = models.BooleanField(default=True, help_text="Off: no longer sits on the board.")

    history = governed_history()

    class Meta:
        ordering = ["board", "user__username"]
        constraints = [
            models.UniqueConstraint(fields=["board", "user"], name="one_seat_per_board_member")
        ]

    def __str__(self) -> str:
        return f"{self.user} ({self.role}) on {self.board}"


class Meeting(models.Model):
    """One meeting of a board: scheduled -> prepared -> in progress (agenda frozen) -> closed."""

    class Status(models.TextChoices):
        SCHEDULED = "scheduled", "Scheduled"
        PREPARED = "prepared", "Agenda prepared"
        IN_PROGRESS = "in_progress", "In progress"
        CLOSED = "closed", "Closed"

    board = models.ForeignKey(Board, on_delete=models.PROTECT, related_name="meetings")
    title = models.CharField(max_length=200)
    scheduled_for = models.DateTimeField(db_index=True)
    status = models.CharField(
        max_length=16, choices=Status.choices, default=Status.SCHEDULED, db_index=True
    )
    since = models.DateTimeField(
        null=True, blank=True, help_text="The agenda covers what happened after this moment."
    )
    prepared_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    notes = models.TextField(blank=True, help_text="General minutes of the meeting.")

    history = governed_history()

    class Meta:
        ordering = ["-scheduled_for", "-id"]

    def __str__(self) -> str:
        return f"{self.title} ({self.get_status_display()})"


class AgendaItem(models.Model):
    """One point of a meeting's agenda: a snapshot of what the board was shown, and what it
    concerns. Generated items are rebuilt by each prepare; members' items are kept."""

    class Source(models.TextChoices):
        PROMOTION_REQUEST = "promotion_request", "Pending promotion request"
        INCIDENT = "incident", "Incident"
        ALERT = "alert", "Open alert"
        TREND = "trend", "Metric trend"
        ACTION_ITEM = "action_item", "Open action item"
        FLAGS = "flags", "Flags from people"
        REVALIDATION = "revalidation", "Revalidation due"
        FINDING = "finding", "Open finding"
        IMPACT_REVIEW = "impact_review", "Business-impact review due"
        MEMBER = "member", "Added by a member"

    meeting = models.ForeignKey(Meeting, on_delete=models.PROTECT, related_name="items")
    position = models.PositiveIntegerField()
    source = models.CharField(max_length=32, choices=Source.choices)
    title = models.CharField(max_length=300)
    summary = models.TextField(blank=True)
    data = models.JSONField(default=dict, blank=True, help_text="The figures as shown.")
    model = models.ForeignKey(
        RegisteredModel, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    version = models.ForeignKey(
        ModelVersion, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    request = models.ForeignKey(
        "reviews.PromotionRequest",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    incident = models.ForeignKey(
        "monitoring.Incident", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    action_item = models.ForeignKey(
        "reviews.Decision",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="agenda_items",
        help_text="The earlier decision (an open action item) this item carries forward.",
    )
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    minutes = models.TextField(blank=True, help_text="What was said; written after the start.")

    history = governed_history()

    # Minutes are written during the meeting; everything else is the frozen snapshot.
    MINUTES_FIELDS = frozenset({"minutes"})

    class Meta:
        ordering = ["meeting", "position", "id"]

    def __str__(self) -> str:
        return f"{self.position}. {self.title}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        """The last guard of the frozen agenda: after the start, only minutes change."""
        update_fields = kwargs.get("update_fields")
        only_minutes = update_fields is not None and set(update_fields) <= self.MINUTES_FIELDS
        if not only_minutes and self._meeting_started():
            raise Conflict("The meeting has started: its agenda is frozen.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        if self._meeting_started():
            raise Conflict("The meeting has started: its agenda is frozen.")
        return super().delete(*args, **kwargs)

    @property
    def is_generated(self) -> bool:
        return self.source != self.Source.MEMBER

    def _meeting_started(self) -> bool:
        return Meeting.objects.filter(pk=self.meeting_id, started_at__isnull=False).exists()


class Attendance(models.Model):
    """Whether one member was present; `voting` is their seat's vote at the meeting."""

    meeting = models.ForeignKey(Meeting, on_delete=models.PROTECT, related_name="attendance")
    member = models.ForeignKey(BoardMember, on_delete=models.PROTECT, related_name="+")
    present = models.BooleanField()
    voting = models.BooleanField()
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField(auto_now=True)

    history = governed_history()

    class Meta:
        ordering = ["meeting", "member__user__username"]
        constraints = [
            models.UniqueConstraint(fields=["meeting", "member"], name="attendance_once_per_member")
        ]

    def __str__(self) -> str:
        return f"{self.member.user} {'present' if self.present else 'absent'}"


class Decision(models.Model):
    """What the board decided, linked to what it concerns. An approve or reject of a
    promotion request is carried out as each present voter's sign-off (`signed`), or their
    refusal with the reason (`refused`); a finding is raised as a Finding (`finding`) through
    the findings service; an action item stays open until someone marks it done, and is
    carried to every later agenda of the board until then."""

    class Kind(models.TextChoices):
        APPROVE = "approve", "Approve"
        REJECT = "reject", "Reject"
        DEFER = "defer", "Defer"
        FINDING = "finding", "Finding"
        ACTION_ITEM = "action_item", "Action item"

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        DONE = "done", "Done"

    SIGNING_KINDS = (Kind.APPROVE, Kind.REJECT)

    meeting = models.ForeignKey(Meeting, on_delete=models.PROTECT, related_name="decisions")
    item = models.ForeignKey(
        AgendaItem, null=True, blank=True, on_delete=models.PROTECT, related_name="decisions"
    )
    kind = models.CharField(max_length=16, choices=Kind.choices)
    text = models.TextField()
    model = models.ForeignKey(
        RegisteredModel, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    version = models.ForeignKey(
        ModelVersion, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    request = models.ForeignKey(
        "reviews.PromotionRequest",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="board_decisions",
    )
    incident = models.ForeignKey(
        "monitoring.Incident", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    finding = models.ForeignKey(
        "reviews.Finding",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="board_decisions",
        help_text="The finding a decision of kind finding raised.",
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    due_date = models.DateField(null=True, blank=True)
    status = models.CharField(max_length=8, choices=Status.choices, blank=True)
    done_at = models.DateTimeField(null=True, blank=True)
    done_note = models.TextField(blank=True)
    present_voters = models.JSONField(default=list, help_text="Usernames, at the decision.")
    signed = models.JSONField(default=list, help_text="[{username, decision, sign_off}]")
    refused = models.JSONField(default=list, help_text="[{username, status, reason}]")
    request_status = models.CharField(
        max_length=16, blank=True, help_text="The request's status right after the decision."
    )
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField(auto_now_add=True)

    history = governed_history()

    class Meta:
        ordering = ["meeting", "recorded_at", "id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.text[:60]}"
