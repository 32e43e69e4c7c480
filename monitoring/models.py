from __future__ import annotations

from django.conf import settings
from django.db import models

from governance.history import governed_history
from models_registry.models import ModelVersion, RegisteredModel


class GroundTruth(models.Model):
    """The true outcome of a prediction, joined to it by (model, request_id)."""

    model = models.ForeignKey(RegisteredModel, on_delete=models.PROTECT, related_name="+")
    request_id = models.CharField(max_length=100)
    label = models.FloatField()
    received_at = models.DateTimeField(auto_now_add=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["model", "request_id"], name="ground_truth_per_request")
        ]

    def __str__(self) -> str:
        return f"{self.request_id}: {self.label}"


class Incident(models.Model):
    """Something went wrong with a model: what happened, how bad, and what was done."""

    class Severity(models.TextChoices):
        INFO = "info", "Info"
        WARNING = "warning", "Warning"
        CRITICAL = "critical", "Critical"

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        ACKNOWLEDGED = "acknowledged", "Acknowledged"
        RESOLVED = "resolved", "Resolved"

    class Source(models.TextChoices):
        CANARY = "canary", "Canary gate"
        DRIFT = "drift", "Drift check"
        ALERT = "alert", "Alert rule"
        MANUAL = "manual", "Reported by a person"
        ARTIFACT = "artifact", "Model artifact check"

    model = models.ForeignKey(RegisteredModel, on_delete=models.PROTECT, related_name="incidents")
    version = models.ForeignKey(
        ModelVersion, null=True, blank=True, on_delete=models.PROTECT, related_name="incidents"
    )
    severity = models.CharField(max_length=16, choices=Severity.choices)
    status = models.CharField(
        max_length=16, choices=Status.choices, default=Status.OPEN, db_index=True
    )
    source = models.CharField(max_length=16, choices=Source.choices)
    title = models.CharField(max_length=200)
    description = models.TextField(help_text="What happened.")
    details = models.JSONField(default=dict, blank=True)
    opened_at = models.DateTimeField(auto_now_add=True, db_index=True)
    resolved_at = models.DateTimeField(null=True, blank=True)

    history = governed_history()

    class Meta:
        ordering = ["-opened_at", "-id"]

    def __str__(self) -> str:
        return f"#{self.pk} {self.model.name}: {self.title}"


class IncidentEvent(models.Model):
    """One entry of an incident's timeline."""

    incident = models.ForeignKey(Incident, on_delete=models.PROTECT, related_name="timeline")
    occurred_at = models.DateTimeField(auto_now_add=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    kind = models.CharField(max_length=32)
    message = models.TextField()

    class Meta:
        ordering = ["occurred_at", "id"]

    def __str__(self) -> str:
        return f"{self.incident_id} {self.kind}"


class CanaryGates(models.Model):
    """When a canary may replace production, per model; defaults apply without a row."""

    model = models.OneToOneField(
        RegisteredModel, on_delete=models.CASCADE, related_name="canary_gates"
    )
    window_minutes = models.PositiveIntegerField(default=60)
    min_requests = models.PositiveIntegerField(
        default=50, help_text="Canary calls needed in the window before a verdict."
    )
    max_error_rate_increase = models.FloatField(
        default=0.01, help_text="Canary error rate minus production's, at most."
    )
    max_latency_ratio = models.FloatField(
        default=1.5, help_text="Canary p95 latency divided by production's, at most."
    )
    max_quality_drop = models.FloatField(
        default=0.02, help_text="Production accuracy minus canary's (with ground truth), at most."
    )
    max_fairness_gap = models.FloatField(
        default=0.1,
        help_text="Largest positive-rate gap between protected groups on the canary, at most.",
    )
    min_labelled = models.PositiveIntegerField(
        default=30, help_text="Labelled canary calls needed before quality and fairness count."
    )

    history = governed_history()

    class Meta:
        verbose_name_plural = "canary gates"

    def __str__(self) -> str:
        return f"canary gates of {self.model.name}"
