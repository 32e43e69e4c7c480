"""The approvals section of model cards, contributed by reviews to the registry's cards."""

from __future__ import annotations

from typing import Any

from models_registry.models import ModelVersion
from reviews.models import PromotionRequest

CLOSED = (
    PromotionRequest.Status.EXECUTED,
    PromotionRequest.Status.REJECTED,
    PromotionRequest.Status.WITHDRAWN,
)


def approvals_section(version: ModelVersion) -> tuple[list[dict[str, Any]], str | None]:
    """Decided requests and their sign-offs.

    Open requests stay out: a sign-off must never change the card it is bound to, or each
    approval would make the previous ones stale.
    """
    requests = (
        version.promotion_requests.filter(status__in=CLOSED)
        .select_related("requested_by", "executed_by")
        .prefetch_related("sign_offs__signer")
        .order_by("created_at", "id")
    )
    section = []
    newest: str | None = None
    for request in requests:
        decided = request.executed_at or request.decided_at
        stamp = decided.isoformat() if decided else None
        newest = max(filter(None, [newest, stamp]), default=None)
        section.append(
            {
                "request": request.pk,
                "status": request.status,
                "strategy": request.strategy,
                "justification": request.justification,
                "requested_by": request.requested_by.username,
                "decided_at": request.decided_at.isoformat() if request.decided_at else None,
                "executed_at": request.executed_at.isoformat() if request.executed_at else None,
                "sign_offs": [
                    {
                        "signer": sign_off.signer.username,
                        "roles": sign_off.signer_roles,
                        "decision": sign_off.decision,
                        "comment": sign_off.comment,
                        "signed_at": sign_off.signed_at.isoformat(),
                        "card_hash": sign_off.card_hash,
                    }
                    for sign_off in request.sign_offs.all()
                ],
            }
        )
    return section, newest
