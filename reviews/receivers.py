"""Reviews listen to the registry: a changed card can make approvals stale."""

from __future__ import annotations

from typing import Any

from django.dispatch import receiver

from models_registry.signals import card_changed
from reviews.services import promotion_requests_reevaluate


@receiver(card_changed)
def reevaluate_on_card_change(sender: Any, version: Any, revision: Any, **kwargs: Any) -> None:
    promotion_requests_reevaluate(
        version=version, reason=f"card revision {revision.revision}: earlier approvals are stale"
    )
