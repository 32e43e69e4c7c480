"""Alerts: a rule's breach of a threshold, kept open (and counted) while it lasts.

Imported by monitoring/models.py, so Django finds the model in the monitoring app. The rule
engine (monitoring/rules/) opens, folds repeats into, silences and resolves them; the
notifications and incidents listen to `alert_fired` and `alert_resolved`
(monitoring/signals.py).
"""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.db import models
from django.db.models import Q

from governance.history import governed_history
from models_registry.models import ModelVersion, RegisteredModel


class Alert(models.Model):
    """One rule breached on one model version, from its first breach until it is clean."""

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        SILENCED = "silenced", "Silenced"
        RESOLVED = "resolved", "Resolved"

    class Severity(models.TextChoices):
        INFO = "info", "Info"
        WARNING = "warning", "Warning"
        CRITICAL = "critical", "Critical"

    model = models.ForeignKey(RegisteredModel, on_delete=models.PROTECT, related_name="alerts")
    version = models.ForeignKey(ModelVersion, on_delete=models.PROTECT, related_name="alerts")
    rule_key = models.CharField(
        max_length=64,
        help_text="Which rule: a digest of its definition, so a changed rule is a new one.",
    )
    rule = models.JSONField(default=dict, help_text="The rule as it was when it fired.")
    metric = models.CharField(max_length=200, help_text="As the rule names it.")
    value = models.FloatField(null=True, blank=True, help_text="The latest breaching value.")
    threshold = models.FloatField()
    comparison = models.CharField(max_length=4)
    severity = models.CharField(max_length=16, choices=Severity.choices)
    status = models.CharField(
        max_length=16, choices=Status.choices, default=Status.OPEN, db_index=True
    )
    count = models.PositiveIntegerField(default=1, help_text="Breaches folded into this alert.")
    first_seen = models.DateTimeField(db_index=True)
    last_seen = models.DateTimeField()
    check_run = models.ForeignKey(
        "monitoring.CheckRun",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="alerts",
        help_text="The check whose metric breached last (none for window measurements).",
    )
    incident = models.ForeignKey(
        "monitoring.Incident",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="alerts",
    )
    clean_evaluations = models.PositiveIntegerField(
        default=0, help_text="Clean evaluations in a row since the last breach."
    )
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    silenced_until = models.DateTimeField(null=True, blank=True)
    silence_reason = models.TextField(blank=True)
    silenced_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    resolved_at = models.DateTimeField(null=True, blank=True)

    history = governed_history()

    class Meta:
        ordering = ["-last_seen", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["model", "version", "rule_key"],
                condition=~Q(status="resolved"),
                name="one_unresolved_alert_per_rule",
            ),
        ]
        indexes = [models.Index(fields=["model", "status"], name="alert_model_status")]

    def __str__(self) -> str:
        return f"#{self.pk} {self.metric} {self.comparison} {self.threshold} ({self.status})"

    def status_at(self, now: datetime) -> str:
        """The status as it stands at `now`: a silence whose time has passed is open again
        (the services store that at the rule's next evaluation or the periodic sweep;
        monitoring/alert_selectors.py filters the same way)."""
        if (
            self.status == self.Status.SILENCED
            and self.silenced_until is not None
            and self.silenced_until <= now
        ):
            return self.Status.OPEN
        return self.status
