"""GET /api/v1/review-summaries/ (stored summaries), /{id}/, and /preview/ (any period,
rendered now, nothing stored): what a CI job fetches for the chapter's weekly pull request.
Read-only: whoever reads the registry."""

from __future__ import annotations

from django.db.models import QuerySet
from django.http import HttpResponse
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from governance.api.schema import errors
from governance.errors import InvalidInput
from reviews.api.summary_serializers import (
    ReviewSummaryDetailSerializer,
    ReviewSummarySerializer,
    SummaryFormatSerializer,
    SummaryPreviewSerializer,
    SummaryQuerySerializer,
)
from reviews.summary.period import summary_period
from reviews.summary.selectors import review_summary_get, review_summary_list
from reviews.summary.services import review_summary_build
from reviews.summary_models import ReviewSummary

MARKDOWN = "text/markdown; charset=utf-8"
MARKDOWN_RESPONSE = {(200, "text/markdown"): str}


def _query(request: Request, serializer_class: type[serializers.Serializer]) -> dict:
    """The query parameters, validated; a parameter given empty is a 400, not "default"."""
    empty = sorted(name for name, value in request.query_params.items() if value == "")
    if empty:
        raise InvalidInput(
            "Give a value or leave the parameter out.",
            extra={name: ["May not be empty."] for name in empty},
        )
    query = serializer_class(data=request.query_params)
    query.is_valid(raise_exception=True)
    return dict(query.validated_data)


def _markdown(text: str, filename: str) -> HttpResponse:
    response = HttpResponse(text, content_type=MARKDOWN)
    response["Content-Disposition"] = f'inline; filename="{filename}"'
    return response


class ReviewSummaryViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """Stored weekly review summaries, the latest period first."""

    serializer_class = ReviewSummarySerializer
    lookup_value_regex = r"[0-9]+"

    def get_queryset(self) -> QuerySet[ReviewSummary]:
        return review_summary_list()

    @extend_schema(
        parameters=[SummaryFormatSerializer],
        responses={200: ReviewSummaryDetailSerializer, **MARKDOWN_RESPONSE},
    )
    def retrieve(self, request: Request, pk: str) -> HttpResponse:
        """One stored summary with its Markdown and its sections; `?format=markdown` gives
        the Markdown alone."""
        query = _query(request, SummaryFormatSerializer)
        summary = review_summary_get(summary_id=int(pk))
        if query.get("format") == "markdown":
            return _markdown(summary.markdown, summary.filename)
        return Response(ReviewSummaryDetailSerializer(summary).data)

    @extend_schema(
        parameters=[SummaryQuerySerializer],
        responses={200: SummaryPreviewSerializer, **MARKDOWN_RESPONSE, **errors(400)},
    )
    @action(detail=False, methods=["get"], pagination_class=None)
    def preview(self, request: Request) -> HttpResponse:
        """The summary of the days from `since` to `until` (both included, UTC; until
        defaults to today) as it stands now, stored nowhere. `?format=markdown` gives the
        Markdown alone (what the weekly workflow commits)."""
        query = _query(request, SummaryQuerySerializer)
        period = summary_period(since=query["since"], until=query.get("until"))
        draft = review_summary_build(period=period)
        if query.get("format") == "markdown":
            return _markdown(draft.markdown, f"review-summary-{period.since}-to-{period.until}.md")
        return Response(SummaryPreviewSerializer(draft).data)
