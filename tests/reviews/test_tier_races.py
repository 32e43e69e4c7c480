"""A tier change in flight and an execution: the execution waits and is decided under it.

Execution locks the model row before it evaluates the policy (`_lock_model`; the version
lock's query joins the model too, for its ordering), and a tier change holds that lock
until it commits; so an execution never deploys under a tier that a committed change has
already raised. PostgreSQL only, like tests/reviews/test_races.py.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from django.db import connection, transaction

from governance.audit_context import Origin, acting_as
from governance.errors import Conflict
from models_registry import services as registry
from models_registry.models import ModelVersion
from reviews import services as reviews
from tests.conftest import is_postgres, skip_unless

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

TIMEOUT = 30


@pytest.fixture(autouse=True)
def _postgres_only() -> None:
    skip_unless(is_postgres(), "race tests need PostgreSQL row locks (set DATABASE_URL)")


def test_an_execution_waits_for_a_tier_raise_and_is_decided_under_it(
    users, make_model, make_version
):
    model = make_model(risk_tier="low")
    version = make_version(model)
    with acting_as(origin=Origin.SYSTEM):
        request = reviews.promotion_request_create(
            actor=users["ci"], version=version, justification="x"
        )
        reviews.signoff_create(actor=users["board"], request_id=request.pk, decision="approve")
    raised, release = threading.Event(), threading.Event()
    outcome: dict[str, Any] = {}

    def raise_tier() -> None:
        try:
            with acting_as(origin=Origin.API, user=users["compliance"]), transaction.atomic():
                registry.model_update(actor=users["compliance"], model=model, risk_tier="high")
                raised.set()
                release.wait(TIMEOUT)
        finally:
            connection.close()

    def execute() -> None:
        try:
            with acting_as(origin=Origin.API, user=users["ds"]):
                outcome["value"] = reviews.promotion_execute(
                    actor=users["ds"], request_id=request.pk
                )
        except Exception as error:
            outcome["error"] = error
        finally:
            connection.close()

    changer = threading.Thread(target=raise_tier, daemon=True)
    changer.start()
    assert raised.wait(TIMEOUT)
    executor = threading.Thread(target=execute, daemon=True)
    executor.start()
    time.sleep(0.5)
    assert executor.is_alive(), f"the execution did not wait for the tier change: {outcome}"
    release.set()
    changer.join(TIMEOUT)
    executor.join(TIMEOUT)
    assert not executor.is_alive() and not changer.is_alive()

    assert isinstance(outcome.get("error"), Conflict), outcome
    assert "compliance officer" in str(outcome["error"]), "decided under the high policy"
    version.refresh_from_db()
    assert version.stage == ModelVersion.Stage.CANDIDATE
