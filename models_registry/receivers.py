"""The registry listens to itself: a deployment event rebuilds the cards it touched."""

from __future__ import annotations

from typing import Any

from django.dispatch import receiver

from models_registry.signals import deployment_changed


@receiver(deployment_changed)
def rebuild_cards_on_deployment(sender: Any, model: Any, event: Any, **kwargs: Any) -> None:
    from models_registry.tasks import card_generate

    for version_id in {event.version_id, event.previous_version_id} - {None}:
        card_generate.delay(version_id, f"deployment: {event.kind}")
