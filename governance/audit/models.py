"""The audit trail's tables: events, the sequencer's head, signed checkpoints, reports.

Imported by governance.models, so they belong to the governance app.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from governance.audit.hashing import GENESIS_HASH
from governance.audit_context import Origin


class AuditEvent(models.Model):
    """One governance action or inference batch, chained to the previous one by hash.

    Appending (governance.audit.chain.audit_record) inserts the row with its `entry_hash`
    and no place in the chain, inside the caller's transaction and without any lock; the
    sequencer later gives committed rows their `sequence`, `previous_hash` and `hash` in one
    short transaction of its own. Until then `sequence` is null.
    """

    sequence = models.PositiveBigIntegerField(unique=True, null=True, blank=True)
    occurred_at = models.DateTimeField(db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    actor_username = models.CharField(max_length=150, blank=True)
    origin = models.CharField(max_length=16, choices=Origin.choices)
    action = models.CharField(max_length=64, db_index=True)
    object_type = models.CharField(max_length=64, db_index=True)
    # Room for "<model name (100)>:<version>" and any other id an event names.
    object_id = models.CharField(max_length=200, db_index=True)
    data = models.JSONField(default=dict)
    entry_hash = models.CharField(max_length=64)
    previous_hash = models.CharField(max_length=64, blank=True)
    hash = models.CharField(max_length=64, unique=True, null=True, blank=True)

    class Meta:
        ordering = [models.F("sequence").desc(nulls_first=True), "-id"]
        indexes = [
            # The sequencer's work list: only rows still waiting for their place.
            models.Index(
                fields=["id"],
                condition=models.Q(sequence__isnull=True),
                name="auditevent_unsequenced",
            )
        ]

    def __str__(self) -> str:
        place = f"#{self.sequence}" if self.sequence is not None else "(unsequenced)"
        return f"{place} {self.action} {self.object_type}:{self.object_id}"


class AuditChainHead(models.Model):
    """The sequencer's position: locked only by the sequencer, never by writers."""

    last_sequence = models.PositiveBigIntegerField(default=0)
    last_hash = models.CharField(max_length=64, default=GENESIS_HASH)

    def __str__(self) -> str:
        return f"audit chain at #{self.last_sequence}"


class AuditCheckpoint(models.Model):
    """A signed statement of the chain's head: its size and the hash of entry #size.

    `note` is the whole signed note (C2SP tlog-checkpoint body plus signature line); the
    other fields repeat what it says so it can be queried. Only the note's signature, by a
    trusted key, makes a checkpoint count.
    """

    size = models.PositiveBigIntegerField(db_index=True)
    root_hash = models.CharField(max_length=64)
    signed_at = models.DateTimeField()
    key_name = models.CharField(max_length=100)
    note = models.TextField()

    class Meta:
        ordering = ["-size", "-id"]

    def __str__(self) -> str:
        return f"checkpoint at #{self.size} by {self.key_name}"


class AuditVerification(models.Model):
    """The report of one verification run: what range was checked and what was found."""

    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    full = models.BooleanField(default=False, help_text="From the first entry, not a checkpoint.")
    from_sequence = models.PositiveBigIntegerField(default=0)
    to_sequence = models.PositiveBigIntegerField(default=0)
    checked = models.PositiveBigIntegerField(default=0)
    ok = models.BooleanField(null=True, help_text="Empty while the run has not finished.")
    first_bad = models.PositiveBigIntegerField(null=True, blank=True)
    detail = models.TextField(blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["-started_at", "-id"]

    def __str__(self) -> str:
        outcome = {None: "running", True: "intact", False: "broken"}[self.ok]
        return f"verification {self.pk}: #{self.from_sequence}..#{self.to_sequence} {outcome}"
