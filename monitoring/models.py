from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import models
from django.utils import timezone

from governance.history import governed_history
from models_registry.models import ModelVersion, RegisteredModel
from monitoring.canary_defaults import (
    DEFAULT_MIN_REQUESTS,
    DEFAULT_WINDOW_MINUTES,
    canary_default_rules,
)


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
    """Something went wrong with a model: what happened, how bad, who works on it, and what
    was done (the timeline). The workflow is open -> investigating -> mitigated -> closed;
    monitoring/services/incidents.py moves it, and says which steps are allowed."""

    class Severity(models.TextChoices):
        INFO = "info", "Info"
        WARNING = "warning", "Warning"
        CRITICAL = "critical", "Critical"

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        INVESTIGATING = "investigating", "Investigating"
        MITIGATED = "mitigated", "Mitigated"
        CLOSED = "closed", "Closed"

    class Source(models.TextChoices):
        CANARY = "canary", "Canary gate"
        DRIFT = "drift", "Drift check"
        ALERT = "alert", "Alert rule"
        MANUAL = "manual", "Reported by a person"
        ARTIFACT = "artifact", "Model artifact check"

    class SeriousKind(models.TextChoices):
        """EU AI Act Art. 73: how soon a serious incident is reported, from awareness."""

        STANDARD = "standard", "Serious incident (report within 15 days)"
        DEATH = "death", "Death of a person (report within 10 days)"
        WIDESPREAD = (
            "widespread",
            "Widespread infringement or critical-infrastructure disruption (report within 2 days)",
        )

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
    resolved_at = models.DateTimeField(
        null=True, blank=True, help_text="When it was mitigated (or closed without that step)."
    )
    closed_at = models.DateTimeField(null=True, blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="owned_incidents",
    )
    serious = models.BooleanField(
        default=False, db_index=True, help_text="A serious incident in the sense of Art. 73."
    )
    serious_kind = models.CharField(max_length=16, choices=SeriousKind.choices, blank=True)
    serious_reason = models.TextField(blank=True)
    aware_at = models.DateTimeField(
        null=True, blank=True, help_text="When the provider became aware of the serious incident."
    )
    report_due = models.DateTimeField(
        null=True,
        blank=True,
        db_index=True,
        help_text="aware_at plus the days of its kind; set by the service, never edited.",
    )
    reported_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When the serious incident was reported to the market surveillance authority.",
    )
    reported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="Who recorded the report (empty: closed before reports were recorded).",
    )
    report_reference = models.CharField(
        max_length=200, blank=True, help_text="The authority's case number or the submission's."
    )

    history = governed_history()

    class Meta:
        ordering = ["-opened_at", "-id"]

    def __str__(self) -> str:
        return f"#{self.pk} {self.model.name}: {self.title}"

    @property
    def is_closed(self) -> bool:
        return self.status == self.Status.CLOSED

    @property
    def is_reported(self) -> bool:
        return self.reported_at is not None

    def time_left(self, now: datetime | None = None) -> timedelta | None:
        """Until the report is due (negative once it is overdue); None unless serious and
        not reported yet."""
        if not self.serious or self.report_due is None or self.is_reported:
            return None
        return self.report_due - (now or timezone.now())

    def is_overdue(self, now: datetime | None = None) -> bool:
        """Serious, past its reporting deadline and not reported (closed or not: closing is
        not the report; monitoring/filters.py overdue_q says the same in SQL)."""
        left = self.time_left(now)
        return left is not None and left < timedelta(0)


# Art. 73(2), (3), (4): days from awareness to the report, by kind.
SERIOUS_REPORT_DAYS: dict[str, int] = {
    Incident.SeriousKind.STANDARD: 15,
    Incident.SeriousKind.DEATH: 10,
    Incident.SeriousKind.WIDESPREAD: 2,
}


def report_deadline(kind: str, aware_at: datetime) -> datetime:
    """The moment a serious incident of `kind` that one became aware of at `aware_at` must
    be reported by."""
    return aware_at + timedelta(days=SERIOUS_REPORT_DAYS[kind])


