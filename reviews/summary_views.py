"""Browser pages of the weekly review summaries: the stored ones, one rendered from its
sections (the same data its Markdown was made from), and its Markdown as a download."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from governance.pages import page_requires
from governance.roles import Capability
from reviews.summary.selectors import review_summary_get, review_summary_list

LIST_LIMIT = 200


@page_requires(Capability.READ)
@require_GET
def summary_list(request: HttpRequest) -> HttpResponse:
    """Stored summaries, the latest period first."""
    return render(
        request,
        "reviews/summary_list.html",
        {"summaries": list(review_summary_list()[:LIST_LIMIT]), "limit": LIST_LIMIT},
    )


@page_requires(Capability.READ)
@require_GET
def summary_detail(request: HttpRequest, summary_id: int) -> HttpResponse:
    summary = review_summary_get(summary_id=summary_id)
    return render(request, "reviews/summary_detail.html", {"summary": summary})


@page_requires(Capability.READ)
@require_GET
def summary_download(request: HttpRequest, summary_id: int) -> HttpResponse:
    summary = review_summary_get(summary_id=summary_id)
    response = HttpResponse(summary.markdown, content_type="text/markdown; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{summary.filename}"'
    return response
