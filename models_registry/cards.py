"""Model cards: built from a version's facts, stored as immutable revisions, hashed."""

from __future__ import annotations

import json
from typing import Any

from django.db import transaction

from governance.services import canonical_json, sha256_hex
from models_registry.models import ModelCardRevision, ModelVersion
from models_registry.signals import card_changed

CARD_SCHEMA = "governance.model-card/1"


def card_build(*, version: ModelVersion) -> dict[str, Any]:
    """The card's content from the version's registered facts.

    Only facts that a sign-off vouches for go in: the stage and the deployment log do not,
    so promoting a version does not make its own approvals stale.
    """
    model = version.model
    return {
        "schema": CARD_SCHEMA,
        "model_details": {
            "name": model.name,
            "version": version.version,
            "description": model.description,
            "owner": model.owner.username,
            "risk_tier": model.risk_tier,
            "intended_use": model.intended_use,
            "out_of_scope_uses": model.out_of_scope_uses,
            "protected_attributes": list(model.protected_attributes),
        },
        "training": {
            "parameters": version.params,
            "git_commit": version.git_commit,
            "mlflow_run_id": version.mlflow_run_id,
            "artifact_uri": version.artifact_uri,
        },
        "evaluation": {"metrics": version.metrics},
        "metadata": {
            "registered_by": version.registered_by.username,
            "registered_at": version.registered_at.isoformat(),
        },
    }


def card_hash(content: dict[str, Any]) -> str:
    return sha256_hex(canonical_json(content))


@transaction.atomic
def card_regenerate(*, version_id: int, reason: str = "") -> ModelCardRevision | None:
    """Rebuild the card; store a new revision only if its content changed. Idempotent."""
    version = (
        ModelVersion.objects.select_for_update()
        .select_related("model__owner", "registered_by")
        .get(pk=version_id)
    )
    content = card_build(version=version)
    content = _json_roundtrip(content)
    digest = card_hash(content)
    latest = version.card_revisions.order_by("-revision").first()
    if latest is not None and latest.content_hash == digest:
        if version.card_status != ModelVersion.CardStatus.READY:
            version.card_status = ModelVersion.CardStatus.READY
            version.save(update_fields=["card_status"])
        return None
    revision = ModelCardRevision.objects.create(
        model_version=version,
        revision=(latest.revision + 1) if latest else 1,
        content=content,
        content_hash=digest,
        reason=reason[:200],
    )
    version.card_hash = digest
    version.card_status = ModelVersion.CardStatus.READY
    version._change_reason = f"card revision {revision.revision}: {reason}"[:100]
    version.save(update_fields=["card_hash", "card_status"])
    card_changed.send(sender=ModelVersion, version=version, revision=revision)
    return revision


def _json_roundtrip(content: dict[str, Any]) -> dict[str, Any]:
    """What the JSON column will hand back, so the stored content hashes the same."""
    return json.loads(canonical_json(content))
