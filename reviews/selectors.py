"""Reads of requests and sign-offs shared by the API, pages and admin."""

from __future__ import annotations

from typing import Any

from django.db.models import Prefetch, QuerySet

from governance.errors import NotFound
from reviews.duties import requests_signable
from reviews.models import PromotionRequest, SignOff


def request_list() -> QuerySet[PromotionRequest]:
    return PromotionRequest.objects.select_related(
        "model_version__model__owner",
        "model_version__registered_by",
        "requested_by",
        "executed_by",
        "replaced_by",
    ).prefetch_related(Prefetch("sign_offs", queryset=SignOff.objects.select_related("signer")))


def request_get(*, request_id: int) -> PromotionRequest:
    try:
        return request_list().get(pk=request_id)
    except (PromotionRequest.DoesNotExist, ValueError, TypeError):
        raise NotFound(f"No promotion request #{request_id}.") from None


def requests_awaiting(*, user: Any) -> QuerySet[PromotionRequest]:
    """Open requests this user could sign now, oldest first: the signing rule of
    `reviews.duties` as a query, so the queue is counted and paged in the database."""
    return requests_signable(actor=user, requests=request_list()).order_by("created_at", "id")


# The review board's other reads, importable from here (documented in their modules).
from reviews.finding_selectors import finding_get, finding_list, findings_open  # noqa: E402
from reviews.revalidation_selectors import (  # noqa: E402
    revalidation_state,
    revalidation_states,
    revalidations_due,
    validation_list,
)

__all__ = [
    "finding_get",
    "finding_list",
    "findings_open",
    "request_get",
    "request_list",
    "requests_awaiting",
    "revalidation_state",
    "revalidation_states",
    "revalidations_due",
    "validation_list",
]
