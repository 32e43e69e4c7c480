"""Business KPIs and business-impact reviews over the API."""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from rest_framework import serializers

from governance.api.serializers import StrictInputSerializer
from reviews.impact_models import BusinessImpactReview, BusinessKpi, KpiValue
from reviews.kpis import MAX_PERIODS


class KpiPeriodSerializer(StrictInputSerializer):
    """One period as the API documents it (reviews.kpis checks it and names bad ones)."""

    start = serializers.DateField(help_text="First day of the period (UTC), YYYY-MM-DD.")
    end = serializers.DateField(
        help_text="Last day, inclusive; at most 366 days after start, not in the future."
    )
    value = serializers.FloatField(help_text="A finite number, in the KPI's unit.")


class KpiPeriodsField(serializers.ListField):
    """The periods as sent: the service checks each one and names bad ones by index."""


class KpiPeriodsScheme(OpenApiSerializerFieldExtension):
    """An array of KpiPeriod, 1 to MAX_PERIODS of them."""

    target_class = KpiPeriodsField

    def map_serializer_field(self, auto_schema: Any, direction: str) -> dict[str, Any]:
        period = auto_schema.resolve_serializer(KpiPeriodSerializer, direction)
        return {"type": "array", "items": period.ref, "minItems": 1, "maxItems": MAX_PERIODS}


class KpiUploadSerializer(StrictInputSerializer):
    name = serializers.CharField(max_length=100, help_text="e.g. monthly_churn_rate.")
    unit = serializers.CharField(
        required=False, allow_blank=True, max_length=50, help_text="e.g. %, EUR, customers."
    )
    direction = serializers.ChoiceField(
        choices=BusinessKpi.Direction.choices,
        required=False,
        help_text="Which way is better; required when the KPI is new. An existing KPI's unit "
        "and direction are changed in the admin: sending others is a 400.",
    )
    description = serializers.CharField(required=False, allow_blank=True, max_length=2000)
    periods = KpiPeriodsField(
        allow_empty=False,
        max_length=MAX_PERIODS,
        help_text="A period equal to a stored one corrects its value; periods of one KPI "
        "may not overlap.",
    )


class KpiValueSerializer(serializers.ModelSerializer):
    start = serializers.DateField(source="period_start")
    end = serializers.DateField(source="period_end")
    recorded_by = serializers.CharField(source="recorded_by.username")

    class Meta:
        model = KpiValue
        fields = ["start", "end", "value", "recorded_by", "recorded_at"]


class KpiSerializer(serializers.ModelSerializer):
    model = serializers.CharField(source="model.name")
    values = KpiValueSerializer(many=True)

    class Meta:
        model = BusinessKpi
        fields = ["id", "model", "name", "unit", "direction", "description", "values"]


class KpiReceiptSerializer(serializers.Serializer):
    kpi = KpiSerializer()
    created = serializers.IntegerField(help_text="Periods stored for the first time.")
    updated = serializers.IntegerField(help_text="Stored periods whose value was corrected.")
    unchanged = serializers.IntegerField(help_text="Periods sent again with the same value.")


class ImpactReviewSerializer(serializers.ModelSerializer):
    model = serializers.CharField(source="model.name")
    version = serializers.IntegerField(source="version.version")
    deployment_event = serializers.IntegerField(source="deployment_event_id")
    reviewed_by = serializers.CharField(
        source="reviewed_by.username", allow_null=True, default=None
    )

    class Meta:
        model = BusinessImpactReview
        fields = [
            "id",
            "model",
            "version",
            "deployment_event",
            "promoted_at",
            "due_on",
            "status",
            "notes",
            "reviewed_by",
            "reviewed_at",
        ]


class ImpactReviewCompleteSerializer(StrictInputSerializer):
    notes = serializers.CharField(max_length=10_000, help_text="What the review found.")
