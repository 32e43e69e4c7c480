"""Registering models and versions, and keeping their facts (MLflow run, card text)."""

from __future__ import annotations

import dataclasses
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Max

from governance.errors import Conflict, InvalidInput, NotAllowed
from governance.history import set_change_reason
from governance.locking import retry_on_lock_conflict
from governance.roles import Capability, user_can
from governance.services import audit_record, require
from models_registry.locking import lock_model_for_change, lock_version_for_change
from models_registry.model_artifact import RecordedArtifact
from models_registry.models import ModelVersion, RegisteredModel

EDITABLE_MODEL_FIELDS = (
    "description",
    "risk_tier",
    "intended_use",
    "out_of_scope_uses",
    "protected_attributes",
    "tags",
)


def card_queue(version: ModelVersion, reason: str) -> None:
    """Rebuild the version's card once the current transaction commits."""
    from models_registry.tasks import card_generate

    # robust: a failing rebuild (run in-process in the embedded mode) is logged and must not
    # turn the already committed change into an error for its caller.
    transaction.on_commit(lambda: card_generate.delay(version.pk, reason), robust=True)


@transaction.atomic
def model_create(
    *,
    actor: Any,
    name: str,
    risk_tier: str,
    description: str = "",
    intended_use: str = "",
    out_of_scope_uses: str = "",
    protected_attributes: list[str] | None = None,
    tags: list[str] | None = None,
) -> RegisteredModel:
    require(actor, Capability.REGISTER, "register models")
    if RegisteredModel.objects.filter(name=name).exists():
        raise Conflict(f"A model named '{name}' already exists.")
    model = RegisteredModel(
        name=name,
        risk_tier=risk_tier,
        owner=actor,
        description=description,
        intended_use=intended_use,
        out_of_scope_uses=out_of_scope_uses,
        protected_attributes=protected_attributes or [],
        tags=tags or [],
    )
    set_change_reason(model, "registered")
    try:
        with transaction.atomic():
            model.save()
    except IntegrityError as exc:
        raise Conflict(f"A model named '{name}' already exists.") from exc
    audit_record(
        action="model.registered",
        object_type="model",
        object_id=name,
        data={"risk_tier": risk_tier},
    )
    return model


def _needed_to_change(field: str) -> tuple[Capability, str]:
    """The capability changing `field` takes, and the refusal naming the rule. The risk
    tier picks the approval policy, so only compliance officers change it; the descriptive
    fields are the registrants'."""
    if field == "risk_tier":
        return (
            Capability.CHANGE_RISK_TIER,
            "Only compliance officers change a model's risk tier: it decides which approval "
            "policy its promotions need.",
        )
    return Capability.REGISTER, f"Your roles do not allow you to edit a model's {field}."


@retry_on_lock_conflict
@transaction.atomic
def model_update(*, actor: Any, model: RegisteredModel, **changes: Any) -> RegisteredModel:
    """Edit a model's fields; its versions' cards are rebuilt from the new facts.

    Each changed field needs its own capability (a data scientist edits the description,
    only a compliance officer the risk tier); a field sent with its current value changes
    nothing and needs nothing. The audit event records every changed field's old and new
    value.
    """
    if not (user_can(actor, Capability.REGISTER) or user_can(actor, Capability.CHANGE_RISK_TIER)):
        raise NotAllowed("Your roles do not allow you to edit models.")
    unknown = set(changes) - set(EDITABLE_MODEL_FIELDS)
    if unknown:
        raise InvalidInput(f"Not editable: {', '.join(sorted(unknown))}.")
    model = lock_model_for_change(model.pk, live=False).model
    changed = {key: value for key, value in changes.items() if getattr(model, key) != value}
    for key in sorted(changed):
        capability, refusal = _needed_to_change(key)
        if not user_can(actor, capability):
            raise NotAllowed(refusal)
    if not changed:
        return model
    old = {key: getattr(model, key) for key in changed}
    for key, value in changed.items():
        setattr(model, key, value)
    set_change_reason(model, "edited: " + ", ".join(sorted(changed)))
    model.save()
    audit_record(
        action="model.edited",
        object_type="model",
        object_id=model.name,
        data={
            "fields": sorted(changed),
            "changes": {key: {"old": old[key], "new": changed[key]} for key in sorted(changed)},
        },
    )
    for version in model.versions.exclude(stage=ModelVersion.Stage.REJECTED):
        card_queue(version, "model details edited")
    return model


