"""Feedback from people: a flag on one prediction (wrong, unfair, unexplainable, other).

A flag names its prediction as ground truth does, by (model, request_id), with no foreign
key to the inference log: retention deletes predictions in bulk, and a key pointing at
them would make every such delete look for flags first. The flag copies the prediction's
version, so flag counts per version and window read this table alone.

The comment is free text and may hold personal data. It is kept out of history and out
of the audit trail (which holds its salted SHA-256) and is erased, with its salt, once
the prediction's personal fields are erased (consent withdrawal) or the prediction is
deleted (retention): monitoring/services/flags.py, `flag_comments_erase`.

A flag is open until someone who works alerts resolves it (acted on: the model was fixed,
the case corrected) or dismisses it (looked at, nothing to do), with a note saying what was
done: `flag_close`. Who closed it and when are kept on the flag; the audit trail holds the
event. The ethics dashboard counts the open flags.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from models_registry.models import ModelVersion, RegisteredModel


class PredictionFlag(models.Model):
    class Reason(models.TextChoices):
        WRONG = "wrong", "Wrong"
        UNFAIR = "unfair", "Unfair"
        UNEXPLAINABLE = "unexplainable", "Unexplainable"
        OTHER = "other", "Other"

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        RESOLVED = "resolved", "Resolved"
        DISMISSED = "dismissed", "Dismissed"

    model = models.ForeignKey(RegisteredModel, on_delete=models.PROTECT, related_name="+")
    version = models.ForeignKey(
        ModelVersion,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="The version that made the prediction.",
    )
    request_id = models.CharField(max_length=100)
    reason = models.CharField(max_length=16, choices=Reason.choices)
    comment = models.TextField(blank=True)
    salt = models.CharField(
        max_length=32,
        blank=True,
        editable=False,
        help_text="Random; the audit event holds the SHA-256 of salt and comment. Erased "
        "with the comment.",
    )
    flagged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    comment_erased_at = models.DateTimeField(null=True, blank=True, editable=False)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
        help_text="Who resolved or dismissed it.",
    )
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolution_note = models.TextField(
        blank=True,
        help_text="What was done (resolved) or why nothing is to be done (dismissed). Kept "
        "on record, not erased with the comment: say what was done, not whom it was about.",
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["model", "request_id", "flagged_by"],
                name="one_flag_per_person_per_prediction",
            ),
            models.CheckConstraint(
                condition=(
                    models.Q(status="open", resolved_at=None, resolved_by=None)
                    | (
                        models.Q(status__in=["resolved", "dismissed"])
                        & models.Q(resolved_at__isnull=False, resolved_by__isnull=False)
                    )
                ),
                name="flag_closed_says_by_whom_and_when",
            ),
        ]
        indexes = [
            models.Index(fields=["version", "created_at"], name="flag_version_time"),
            models.Index(fields=["model", "created_at"], name="flag_model_time"),
            models.Index(fields=["model", "status"], name="flag_model_status"),
        ]

    def __str__(self) -> str:
        return f"{self.request_id}: {self.reason}"
