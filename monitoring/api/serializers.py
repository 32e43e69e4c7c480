from __future__ import annotations

from typing import Any

from django.urls import reverse
from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from rest_framework import serializers

from governance.api.serializers import StrictInputSerializer
from monitoring.canary import CheckStatus, Verdict
from monitoring.models import CheckReport, Incident, IncidentEvent

MAX_GROUND_TRUTH_RECORDS = 10_000


class GroundTruthRecordSerializer(StrictInputSerializer):
    """One record, as the API documents it (the service checks it)."""

    request_id = serializers.CharField(max_length=100)
    label = serializers.FloatField(help_text="A finite number; 0 or 1 for binary classifiers.")


class GroundTruthRecordsField(serializers.ListField):
    """The records as sent: monitoring.services checks each one and names bad ones by index."""


class GroundTruthRecordsScheme(OpenApiSerializerFieldExtension):
    """An array of GroundTruthRecord, 1 to MAX_GROUND_TRUTH_RECORDS of them."""

    target_class = GroundTruthRecordsField

    def map_serializer_field(self, auto_schema: Any, direction: str) -> dict[str, Any]:
        record = auto_schema.resolve_serializer(GroundTruthRecordSerializer, direction)
        return {
            "type": "array",
            "items": record.ref,
            "minItems": 1,
            "maxItems": MAX_GROUND_TRUTH_RECORDS,
        }


class GroundTruthUploadSerializer(StrictInputSerializer):
    records = GroundTruthRecordsField(
        allow_empty=False,
        max_length=MAX_GROUND_TRUTH_RECORDS,
        help_text="A label sent again for a request_id replaces the earlier one.",
    )


class GroundTruthReceiptSerializer(serializers.Serializer):
    accepted = serializers.IntegerField()
    created = serializers.IntegerField(help_text="Request ids labelled for the first time.")
    updated = serializers.IntegerField(help_text="Request ids whose earlier label was replaced.")
    unmatched = serializers.IntegerField(
        help_text="Request ids not (yet) in the model's inference log."
    )


class IncidentEventSerializer(serializers.ModelSerializer):
    actor = serializers.CharField(source="actor.username", allow_null=True, default=None)

    class Meta:
        model = IncidentEvent
        fields = ["id", "kind", "message", "actor", "occurred_at", "data"]


class IncidentSerializer(serializers.ModelSerializer):
    model = serializers.CharField(source="model.name")
    version = serializers.IntegerField(source="version.version", allow_null=True, default=None)
    owner = serializers.CharField(source="owner.username", allow_null=True, default=None)
    report_deadline = serializers.DateTimeField(
        source="report_due",
        allow_null=True,
        help_text="Serious incidents: aware_at plus 15, 10 or 2 days (EU AI Act Art. 73).",
    )
    time_left_seconds = serializers.SerializerMethodField(
        help_text="Until the report is due; negative once overdue; null unless serious and "
        "not reported yet."
    )
    overdue = serializers.SerializerMethodField(
        help_text="Serious, past the deadline and not reported (closing does not count)."
    )
    reported_by = serializers.CharField(
        source="reported_by.username",
        allow_null=True,
        default=None,
        help_text="Who recorded the report; null for one recorded by closing before 0010.",
    )

    class Meta:
        model = Incident
        fields = [
            "id",
            "model",
            "version",
            "severity",
            "status",
            "source",
            "title",
            "description",
            "details",
            "opened_at",
            "resolved_at",
            "closed_at",
            "owner",
            "serious",
            "serious_kind",
            "serious_reason",
            "aware_at",
            "report_deadline",
            "time_left_seconds",
            "overdue",
            "reported_at",
            "reported_by",
            "report_reference",
        ]

    def get_time_left_seconds(self, incident: Incident) -> int | None:
        left = incident.time_left()
        return None if left is None else int(left.total_seconds())

    def get_overdue(self, incident: Incident) -> bool:
        return incident.is_overdue()


class IncidentAlertSerializer(serializers.Serializer):
    """The alerts that opened or joined the incident (monitoring.alert_models.Alert)."""

    id = serializers.IntegerField()
    version = serializers.IntegerField(source="version.version")
    metric = serializers.CharField()
    value = serializers.FloatField(allow_null=True)
    threshold = serializers.FloatField()
    comparison = serializers.CharField()
    severity = serializers.CharField()
    status = serializers.CharField()
    count = serializers.IntegerField()
    first_seen = serializers.DateTimeField()
    last_seen = serializers.DateTimeField()


class IncidentDetailSerializer(IncidentSerializer):
    timeline = IncidentEventSerializer(many=True)
    alerts = IncidentAlertSerializer(many=True)

    class Meta(IncidentSerializer.Meta):
        fields = [*IncidentSerializer.Meta.fields, "alerts", "timeline"]


class IncidentCommentSerializer(StrictInputSerializer):
    comment = serializers.CharField(max_length=5000, required=False, allow_blank=True, default="")


class IncidentResolveSerializer(IncidentCommentSerializer):
    comment = serializers.CharField(max_length=5000, help_text="What was done to resolve it.")


