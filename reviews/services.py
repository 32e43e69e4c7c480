"""Promotion requests and sign-offs: every rule of the contract's "Approval rules"."""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from governance.errors import Conflict, InvalidInput, NotAllowed
from governance.history import set_change_reason
from governance.locking import retry_on_lock_conflict
from governance.roles import Capability, user_roles
from governance.services import audit_record, require
from models_registry.locking import lock_version_for_change
from models_registry.models import ModelVersion
from models_registry.services import (
    card_queue,
    deployment_promote,
    deployment_start_canary,
    version_reject,
)
from reviews.duties import SIGNING_ROLES, execute_refusal, signoff_refusal
from reviews.models import PromotionRequest, SignOff
from reviews.policy import PolicyOutcome, policy_evaluate


def _audit(request: PromotionRequest, action: str, **data: Any) -> None:
    version = request.model_version
    audit_record(
        action=f"promotion_request.{action}",
        object_type="promotion_request",
        object_id=request.pk,
        data={"model": version.model.name, "version": version.version, **data},
    )


def _lock(request_id: int, *, live: bool = False) -> PromotionRequest:
    """Lock the request row: sign-offs and executions of one request run one at a time.

    Its model and version are locked first, through the one helper that keeps the lock
    order (governance/locking.py); an execute also locks the live versions it replaces.
    """
    version_id = PromotionRequest.objects.values_list("model_version_id", flat=True).get(
        pk=request_id
    )
    lock_version_for_change(version_id, live=live)
    return (
        PromotionRequest.objects.select_for_update(of=("self",))
        .select_related("model_version__model", "model_version__registered_by", "requested_by")
        .get(pk=request_id)
    )


@retry_on_lock_conflict
@transaction.atomic
def promotion_request_create(
    *,
    actor: Any,
    version: ModelVersion,
    justification: str,
    strategy: str = PromotionRequest.Strategy.DIRECT,
    target_stage: str = PromotionRequest.TargetStage.PRODUCTION,
    canary_traffic: int | None = None,
) -> PromotionRequest:
    require(actor, Capability.REQUEST_PROMOTION, "request promotions")
    if not justification.strip():
        raise InvalidInput(
            "Say why this version should go to production.",
            extra={"justification": ["This field may not be blank."]},
        )
    if canary_traffic is not None and strategy != PromotionRequest.Strategy.CANARY:
        raise InvalidInput(
            "canary_traffic only applies to the canary strategy.",
            extra={"canary_traffic": ["Only with strategy 'canary'."]},
        )
    # The tier is read under the model's lock (taken first, as tier changes take it): the
    # request starts from the tier that was in force, not one a concurrent edit is replacing.
    version = lock_version_for_change(version.pk).version(version.pk)
    model = version.model
    if version.stage != ModelVersion.Stage.CANDIDATE:
        raise Conflict(f"{version} is {version.stage}; only a candidate can be promoted.")
    open_request = version.promotion_requests.filter(
        status__in=PromotionRequest.OPEN_STATUSES
    ).first()
    if open_request is not None:
        raise Conflict(
            f"{version} already has open promotion request #{open_request.pk}.",
            extra={"open_request": open_request.pk},
        )
    request = PromotionRequest(
        model_version=version,
        target_stage=target_stage,
        strategy=strategy,
        canary_traffic=canary_traffic,
        justification=justification,
        requested_by=actor,
        requested_tier=model.risk_tier,
    )
    set_change_reason(request, "requested")
    try:
        with transaction.atomic():
            request.save()
    except IntegrityError as exc:
        raise Conflict(f"{version} already has an open promotion request.") from exc
    _audit(
        request,
        "created",
        strategy=strategy,
        justification=justification,
        requested_tier=model.risk_tier,
    )
    return request


def _apply_outcome(request: PromotionRequest, outcome: PolicyOutcome, reason: str) -> None:
    """Move the request's status to what the policy now says (pending <-> approved)."""
    if not request.is_open:
        return
    wanted = (
        PromotionRequest.Status.APPROVED if outcome.satisfied else PromotionRequest.Status.PENDING
    )
    if request.status != wanted:
        request.status = wanted
        request.decided_at = timezone.now() if outcome.satisfied else None
        set_change_reason(request, reason)
        request.save(update_fields=["status", "decided_at"])
        _audit(request, wanted, reason=reason)


