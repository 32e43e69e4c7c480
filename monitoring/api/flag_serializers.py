"""Flags over the API: what a caller sends, and a flag as it is read back."""

from __future__ import annotations

from rest_framework import serializers

from governance.api.serializers import StrictInputSerializer
from monitoring.models import PredictionFlag
from monitoring.services.flags import MAX_COMMENT, MAX_NOTE


class FlagCreateSerializer(StrictInputSerializer):
    request_id = serializers.CharField(
        max_length=100, help_text="The request_id predict, explain or the log answered with."
    )
    reason = serializers.ChoiceField(choices=PredictionFlag.Reason.choices)
    comment = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=MAX_COMMENT,
        default="",
        help_text="Optional; may hold personal data, so it is erased with the prediction's.",
    )


class FlagResolveSerializer(StrictInputSerializer):
    note = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=MAX_NOTE,
        default="",
        help_text="Optional: what was done about it.",
    )


class FlagDismissSerializer(StrictInputSerializer):
    note = serializers.CharField(
        max_length=MAX_NOTE, help_text="Why nothing is to be done about the flag."
    )


class FlagSerializer(serializers.ModelSerializer):
    model = serializers.CharField(source="model.name")
    version = serializers.IntegerField(source="version.version")
    flagged_by = serializers.CharField(source="flagged_by.username")
    resolved_by = serializers.CharField(source="resolved_by.username", allow_null=True)
    comment_erased = serializers.SerializerMethodField()

    class Meta:
        model = PredictionFlag
        fields = [
            "id",
            "model",
            "version",
            "request_id",
            "reason",
            "comment",
            "comment_erased",
            "flagged_by",
            "created_at",
            "status",
            "resolved_by",
            "resolved_at",
            "resolution_note",
        ]

    def get_comment_erased(self, flag: PredictionFlag) -> bool:
        """True once the comment was erased with its prediction's personal data."""
        return flag.comment_erased_at is not None
