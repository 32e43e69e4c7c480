"""Stored weekly review summaries in the admin: read-only, with their history."""

from __future__ import annotations

from django.contrib import admin

from governance.admin import GovernedHistoryAdmin, ReadOnlyAdminMixin
from reviews.summary_models import ReviewSummary


@admin.register(ReviewSummary)
class ReviewSummaryAdmin(ReadOnlyAdminMixin, GovernedHistoryAdmin):
    list_display = ["period_start", "period_end", "created_at", "origin", "created_by"]
    list_filter = ["origin"]
    search_fields = ["markdown", "created_by__username"]
    list_select_related = ["created_by"]
    date_hierarchy = "period_end"
    fields = [
        "period_start",
        "period_end",
        "created_at",
        "created_by",
        "origin",
        "emailed_to",
        "markdown",
    ]
    readonly_fields = fields
