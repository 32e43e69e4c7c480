"""Where each rule stands on each version between evaluations: the streaks of breaches and
of clean evaluations that `consecutive` and `clear_after` count.

Imported by monitoring/models.py, so Django finds the model in the monitoring app. Written
only by monitoring/services/alerts.py, under a row lock, so two evaluations of one rule take
turns. Not governed (no history): it changes at every evaluation; what a person needs to
see (the alert, its count, its resolution) is on the Alert and in the audit trail.
"""

from __future__ import annotations

from django.db import models

from models_registry.models import ModelVersion, RegisteredModel


class AlertRuleState(models.Model):
    """One rule on one version: its last evaluation and the streaks ending there."""

    class Outcome(models.TextChoices):
        BREACH = "breach", "Breach"
        CLEAN = "clean", "Clean"
        SKIPPED = "skipped", "Skipped"

    model = models.ForeignKey(RegisteredModel, on_delete=models.CASCADE, related_name="+")
    version = models.ForeignKey(ModelVersion, on_delete=models.CASCADE, related_name="+")
    rule_key = models.CharField(max_length=64)
    metric = models.CharField(max_length=200)
    breaches = models.PositiveIntegerField(default=0, help_text="Breaches in a row, up to now.")
    cleans = models.PositiveIntegerField(
        default=0, help_text="Clean evaluations in a row, up to now."
    )
    last_outcome = models.CharField(max_length=16, choices=Outcome.choices, blank=True)
    last_value = models.FloatField(null=True, blank=True)
    last_reason = models.CharField(max_length=500, blank=True)
    evaluated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["model", "version", "rule_key"], name="one_state_per_rule_and_version"
            )
        ]

    def __str__(self) -> str:
        return f"{self.metric} on {self.version_id}: {self.last_outcome or 'never evaluated'}"
