"""Reviews listen to the registry: a changed card can make approvals stale."""

from __future__ import annotations

from typing import Any

from django.dispatch import receiver

from governance.signals import policy_changed
from models_registry.models import ModelVersion
from models_registry.signals import card_changed
from reviews.models import PromotionRequest
from reviews.services import promotion_requests_reevaluate


@receiver(card_changed)
def reevaluate_on_card_change(sender: Any, version: Any, revision: Any, **kwargs: Any) -> None:
    promotion_requests_reevaluate(
        version=version, reason=f"card revision {revision.revision}: earlier approvals are stale"
    )


@receiver(policy_changed)
def reevaluate_on_policy_change(sender: Any, policy: Any, **kwargs: Any) -> None:
    """Every open request, not only those of models now in `policy`'s tier: a request is
    decided under the strictest tier its model has had while it was open (reviews.policy)."""
    for version in ModelVersion.objects.filter(
        promotion_requests__status__in=PromotionRequest.OPEN_STATUSES,
    ).distinct():
        promotion_requests_reevaluate(version=version, reason="approval policy changed")
