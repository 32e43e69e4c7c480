"""Business-impact reviews: scheduled by each promotion to production, completed once.

- `impact_review_schedule` (a receiver of `deployment_changed`): each promotion to
  production (direct or a canary's) schedules one review, BUSINESS_IMPACT_REVIEW_DAYS after
  it; rollbacks and canary starts schedule none.
- `impact_review_complete`: a board member or compliance officer records what the review
  found, once; a done review is a Conflict.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from governance.errors import Conflict, InvalidInput, NotFound
from governance.history import set_change_reason
from governance.roles import Capability
from governance.services import audit_record, require
from models_registry.models import DeploymentEvent
from reviews.impact_analysis import utc_day
from reviews.impact_models import BusinessImpactReview

MAX_NOTES = 10_000
PROMOTIONS = (DeploymentEvent.Kind.PROMOTED, DeploymentEvent.Kind.CANARY_PROMOTED)


def impact_review_schedule(*, event: DeploymentEvent) -> BusinessImpactReview | None:
    """A review of a promotion to production, due BUSINESS_IMPACT_REVIEW_DAYS after it;
    None for other deployment events. Once per event, however often it is told."""
    if event.kind not in PROMOTIONS:
        return None
    due_on = utc_day(event.occurred_at) + timedelta(days=settings.BUSINESS_IMPACT_REVIEW_DAYS)
    with transaction.atomic():
        existing = BusinessImpactReview.objects.filter(deployment_event=event).first()
        if existing is not None:
            return existing
        review = BusinessImpactReview(
            model_id=event.model_id,
            version_id=event.version_id,
            deployment_event=event,
            promoted_at=event.occurred_at,
            due_on=due_on,
        )
        set_change_reason(review, f"scheduled by {event.get_kind_display().lower()}")
        review.save()
        audit_record(
            action="impact_review.scheduled",
            object_type="business_impact_review",
            object_id=review.pk,
            data={
                "model": event.model.name,
                "version": event.version.version,
                "deployment_event": event.pk,
                "due_on": due_on.isoformat(),
            },
        )
    return review


@transaction.atomic
def impact_review_complete(
    *, actor: Any, review_id: int, notes: Any, model: Any = None
) -> BusinessImpactReview:
    """Record what a business-impact review found; once (a done review is a Conflict).
    With `model`, a review of another model is not found (the model's page)."""
    require(actor, Capability.REVIEW_BUSINESS_IMPACT, "complete business-impact reviews")
    notes = notes.strip() if isinstance(notes, str) else ""
    if not notes or len(notes) > MAX_NOTES:
        message = f"Say what the review found (1 to {MAX_NOTES} characters)."
        raise InvalidInput(message, extra={"notes": [message]})
    review = (
        BusinessImpactReview.objects.select_for_update()
        .select_related("model", "version")
        .filter(pk=review_id)
        .first()
    )
    if review is None or (model is not None and review.model_id != model.pk):
        where = f" of {model.name}" if model is not None else ""
        raise NotFound(f"No business-impact review #{review_id}{where}.")
    if review.status == BusinessImpactReview.Status.DONE:
        who = review.reviewed_by.username if review.reviewed_by else "someone"
        raise Conflict(
            f"Review #{review.pk} was completed by {who} on {review.reviewed_at:%Y-%m-%d}."
        )
    review.status = BusinessImpactReview.Status.DONE
    review.notes, review.reviewed_by, review.reviewed_at = notes, actor, timezone.now()
    set_change_reason(review, "completed")
    review.save()
    audit_record(
        action="impact_review.completed",
        object_type="business_impact_review",
        object_id=review.pk,
        data={
            "model": review.model.name,
            "version": review.version.version,
            "due_on": review.due_on.isoformat(),
            "notes": notes,
        },
        actor=actor,
    )
    return review
