"""The agenda lists what the board keeps track of besides the models' health: flags people
raised since the last meeting, revalidations due or overdue, open findings, and
business-impact reviews due."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import TestCase
from django.utils import timezone

from models_registry import services as registry
from models_registry.models import RegisteredModel
from monitoring.services.flags import flag_create
from reviews.finding_services import finding_raise
from reviews.impact_models import BusinessImpactReview
from reviews.meetings import services as meetings
from tests.monitoring.test_canary import log_calls

pytestmark = pytest.mark.django_db


def items_of(world, source: str) -> list:
    return list(world.meeting.items.filter(source=source).order_by("position"))


def test_flags_revalidations_findings_and_impact_reviews_are_on_the_agenda(board_world):
    world, users = board_world, board_world.users
    # Flags: two people flag predictions of the model.
    first, second = log_calls(world.version, 2)
    flag_create(actor=users["ds"], model=world.model, request_id=first, reason="unfair")
    flag_create(actor=users["board2"], model=world.model, request_id=second, reason="wrong")
    # Revalidation: registered three years ago and never validated (low risk: every 24 months).
    RegisteredModel.objects.filter(pk=world.model.pk).update(
        created_at=timezone.now() - timedelta(days=3 * 365)
    )
    # A finding, high.
    finding = finding_raise(
        actor=users["validator"],
        model=world.model,
        title="Recall drops for new customers",
        description="Recall 0.41 below tenure 3.",
        severity="high",
    )
    # A business-impact review, due yesterday.
    with TestCase.captureOnCommitCallbacks(execute=True):
        registry.deployment_promote(version=world.version, actor=users["ds"])
    review = BusinessImpactReview.objects.get(version=world.version)
    BusinessImpactReview.objects.filter(pk=review.pk).update(
        due_on=timezone.now().date() - timedelta(days=1)
    )

    meetings.meeting_prepare(actor=users["board"], meeting_id=world.meeting.pk)

    (flags,) = items_of(world, "flags")
    assert flags.model == world.model
    assert flags.data["by_reason"]["unfair"] == 1 and flags.data["by_reason"]["wrong"] == 1
    assert flags.data["flags"] == 2 and "1 wrong, 1 unfair" in flags.summary
    (revalidation,) = items_of(world, "revalidation")
    assert revalidation.model == world.model
    assert revalidation.data["status"] == "overdue" and revalidation.data["days_overdue"] > 300
    assert revalidation.data["last_validated_on"] is None
    (found,) = items_of(world, "finding")
    assert found.data["finding"] == finding.pk and found.data["severity"] == "high"
    assert found.title.startswith(f"Finding #{finding.pk} (high)")
    (impact,) = items_of(world, "impact_review")
    assert impact.data["impact_review"] == review.pk and impact.data["overdue_days"] == 1
    assert impact.version == world.version


def test_nothing_to_track_adds_no_items(board_world):
    meetings.meeting_prepare(actor=board_world.users["board"], meeting_id=board_world.meeting.pk)

    sources = set(board_world.meeting.items.values_list("source", flat=True))
    assert not sources & {"flags", "revalidation", "finding", "impact_review"}
