"""One row of every governed kind the admin tests open, made through the services."""

from __future__ import annotations

from typing import Any

from governance.audit_context import Origin, acting_as
from models_registry.tasks import card_generate
from reviews import services as reviews
from reviews.summary.period import previous_week
from reviews.summary.services import review_summary_store
from tests.reviews.meeting_world import meeting_rows


def governed_rows(users: dict[str, Any], make_model: Any, make_version: Any) -> dict[str, Any]:
    """A model in production through an approved, executed request; a board meeting; a
    weekly summary."""
    model = make_model()
    version = make_version(model)
    card_generate(version.pk, "registered")
    with acting_as(origin=Origin.SYSTEM):
        request = reviews.promotion_request_create(
            actor=users["ds"], version=version, justification="Better AUC."
        )
        reviews.signoff_create(actor=users["validator"], request_id=request.pk, decision="approve")
        reviews.promotion_execute(actor=users["ds"], request_id=request.pk)
    meeting_rows(users, model=model)
    with acting_as(origin=Origin.TASK):
        review_summary_store(period=previous_week())
    return {"model": model, "version": version, "request": request}
