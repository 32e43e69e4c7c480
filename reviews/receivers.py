"""Reviews listen to the registry (a changed card can make approvals stale; a promotion to
production schedules a business-impact review) and to monitoring (a retrained candidate
gets its canary promotion request)."""

from __future__ import annotations

import logging
from typing import Any

from django.db import transaction
from django.dispatch import receiver

from governance.signals import policy_changed
from models_registry.models import ModelVersion
from models_registry.signals import card_changed, deployment_changed
from monitoring.models import RetrainingRun
from monitoring.retraining import (
    retraining_abandon,
    retraining_account,
    retraining_promotion_link,
)
from monitoring.signals import retraining_finished
from reviews.impact_reviews import impact_review_schedule
from reviews.models import PromotionRequest
from reviews.services import promotion_request_create, promotion_requests_reevaluate

logger = logging.getLogger(__name__)


@receiver(card_changed)
def reevaluate_on_card_change(sender: Any, version: Any, revision: Any, **kwargs: Any) -> None:
    promotion_requests_reevaluate(
        version=version, reason=f"card revision {revision.revision}: earlier approvals are stale"
    )


@receiver(deployment_changed)
def impact_review_on_promotion(sender: Any, model: Any, event: Any, **kwargs: Any) -> None:
    """Each promotion to production (direct or a canary's) gets its business-impact review."""
    impact_review_schedule(event=event)


@receiver(policy_changed)
def reevaluate_on_policy_change(sender: Any, policy: Any, **kwargs: Any) -> None:
    """Every open request, not only those of models now in `policy`'s tier: a request is
    decided under the strictest tier its model has had while it was open (reviews.policy)."""
    for version in ModelVersion.objects.filter(
        promotion_requests__status__in=PromotionRequest.OPEN_STATUSES,
    ).distinct():
        promotion_requests_reevaluate(version=version, reason="approval policy changed")


@receiver(retraining_finished)
def promotion_request_for_retrained(sender: Any, run: RetrainingRun, **kwargs: Any) -> None:
    """Ask for the retrained candidate's promotion, as a canary, with the comparison.

    The requester is the retraining account (role ci): CI accounts never sign off, and a
    requester never signs their own request; the person who started the run is the MLflow
    run's author, so they may not sign it either (reviews.duties). When the request cannot
    be opened, the run fails and its candidate is rejected: nothing half-made stays.
    """
    if run.status != RetrainingRun.Status.DONE or run.candidate_version_id is None:
        return
    try:
        with transaction.atomic():
            request = promotion_request_create(
                actor=retraining_account(),
                version=run.candidate_version,
                justification=run.comparison(),
                strategy=PromotionRequest.Strategy.CANARY,
            )
            retraining_promotion_link(run_id=run.pk, promotion_request_id=request.pk)
    except Exception as error:
        logger.exception("no promotion request for retraining run %s", run.pk)
        detail = getattr(error, "detail", None) or f"{type(error).__name__}: {error}"
        retraining_abandon(run_id=run.pk, reason=str(detail))
