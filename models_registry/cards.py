"""Model cards: built from a version's facts, stored as immutable revisions, hashed.

The card is generated, never typed in: the registered version and its MLflow run, the
reference-data analysis (SHAP importance, per-group metrics), the text people write
(limitations, ethical considerations), and sections that higher layers contribute through
`register_card_section` (approvals from reviews, monitoring status from monitoring).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from django.db import transaction

from governance.locking import retry_on_lock_conflict
from governance.services import canonical_json, sha256_hex
from models_registry.locking import lock_version_for_change
from models_registry.models import ModelCardRevision, ModelVersion, VersionAnalysis
from models_registry.signals import card_changed

CARD_SCHEMA = "governance.model-card/1"
GENERATOR = "model-governance card generator 1"

# name -> function(version) -> (section content, newest timestamp it holds, or None)
CardSection = Callable[[ModelVersion], tuple[Any, str | None]]
_SECTIONS: dict[str, CardSection] = {}


def register_card_section(name: str, build: CardSection) -> None:
    """Let a higher layer add a section (called from its AppConfig.ready)."""
    _SECTIONS[name] = build


def _analysis(version: ModelVersion) -> VersionAnalysis | None:
    return version.analyses.select_related("reference_dataset").first()


def _training(version: ModelVersion) -> dict[str, Any]:
    run = version.run_facts or {}
    logged = run.get("logged_model") or {}
    return {
        "git_commit": version.git_commit,
        "datasets": run.get("datasets", []),
        "mlflow_run": {
            "id": version.mlflow_run_id,
            "name": run.get("run_name", ""),
            "experiment": run.get("experiment_name", ""),
            "status": run.get("status", ""),
            "user": run.get("user", ""),
            "source": run.get("source", ""),
            "start_time": run.get("start_time"),
            "end_time": run.get("end_time"),
            "link": run.get("run_link", ""),
            "tags": run.get("tags", {}),
        }
        if version.mlflow_run_id
        else None,
        "metric_history": run.get("metric_history", {}),
        "model": {
            "uri": logged.get("model_uri") or version.artifact_uri,
            "flavors": logged.get("flavors", []),
            "signature": logged.get("signature"),
            "input_example": logged.get("input_example"),
            # Only where recorded: a card built before formats were recorded stays the same.
            **({"format": logged["format"]} if logged.get("format") else {}),
        },
    }


def _artifacts(run: dict[str, Any]) -> dict[str, Any]:
    """The run's artifact files (path -> size) and, under `model_files`, every file of its
    logged model with its SHA-256: what loading verifies, so signing the card signs them."""
    artifacts = dict(run.get("artifacts", {}))
    model_files = (run.get("logged_model") or {}).get("files")
    if model_files:
        artifacts["model_files"] = model_files
    return artifacts


def _evaluation_and_explainability(version: ModelVersion) -> tuple[dict, dict, list[str]]:
    analysis = _analysis(version)
    if analysis is None:
        reason = "No reference data uploaded yet."
        return {"reference_data": None}, {"status": "unavailable", "reason": reason}, []
    dataset = analysis.reference_dataset
    evaluation = {
        "reference_data": {
            "file": dataset.original_name,
            "rows": dataset.rows,
            "sha256": dataset.sha256,
            "label_column": dataset.label_column,
            "protected_columns": dataset.protected_columns,
        },
        "overall": analysis.overall_metrics,
        "per_group": analysis.group_metrics,
    }
    if analysis.status == VersionAnalysis.Status.DONE and analysis.global_importance:
        explainability = {
            "status": "available",
            "method": analysis.explainer,
            "sample_rows": analysis.sample_rows,
            "global_importance": analysis.global_importance,
        }
    else:
        explainability = {"status": analysis.status, "reason": analysis.detail}
    stamps = [dataset.uploaded_at.isoformat(), analysis.computed_at.isoformat()]
    return evaluation, explainability, stamps


def card_build(*, version: ModelVersion) -> dict[str, Any]:
    """The card's content from the version's facts.

    Only facts that a sign-off vouches for go in: the stage, the deployment log and open
    requests do not, so a sign-off or a promotion never makes its own approvals stale.
    Timestamps come from the facts, never from the clock, so rebuilding is idempotent.
    """
    model = version.model
    run = version.run_facts or {}
    evaluation, explainability, stamps = _evaluation_and_explainability(version)
    stamps += [version.registered_at.isoformat(), run.get("end_time") or ""]
    card: dict[str, Any] = {
        "schema": CARD_SCHEMA,
        "model_name": model.name,
        "version": version.version,
        "run_id": version.mlflow_run_id or None,
        "parameters": version.params,
        "metrics": version.metrics,
        "artifacts": _artifacts(run),
        "model_details": {
            "name": model.name,
            "version": version.version,
            "description": model.description,
            "owner": model.owner.username,
            "risk_tier": model.risk_tier,
            "intended_use": model.intended_use,
            "out_of_scope_uses": model.out_of_scope_uses,
            "protected_attributes": list(model.protected_attributes),
            "registered_by": version.registered_by.username,
        },
        "training": _training(version),
        "evaluation": evaluation,
        "explainability": explainability,
        "limitations": version.limitations,
        "ethical_considerations": version.ethical_considerations,
    }
    for name, build in sorted(_SECTIONS.items()):
        content, newest = build(version)
        card[name] = content
        if newest:
            stamps.append(newest)
    card["metadata"] = {
        "created": run.get("start_time") or version.registered_at.isoformat(),
        "updated": max(s for s in stamps if s),
        "owner": model.owner.username,
        "generator": GENERATOR,
    }
    return json.loads(canonical_json(card))


def card_hash(content: dict[str, Any]) -> str:
    return sha256_hex(canonical_json(content))


@retry_on_lock_conflict
@transaction.atomic
def card_regenerate(*, version_id: int, reason: str = "") -> ModelCardRevision | None:
    """Rebuild the card; store a new revision only if its content changed. Idempotent.

    The model row is locked before the version (governance/locking.py): a new revision
    re-checks the version's open requests, which lock the model, version and request.
    """
    version = lock_version_for_change(version_id).version(version_id)
    content = card_build(version=version)
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
