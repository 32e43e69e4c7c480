"""Reads of requests and sign-offs shared by the API, pages and admin."""

from __future__ import annotations

from typing import Any

from django.db.models import Prefetch, QuerySet

from governance.errors import NotFound
from governance.roles import Capability, user_can
from reviews.models import PromotionRequest, SignOff


def request_list() -> QuerySet[PromotionRequest]:
    return PromotionRequest.objects.select_related(
        "model_version__model__owner",
        "model_version__registered_by",
        "requested_by",
        "executed_by",
    ).prefetch_related(Prefetch("sign_offs", queryset=SignOff.objects.select_related("signer")))


def request_get(*, request_id: int) -> PromotionRequest:
    try:
        return request_list().get(pk=request_id)
    except (PromotionRequest.DoesNotExist, ValueError, TypeError):
        raise NotFound(f"No promotion request #{request_id}.") from None


def requests_awaiting(*, user: Any) -> QuerySet[PromotionRequest]:
    """Open requests this user could sign now: not theirs, not yet signed by them."""
    if not user_can(user, Capability.SIGN_OFF):
        return PromotionRequest.objects.none()
    return (
        request_list()
        .filter(status__in=PromotionRequest.OPEN_STATUSES)
        .exclude(requested_by=user)
        .exclude(model_version__registered_by=user)
        .exclude(sign_offs__signer=user)
        .order_by("created_at", "id")
    )
