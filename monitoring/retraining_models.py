"""Retraining runs: the production version cloned, refitted on labelled traffic, and offered.

Imported by monitoring/models.py, so Django finds the model in the monitoring app. The
services in monitoring/retraining/ queue and execute runs; reviews listens to
`retraining_finished` and opens the canary promotion request whose id the run keeps
(`promotion_request_id`: an integer, since monitoring may not point a key at reviews).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models

from governance.history import governed_history
from models_registry.models import ModelVersion, RegisteredModel


class RetrainingRun(models.Model):
    """One retraining of a model's production version over a window of labelled traffic."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    class Trigger(models.TextChoices):
        API = "api", "API call"
        BUTTON = "button", "Button on a page"
        INCIDENT = "incident", "From an incident"
        RULE = "rule", "Alert rule with action retrain"

    FINISHED = (Status.DONE, Status.FAILED)
    ACTIVE = (Status.QUEUED, Status.RUNNING)

    model = models.ForeignKey(
        RegisteredModel, on_delete=models.PROTECT, related_name="retraining_runs"
    )
    base_version = models.ForeignKey(
        ModelVersion,
        on_delete=models.PROTECT,
        related_name="retraining_runs",
        help_text="The production version whose estimator is cloned and refitted.",
    )
    status = models.CharField(
        max_length=16, choices=Status.choices, default=Status.QUEUED, db_index=True
    )
    reason = models.TextField(blank=True, help_text="Why the run failed.")
    window_start = models.DateTimeField()
    window_end = models.DateTimeField()
    incident = models.ForeignKey(
        "monitoring.Incident",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="retraining_runs",
    )
    alert = models.ForeignKey(
        "monitoring.Alert",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="retraining_runs",
    )
    trigger = models.CharField(max_length=16, choices=Trigger.choices, default=Trigger.API)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    labelled_rows = models.PositiveIntegerField(
        null=True, blank=True, help_text="Labelled records of the window."
    )
    reference_rows = models.PositiveIntegerField(
        null=True, blank=True, help_text="Labelled rows of the reference data trained on."
    )
    metrics = models.JSONField(
        default=dict,
        blank=True,
        help_text='{"task", "holdout_rows", "new": {...}, "current": {...}}: both models '
        "measured on the same hold-out.",
    )
    mlflow_run_id = models.CharField(max_length=64, blank=True)
    candidate_version = models.ForeignKey(
        ModelVersion,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="The version registered from this run.",
    )
    promotion_request_id = models.PositiveIntegerField(
        null=True, blank=True, help_text="The canary promotion request reviews opened for it."
    )
    queued_at = models.DateTimeField(auto_now_add=True, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(
        default=0, help_text="Times a worker started it (more than one: a worker died mid-run)."
    )

    history = governed_history()

    class Meta:
        ordering = ["-queued_at", "-id"]
        indexes = [models.Index(fields=["model", "-queued_at"], name="retraining_model_time")]

    def __str__(self) -> str:
        return f"retraining #{self.pk} of {self.model.name}"

    @property
    def is_finished(self) -> bool:
        return self.status in self.FINISHED

    def comparison(self) -> str:
        """The new model against the current one on the same hold-out, as a sentence a
        reviewer reads (the promotion request's justification)."""
        metrics: dict[str, Any] = self.metrics or {}
        new, current = metrics.get("new") or {}, metrics.get("current") or {}
        parts = []
        for name in new:
            before, after = current.get(name), new.get(name)
            if before is None or after is None:
                parts.append(
                    f"{name} {_number(after)} (current v{self.base_version.version}: "
                    f"{_number(before)})"
                )
            else:
                parts.append(f"{name} {after:.4f} vs {before:.4f} ({after - before:+.4f})")
        window = f"{self.window_start:%Y-%m-%d %H:%M} to {self.window_end:%Y-%m-%d %H:%M} UTC"
        origin = [f"trigger {self.trigger}"]
        if self.incident_id:
            origin.append(f"incident #{self.incident_id}")
        if self.alert_id:
            origin.append(f"alert #{self.alert_id}")
        holdout = metrics.get("holdout_rows", 0)
        return (
            f"Retraining run #{self.pk} ({', '.join(origin)}) refitted a clone of "
            f"v{self.base_version.version} on the {self.labelled_rows or 0} labelled records "
            f"of {window} ({holdout} of them held out) plus {self.reference_rows or 0} "
            "reference rows. On that same hold-out, new vs current: "
            + "; ".join(parts)
            + ". Proposed as a canary: its gates decide against production."
        )


def _number(value: Any) -> str:
    return "n/a" if value is None else f"{value:.4f}"
