"""Canary decisions: promote a canary that passed its gates, stop one that failed."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from django.db import transaction

from governance.locking import retry_on_lock_conflict
from governance.services import audit_record
from models_registry.locking import lock_model_for_change
from models_registry.models import RegisteredModel
from models_registry.services import deployment_promote, deployment_stop_canary
from monitoring import selectors
from monitoring.canary import CanaryEvaluation, Verdict, canary_evaluate, gates_for
from monitoring.models import Incident
from monitoring.services.incidents import incident_open

logger = logging.getLogger(__name__)

CANARY_REFERENCE = "canary-evaluation"


class Action:
    """What canary_decide did."""

    PROMOTED = "promoted"
    STOPPED = "stopped"
    WAITING = "waiting"
    NO_CANARY = "no_canary"
    SUPERSEDED = "superseded"
    ERROR = "error"


@dataclass(frozen=True)
class CanaryOutcome:
    model: str
    action: str
    message: str
    evaluation: CanaryEvaluation | None = None
    incident: Incident | None = None


def _failure_title(evaluation: CanaryEvaluation) -> str:
    return f"Canary v{evaluation.canary.version} rolled back: {', '.join(evaluation.failed_gates)}"


def _failure_description(evaluation: CanaryEvaluation) -> str:
    production = evaluation.production.version if evaluation.production else "none"
    lines = [
        f"Canary v{evaluation.canary.version} of {evaluation.model.name} was compared with "
        f"production v{production} on {evaluation.window_start:%Y-%m-%d %H:%M} to "
        f"{evaluation.window_end:%Y-%m-%d %H:%M} UTC and taken out of traffic.",
        "",
        *[f"- {c.gate} {c.status.replace('_', ' ')}: {c.detail}" for c in evaluation.checks],
    ]
    return "\n".join(lines)


def canary_decide(*, model: RegisteredModel, now: Any = None) -> CanaryOutcome:
    """Evaluate the model's canary; promote it if it passed, stop it if it failed.

    Measuring happens outside any lock (it reads a window of the log). Acting takes the
    model's row lock and re-checks that the same canary and production are still live, so
    concurrent runs (beat and a command, two workers) act once; later runs find no canary.
    """
    canary = selectors.canary_versions().filter(model=model).first()
    if canary is None:
        return CanaryOutcome(model=model.name, action=Action.NO_CANARY, message="no canary")
    production = selectors.production_version(model=model)
    evaluation = canary_evaluate(
        model=canary.model, canary=canary, production=production, gates=gates_for(model), now=now
    )
    label = f"canary v{canary.version}"
    if evaluation.verdict == Verdict.WAIT:
        return CanaryOutcome(
            model=model.name,
            action=Action.WAITING,
            message=f"{label} waiting: {evaluation.summary}",
            evaluation=evaluation,
        )
    return _act(model=model, evaluation=evaluation)


@retry_on_lock_conflict
@transaction.atomic
def _act(*, model: RegisteredModel, evaluation: CanaryEvaluation) -> CanaryOutcome:
    """Promote or stop the evaluated canary if it and production are still the live ones.

    The model and its live versions are locked first, before the audit records the verdict
    (governance/locking.py); the deployment service then finds them held already.
    """
    canary, production = evaluation.canary, evaluation.production
    label = f"canary v{canary.version}"
    locks = lock_model_for_change(model.pk)
    locked = locks.model
    if (locks.canary, locks.production) != (canary, production):
        return CanaryOutcome(
            model=model.name,
            action=Action.SUPERSEDED,
            message=f"{label}: the deployment changed while it was evaluated; nothing done",
            evaluation=evaluation,
        )
    audit_record(
        action="canary.passed" if evaluation.verdict == Verdict.PASS else "canary.failed",
        object_type="model",
        object_id=model.name,
        data=evaluation.as_dict(),
    )
    if evaluation.verdict == Verdict.PASS:
        deployment_promote(
            version=canary,
            actor=None,
            reason=f"canary passed its gates: {evaluation.summary}",
            reference=CANARY_REFERENCE,
        )
        return CanaryOutcome(
            model=model.name,
            action=Action.PROMOTED,
            message=f"{label} passed its gates; promoted to production",
            evaluation=evaluation,
        )
    failed = ", ".join(evaluation.failed_gates)
    deployment_stop_canary(
        model=locked,
        reason=f"canary failed its gates ({failed}): {evaluation.summary}",
        reference=CANARY_REFERENCE,
    )
    incident = incident_open(
        model=locked,
        version=canary,
        severity=evaluation.severity,
        source=Incident.Source.CANARY,
        title=_failure_title(evaluation),
        description=_failure_description(evaluation),
        details=evaluation.as_dict(),
    )
    return CanaryOutcome(
        model=model.name,
        action=Action.STOPPED,
        message=f"{label} failed {failed}; stopped, incident #{incident.pk} opened",
        evaluation=evaluation,
        incident=incident,
    )


def canary_decide_all(*, model_name: str | None = None) -> list[CanaryOutcome]:
    """canary_decide for every model with a canary (or the one named)."""
    outcomes = []
    for canary in selectors.canary_versions(model_name=model_name):
        try:
            outcomes.append(canary_decide(model=canary.model))
        except Exception as exc:
            # One model's failure must not keep the other canaries from being decided.
            logger.exception("canary evaluation of %s failed", canary.model.name)
            outcomes.append(
                CanaryOutcome(model=canary.model.name, action=Action.ERROR, message=repr(exc))
            )
    return outcomes
