"""Registry tasks: thin wrappers that load by id and call a service."""

from __future__ import annotations

from celery import shared_task

from governance.audit_context import Origin, acting_as
from models_registry.cards import card_regenerate


@shared_task(
    name="models_registry.card_generate", autoretry_for=(ConnectionError,), retry_backoff=True
)
def card_generate(version_id: int, reason: str = "") -> int | None:
    """Build a version's card; returns the new revision number, or None if nothing changed."""
    with acting_as(origin=Origin.TASK):
        revision = card_regenerate(version_id=version_id, reason=reason)
    return revision.revision if revision else None
