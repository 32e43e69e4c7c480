"""Every change to the registry: models, versions and deployments (production, canary, rollback)."""

from __future__ import annotations

import dataclasses
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Max

from governance.errors import Conflict, InvalidInput
from governance.history import set_change_reason
from governance.roles import Capability
from governance.services import audit_record, require
from models_registry.models import DeploymentEvent, ModelVersion, RegisteredModel
from models_registry.signals import deployment_changed

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


@transaction.atomic
def model_update(*, actor: Any, model: RegisteredModel, **changes: Any) -> RegisteredModel:
    """Edit a model's descriptive fields; its versions' cards are rebuilt from the new facts."""
    require(actor, Capability.REGISTER, "edit models")
    unknown = set(changes) - set(EDITABLE_MODEL_FIELDS)
    if unknown:
        raise InvalidInput(f"Not editable: {', '.join(sorted(unknown))}.")
    model = RegisteredModel.objects.select_for_update().get(pk=model.pk)
    changed = {key: value for key, value in changes.items() if getattr(model, key) != value}
    if not changed:
        return model
    for key, value in changed.items():
        setattr(model, key, value)
    set_change_reason(model, "edited: " + ", ".join(sorted(changed)))
    model.save()
    audit_record(
        action="model.edited",
        object_type="model",
        object_id=model.name,
        data={"fields": sorted(changed)},
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
    explicitly wins. An unknown run is a 400, an unreachable server a 503, and in both
    cases nothing is stored.
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
        fields["git_commit"] = git_commit or fields["git_commit"]
        fields["artifact_uri"] = artifact_uri or fields["artifact_uri"]
    return _version_create(actor=actor, model=model, **fields)


def _from_run(run_id: str, declared: dict[str, Any]) -> dict[str, Any]:
    """Version fields from an MLflow run (network I/O: call outside transactions)."""
    from models_registry import mlflow_adapter

    facts = mlflow_adapter.run_fetch(run_id)
    logged = facts.logged_model
    return {
        "run_facts": {**dataclasses.asdict(facts), "run_link": facts.run_link},
        "metrics": {**facts.metrics, **declared.get("metrics", {})},
        "params": {**facts.params, **declared.get("params", {})},
        "git_commit": facts.git_commit,
        "artifact_uri": logged.model_uri if logged else facts.artifact_uri,
    }


def version_refresh_from_run(*, version_id: int) -> bool:
    """Re-read the version's MLflow run (new metrics, tags, artifacts); True if it changed."""
    version = ModelVersion.objects.get(pk=version_id)
    if not version.mlflow_run_id:
        return False
    fresh = _from_run(version.mlflow_run_id, version.declared or {})
    with transaction.atomic():
        version = ModelVersion.objects.select_for_update().get(pk=version_id)
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


@transaction.atomic
def _version_create(*, actor: Any, model: RegisteredModel, **fields: Any) -> ModelVersion:
    # The model row lock serializes numbering: concurrent registrations get 1, 2, 3 ...
    locked = RegisteredModel.objects.select_for_update().get(pk=model.pk)
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
    version = ModelVersion.objects.select_for_update().get(pk=version.pk)
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


def _lock_deployment(model: RegisteredModel) -> tuple[RegisteredModel, dict[str, ModelVersion]]:
    """Lock the model row (every deployment change of a model goes through it)."""
    locked = RegisteredModel.objects.select_for_update().get(pk=model.pk)
    live = {
        v.stage: v
        for v in ModelVersion.objects.select_for_update().filter(
            model=locked,
            stage__in=[ModelVersion.Stage.PRODUCTION, ModelVersion.Stage.CANARY],
        )
    }
    return locked, live


def _set_stage(version: ModelVersion, stage: str, reason: str) -> None:
    version.stage = stage
    set_change_reason(version, reason[:100])
    version.save(update_fields=["stage"])


def _log(
    *,
    model: RegisteredModel,
    kind: str,
    version: ModelVersion,
    previous: ModelVersion | None,
    actor: Any,
    reason: str,
    reference: str,
    canary_traffic: int = 0,
) -> DeploymentEvent:
    event = DeploymentEvent.objects.create(
        model=model,
        kind=kind,
        version=version,
        previous_version=previous,
        actor=actor,
        reason=reason,
        reference=reference,
        canary_traffic=canary_traffic,
    )
    audit_record(
        action=f"deployment.{kind}",
        object_type="model",
        object_id=model.name,
        data={
            "version": version.version,
            "previous_version": previous.version if previous else None,
            "reason": reason,
            "reference": reference,
        },
        actor=actor,
    )
    transaction.on_commit(
        lambda: deployment_changed.send(sender=RegisteredModel, model=model, event=event),
        robust=True,
    )
    return event


def _stop_canary(
    model: RegisteredModel, canary: ModelVersion, *, actor: Any, reason: str, reference: str
) -> DeploymentEvent:
    _set_stage(canary, ModelVersion.Stage.ARCHIVED, "canary stopped")
    model.canary_traffic = 0
    set_change_reason(model, "canary stopped")
    model.save(update_fields=["canary_traffic", "updated_at"])
    return _log(
        model=model,
        kind=DeploymentEvent.Kind.CANARY_STOPPED,
        version=canary,
        previous=None,
        actor=actor,
        reason=reason,
        reference=reference,
    )


@transaction.atomic
def deployment_promote(
    *, version: ModelVersion, actor: Any, reason: str = "", reference: str = ""
) -> DeploymentEvent:
    """Make `version` the production version; the one it replaces is archived.

    Callers have already checked the approval (reviews.services.promotion_execute) or the
    canary gates; this only moves the stages, inside the model's row lock.
    """
    model, live = _lock_deployment(version.model)
    version = ModelVersion.objects.select_for_update().get(pk=version.pk)
    if version.stage == ModelVersion.Stage.PRODUCTION:
        raise Conflict(f"{version} is already in production.")
    previous = live.get(ModelVersion.Stage.PRODUCTION)
    canary = live.get(ModelVersion.Stage.CANARY)
    was_canary = canary is not None and canary.pk == version.pk
    if canary is not None and not was_canary:
        _stop_canary(
            model,
            canary,
            actor=actor,
            reason=f"superseded by the promotion of v{version.version}",
            reference=reference,
        )
    if previous is not None:
        _set_stage(previous, ModelVersion.Stage.ARCHIVED, f"replaced by v{version.version}")
    _set_stage(version, ModelVersion.Stage.PRODUCTION, "promoted to production")
    if was_canary:
        model.canary_traffic = 0
        set_change_reason(model, "canary promoted")
        model.save(update_fields=["canary_traffic", "updated_at"])
    kind = DeploymentEvent.Kind.CANARY_PROMOTED if was_canary else DeploymentEvent.Kind.PROMOTED
    return _log(
        model=model,
        kind=kind,
        version=version,
        previous=previous,
        actor=actor,
        reason=reason,
        reference=reference,
    )


@transaction.atomic
def deployment_start_canary(
    *,
    version: ModelVersion,
    actor: Any,
    traffic: int | None = None,
    reason: str = "",
    reference: str = "",
) -> DeploymentEvent:
    """Serve `version` to a share of traffic beside production."""
    traffic = settings.CANARY_DEFAULT_TRAFFIC if traffic is None else traffic
    if not 1 <= traffic <= 99:
        raise InvalidInput("Canary traffic must be between 1 and 99 percent.")
    model, live = _lock_deployment(version.model)
    version = ModelVersion.objects.select_for_update().get(pk=version.pk)
    production = live.get(ModelVersion.Stage.PRODUCTION)
    canary = live.get(ModelVersion.Stage.CANARY)
    if production is None:
        raise Conflict(
            f"{model.name} has no production version to compare a canary against; "
            "use the direct strategy for its first release."
        )
    if canary is not None:
        raise Conflict(f"{model.name} already runs canary v{canary.version}; stop it first.")
    if version.stage != ModelVersion.Stage.CANDIDATE:
        raise Conflict(f"{version} is {version.stage}; only a candidate can start a canary.")
    _set_stage(version, ModelVersion.Stage.CANARY, "canary started")
    model.canary_traffic = traffic
    set_change_reason(model, f"canary v{version.version} at {traffic}%")
    model.save(update_fields=["canary_traffic", "updated_at"])
    return _log(
        model=model,
        kind=DeploymentEvent.Kind.CANARY_STARTED,
        version=version,
        previous=production,
        actor=actor,
        reason=reason,
        reference=reference,
        canary_traffic=traffic,
    )


def rollback_target(model: RegisteredModel, production: ModelVersion) -> ModelVersion | None:
    """The version `production` replaced when it was promoted, if any."""
    event = (
        DeploymentEvent.objects.filter(
            model=model,
            version=production,
            kind__in=[DeploymentEvent.Kind.PROMOTED, DeploymentEvent.Kind.CANARY_PROMOTED],
        )
        .select_related("previous_version")
        .order_by("-occurred_at", "-id")
        .first()
    )
    return event.previous_version if event else None


@transaction.atomic
def deployment_rollback(
    *, model: RegisteredModel, actor: Any, reason: str
) -> list[DeploymentEvent]:
    """Stop any canary and put the previous production version back."""
    require(actor, Capability.ROLLBACK, "roll back deployments")
    if not reason.strip():
        raise InvalidInput("Say why you roll back.", extra={"reason": ["This field is required."]})
    model, live = _lock_deployment(model)
    production = live.get(ModelVersion.Stage.PRODUCTION)
    canary = live.get(ModelVersion.Stage.CANARY)
    target = rollback_target(model, production) if production else None
    if target is None and canary is None:
        raise Conflict(f"{model.name} has no previous production version and no canary to stop.")
    events = []
    if canary is not None:
        events.append(_stop_canary(model, canary, actor=actor, reason=reason, reference="rollback"))
    if target is not None and production is not None:
        _set_stage(production, ModelVersion.Stage.ARCHIVED, "rolled back")
        target = ModelVersion.objects.select_for_update().get(pk=target.pk)
        _set_stage(target, ModelVersion.Stage.PRODUCTION, "restored by rollback")
        events.append(
            _log(
                model=model,
                kind=DeploymentEvent.Kind.ROLLED_BACK,
                version=target,
                previous=production,
                actor=actor,
                reason=reason,
                reference="rollback",
            )
        )
    return events


def version_reject(*, version: ModelVersion, reason: str) -> None:
    """Mark a candidate rejected (its promotion request was vetoed)."""
    if version.stage == ModelVersion.Stage.CANDIDATE:
        _set_stage(version, ModelVersion.Stage.REJECTED, reason)
