"""Retraining runs in and out (the contract's `retraining-runs`)."""

from __future__ import annotations

from rest_framework import serializers

from governance.api.serializers import StrictInputSerializer
from monitoring.api.check_serializers import AwareDateTimeField
from monitoring.models import RetrainingRun


class RetrainingRequestSerializer(StrictInputSerializer):
    version = serializers.IntegerField(
        min_value=1,
        max_value=2**31 - 1,
        required=False,
        help_text="The production version to clone (default: whichever is in production).",
    )
    window_start = AwareDateTimeField(
        required=False, help_text="Default: window_end minus RETRAINING_WINDOW_HOURS (168)."
    )
    window_end = AwareDateTimeField(required=False, help_text="Default: now.")
    incident = serializers.IntegerField(
        min_value=1, max_value=2**31 - 1, required=False, help_text="The incident it answers."
    )


class RetrainingQueuedSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.ChoiceField(choices=RetrainingRun.Status.choices)


class RetrainingRunSerializer(serializers.ModelSerializer):
    model = serializers.CharField(source="model.name")
    base_version = serializers.IntegerField(source="base_version.version")
    version = serializers.IntegerField(
        source="candidate_version.version",
        allow_null=True,
        default=None,
        help_text="The registered candidate's number, when done.",
    )
    promotion_request = serializers.IntegerField(
        source="promotion_request_id",
        allow_null=True,
        help_text="The canary promotion request opened for the candidate.",
    )
    incident = serializers.IntegerField(source="incident_id", allow_null=True)
    alert = serializers.IntegerField(source="alert_id", allow_null=True)
    requested_by = serializers.CharField(
        source="requested_by.username", allow_null=True, default=None
    )

    class Meta:
        model = RetrainingRun
        fields = [
            "id",
            "model",
            "base_version",
            "status",
            "reason",
            "window_start",
            "window_end",
            "trigger",
            "incident",
            "alert",
            "requested_by",
            "labelled_rows",
            "reference_rows",
            "metrics",
            "mlflow_run_id",
            "version",
            "promotion_request",
            "queued_at",
            "started_at",
            "finished_at",
            "attempts",
        ]
