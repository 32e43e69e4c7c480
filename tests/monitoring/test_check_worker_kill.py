"""A check whose worker process is killed (SIGKILL) mid-run re-runs and is stored once.

A real Celery worker (prefork, one child) on a queue of its own, through Redis, against the
test's PostgreSQL database. Acks late plus reject-on-worker-lost give the message back when
the child dies; the parent starts a new child that takes it again; check_execute sees the
run still `running` and runs it to the end. Skipped on the embedded default.
"""

from __future__ import annotations

import os
import signal
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from governance.audit.chain import audit_sequence
from governance.models import AuditEvent
from monitoring.models import CheckMetric, CheckRun
from monitoring.services import check_request
from tests.conftest import is_postgres, skip_unless
from tests.models_registry.test_celery_worker import (
    Worker,
    _forget_broker_setup,
    require_redis,
    wait_for,
)
from tests.monitoring.check_helpers import log_window, upload_reference

pytestmark = pytest.mark.celery_worker


@pytest.fixture(scope="module")
def marker_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("checks") / "attempts.txt"


@pytest.fixture(scope="module")
def check_worker(
    django_db_setup: Any, tmp_path_factory: pytest.TempPathFactory, marker_path: Path
) -> Iterator[Worker]:
    skip_unless(is_postgres(), "the worker test needs PostgreSQL (set DATABASE_URL)")
    redis_url = require_redis()
    queue = f"test-checks-{uuid.uuid4().hex[:12]}"
    worker = Worker(
        queue,
        redis_url,
        tmp_path_factory.mktemp("celery") / "worker.log",
        env={"CHECKS_QUEUE": queue, "CHECK_TEST_MARKER": str(marker_path)},
        app="tests.monitoring.check_worker_app",
        pool="prefork",
    )
    yield worker
    worker.stop()
    import redis

    client = redis.Redis.from_url(redis_url)
    for key in client.scan_iter(match=f"*{queue}*"):
        client.delete(key)


@pytest.fixture
def checks_via_worker(check_worker: Worker, settings: Any) -> Iterator[Worker]:
    """Check tasks go to the worker's queue; nothing else is published to it."""
    from governance.celery import app

    keys = ("task_always_eager", "task_default_queue", "broker_url", "task_routes")
    saved = {key: app.conf[key] for key in keys}
    settings.CELERY_TASK_ALWAYS_EAGER = False
    app.conf.update(
        task_always_eager=False,
        task_default_queue=f"{check_worker.queue}-default",
        broker_url=check_worker.redis_url,
        task_routes={"monitoring.check_execute": {"queue": check_worker.queue}},
    )
    _forget_broker_setup(app)
    try:
        yield check_worker
    finally:
        app.conf.update(saved)
        _forget_broker_setup(app)


def attempts(marker: Path) -> list[tuple[int, int]]:
    if not marker.exists():
        return []
    return [tuple(map(int, line.split())) for line in marker.read_text().splitlines() if line]


@pytest.mark.django_db(transaction=True)
def test_a_check_whose_worker_process_is_killed_re_runs_and_is_stored_once(
    users, make_model, make_version, checks_via_worker, marker_path
):
    from monitoring.checks.runner import CheckKind, CheckOutcome, check_kind_register

    # The request validates the kind here too; this process never runs it.
    check_kind_register(
        CheckKind("slow-drift", lambda run, settings: CheckOutcome({}, {}, 0), needs_reference=True)
    )
    worker = checks_via_worker
    worker.start()
    marker_path.unlink(missing_ok=True)
    version = make_version(make_model())
    rng = np.random.default_rng(3)
    upload_reference(users["ds"], version, pd.DataFrame({"tenure": rng.normal(10, 2, 2000)}))
    log_window(
        version,
        [{"features": {"tenure": float(t)}, "prediction": 0.5} for t in rng.normal(16, 2, 500)],
    )

    run = check_request(actor=users["ds"], model=version.model, version=1, kind="slow-drift")

    wait_for(lambda: len(attempts(marker_path)) >= 1, worker, "the first attempt to start")
    (first_pid, first_attempt), *_ = attempts(marker_path)
    assert first_attempt == 1
    assert first_pid != worker.process.pid  # a pool child, not the worker's main process
    run.refresh_from_db()
    assert run.status == CheckRun.Status.RUNNING

    os.kill(first_pid, signal.SIGKILL)

    def done() -> bool:
        run.refresh_from_db()
        return run.status in (CheckRun.Status.DONE, CheckRun.Status.FAILED)

    wait_for(done, worker, "the check to be re-run and stored", timeout=120)
    assert run.status == CheckRun.Status.DONE, run.error
    assert run.attempts == 2
    second_pid, second_attempt = attempts(marker_path)[1]
    assert second_attempt == 2 and second_pid != first_pid
    # The real drift check, computed once, by the second process.
    assert run.results["finished_by"] == second_pid
    assert run.results["features"]["tenure"]["drifted"] is True
    assert (run.reference_rows, run.current_rows) == (2000, 500)
    metrics = dict(CheckMetric.objects.filter(run=run).values_list("name", "value"))
    assert metrics["rows"] == 500.0 and metrics["drift_share"] == 1.0
    assert CheckMetric.objects.filter(run=run, name="drift_share").count() == 1
    audit_sequence()
    completed = AuditEvent.objects.filter(action="check.completed", object_id=str(run.pk))
    assert completed.count() == 1
    assert "WorkerLostError" in worker.log() or "SIGKILL" in worker.log()
