"""Review summaries over the API: the stored ones and a preview of any period."""

from __future__ import annotations

from rest_framework import serializers

from reviews.summary.period import MAX_DAYS
from reviews.summary_models import ReviewSummary

FORMATS = ("json", "markdown")


class SummaryQuerySerializer(serializers.Serializer):
    since = serializers.DateField(help_text="The first day covered (UTC), YYYY-MM-DD.")
    until = serializers.DateField(
        required=False,
        help_text=f"The last day covered, included; default today, never after it. At most "
        f"{MAX_DAYS} days after since.",
    )
    format = serializers.ChoiceField(
        choices=FORMATS, required=False, help_text="json (default) or markdown (text/markdown)."
    )


class SummaryFormatSerializer(serializers.Serializer):
    format = serializers.ChoiceField(
        choices=FORMATS, required=False, help_text="json (default) or markdown (text/markdown)."
    )


class SummaryEntrySerializer(serializers.Serializer):
    text = serializers.CharField()
    label = serializers.CharField(allow_blank=True, help_text="Link text; may be empty.")
    url = serializers.CharField(
        allow_blank=True, help_text="What the entry concerns; may be empty."
    )


class SummarySectionSerializer(serializers.Serializer):
    key = serializers.CharField(help_text="e.g. promotions, pending_requests, revalidations.")
    title = serializers.CharField()
    entries = SummaryEntrySerializer(many=True)
    empty = serializers.CharField(help_text="What the section says when it has no entries.")


class ReviewSummarySerializer(serializers.ModelSerializer):
    since = serializers.DateField(source="period_start")
    until = serializers.DateField(source="period_end", help_text="Included.")
    emailed = serializers.IntegerField(
        source="emailed_count",
        read_only=True,
        help_text="Board members it was e-mailed to (their addresses stay in the admin).",
    )
    created_by = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True, help_text="None: the weekly task."
    )

    class Meta:
        model = ReviewSummary
        fields = ["id", "since", "until", "created_at", "created_by", "origin", "emailed"]
        read_only_fields = fields


class ReviewSummaryDetailSerializer(ReviewSummarySerializer):
    sections = SummarySectionSerializer(many=True)

    class Meta(ReviewSummarySerializer.Meta):
        fields = [*ReviewSummarySerializer.Meta.fields, "markdown", "sections"]
        read_only_fields = fields


class SummaryPreviewSerializer(serializers.Serializer):
    since = serializers.DateField(source="period.since")
    until = serializers.DateField(source="period.until")
    start = serializers.DateTimeField(source="period.start")
    end = serializers.DateTimeField(
        source="period.end", help_text="Midnight after until, or now if earlier."
    )
    markdown = serializers.CharField()
    sections = SummarySectionSerializer(many=True)
