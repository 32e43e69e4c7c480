"""What reviews shows on the model page: where its revalidation stands, its open high and
critical findings, and banners for open requests, stale approvals and an overdue
revalidation (registered in ReviewsConfig.ready, models_registry/page_panels.py)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone

from governance.roles import Capability, user_can
from models_registry.models import RegisteredModel
from models_registry.page_panels import Banner
from reviews.finding_models import Finding
from reviews.finding_selectors import findings_open
from reviews.models import PromotionRequest
from reviews.policy import policy_context, policy_evaluate
from reviews.revalidation_schedule import RevalidationState
from reviews.revalidation_selectors import revalidation_state
from reviews.selectors import request_list


def _revalidation_state_of(model: RegisteredModel, request: HttpRequest) -> RevalidationState:
    """The model's revalidation state today, read once per page (the panel and the banner
    both show it)."""
    known = getattr(request, "_revalidation_states", None)
    if known is None:
        known = request._revalidation_states = {}
    if model.pk not in known:
        known[model.pk] = revalidation_state(model=model, as_of=timezone.localdate())
    return known[model.pk]


def revalidation_panel(model: RegisteredModel, request: HttpRequest) -> dict[str, Any]:
    return {
        "state": _revalidation_state_of(model, request),
        "can_record": user_can(request.user, Capability.RECORD_VALIDATION),
    }


def findings_panel(model: RegisteredModel, request: HttpRequest) -> dict[str, Any]:
    grave = list(findings_open(model=model, min_severity=Finding.Severity.HIGH))
    return {
        "findings": grave,
        "open_count": findings_open(model=model).count(),
        "model_name": model.name,
    }


def request_banners(model: RegisteredModel, request: HttpRequest) -> list[Banner]:
    """Each open request with its progress; a warning for each with stale approvals."""
    banners = []
    open_requests = list(
        request_list()
        .filter(model_version__model=model, status__in=PromotionRequest.OPEN_STATUSES)
        .order_by("created_at", "id")
    )
    context = policy_context(open_requests)
    for promotion in open_requests:
        outcome = policy_evaluate(promotion, promotion.sign_offs.all(), context)
        url = reverse("reviews:request", args=[promotion.pk])
        version = promotion.model_version.version
        banners.append(
            Banner(
                "info",
                f"Request #{promotion.pk} for v{version} is {promotion.status}: {outcome.progress}",
                url,
            )
        )
        if outcome.stale and promotion.status == PromotionRequest.Status.PENDING:
            count = len(outcome.stale)
            noun = "approval went" if count == 1 else "approvals went"
            banners.append(
                Banner(
                    "warning",
                    f"Request #{promotion.pk}: {count} {noun} stale when the card changed",
                    url,
                )
            )
    return banners


def revalidation_banners(model: RegisteredModel, request: HttpRequest) -> list[Banner]:
    state = _revalidation_state_of(model, request)
    if not state.is_overdue:
        return []
    text = f"Revalidation overdue by {state.days_overdue} days (due {state.due_date:%Y-%m-%d})"
    return [Banner("warning", text, reverse("reviews:revalidations"))]
