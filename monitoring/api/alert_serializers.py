"""Alerts as the contract shows them, and the bodies of acknowledge and silence."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.utils import timezone
from django.utils.dateparse import parse_datetime
from rest_framework import serializers

from governance.api.serializers import StrictInputSerializer
from monitoring.models import Alert


class AlertSerializer(serializers.ModelSerializer):
    """The contract's fields (id ... incident), then comparison, check_run and the state
    people gave it (acknowledged, silenced)."""

    model = serializers.CharField(source="model.name")
    version = serializers.IntegerField(source="version.version")
    status = serializers.SerializerMethodField(
        help_text="open | silenced | resolved; a silence whose time has passed is open."
    )
    incident = serializers.PrimaryKeyRelatedField(read_only=True, allow_null=True)
    check_run = serializers.PrimaryKeyRelatedField(read_only=True, allow_null=True)

    class Meta:
        model = Alert
        fields = [
            "id",
            "model",
            "version",
            "metric",
            "value",
            "threshold",
            "severity",
            "status",
            "count",
            "first_seen",
            "last_seen",
            "incident",
            "comparison",
            "check_run",
            "acknowledged_at",
            "silenced_until",
            "silence_reason",
        ]

    def get_status(self, alert: Alert) -> str:
        return alert.status_at(timezone.now())


class AlertDetailSerializer(AlertSerializer):
    rule = serializers.JSONField(help_text="The rule's definition as it fired.")
    acknowledged_by = serializers.CharField(
        source="acknowledged_by.username", allow_null=True, default=None
    )
    silenced_by = serializers.CharField(
        source="silenced_by.username", allow_null=True, default=None
    )

    class Meta(AlertSerializer.Meta):
        fields = [
            *AlertSerializer.Meta.fields,
            "rule",
            "rule_key",
            "clean_evaluations",
            "acknowledged_by",
            "silenced_by",
            "resolved_at",
        ]


class AlertCommentSerializer(StrictInputSerializer):
    comment = serializers.CharField(max_length=5000, required=False, allow_blank=True, default="")


class ZonedDateTimeField(serializers.DateTimeField):
    """An ISO 8601 date and time that names its time zone (no guess at the server's)."""

    default_error_messages = {
        **serializers.DateTimeField.default_error_messages,
        "zone": "An ISO 8601 date and time with a time zone (e.g. 2026-12-03T09:00:00Z).",
    }

    def to_internal_value(self, value: Any) -> datetime:
        try:
            parsed = parse_datetime(value) if isinstance(value, str) else None
        except ValueError:
            parsed = None
        if parsed is None or timezone.is_naive(parsed):
            self.fail("zone")
        return super().to_internal_value(value)


class AlertSilenceSerializer(StrictInputSerializer):
    until = ZonedDateTimeField(help_text="When the silence ends; in the future.")
    reason = serializers.CharField(max_length=5000, help_text="Why it is silenced.")