class IncidentNoteSerializer(IncidentCommentSerializer):
    comment = serializers.CharField(max_length=5000)


class IncidentAssignSerializer(IncidentCommentSerializer):
    owner = serializers.CharField(
        max_length=150, allow_null=True, help_text="A username, or null to unassign."
    )


class IncidentStatusSerializer(IncidentCommentSerializer):
    status = serializers.ChoiceField(choices=Incident.Status.choices)
    comment = serializers.CharField(
        max_length=5000,
        required=False,
        allow_blank=True,
        default="",
        help_text="Required to close (what was done) and to reopen (why).",
    )


class IncidentFlagSeriousSerializer(StrictInputSerializer):
    kind = serializers.ChoiceField(
        choices=Incident.SeriousKind.choices,
        help_text="standard: 15 days; death: 10 days; widespread: 2 days (Art. 73).",
    )
    reason = serializers.CharField(max_length=5000)
    aware_at = serializers.DateTimeField(
        required=False, allow_null=True, default=None, help_text="Now unless given."
    )


class IncidentReportSerializer(StrictInputSerializer):
    reference = serializers.CharField(
        max_length=200, help_text="The authority's case number, or the submission's reference."
    )
    reported_at = serializers.DateTimeField(
        required=False,
        allow_null=True,
        default=None,
        help_text="When the report was made (now unless given; not before aware_at).",
    )
    comment = serializers.CharField(max_length=5000, required=False, allow_blank=True, default="")


class IncidentRollbackSerializer(StrictInputSerializer):
    comment = serializers.CharField(max_length=5000, help_text="Why you roll back.")
    from_version = serializers.IntegerField(
        min_value=1,
        required=False,
        allow_null=True,
        default=None,
        help_text="The production version you saw; 409 if it changed meanwhile.",
    )


class SlotSerializer(serializers.Serializer):
    version = serializers.IntegerField()
    requests = serializers.IntegerField()
    errors = serializers.IntegerField()
    error_rate = serializers.FloatField(allow_null=True)
    p95_latency_ms = serializers.FloatField(allow_null=True)
    labelled = serializers.IntegerField()
    binary_labels = serializers.BooleanField()
    accuracy = serializers.FloatField(allow_null=True)


class GateCheckSerializer(serializers.Serializer):
    gate = serializers.CharField(help_text="error_rate, latency, quality, fairness, or the metric.")
    status = serializers.ChoiceField(choices=CheckStatus.choices)
    value = serializers.FloatField(
        allow_null=True, help_text="What was compared with the threshold."
    )
    threshold = serializers.FloatField()
    detail = serializers.CharField()
    metric = serializers.CharField()
    comparison = serializers.CharField()
    relative = serializers.CharField(
        allow_null=True, help_text="difference (canary - production), ratio, or null."
    )
    measured = serializers.FloatField(allow_null=True, help_text="The canary's value.")
    baseline = serializers.FloatField(allow_null=True, help_text="Production's value.")
    severity = serializers.CharField()


class GroupRatesSerializer(serializers.Serializer):
    attribute = serializers.CharField()
    groups = serializers.DictField(
        child=serializers.DictField(), help_text='{"F": {"calls": 40, "positive_rate": 0.3}}'
    )
    gap = serializers.FloatField()
    highest = serializers.CharField()
    lowest = serializers.CharField()


class GatesSerializer(serializers.Serializer):
    configured = serializers.BooleanField(help_text="False: the defaults apply.")
    window_minutes = serializers.IntegerField()
    min_requests = serializers.IntegerField()
    rules = serializers.ListField(
        child=serializers.DictField(),
        help_text="The gates, rules of the engine: metric, comparison, threshold, relative, ...",
    )


class CanaryEvaluationSerializer(serializers.Serializer):
    """Serializes CanaryEvaluation.as_dict(), so the API and incident details agree."""

    model = serializers.CharField()
    canary_version = serializers.IntegerField()
    production_version = serializers.IntegerField(allow_null=True)
    canary_traffic = serializers.IntegerField()
    verdict = serializers.ChoiceField(choices=Verdict.choices)
    summary = serializers.CharField()
    failed_gates = serializers.ListField(child=serializers.CharField())
    window_start = serializers.DateTimeField()
    window_end = serializers.DateTimeField()
    canary = SlotSerializer()
    production = SlotSerializer(allow_null=True)
    checks = GateCheckSerializer(many=True)
    fairness = GroupRatesSerializer(many=True)
    gates = GatesSerializer()


class CheckReportRequestSerializer(StrictInputSerializer):
    """No fields: the check in the path says which report to render."""


class CheckReportSerializer(serializers.ModelSerializer):
    check_id = serializers.IntegerField(source="run_id", read_only=True)
    url = serializers.SerializerMethodField(help_text="The page serving the HTML once done.")

    class Meta:
        model = CheckReport
        fields = [
            "id",
            "check_id",
            "status",
            "sample_rows",
            "error",
            "requested_at",
            "finished_at",
            "url",
        ]

    def get_url(self, report: CheckReport) -> str:
        return reverse(
            "monitoring:check-report",
            kwargs={"name": report.run.model.name, "check_id": report.run_id},
        )
