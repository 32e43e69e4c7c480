"""Notifications: where alerts are sent (endpoints), which alerts go where (routes), and what
happened to each message (deliveries, and every attempt to send one).

Imported by monitoring/models.py, so Django finds the models in the monitoring app. The
receivers in monitoring/notify/receivers.py create deliveries when an alert fires or
resolves; the `monitoring.notification_deliver` task sends them
(monitoring/services/notifications.py).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from governance.history import governed_history
from models_registry.models import RegisteredModel
from monitoring.alert_models import Alert


class NotificationEndpoint(models.Model):
    """One place alerts are sent to: a list of e-mail addresses, or a webhook URL."""

    class Kind(models.TextChoices):
        EMAIL = "email", "E-mail"
        WEBHOOK = "webhook", "Webhook"

    class BodyFormat(models.TextChoices):
        JSON = "json", "JSON (the governance format)"
        SLACK = "slack", "Slack-compatible ({text, blocks})"

    name = models.CharField(max_length=100, unique=True)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    enabled = models.BooleanField(default=True)
    email_addresses = models.JSONField(
        default=list, blank=True, help_text="E-mail endpoints: the recipients."
    )
    url = models.URLField(max_length=1000, blank=True, help_text="Webhook endpoints: http(s).")
    # HMAC-SHA256 key of the webhook's signature header. Kept in plain text because signing
    # needs it; never shown (the admin field is write-only) and never copied into history.
    secret = models.CharField(max_length=200, blank=True)
    secret_set_at = models.DateTimeField(
        null=True, blank=True, help_text="When the webhook secret was last set (history shows it)."
    )
    body_format = models.CharField(
        max_length=16, choices=BodyFormat.choices, default=BodyFormat.JSON
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    history = governed_history(excluded_fields=["secret"])

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(kind="email") & Q(url="") & Q(secret=""))
                | (Q(kind="webhook") & ~Q(url="") & ~Q(secret="")),
                name="notification_endpoint_kind_fields",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.kind})"


class NotificationRoute(models.Model):
    """Alerts of one model (or of every model) at or above a severity go to an endpoint."""

    endpoint = models.ForeignKey(
        NotificationEndpoint, on_delete=models.CASCADE, related_name="routes"
    )
    model = models.ForeignKey(
        RegisteredModel,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="notification_routes",
        help_text="Empty: every model.",
    )
    min_severity = models.CharField(
        max_length=16, choices=Alert.Severity.choices, default=Alert.Severity.WARNING
    )
    created_at = models.DateTimeField(auto_now_add=True)

    history = governed_history()

    class Meta:
        ordering = ["endpoint__name", "model__name"]
        constraints = [
            models.UniqueConstraint(
                fields=["endpoint", "model"],
                condition=Q(model__isnull=False),
                name="one_route_per_endpoint_and_model",
            ),
            models.UniqueConstraint(
                fields=["endpoint"],
                condition=Q(model__isnull=True),
                name="one_all_models_route_per_endpoint",
            ),
        ]

    def __str__(self) -> str:
        scope = self.model.name if self.model_id else "every model"
        return f"{scope} ≥ {self.min_severity} → {self.endpoint.name}"


class NotificationDelivery(models.Model):
    """One message about one alert event to one endpoint, however many attempts it takes.

    Its id is the `X-Governance-Delivery` header of every attempt, so a receiver that sees
    a retry of a message it already handled can drop it.
    """

    class Event(models.TextChoices):
        FIRED = "fired", "Fired"
        RESOLVED = "resolved", "Resolved"

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        DELIVERED = "delivered", "Delivered"
        FAILED = "failed", "Failed (gave up)"

    endpoint = models.ForeignKey(
        NotificationEndpoint, on_delete=models.PROTECT, related_name="deliveries"
    )
    alert = models.ForeignKey(Alert, on_delete=models.PROTECT, related_name="deliveries")
    event = models.CharField(max_length=16, choices=Event.choices)
    severity = models.CharField(
        max_length=16, choices=Alert.Severity.choices, help_text="The alert's, when it fired."
    )
    status = models.CharField(
        max_length=16, choices=Status.choices, default=Status.PENDING, db_index=True
    )
    content = models.JSONField(
        help_text="The facts sent, taken when the event happened: every attempt sends the same."
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(
        null=True, blank=True, db_index=True, help_text="When the next attempt is due."
    )
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    attempts_before_resend = models.PositiveSmallIntegerField(
        default=0,
        help_text="Attempts made before it was last sent again: its current round of attempts "
        "is numbered after them.",
    )
    resent_at = models.DateTimeField(
        null=True, blank=True, help_text="When someone last asked to send it again."
    )
    resent_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "notification deliveries"
        constraints = [
            # The receivers may run twice for one event: it is still one message.
            models.UniqueConstraint(
                fields=["endpoint", "alert", "event", "severity"],
                name="one_delivery_per_endpoint_and_alert_event",
            ),
        ]

    def __str__(self) -> str:
        return (
            f"#{self.pk} alert #{self.alert_id} {self.event} → {self.endpoint_id} ({self.status})"
        )


class NotificationAttempt(models.Model):
    """One try at sending a delivery: what the other side answered and how long it took."""

    class Outcome(models.TextChoices):
        DELIVERED = "delivered", "Delivered"
        FAILED = "failed", "Failed"

    delivery = models.ForeignKey(
        NotificationDelivery, on_delete=models.CASCADE, related_name="attempt_records"
    )
    number = models.PositiveSmallIntegerField()
    outcome = models.CharField(max_length=16, choices=Outcome.choices)
    http_status = models.PositiveSmallIntegerField(null=True, blank=True)
    error = models.TextField(blank=True, help_text="SMTP or connection error, or why it failed.")
    response_excerpt = models.TextField(blank=True)
    duration_ms = models.FloatField()
    next_retry_at = models.DateTimeField(
        null=True, blank=True, help_text="When the next attempt was scheduled (none: no more)."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["delivery", "number"]
        constraints = [
            models.UniqueConstraint(
                fields=["delivery", "number"], name="one_attempt_record_per_number"
            ),
        ]

    def __str__(self) -> str:
        return f"delivery #{self.delivery_id} attempt {self.number}: {self.outcome}"
