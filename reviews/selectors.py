"""Reads of requests and sign-offs shared by the API, pages and admin."""

from __future__ import annotations

from typing import Any

from django.db.models import Prefetch, QuerySet

from governance.errors import NotFound
from governance.roles import Capability, user_can
from reviews.duties import signoff_refusal
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


def requests_awaiting(
    *, user: Any, candidates: list[PromotionRequest] | None = None
) -> list[PromotionRequest]:
    """Open requests this user could sign now, oldest first: the queue asks the one rule
    (`reviews.duties.signoff_refusal`) about each, so it never lists one the user may not
    sign. A page that has read the open requests already (from `request_list`, oldest
    first) passes them as `candidates` instead of reading them twice."""
    if not user_can(user, Capability.SIGN_OFF):
        return []
    if candidates is None:
        candidates = list(
            request_list()
            .filter(status__in=PromotionRequest.OPEN_STATUSES)
            .exclude(sign_offs__signer=user)
            .order_by("created_at", "id")
        )
    return [r for r in candidates if signoff_refusal(actor=user, request=r) is None]


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
