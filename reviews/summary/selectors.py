"""Reads of stored review summaries, shared by the pages and the API."""

from __future__ import annotations

from django.db.models import QuerySet

from governance.errors import NotFound
from reviews.summary_models import ReviewSummary


def review_summary_list() -> QuerySet[ReviewSummary]:
    """Stored summaries, the latest period first."""
    return ReviewSummary.objects.select_related("created_by")


def review_summary_get(*, summary_id: int) -> ReviewSummary:
    try:
        return review_summary_list().get(pk=summary_id)
    except (ReviewSummary.DoesNotExist, ValueError, TypeError):
        raise NotFound(f"No review summary #{summary_id}.") from None
