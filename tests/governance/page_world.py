"""A world that grows: `rows` of each kind the main pages list, made through the services,
so the page query tests can render every page with 1 and with 50 of each."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth import get_user_model
from django.test import TestCase

from governance.audit_context import Origin, acting_as
from models_registry import services as registry
from models_registry.models import ModelVersion, RegisteredModel
from monitoring.services.incidents import incident_open
from reviews.models import PromotionRequest
from reviews.services import promotion_execute, promotion_request_create, signoff_create
from tests.conftest import make_user
from tests.monitoring.alert_page_helpers import plain_alert
from tests.reviews.review_board_data import raise_finding, validate


def made_users() -> dict[str, Any]:
    """The people of tests/conftest.py's `users` that the world and its pages need."""
    return {
        "ds": make_user("dana", "data_scientist"),
        "validator": make_user("vera", "validator"),
        "board": make_user("bella", "board"),
    }


def model_maker(name: str, risk_tier: str = "low") -> RegisteredModel:
    """What the `make_model` fixture does, for a world built outside one test."""
    with acting_as(origin=Origin.SYSTEM):
        return registry.model_create(
            actor=User.objects.get(username="dana"), name=name, risk_tier=risk_tier
        )


def version_maker(model: RegisteredModel, **kwargs: Any) -> ModelVersion:
    """What the `make_version` fixture does (the card generated in-process)."""
    with acting_as(origin=Origin.SYSTEM), TestCase.captureOnCommitCallbacks(execute=True):
        version = registry.version_register(
            actor=User.objects.get(username="dana"), model=model, **kwargs
        )
    version.refresh_from_db()
    return version


User = get_user_model()


@dataclass
class PageWorld:
    """`main` (medium tier) collects open requests with a sign-off each, incidents, alerts,
    findings and validations; `live` (low tier) a version promoted per row (deployment
    events, closed requests); `others` fill the model list."""

    users: dict[str, Any]
    make_model: Any
    make_version: Any
    main: RegisteredModel | None = None
    live: RegisteredModel | None = None
    rows: int = 0
    others: list[RegisteredModel] = field(default_factory=list)
    request: PromotionRequest | None = None

    def grow(self, rows: int) -> PageWorld:
        """Add rows of each kind until there are `rows`."""
        users = self.users
        if self.main is None:
            self.main = self.make_model(name="main-model", risk_tier="medium")
            self.live = self.make_model(name="live-model", risk_tier="low")
        with (
            acting_as(origin=Origin.SYSTEM),
            TestCase.captureOnCommitCallbacks(execute=True),
        ):
            for index in range(self.rows, rows):
                self._one_row(index, users)
        self.rows = rows
        return self

    def _one_row(self, index: int, users: dict[str, Any]) -> None:
        version = self.make_version(self.main, metrics={"auc": 0.8 + index / 1000})
        request = promotion_request_create(actor=users["ds"], version=version, justification="x")
        signoff_create(actor=users["board"], request_id=request.pk, decision="approve")
        self.request = self.request or request
        live = self.make_version(self.live, metrics={"auc": 0.7 + index / 1000})
        done = promotion_request_create(actor=users["ds"], version=live, justification="y")
        signoff_create(actor=users["validator"], request_id=done.pk, decision="approve")
        promotion_execute(actor=users["ds"], request_id=done.pk)
        incident_open(
            model=self.main,
            version=version,
            severity="warning",
            source="manual",
            title=f"Incident {index}",
            description="Something broke.",
            actor=users["ds"],
        )
        plain_alert(version)
        raise_finding(self.main, users["validator"], title=f"Finding {index}")
        validate(self.main, users["validator"])
        self.others.append(self.make_model(name=f"other-{index}", risk_tier="low"))

    @property
    def version(self) -> ModelVersion:
        return self.main.versions.order_by("version").first()