class IncidentEvent(models.Model):
    """One entry of an incident's timeline; `data` links what it is about (an alert, a
    deployment event, a retraining run) by id."""

    class Kind(models.TextChoices):
        OPENED = "opened", "Opened"
        REFUSED_AGAIN = "refused_again", "Model files refused again"
        STATUS_CHANGED = "status_changed", "Status changed"
        ASSIGNED = "assigned", "Assigned"
        COMMENT = "comment", "Comment"
        FLAGGED_SERIOUS = "flagged_serious", "Flagged serious"
        REPORTED = "reported", "Reported to the authority"
        SEVERITY_RAISED = "severity_raised", "Severity raised"
        ALERT = "alert", "Alert"
        ALERT_RESOLVED = "alert_resolved", "Alert resolved"
        ALERT_ACKNOWLEDGED = "alert_acknowledged", "Alert acknowledged"
        ALERT_SILENCED = "alert_silenced", "Alert silenced"
        ALERT_UNSILENCED = "alert_unsilenced", "Alert unsilenced"
        DEPLOYMENT = "deployment", "Deployment"
        ROLLBACK = "rollback", "Rollback"
        RETRAINING_STARTED = "retraining_started", "Retraining started"
        RETRAINING_FINISHED = "retraining_finished", "Retraining finished"
        RETRAINING_FAILED = "retraining_failed", "Retraining failed"
        # Written before the workflow of issue 10 (still on old timelines).
        ACKNOWLEDGED = "acknowledged", "Acknowledged"
        RESOLVED = "resolved", "Resolved"

    incident = models.ForeignKey(Incident, on_delete=models.PROTECT, related_name="timeline")
    occurred_at = models.DateTimeField(auto_now_add=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    kind = models.CharField(max_length=32, choices=Kind.choices)
    message = models.TextField()
    data = models.JSONField(
        default=dict,
        blank=True,
        help_text='Links by id: {"alert": 3}, {"deployment_event": 9}, {"retraining_run": 2}.',
    )

    class Meta:
        ordering = ["occurred_at", "id"]

    def __str__(self) -> str:
        return f"{self.incident_id} {self.kind}"


class CanaryGates(models.Model):
    """When a canary may replace production, per model; the defaults apply without a row.

    `rules` are rules of the engine (monitoring/rules/), evaluated on the canary's window
    with production's as the baseline (monitoring/canary_defaults.py says how); a verdict
    waits until the canary served `min_requests` calls in the last `window_minutes`.
    """

    model = models.OneToOneField(
        RegisteredModel, on_delete=models.CASCADE, related_name="canary_gates"
    )
    window_minutes = models.PositiveIntegerField(default=DEFAULT_WINDOW_MINUTES)
    min_requests = models.PositiveIntegerField(
        default=DEFAULT_MIN_REQUESTS,
        help_text="Canary calls needed in the window before a verdict.",
    )
    rules = models.JSONField(
        default=canary_default_rules,
        help_text="The gates: rules compared on the window, canary against production.",
    )

    history = governed_history()

    class Meta:
        verbose_name_plural = "canary gates"

    def __str__(self) -> str:
        return f"canary gates of {self.model.name}"


class MonitoringConfig(models.Model):
    """What is monitored for one model: metrics, drift settings and alert rules.

    `document` is the validated, normalized form every check and rule reads
    (monitoring/config.py); `source` is the text as it was submitted (YAML or JSON), so GET
    returns what the caller wrote. History keeps every earlier version.
    """

    class Format(models.TextChoices):
        YAML = "yaml", "YAML"
        JSON = "json", "JSON"

    model = models.OneToOneField(
        RegisteredModel, on_delete=models.PROTECT, related_name="monitoring_config"
    )
    document = models.JSONField(default=dict)
    source = models.TextField(blank=True)
    source_format = models.CharField(max_length=8, choices=Format.choices, default=Format.JSON)
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    history = governed_history()

    def __str__(self) -> str:
        return f"monitoring config of {self.model.name}"


class CheckRun(models.Model):
    """One run of a check over one window: what was asked, what happened, what it found.

    Results are the check's full output (per feature, per group); the numbers alert rules
    and canary gates read are also stored one per row as CheckMetric, by name.
    """

    class Kind(models.TextChoices):
        DRIFT = "drift", "Data drift"
        QUALITY = "quality", "Quality (with ground truth)"
        FAIRNESS = "fairness", "Fairness"
        ESTIMATION = "estimation", "Estimated performance"

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    class Trigger(models.TextChoices):
        API = "api", "API call"
        SCHEDULE = "schedule", "Schedule"
        PAGE = "page", "Browser"
        COMMAND = "command", "Management command"
        RULE = "rule", "Alert rule"

    model = models.ForeignKey(RegisteredModel, on_delete=models.PROTECT, related_name="check_runs")
    version = models.ForeignKey(ModelVersion, on_delete=models.PROTECT, related_name="check_runs")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    status = models.CharField(
        max_length=16, choices=Status.choices, default=Status.QUEUED, db_index=True
    )
    window_start = models.DateTimeField()
    window_end = models.DateTimeField()
    reference = models.ForeignKey(
        "models_registry.ReferenceDataset",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="The reference data set the window was compared with, if the kind uses one.",
    )
    reference_rows = models.PositiveIntegerField(null=True, blank=True)
    current_rows = models.PositiveIntegerField(null=True, blank=True)
    labelled_rows = models.PositiveIntegerField(null=True, blank=True)
    results = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    trigger = models.CharField(max_length=16, choices=Trigger.choices, default=Trigger.API)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    queued_at = models.DateTimeField(auto_now_add=True, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    duration_ms = models.FloatField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(
        default=0, help_text="Times a worker started it (more than one: a worker died mid-run)."
    )

    class Meta:
        ordering = ["-queued_at", "-id"]
        indexes = [
            models.Index(fields=["model", "kind", "-queued_at"], name="check_model_kind_time"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} check #{self.pk} of {self.model.name}"


class CheckMetric(models.Model):
    """One named number a check produced (`drift_share`, `drift.age`, `f1`,
    `demographic_parity_difference.gender`, `estimated_roc_auc`): what rules read."""

    run = models.ForeignKey(CheckRun, on_delete=models.CASCADE, related_name="metrics")
    model = models.ForeignKey(RegisteredModel, on_delete=models.PROTECT, related_name="+")
    version = models.ForeignKey(ModelVersion, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=16, choices=CheckRun.Kind.choices)
    name = models.CharField(max_length=200)
    value = models.FloatField(null=True, blank=True, help_text="Empty: not computable here.")
    computed_at = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["-computed_at", "name"]
        constraints = [models.UniqueConstraint(fields=["run", "name"], name="metric_once_per_run")]
        indexes = [
            models.Index(fields=["model", "name", "-computed_at"], name="metric_model_name_time"),
        ]

    def __str__(self) -> str:
        return f"{self.name}={self.value}"


class CheckReport(models.Model):
    """A full Evidently HTML report of one check, rendered on demand from a bounded sample."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Rendering"
        DONE = "done", "Ready"
        FAILED = "failed", "Failed"

    run = models.OneToOneField(CheckRun, on_delete=models.CASCADE, related_name="report")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    file = models.FileField(upload_to="check-reports/", blank=True)
    sample_rows = models.PositiveIntegerField(null=True, blank=True)
    error = models.TextField(blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    requested_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"report of {self.run}"


from monitoring.alert_models import Alert  # noqa: E402  (Django finds models here)
from monitoring.flag_models import PredictionFlag  # noqa: E402
from monitoring.notification_models import (  # noqa: E402
    NotificationAttempt,
    NotificationDelivery,
    NotificationEndpoint,
    NotificationRoute,
)
from monitoring.retraining_models import RetrainingRun  # noqa: E402
from monitoring.rule_state_models import AlertRuleState  # noqa: E402

__all__ = [
    "Alert",
    "AlertRuleState",
    "CanaryGates",
    "CheckMetric",
    "CheckReport",
    "CheckRun",
    "GroundTruth",
    "Incident",
    "IncidentEvent",
    "MonitoringConfig",
    "NotificationAttempt",
    "NotificationDelivery",
    "NotificationEndpoint",
    "NotificationRoute",
    "PredictionFlag",
    "RetrainingRun",
]
