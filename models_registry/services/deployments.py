"""Production, canary and rollback: every stage change of a version, under the model's lock."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import transaction

from governance.errors import Conflict, InvalidInput
from governance.history import set_change_reason
from governance.locking import retry_on_lock_conflict
from governance.roles import Capability
from governance.services import audit_record, require
from models_registry.locking import ModelLocks, lock_model_for_change
from models_registry.models import DeploymentEvent, ModelVersion, RegisteredModel
from models_registry.signals import deployment_changed


def _lock_deployment(model_id: int, *version_ids: int) -> ModelLocks:
    """Lock the model row, then its live versions and `version_ids` (governance/locking.py).

    Every lock on model and version rows is FOR NO KEY UPDATE (`no_key=True`): it serializes
    governance changes just as well, and unlike FOR UPDATE it does not wait for, nor hold
    up, the foreign-key checks of rows that point at them: the inference log inserts
    predictions for the live version all the time, and a rollback must not queue behind them.
    """
    return lock_model_for_change(model_id, version_ids=version_ids)


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


def _set_canary_traffic(model: RegisteredModel, traffic: int, reason: str) -> None:
    model.canary_traffic = traffic
    set_change_reason(model, reason)
    model.save(update_fields=["canary_traffic", "updated_at"])


def _stop_canary(
    model: RegisteredModel, canary: ModelVersion, *, actor: Any, reason: str, reference: str
) -> DeploymentEvent:
    _set_stage(canary, ModelVersion.Stage.ARCHIVED, "canary stopped")
    _set_canary_traffic(model, 0, "canary stopped")
    return _log(
        model=model,
        kind=DeploymentEvent.Kind.CANARY_STOPPED,
        version=canary,
        previous=None,
        actor=actor,
        reason=reason,
        reference=reference,
    )


@retry_on_lock_conflict
@transaction.atomic
def deployment_promote(
    *, version: ModelVersion, actor: Any, reason: str = "", reference: str = ""
) -> DeploymentEvent:
    """Make `version` the production version; the one it replaces is archived.

    Callers have already checked the approval (reviews.services.promotion_execute) or the
    canary gates; this only moves the stages, inside the model's row lock.
    """
    locks = _lock_deployment(version.model_id, version.pk)
    model, version = locks.model, locks.version(version.pk)
    if version.stage == ModelVersion.Stage.PRODUCTION:
        raise Conflict(f"{version} is already in production.")
    previous, canary = locks.production, locks.canary
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
        _set_canary_traffic(model, 0, "canary promoted")
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


@retry_on_lock_conflict
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
    locks = _lock_deployment(version.model_id, version.pk)
    model, version = locks.model, locks.version(version.pk)
    production, canary = locks.production, locks.canary
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
    _set_canary_traffic(model, traffic, f"canary v{version.version} at {traffic}%")
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


@retry_on_lock_conflict
@transaction.atomic
def deployment_rollback(
    *, model: RegisteredModel, actor: Any, reason: str, from_version: int | None = None
) -> list[DeploymentEvent]:
    """Stop any canary and put the previous production version back.

    `from_version` is the production version the caller saw (the page sends the one it
    shows): if production is another one by now, someone else changed it first and this
    rollback would step back once more than meant, so it is a Conflict instead.
    """
    require(actor, Capability.ROLLBACK, "roll back deployments")
    if not reason.strip():
        raise InvalidInput("Say why you roll back.", extra={"reason": ["This field is required."]})
    locks = _lock_deployment(model.pk)
    model, production, canary = locks.model, locks.production, locks.canary
    current = production.version if production else None
    if from_version is not None and from_version != current:
        shown = f"v{current}" if current else "no version"
        raise Conflict(
            f"{model.name} runs {shown} in production now, not v{from_version}: it changed "
            "since you looked. Nothing was rolled back; check the model and decide again.",
            extra={"production_version": current},
        )
    target = rollback_target(model, production) if production else None
    if target is None and canary is None:
        raise Conflict(f"{model.name} has no previous production version and no canary to stop.")
    if target is not None:  # found under the model's lock; locked before anything is written
        target = locks.version(target.pk)
    events = []
    if canary is not None:
        events.append(_stop_canary(model, canary, actor=actor, reason=reason, reference="rollback"))
    if target is not None and production is not None:
        _set_stage(production, ModelVersion.Stage.ARCHIVED, "rolled back")
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


@retry_on_lock_conflict
@transaction.atomic
def deployment_stop_canary(
    *, model: RegisteredModel, reason: str, actor: Any = None, reference: str = ""
) -> DeploymentEvent:
    """Take the canary out of traffic (its gates failed); production keeps serving.

    Called by the canary evaluation (actor None: the system) or by a person through rollback.
    """
    locks = _lock_deployment(model.pk)
    model, canary = locks.model, locks.canary
    if canary is None:
        raise Conflict(f"{model.name} has no canary to stop.")
    return _stop_canary(model, canary, actor=actor, reason=reason, reference=reference)
