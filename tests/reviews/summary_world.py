"""A week worth summarising, on top of the board world: a promotion, a rollback, a request
waiting three days, an incident, an alert, a metric that moved, flags, a finding and an
action item due, a revalidation overdue. Board members have e-mail addresses."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, timedelta
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import TestCase
from django.utils import timezone

from governance.audit_context import Origin, acting_as
from models_registry import services as registry
from models_registry.models import RegisteredModel
from monitoring.models import Incident
from monitoring.services import incident_open
from monitoring.services.flags import flag_create
from reviews.finding_services import finding_raise
from reviews.models import Decision, PromotionRequest
from tests.governance.test_url_permissions import stored_alert
from tests.monitoring.check_data import make_check
from tests.monitoring.test_canary import log_calls
from tests.reviews.meeting_world import BoardWorld

BOARD_EMAILS = {
    "bella": "bella@example.com",
    "bruno": "bruno@example.com",
    "rita": "rita@example.com",
    "carla": "carla@example.com",
}


@dataclass
class SummaryWorld:
    board: BoardWorld
    users: dict[str, Any]
    request: PromotionRequest
    incident: Incident
    alert: Any
    finding: Any
    action_item: Decision


def _promote(version: Any, actor: Any) -> None:
    with acting_as(origin=Origin.SYSTEM), TestCase.captureOnCommitCallbacks(execute=True):
        registry.deployment_promote(version=version, actor=actor)


@pytest.fixture
def summary_world(board_world: BoardWorld, make_version: Any) -> SummaryWorld:
    users, model = board_world.users, board_world.model
    for username, email in BOARD_EMAILS.items():
        get_user_model().objects.filter(username=username).update(email=email)
    second, third = make_version(model), make_version(model)
    _promote(second, users["ds"])
    _promote(third, users["ds"])
    with acting_as(origin=Origin.SYSTEM), TestCase.captureOnCommitCallbacks(execute=True):
        registry.deployment_rollback(model=model, actor=users["board"], reason="AUC fell to 0.71")
    # The board world's request (v1, by rita) has waited three days.
    request = board_world.request
    PromotionRequest.objects.filter(pk=request.pk).update(
        created_at=timezone.now() - timedelta(days=3)
    )
    with acting_as(origin=Origin.SYSTEM):
        incident = incident_open(
            model=model,
            version=second,
            severity=Incident.Severity.CRITICAL,
            source=Incident.Source.MANUAL,
            title="Scores [all] *zero* for tenure 0",
            description="",
        )
        finding = finding_raise(
            actor=users["validator"],
            model=model,
            title="Recall drops for new customers",
            description="Recall 0.41 below tenure 3.",
            severity="high",
            due_date=timezone.now().astimezone(UTC).date() + timedelta(days=3),
        )
    alert = stored_alert(second)
    # drift_share was 0.1 before the week and 0.35 in it; the detail (per feature, per group,
    # window sizes) stays out.
    make_check(second, "drift", metrics={"drift_share": 0.1}, ago=timedelta(days=30))
    make_check(second, "drift", metrics={"drift_share": 0.35, "drift.age": 0.4})
    fairness = {"demographic_parity_difference.gender": 0.12, "tpr.gender.female": 0.7}
    make_check(second, "fairness", metrics=fairness)
    make_check(second, "estimation", metrics={"estimated_roc_auc": 0.81, "rows": 2300})
    first_call, second_call = log_calls(second, 2)
    flag_create(actor=users["ds"], model=model, request_id=first_call, reason="unfair")
    flag_create(actor=users["board2"], model=model, request_id=second_call, reason="wrong")
    # Registered three years ago and never validated: revalidation overdue.
    RegisteredModel.objects.filter(pk=model.pk).update(
        created_at=timezone.now() - timedelta(days=3 * 365)
    )
    action_item = Decision.objects.create(
        meeting=board_world.meeting,
        kind=Decision.Kind.ACTION_ITEM,
        text="Retrain on the autumn data",
        owner=users["ds"],
        due_date=timezone.now().astimezone(UTC).date() + timedelta(days=2),
        status=Decision.Status.OPEN,
        recorded_by=users["board"],
    )
    return SummaryWorld(
        board=board_world,
        users=users,
        request=request,
        incident=incident,
        alert=alert,
        finding=finding,
        action_item=action_item,
    )
