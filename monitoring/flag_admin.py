"""Flags as compliance officers read them: read-only, filtered by status, reason, model and
time.

Nothing here changes a flag (people raise them through the API and close them there with
monitoring.services.flag_close; comments are erased by flag_comments_erase); no history
model holds them, so an erased comment is gone everywhere. Who closed a flag, when and why
is on the flag and in the audit trail (`flag.resolved`, `flag.dismissed`).
"""

from __future__ import annotations

from django.contrib import admin

from governance.admin import ReadOnlyAdminMixin
from monitoring.models import PredictionFlag


@admin.register(PredictionFlag)
class PredictionFlagAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = [
        "request_id",
        "model",
        "version",
        "reason",
        "status",
        "flagged_by",
        "created_at",
        "resolved_by",
    ]
    list_filter = [
        "status",
        "reason",
        ("model", admin.RelatedOnlyFieldListFilter),
        ("flagged_by", admin.RelatedOnlyFieldListFilter),
        ("comment_erased_at", admin.EmptyFieldListFilter),
    ]
    search_fields = ["request_id"]
    list_select_related = ["model", "version", "flagged_by", "resolved_by"]
    date_hierarchy = "created_at"
    fields = [
        "model",
        "version",
        "request_id",
        "reason",
        "comment",
        "flagged_by",
        "created_at",
        "comment_erased_at",
        "status",
        "resolved_by",
        "resolved_at",
        "resolution_note",
    ]
    readonly_fields = fields
    show_full_result_count = False