@retry_on_lock_conflict
@transaction.atomic
def signoff_create(*, actor: Any, request_id: int, decision: str, comment: str = "") -> SignOff:
    """Record one reviewer's decision; a reject vetoes, enough approvals approve."""
    if decision not in SignOff.Decision.values:
        raise InvalidInput(
            "decision must be 'approve' or 'reject'.",
            extra={"decision": [f"'{decision}' is not one of approve, reject."]},
        )
    request = _lock(request_id)
    refusal = signoff_refusal(actor=actor, request=request)
    if refusal is not None:
        raise refusal
    version = request.model_version
    sign_off = SignOff(
        request=request,
        signer=actor,
        signer_roles=sorted(role.value for role in user_roles(actor) if role in SIGNING_ROLES),
        decision=decision,
        comment=comment,
        card_hash=version.card_hash,
    )
    set_change_reason(sign_off, decision)
    try:
        with transaction.atomic():
            sign_off.save()
    except IntegrityError as exc:
        raise Conflict("You have already signed this request.") from exc
    _audit(request, f"signed.{decision}", signer=actor.username, card_hash=version.card_hash)
    if decision == SignOff.Decision.REJECT:
        request.status = PromotionRequest.Status.REJECTED
        request.decided_at = timezone.now()
        request.decided_card_hash = version.card_hash
        set_change_reason(request, f"rejected by {actor.username}")
        request.save(update_fields=["status", "decided_at", "decided_card_hash"])
        version_reject(version=version, reason=f"request #{request.pk} rejected")
        _audit(request, "rejected", signer=actor.username)
        card_queue(version, f"request #{request.pk} rejected")
    else:
        _apply_outcome(request, policy_evaluate(request), f"approval by {actor.username}")
    return sign_off


@retry_on_lock_conflict
@transaction.atomic
def promotion_execute(*, actor: Any, request_id: int) -> PromotionRequest:
    """Carry out an approved request: production (direct) or canary."""
    # The model row is locked first (governance/locking.py): tier changes wait, so the
    # policy is decided on a settled tier.
    request = _lock(request_id, live=True)
    refusal = execute_refusal(actor=actor, request=request)
    if refusal is not None:
        raise refusal
    if not request.is_open:
        raise Conflict(f"Request #{request.pk} is {request.status}; it cannot be executed.")
    outcome = policy_evaluate(request)
    if not outcome.satisfied:
        raise Conflict(
            f"Request #{request.pk} is not approved. {outcome.summary()}",
            extra={"status": PromotionRequest.Status.PENDING},
        )
    version = request.model_version
    reference = f"promotion-request:{request.pk}"
    if request.strategy == PromotionRequest.Strategy.CANARY:
        deployment_start_canary(
            version=version,
            actor=actor,
            traffic=request.canary_traffic,
            reason=request.justification,
            reference=reference,
        )
    else:
        deployment_promote(
            version=version, actor=actor, reason=request.justification, reference=reference
        )
    request.status = PromotionRequest.Status.EXECUTED
    request.executed_at = timezone.now()
    request.executed_by = actor
    request.decided_card_hash = version.card_hash
    set_change_reason(request, f"executed ({request.strategy})")
    request.save(update_fields=["status", "executed_at", "executed_by", "decided_card_hash"])
    _audit(request, "executed", strategy=request.strategy, decided_tier=outcome.policy.risk_tier)
    card_queue(version, f"request #{request.pk} executed")
    return request


@retry_on_lock_conflict
@transaction.atomic
def promotion_withdraw(*, actor: Any, request_id: int, reason: str = "") -> PromotionRequest:
    request = _lock(request_id)
    if actor.pk != request.requested_by_id:
        raise NotAllowed("Only the requester can withdraw a request.")
    if not request.is_open:
        raise Conflict(f"Request #{request.pk} is {request.status}; it cannot be withdrawn.")
    request.status = PromotionRequest.Status.WITHDRAWN
    request.decided_at = timezone.now()
    request.decided_card_hash = request.model_version.card_hash
    set_change_reason(request, f"withdrawn: {reason}"[:100])
    request.save(update_fields=["status", "decided_at", "decided_card_hash"])
    _audit(request, "withdrawn", reason=reason)
    card_queue(request.model_version, f"request #{request.pk} withdrawn")
    return request


@retry_on_lock_conflict
@transaction.atomic
def promotion_request_again(*, actor: Any, request_id: int, reason: str) -> PromotionRequest:
    """Withdraw an open request and open a new one for the same version, on the card as it
    is now: the way forward when approvals went stale, since no one signs a request twice.

    Only the requester may, as only they may withdraw; the old request keeps its sign-offs
    and the new one names it in `replaces`.
    """
    withdrawn_for = f"requested again: {reason}"
    old = promotion_withdraw(actor=actor, request_id=request_id, reason=withdrawn_for)
    new = promotion_request_create(
        actor=actor,
        version=old.model_version,
        justification=old.justification,
        strategy=old.strategy,
        target_stage=old.target_stage,
        canary_traffic=old.canary_traffic,
    )
    new.replaces = old
    set_change_reason(new, f"requested again in place of #{old.pk}")
    new.save(update_fields=["replaces"])
    _audit(new, "requested_again", replaces=old.pk, reason=reason)
    return new


@retry_on_lock_conflict
@transaction.atomic
def promotion_requests_reevaluate(*, version: ModelVersion, reason: str) -> None:
    """Re-check the open requests of `version` (its card changed: approvals may be stale)."""
    open_ids = version.promotion_requests.filter(
        status__in=PromotionRequest.OPEN_STATUSES
    ).values_list("pk", flat=True)
    for request_id in list(open_ids):
        request = _lock(request_id)
        _apply_outcome(request, policy_evaluate(request), reason)