def version_register(
    *,
    actor: Any,
    model: RegisteredModel,
    metrics: dict[str, float] | None = None,
    params: dict[str, Any] | None = None,
    mlflow_run_id: str = "",
    artifact_uri: str = "",
    git_commit: str = "",
) -> ModelVersion:
    """Register the next version of `model` as a candidate and queue its card.

    With an MLflow run id, the run is read first (outside any transaction): its params,
    metrics, artifacts and metadata become the version's facts, and what the caller sent
    explicitly wins. An unknown run is a 400, an unreachable server a 503; a 400 too for a
    model whose format runs its author's code on load (unless ALLOW_UNSAFE_MODEL_FORMATS)
    or whose files cannot be read (it could never be checked, so never load); in each case
    nothing is stored.
    """
    require(actor, Capability.REGISTER, "register versions")
    declared = {"metrics": metrics or {}, "params": params or {}}
    fields: dict[str, Any] = {
        "metrics": metrics or {},
        "params": params or {},
        "mlflow_run_id": mlflow_run_id,
        "artifact_uri": artifact_uri,
        "git_commit": git_commit,
        "declared": declared,
        "run_facts": {},
    }
    if mlflow_run_id:
        fields.update(_from_run(mlflow_run_id, declared))
        _admit_model_format(fields["run_facts"])
        fields["git_commit"] = git_commit or fields["git_commit"]
        fields["artifact_uri"] = artifact_uri or fields["artifact_uri"]
    return _version_create(actor=actor, model=model, **fields)


def _from_run(
    run_id: str, declared: dict[str, Any], *, read_model_files: bool = True
) -> dict[str, Any]:
    """Version fields from an MLflow run (network I/O: call outside transactions)."""
    from models_registry import mlflow_adapter

    facts = mlflow_adapter.run_fetch(run_id, read_model_files=read_model_files)
    logged = facts.logged_model
    return {
        "run_facts": {**dataclasses.asdict(facts), "run_link": facts.run_link},
        "metrics": {**facts.metrics, **declared.get("metrics", {})},
        "params": {**facts.params, **declared.get("params", {})},
        "git_commit": facts.git_commit,
        "artifact_uri": logged.model_uri if logged else facts.artifact_uri,
    }


def _admit_model_format(run_facts: dict[str, Any]) -> None:
    """InvalidInput when the run's model would run its author's code on load."""
    recorded = RecordedArtifact.of(run_facts)
    if recorded is None or recorded.format is None or settings.ALLOW_UNSAFE_MODEL_FORMATS:
        return
    reason = recorded.format.unsafe_reason()
    if reason:
        message = (
            f"The run's model is refused: {reason}. Log scikit-learn models with skops "
            "(mlflow.sklearn.log_model(..., serialization_format='skops')); other formats "
            "need ALLOW_UNSAFE_MODEL_FORMATS (see SECURITY.md)."
        )
        raise InvalidInput(message, extra={"mlflow_run_id": [message]})


# Stages a version reaches only through an executed promotion: its bytes served people.
DEPLOYED_STAGES = (
    ModelVersion.Stage.PRODUCTION,
    ModelVersion.Stage.CANARY,
    ModelVersion.Stage.ARCHIVED,
)


