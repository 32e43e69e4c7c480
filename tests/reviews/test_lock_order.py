"""One lock order for model, version and request rows (governance/locking.py), on PostgreSQL.

Each test either forces the interleaving that deadlocks when two flows take those rows in
opposite orders (a row held by the test itself decides who waits where), or runs the flows
of one model all at once through the API, where a deadlock would answer 500.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from django.db import connection, connections

from governance.models import AuditEvent
from governance.services import user_token
from models_registry.cards import card_regenerate
from models_registry.models import DeploymentEvent, ModelVersion
from reviews import services as reviews
from reviews.models import PromotionRequest
from tests.conftest import is_postgres, skip_unless
from tests.reviews.test_races import (
    assert_audit_chain_intact,
    make_people,
    race,
    request_for,
    sign,
    split,
)

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _postgres_only() -> None:
    skip_unless(is_postgres(), "lock-order tests need PostgreSQL row locks (set DATABASE_URL)")


def executed_request(users: dict[str, Any], version: ModelVersion) -> PromotionRequest:
    """A request for `version`, approved and executed (the version goes to production)."""
    request = request_for(version, users["ds"])
    sign(request, users["board"])
    reviews.promotion_execute(actor=users["ds"], request_id=request.pk)
    return request


@contextmanager
def row_held(table: str, pk: int) -> Iterator[Any]:
    """Hold one row FOR NO KEY UPDATE on a connection of our own until the block ends.

    The holder's deadlock_timeout is long, so when a cycle forms through it, PostgreSQL
    picks one of the service transactions (1 s) as the victim, never the holder.
    """
    holder = connections.create_connection("default")
    try:
        holder.set_autocommit(False)
        with holder.cursor() as cursor:
            cursor.execute("SET LOCAL deadlock_timeout = '20s'")
            cursor.execute(f"SELECT 1 FROM {table} WHERE id = %s FOR NO KEY UPDATE", [pk])
        yield holder
    finally:
        holder.rollback()
        holder.close()


def wait_until_waiting(count: int, timeout: float = 10.0) -> None:
    """Until `count` other sessions of this database wait for a lock."""
    deadline = time.monotonic() + timeout
    while True:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
            )
            waiting = cursor.fetchone()[0]
        if waiting >= count:
            return
        assert time.monotonic() < deadline, f"only {waiting} of {count} sessions wait for a lock"
        time.sleep(0.02)


def in_thread(fn: Any, *args: Any) -> tuple[threading.Thread, dict[str, Any]]:
    result: dict[str, Any] = {}

    def body() -> None:
        try:
            result["value"] = fn(*args)
        except BaseException as exc:
            result["error"] = exc
        finally:
            connection.close()

    thread = threading.Thread(target=body, daemon=True)
    thread.start()
    return thread, result


def api_post(user: Any, path: str, body: dict[str, Any] | None = None) -> tuple[int, dict]:
    from rest_framework.test import APIClient

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {user_token(user=user)}")
    response = client.post(path, body or {}, format="json")
    return response.status_code, response.json()


def test_an_execute_retried_while_a_rollback_runs_answers_409_not_a_deadlock(
    users, make_model, make_version
):
    """CI retries the execute of v1's request (long executed) while someone rolls back to v1.

    The rollback holds the model and waits for the production row (held here); the retried
    execute then locks its version, v1, the rollback target. With the execute taking the
    version before the model and the rollback the model before the target, the two wait
    for each other; with the model always first, the execute waits behind the rollback.
    """
    model = make_model(risk_tier="low")
    v1, v2 = make_version(model), make_version(model)
    first = executed_request(users, v1)
    executed_request(users, v2)

    with row_held("models_registry_modelversion", v2.pk):
        rollback, rolled = in_thread(
            api_post, users["compliance"], f"/api/v1/models/{model.name}/rollback/", {"reason": "x"}
        )
        wait_until_waiting(1)
        execute, executed = in_thread(
            api_post, users["ds"], f"/api/v1/promotion-requests/{first.pk}/execute/"
        )
        wait_until_waiting(2)
    rollback.join(30)
    execute.join(30)

    assert "error" not in rolled and "error" not in executed, (rolled, executed)
    assert rolled["value"][0] == 200, rolled["value"]
    assert executed["value"][0] == 409, executed["value"]
    assert "executed" in executed["value"][1]["detail"]
    assert dict(ModelVersion.objects.filter(model=model).values_list("version", "stage")) == {
        1: "production",
        2: "archived",
    }
    assert_audit_chain_intact()


def test_fifteen_concurrent_executes_with_rollbacks_and_rebuilds_never_answer_500(
    users, make_model, make_version
):
    """The issue's storm: 15 approved requests of one model executed at once through the
    API, beside CI re-executing ones already executed, two rollbacks and card rebuilds."""
    model = make_model(risk_tier="low")
    base = [make_version(model) for _ in range(2)]
    done = [executed_request(users, v) for v in base]
    versions = [make_version(model) for _ in range(15)]
    requests = [request_for(v, users["ds"]) for v in versions]
    for request in requests:
        sign(request, users["board"])
    executors = make_people("executor", "data_scientist", 15 + len(done))

    def execute(pk: int) -> Any:
        return lambda u: api_post(u, f"/api/v1/promotion-requests/{pk}/execute/")

    def rollback(u: Any) -> tuple[int, dict]:
        return api_post(u, f"/api/v1/models/{model.name}/rollback/", {"reason": "storm"})

    def rebuild(pk: int) -> Any:
        return lambda u: card_regenerate(version_id=pk, reason="storm") and (200, {})

    calls = [(u, execute(r.pk)) for u, r in zip(executors, requests + done, strict=True)]
    calls += [(users["compliance"], rollback), (users["board"], rollback)]
    calls += [(users["ds"], rebuild(v.pk)) for v in base + versions[:6]]
    outcomes = race(calls)

    successes, _ = split(outcomes)
    assert len(successes) == len(calls), [(o.user, repr(o.error)) for o in outcomes]
    statuses = [o.value[0] if isinstance(o.value, tuple) else 200 for o in outcomes]
    assert set(statuses) <= {200, 409}, [o.value for o in outcomes]
    assert statuses[:15] == [200] * 15  # every approved request was executed
    assert all(status == 409 for status in statuses[15 : 15 + len(done)])
    assert ModelVersion.objects.filter(model=model, stage="production").count() == 1
    assert DeploymentEvent.objects.filter(model=model, kind="promoted").count() == 17
    assert_audit_chain_intact()


def test_a_deadlock_with_an_outside_writer_is_retried_and_changes_things_once(
    users, make_model, make_version, caplog
):
    """A script outside the lock order (production row, then the model) deadlocks with a
    rollback; PostgreSQL aborts the rollback's transaction, which is re-run and succeeds."""
    model = make_model(risk_tier="low")
    v1, v2 = make_version(model), make_version(model)
    executed_request(users, v1)
    executed_request(users, v2)
    rolled_back_before = AuditEvent.objects.filter(action="deployment.rolled_back").count()
    script_holds_v2, script_blocked = threading.Event(), threading.Event()

    def outside_script() -> None:
        with row_held("models_registry_modelversion", v2.pk) as holder:
            script_holds_v2.set()
            wait_until_waiting(1)  # the rollback holds the model and waits for v2
            script_blocked.set()
            with holder.cursor() as cursor:  # returns once the rollback lost the deadlock
                cursor.execute(
                    "SELECT 1 FROM models_registry_registeredmodel WHERE id = %s FOR NO KEY UPDATE",
                    [model.pk],
                )
            time.sleep(0.2)  # the retry now waits for this script to finish

    with caplog.at_level(logging.INFO, logger="governance.locking"):
        script, scripted = in_thread(outside_script)
        assert script_holds_v2.wait(10)
        rollback, rolled = in_thread(
            api_post, users["compliance"], f"/api/v1/models/{model.name}/rollback/", {"reason": "x"}
        )
        rollback.join(30)
        script.join(30)

    assert "error" not in scripted and "error" not in rolled, (scripted, rolled)
    assert script_blocked.is_set()
    assert rolled["value"][0] == 200, rolled["value"]
    assert any("lost a lock conflict, retrying" in r.message for r in caplog.records)
    assert ModelVersion.objects.get(model=model, stage="production") == v1
    assert DeploymentEvent.objects.filter(model=model, kind="rolled_back").count() == 1
    rolled_back = AuditEvent.objects.filter(action="deployment.rolled_back").count()
    assert rolled_back == rolled_back_before + 1
    assert_audit_chain_intact()
