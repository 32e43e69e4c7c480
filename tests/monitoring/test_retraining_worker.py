"""A retraining run executed by a real Celery worker through Redis, on PostgreSQL: the
worker clones, fits, logs to the session's MLflow store, registers v2 (and builds its card)
and reviews, in the worker, opens the canary request. Skipped on the embedded default."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from django.conf import settings as django_settings

from monitoring.models import RetrainingRun
from reviews.models import PromotionRequest
from tests.conftest import is_postgres, skip_unless
from tests.models_registry.test_celery_worker import (
    Worker,
    _forget_broker_setup,
    require_redis,
    wait_for,
)
from tests.monitoring.retraining_data import churn_in_production, drifted_traffic

pytestmark = pytest.mark.celery_worker


@pytest.fixture
def retraining_worker(
    django_db_setup: Any, tmp_path_factory: pytest.TempPathFactory, mlflow_store: str, settings
) -> Iterator[Worker]:
    skip_unless(is_postgres(), "the worker test needs PostgreSQL (set DATABASE_URL)")
    redis_url = require_redis()
    queue = f"test-retraining-{uuid.uuid4().hex[:12]}"
    worker = Worker(
        queue,
        redis_url,
        tmp_path_factory.mktemp("celery") / "worker.log",
        env={
            "RETRAINING_QUEUE": queue,
            "MLFLOW_TRACKING_URI": django_settings.MLFLOW_TRACKING_URI,
            "MLFLOW_ARTIFACT_ROOT": django_settings.MLFLOW_ARTIFACT_ROOT,
        },
    )
    from governance.celery import app

    keys = ("task_always_eager", "task_default_queue", "broker_url", "task_routes")
    saved = {key: app.conf[key] for key in keys}
    settings.CELERY_TASK_ALWAYS_EAGER = False
    app.conf.update(
        task_always_eager=False,
        task_default_queue=queue,
        broker_url=redis_url,
        task_routes={"monitoring.retraining_execute": {"queue": queue}},
    )
    _forget_broker_setup(app)
    try:
        yield worker
    finally:
        app.conf.update(saved)
        _forget_broker_setup(app)
        worker.stop()
        import redis

        client = redis.Redis.from_url(redis_url)
        for key in client.scan_iter(match=f"*{queue}*"):
            client.delete(key)


@pytest.mark.django_db(transaction=True)
def test_a_worker_retrains_registers_and_asks_for_a_canary(
    users, make_model, make_version, churn_run, api, request
) -> None:
    trained = churn_run["trained"]
    # Set up in-process (tasks eager) before the worker takes the queue over.
    production = churn_in_production(
        users, make_model, make_version, churn_run["run_id"], trained.train
    )
    drifted_traffic(production, trained.model, rows=320, labelled=300)
    worker = request.getfixturevalue("retraining_worker")
    worker.start()

    response = api("ds").post(
        f"/api/v1/models/{production.model.name}/retraining-runs/", {"version": 1}, format="json"
    )
    assert response.status_code == 202, response.content
    run_id = response.json()["id"]

    def finished() -> bool:
        run = RetrainingRun.objects.get(pk=run_id)
        return run.is_finished and (run.promotion_request_id is not None or run.reason != "")

    wait_for(finished, worker, "finished retraining run", timeout=180)
    run = RetrainingRun.objects.get(pk=run_id)
    assert run.status == RetrainingRun.Status.DONE, run.reason
    assert run.attempts == 1
    assert run.candidate_version.version == 2
    request_row = PromotionRequest.objects.get(pk=run.promotion_request_id)
    assert request_row.strategy == PromotionRequest.Strategy.CANARY
    assert request_row.status == PromotionRequest.Status.PENDING
    wait_for(
        lambda: bool(
            type(run.candidate_version).objects.get(pk=run.candidate_version_id).card_hash
        ),
        worker,
        "card of the candidate",
    )