def version_refresh_from_run(*, version_id: int, backfill_deployed: bool = False) -> bool:
    """Re-read the version's MLflow run (new metrics, tags, artifacts); True if it changed.

    The logged model recorded at registration stays as it was (its URI, files, digests,
    format): a refresh must never point an approved version at other bytes, so they are not
    even downloaded. A version registered before digests were recorded gets them now only
    while no promotion has deployed it (a later request's sign-offs cover them); a deployed
    one only with `backfill_deployed`, which the operator's `record_artifact_digests`
    command passes, on record: otherwise anyone who may regenerate a card could make
    whatever bytes MLflow holds today the trusted ones of a version the board never signs
    again. Conflict (409) when the files cannot be read or their format is refused.
    """
    from models_registry.mlflow_adapter import ModelFilesUnreadable

    version = ModelVersion.objects.get(pk=version_id)
    if not version.mlflow_run_id:
        return False
    recorded = (version.run_facts or {}).get("logged_model") or {}
    record_now = not recorded.get("files") and (
        backfill_deployed or version.stage not in DEPLOYED_STAGES
    )
    try:
        fresh = _from_run(
            version.mlflow_run_id, version.declared or {}, read_model_files=record_now
        )
    except ModelFilesUnreadable as error:
        raise Conflict(
            f"{version}: its model's files cannot be recorded. {error.detail}"
        ) from error
    if record_now:
        try:
            _admit_model_format(fresh["run_facts"])
        except InvalidInput as error:
            raise Conflict(f"{version}: {error.detail}") from error
    elif recorded:
        fresh["run_facts"]["logged_model"] = recorded
    return _version_apply_run(version_id=version_id, fresh=fresh)


@retry_on_lock_conflict
@transaction.atomic
def _version_apply_run(*, version_id: int, fresh: dict[str, Any]) -> bool:
    version = lock_version_for_change(version_id).version(version_id)
    updates = {
        key: fresh[key]
        for key in ("run_facts", "metrics", "params")
        if getattr(version, key) != fresh[key]
    }
    if not updates:
        return False
    for key, value in updates.items():
        setattr(version, key, value)
    set_change_reason(version, "refreshed from the MLflow run")
    version.save(update_fields=list(updates))
    return True


@retry_on_lock_conflict
@transaction.atomic
def _version_create(*, actor: Any, model: RegisteredModel, **fields: Any) -> ModelVersion:
    # The model row lock serializes numbering: concurrent registrations get 1, 2, 3 ...
    locked = lock_model_for_change(model.pk, live=False).model
    latest = locked.versions.aggregate(latest=Max("version"))["latest"] or 0
    version = ModelVersion(model=locked, version=latest + 1, registered_by=actor, **fields)
    set_change_reason(version, "registered")
    version.save()
    audit_record(
        action="version.registered",
        object_type="model_version",
        object_id=f"{locked.name}:{version.version}",
        data={"mlflow_run_id": fields["mlflow_run_id"], "git_commit": fields["git_commit"]},
    )
    card_queue(version, "registered")
    return version


@retry_on_lock_conflict
@transaction.atomic
def version_update_notes(
    *,
    actor: Any,
    version: ModelVersion,
    limitations: str | None = None,
    ethical_considerations: str | None = None,
) -> ModelVersion:
    """Edit the card's human-written fields; the card is rebuilt from them."""
    require(actor, Capability.EDIT_CARD, "edit model cards")
    version = lock_version_for_change(version.pk).version(version.pk)
    changed = []
    if limitations is not None and limitations != version.limitations:
        version.limitations = limitations
        changed.append("limitations")
    if (
        ethical_considerations is not None
        and ethical_considerations != version.ethical_considerations
    ):
        version.ethical_considerations = ethical_considerations
        changed.append("ethical_considerations")
    if not changed:
        return version
    set_change_reason(version, "edited: " + ", ".join(changed))
    version.save(update_fields=changed)
    audit_record(
        action="version.card_edited",
        object_type="model_version",
        object_id=f"{version.model.name}:{version.version}",
        data={"fields": changed},
    )
    card_queue(version, "edited " + ", ".join(changed))
    return version


@dataclasses.dataclass(frozen=True)
class CardRegeneration:
    queued: bool
    changed: bool = False


def card_regeneration_request(*, actor: Any, version: ModelVersion) -> CardRegeneration:
    """Someone asked for a fresh card: re-read the MLflow run, then rebuild.

    In-process in the embedded mode (the result is known at once), queued with a worker.
    """
    require(actor, Capability.REGISTER, "regenerate model cards")
    from models_registry.cards import card_regenerate
    from models_registry.tasks import card_generate

    reason = f"regeneration requested by {actor.username}"
    if not card_generate.app.conf.task_always_eager:
        card_generate.delay(version.pk, reason, refresh_run=True)
        return CardRegeneration(queued=True)
    version_refresh_from_run(version_id=version.pk)
    created = card_regenerate(version_id=version.pk, reason=reason)
    return CardRegeneration(queued=False, changed=created is not None)
