"""Concurrent rollbacks on real PostgreSQL row locks: many threads, each its own connection."""

from __future__ import annotations

import pytest

from models_registry import services as registry
from models_registry.models import DeploymentEvent, ModelVersion
from tests.conftest import is_postgres, skip_unless
from tests.reviews.test_lock_order import api_post
from tests.reviews.test_races import assert_audit_chain_intact, make_people, race, split

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _postgres_only() -> None:
    skip_unless(is_postgres(), "race tests need PostgreSQL row locks (set DATABASE_URL)")


@pytest.mark.parametrize("callers", [2, 8])
def test_concurrent_rollbacks_from_v5_step_back_once(users, make_model, make_version, callers):
    model = make_model(risk_tier="low")
    for version in [make_version(model) for _ in range(5)]:
        registry.deployment_promote(version=version, actor=users["ds"])
    officers = make_people("officer", "compliance", callers)
    path = f"/api/v1/models/{model.name}/rollback/"

    outcomes = race(
        [
            (u, lambda u: api_post(u, path, {"reason": "v5 drifts", "from_version": 5}))
            for u in officers
        ]
    )

    successes, _ = split(outcomes)
    assert len(successes) == callers, [(o.user, repr(o.error)) for o in outcomes]
    statuses = sorted(o.value[0] for o in outcomes)
    assert statuses == [200] + [409] * (callers - 1), [o.value for o in outcomes]
    assert all(o.value[1]["production_version"] == 4 for o in outcomes)
    assert ModelVersion.objects.get(model=model, stage="production").version == 4
    assert DeploymentEvent.objects.filter(model=model, kind="rolled_back").count() == 1
    assert_audit_chain_intact()
