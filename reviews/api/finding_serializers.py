"""Findings and validations over the API: what they answer and what they accept."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from governance.api.serializers import StrictInputSerializer, text_field
from reviews.evidence_links import MAX_LINK_LENGTH, MAX_LINKS
from reviews.finding_assignment import MAX_REASON
from reviews.finding_models import Finding, FindingEvent
from reviews.revalidation_models import Validation
from reviews.revalidation_schedule import RevalidationStatus

TEXT = 10000


class FindingEventSerializer(serializers.ModelSerializer):
    actor = serializers.CharField(source="actor.username", allow_null=True, default=None)

    class Meta:
        model = FindingEvent
        fields = [
            "id",
            "kind",
            "from_status",
            "to_status",
            "message",
            "links",
            "data",
            "actor",
            "occurred_at",
        ]


class FindingSerializer(serializers.ModelSerializer):
    model = serializers.CharField(source="model.name")
    version = serializers.IntegerField(source="version.version", allow_null=True, default=None)
    validation = serializers.IntegerField(source="validation_id", allow_null=True)
    owner = serializers.CharField(source="owner.username", allow_null=True, default=None)
    raised_by = serializers.CharField(source="raised_by.username")
    remediated_by = serializers.CharField(
        source="remediated_by.username", allow_null=True, default=None
    )
    overdue = serializers.BooleanField(
        source="is_overdue", help_text="Not settled and past its due date."
    )

    class Meta:
        model = Finding
        fields = [
            "id",
            "model",
            "version",
            "validation",
            "title",
            "description",
            "severity",
            "status",
            "owner",
            "due_date",
            "overdue",
            "links",
            "raised_by",
            "raised_at",
            "remediated_by",
            "closed_at",
        ]


class FindingDetailSerializer(FindingSerializer):
    evidence = serializers.SerializerMethodField()
    timeline = FindingEventSerializer(many=True)

    class Meta(FindingSerializer.Meta):
        fields = [*FindingSerializer.Meta.fields, "evidence", "timeline"]

    @extend_schema_field(FindingEventSerializer(many=True))
    def get_evidence(self, obj: Finding) -> list[dict[str, Any]]:
        """The remediation evidence: the timeline's evidence entries."""
        entries = [e for e in obj.timeline.all() if e.kind == FindingEvent.Kind.EVIDENCE]
        return FindingEventSerializer(entries, many=True).data


def _links() -> serializers.ListField:
    return serializers.ListField(
        child=serializers.CharField(max_length=MAX_LINK_LENGTH),
        max_length=MAX_LINKS,
        required=False,
        default=list,
        help_text="http or https URLs.",
    )


class FindingFieldsSerializer(StrictInputSerializer):
    """A finding's own fields, as raised alone or with a validation."""

    title = serializers.CharField(max_length=200)
    description = serializers.CharField(max_length=TEXT)
    severity = serializers.ChoiceField(choices=Finding.Severity.choices)
    owner = serializers.CharField(
        max_length=150,
        required=False,
        allow_null=True,
        default=None,
        help_text="A username; default the model's owner (if they work on findings).",
    )
    due_date = serializers.DateField(required=False, allow_null=True, default=None)
    links = _links()


class FindingCreateSerializer(FindingFieldsSerializer):
    model = serializers.SlugField(max_length=100)
    version = serializers.IntegerField(min_value=1, required=False, allow_null=True, default=None)
    validation = serializers.IntegerField(
        min_value=1,
        required=False,
        allow_null=True,
        default=None,
        help_text="The validation (of the same model) that raised it.",
    )


class FindingStatusSerializer(StrictInputSerializer):
    status = serializers.ChoiceField(choices=Finding.Status.choices)
    comment = serializers.CharField(
        max_length=TEXT,
        required=False,
        allow_blank=True,
        default="",
        help_text="Required to accept the risk, to close, and to reopen.",
    )
    evidence = serializers.CharField(
        max_length=TEXT,
        required=False,
        allow_blank=True,
        default="",
        help_text="Remediation evidence recorded with the step (remediated needs some).",
    )
    links = _links()


class FindingEvidenceSerializer(StrictInputSerializer):
    evidence = serializers.CharField(max_length=TEXT)
    links = _links()


class FindingAssignSerializer(StrictInputSerializer):
    """A new owner and/or due date, and why; read whole (the reason is always required)."""

    required_when_patched = True

    owner = serializers.CharField(
        max_length=150,
        required=False,
        help_text="Username of an active user who works on findings.",
    )
    due_date = serializers.DateField(required=False, help_text="Not in the past.")
    reason = text_field(limit=MAX_REASON, help_text="Why the owner or due date changes.")


class ValidationSerializer(serializers.ModelSerializer):
    model = serializers.CharField(source="model.name")
    version = serializers.IntegerField(source="version.version", allow_null=True, default=None)
    validated_by = serializers.CharField(source="validated_by.username")
    findings = serializers.SerializerMethodField()

    class Meta:
        model = Validation
        fields = [
            "id",
            "model",
            "version",
            "validated_by",
            "validated_on",
            "scope",
            "outcome",
            "evidence",
            "links",
            "recorded_at",
            "findings",
        ]

    @extend_schema_field(serializers.ListField(child=serializers.IntegerField()))
    def get_findings(self, obj: Validation) -> list[int]:
        """Ids of the findings it raised."""
        return [finding.pk for finding in obj.findings.all()]


class ValidationCreateSerializer(StrictInputSerializer):
    version = serializers.IntegerField(min_value=1, required=False, allow_null=True, default=None)
    scope = serializers.CharField(max_length=TEXT, help_text="What was checked.")
    outcome = serializers.ChoiceField(choices=Validation.Outcome.choices)
    validated_on = serializers.DateField(
        required=False, allow_null=True, default=None, help_text="Default today; not in the future."
    )
    evidence = serializers.CharField(max_length=TEXT, required=False, allow_blank=True, default="")
    links = _links()
    findings = FindingFieldsSerializer(
        many=True,
        required=False,
        default=list,
        max_length=50,
        help_text="Raised with the validation (passed_with_findings or failed only).",
    )


class RevalidationSerializer(serializers.Serializer):
    model = serializers.CharField(source="model.name")
    risk_tier = serializers.CharField()
    materiality = serializers.CharField()
    risk_level = serializers.CharField(help_text="The stricter of risk tier and materiality.")
    interval_months = serializers.IntegerField()
    last_validated_on = serializers.DateField(allow_null=True)
    registered_on = serializers.DateField()
    due_date = serializers.DateField()
    status = serializers.ChoiceField(choices=RevalidationStatus.choices)
    days_overdue = serializers.IntegerField()
    days_until_due = serializers.IntegerField(help_text="Negative once overdue.")
    last_outcome = serializers.ChoiceField(choices=Validation.Outcome.choices, allow_null=True)


class RevalidationListSerializer(serializers.Serializer):
    as_of = serializers.DateField()
    within_days = serializers.IntegerField()
    count = serializers.IntegerField()
    results = RevalidationSerializer(many=True)


class RevalidationQuerySerializer(serializers.Serializer):
    status = serializers.ChoiceField(
        choices=[RevalidationStatus.DUE, RevalidationStatus.OVERDUE],
        required=False,
        help_text="due: due within the window, not yet overdue; overdue: past the due date. "
        "Default both.",
    )
    within_days = serializers.IntegerField(min_value=0, max_value=3660, default=30)
    as_of = serializers.DateField(required=False, help_text="Default today.")
