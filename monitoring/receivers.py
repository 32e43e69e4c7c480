"""Monitoring listens to the registry: a model whose files changed becomes an incident; a
model that reaches production gets its default check schedules; a deployment or rollback
goes on the timeline of the model's incidents that are not closed. And to itself: a
finished check's metrics are evaluated against the model's alert rules, and a rule whose
action is `retrain` queues a retraining run. When the inference log's personal data is
erased or deleted, so are the comments of flags on it."""

from __future__ import annotations

import logging
from typing import Any

from django.dispatch import receiver

from governance.errors import ApplicationError
from models_registry.signals import (
    deployment_changed,
    inference_log_erased,
    model_artifact_changed,
)
from monitoring.retraining import retraining_request
from monitoring.retraining_models import RetrainingRun
from monitoring.services.alerts import alerts_evaluate_run
from monitoring.services.artifact_incidents import incident_open_for_changed_artifact
from monitoring.services.check_schedules import check_schedules_ensure
from monitoring.services.flags import flag_comments_erase
from monitoring.services.incidents import incident_deployment_record
from monitoring.signals import check_completed, retraining_wanted

logger = logging.getLogger(__name__)


@receiver(model_artifact_changed)
def incident_on_changed_artifact(
    sender: Any, version: Any, problems: dict[str, str], purpose: str, **kwargs: Any
) -> None:
    incident_open_for_changed_artifact(version=version, problems=problems, purpose=purpose)


@receiver(deployment_changed)
def check_schedules_on_deployment(sender: Any, model: Any, event: Any, **kwargs: Any) -> None:
    check_schedules_ensure(model=model)


@receiver(check_completed)
def alerts_on_check_completed(sender: Any, run: Any, **kwargs: Any) -> None:
    # Logged, not raised: the run is stored either way, and the other listeners of
    # check_completed must still hear of it.
    try:
        alerts_evaluate_run(run=run)
    except Exception:
        logger.exception("alert rules of check run %s failed", run.pk)


@receiver(deployment_changed)
def incident_timeline_on_deployment(sender: Any, model: Any, event: Any, **kwargs: Any) -> None:
    incident_deployment_record(event=event)


@receiver(retraining_wanted)
def retraining_on_rule(sender: Any, alert: Any, **kwargs: Any) -> None:
    """A rule with action `retrain` fired: retrain the production version, linked to the
    alert (and its incident). A refusal (no production version, a run already queued) is
    logged, not raised: the alert stands either way."""
    try:
        run = retraining_request(
            actor=None,
            model_name=alert.model.name,
            alert_id=alert.pk,
            trigger=RetrainingRun.Trigger.RULE,
        )
    except ApplicationError as error:
        logger.info("alert %s wants retraining, not started: %s", alert.pk, error.detail)
        return
    logger.info("alert %s queued retraining run %s", alert.pk, run.pk)


@receiver(inference_log_erased)
def flag_comments_on_erasure(sender: Any, model_ids: list[int], **kwargs: Any) -> None:
    """A consent erasure or a retention run took predictions' personal data: the comments
    on them go too (the daily `monitoring.flag_comments_erase` catches what this missed)."""
    flag_comments_erase(model_ids=model_ids)
