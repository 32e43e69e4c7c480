"""Findings: model-risk issues raised by validators or the board, remediated by the model's
people, verified and closed (or their risk accepted). reviews/finding_services.py moves
them along their workflow; every step goes on the finding's timeline."""

from __future__ import annotations

from datetime import date

from django.conf import settings
from django.db import models
from django.utils import timezone

from governance.history import governed_history
from models_registry.models import ModelVersion, RegisteredModel
from reviews.revalidation_models import Validation


class Finding(models.Model):
    """A model-risk issue with a severity, an owner, a due date and remediation evidence."""

    class Severity(models.TextChoices):
        LOW = "low", "Low"
        MEDIUM = "medium", "Medium"
        HIGH = "high", "High"
        CRITICAL = "critical", "Critical"

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        IN_REMEDIATION = "in_remediation", "In remediation"
        REMEDIATED = "remediated", "Remediated"
        ACCEPTED_RISK = "accepted_risk", "Accepted risk"
        CLOSED = "closed", "Closed"

    # Least to most severe: `severities_from` reads this order.
    SEVERITY_ORDER = (Severity.LOW, Severity.MEDIUM, Severity.HIGH, Severity.CRITICAL)
    # Not settled yet: remediated findings wait for someone to verify and close them.
    OPEN_STATUSES = (Status.OPEN, Status.IN_REMEDIATION, Status.REMEDIATED)

    model = models.ForeignKey(RegisteredModel, on_delete=models.PROTECT, related_name="findings")
    version = models.ForeignKey(
        ModelVersion, null=True, blank=True, on_delete=models.PROTECT, related_name="findings"
    )
    validation = models.ForeignKey(
        Validation,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="findings",
        help_text="The validation that raised it, if one did.",
    )
    title = models.CharField(max_length=200)
    description = models.TextField()
    severity = models.CharField(max_length=16, choices=Severity.choices, db_index=True)
    status = models.CharField(
        max_length=16, choices=Status.choices, default=Status.OPEN, db_index=True
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="owned_findings",
    )
    due_date = models.DateField(null=True, blank=True, db_index=True)
    links = models.JSONField(default=list, blank=True, help_text="Related links (http/https).")
    raised_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="raised_findings"
    )
    raised_at = models.DateTimeField(auto_now_add=True, db_index=True)
    remediated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="Who marked it remediated: someone else verifies and closes it.",
    )
    closed_at = models.DateTimeField(null=True, blank=True)

    history = governed_history()

    class Meta:
        ordering = ["-raised_at", "-id"]

    def __str__(self) -> str:
        return f"#{self.pk} {self.title} ({self.severity}, {self.status})"

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN_STATUSES

    def is_overdue_on(self, day: date) -> bool:
        return self.is_open and self.due_date is not None and self.due_date < day

    @property
    def is_overdue(self) -> bool:
        return self.is_overdue_on(timezone.localdate())


def severities_from(minimum: str) -> list[str]:
    """The severities at least as grave as `minimum` ("high" -> high, critical)."""
    order = [str(s) for s in Finding.SEVERITY_ORDER]
    return order[order.index(minimum) :]


class FindingEvent(models.Model):
    """One entry of a finding's timeline: raised, a status change, remediation evidence, a
    new owner or due date (`data`: each changed field's old and new value)."""

    class Kind(models.TextChoices):
        RAISED = "raised", "Raised"
        STATUS_CHANGED = "status_changed", "Status changed"
        EVIDENCE = "evidence", "Remediation evidence"
        ASSIGNED = "assigned", "Owner or due date changed"

    finding = models.ForeignKey(Finding, on_delete=models.PROTECT, related_name="timeline")
    occurred_at = models.DateTimeField(auto_now_add=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    kind = models.CharField(max_length=32, choices=Kind.choices)
    from_status = models.CharField(max_length=16, choices=Finding.Status.choices, blank=True)
    to_status = models.CharField(max_length=16, choices=Finding.Status.choices, blank=True)
    message = models.TextField(blank=True)
    links = models.JSONField(default=list, blank=True)
    data = models.JSONField(
        default=dict, blank=True, help_text='Assigned: {"owner": {"old": .., "new": ..}, ...}.'
    )

    class Meta:
        ordering = ["occurred_at", "id"]

    def __str__(self) -> str:
        return f"finding {self.finding_id} {self.kind}"
