"""Every change to the registry: models, versions and deployments (production, canary, rollback)."""

from __future__ import annotations

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


def _queue_card_generation(version: ModelVersion, reason: str) -> None:
    from models_registry.tasks import card_generate

    transaction.on_commit(lambda: card_generate.delay(version.pk, reason))


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
        _queue_card_generation(version, "model details edited")
    return model


@transaction.atomic
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
    """Register the next version of `model` as a candidate and queue its card."""
    require(actor, Capability.REGISTER, "register versions")
    # The model row lock serializes numbering: concurrent registrations get 1, 2, 3 ...
    locked = RegisteredModel.objects.select_for_update().get(pk=model.pk)
    latest = locked.versions.aggregate(latest=Max("version"))["latest"] or 0
    version = ModelVersion(
        model=locked,
        version=latest + 1,
        metrics=metrics or {},
        params=params or {},
        mlflow_run_id=mlflow_run_id,
        artifact_uri=artifact_uri,
        git_commit=git_commit,
        registered_by=actor,
    )
    set_change_reason(version, "registered")
    version.save()
    audit_record(
        action="version.registered",
        object_type="model_version",
        object_id=f"{locked.name}:{version.version}",
        data={"mlflow_run_id": mlflow_run_id, "git_commit": git_commit},
    )
    _queue_card_generation(version, "registered")
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
        lambda: deployment_changed.send(sender=RegisteredModel, model=model, event=event)
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
