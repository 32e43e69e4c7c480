"""What reviews shows on the model page: where its revalidation stands, and its open high
and critical findings (registered in ReviewsConfig.ready, models_registry/page_panels.py)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils import timezone

from governance.roles import Capability, user_can
from models_registry.models import RegisteredModel
from reviews.finding_models import Finding
from reviews.finding_selectors import findings_open
from reviews.revalidation_selectors import revalidation_state


def revalidation_panel(model: RegisteredModel, request: HttpRequest) -> dict[str, Any]:
    return {
        "state": revalidation_state(model=model, as_of=timezone.localdate()),
        "can_record": user_can(request.user, Capability.RECORD_VALIDATION),
    }


def findings_panel(model: RegisteredModel, request: HttpRequest) -> dict[str, Any]:
    grave = list(findings_open(model=model, min_severity=Finding.Severity.HIGH))
    return {
        "findings": grave,
        "open_count": findings_open(model=model).count(),
        "model_name": model.name,
    }
