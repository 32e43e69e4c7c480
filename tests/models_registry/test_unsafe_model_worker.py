"""Opted in, a model whose loading runs code is analysed by a real Celery worker on the
isolated queue, and by no other process."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from django.conf import settings

from models_registry.models import VersionAnalysis
from tests.conftest import is_postgres, skip_unless
from tests.models_registry import unsafe_models
from tests.models_registry.test_celery_worker import (
    Worker,
    _forget_broker_setup,
    require_redis,
    wait_for,
)
from tests.models_registry.test_model_formats import csv_upload

pytestmark = pytest.mark.celery_worker


@pytest.fixture(scope="module")
def isolated_worker(
    django_db_setup: Any, tmp_path_factory: pytest.TempPathFactory, mlflow_store: str
) -> Iterator[Worker]:
    """A worker consuming only the untrusted-models queue, opted in to unsafe formats."""
    skip_unless(is_postgres(), "the worker test needs PostgreSQL (set DATABASE_URL)")
    redis_url = require_redis()
    queue = f"test-untrusted-{uuid.uuid4().hex[:12]}"
    env = {
        "ALLOW_UNSAFE_MODEL_FORMATS": "True",
        "UNSAFE_MODEL_ANALYSIS_QUEUE": queue,
        "MLFLOW_TRACKING_URI": settings.MLFLOW_TRACKING_URI,
        "MLFLOW_ARTIFACT_ROOT": settings.MLFLOW_ARTIFACT_ROOT,
    }
    worker = Worker(queue, redis_url, tmp_path_factory.mktemp("celery") / "worker.log", env)
    yield worker
    worker.stop()
    import redis

    client = redis.Redis.from_url(redis_url)
    for key in client.scan_iter(match=f"*{queue}*"):
        client.delete(key)


@pytest.fixture
def publishing(isolated_worker: Worker, settings: Any) -> Iterator[Worker]:
    """Tasks go to Redis; everything but the unsafe analysis to a queue nobody consumes."""
    from governance.celery import app

    keys = ("task_always_eager", "task_default_queue", "broker_url")
    saved = {key: app.conf[key] for key in keys}
    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.ALLOW_UNSAFE_MODEL_FORMATS = True
    settings.UNSAFE_MODEL_ANALYSIS_QUEUE = isolated_worker.queue
    app.conf.update(
        task_always_eager=False,
        task_default_queue=f"{isolated_worker.queue}-default",
        broker_url=isolated_worker.redis_url,
    )
    _forget_broker_setup(app)
    try:
        yield isolated_worker
    finally:
        app.conf.update(saved)
        _forget_broker_setup(app)


@pytest.mark.django_db(transaction=True)
def test_the_worker_on_the_isolated_queue_is_the_only_process_that_runs_it(
    api, make_model, make_version, tmp_path, settings, publishing
):
    worker = publishing
    marker = tmp_path / "author-code-ran"
    model = make_model()
    run_id = unsafe_models.log_python_model(marker)
    marker.unlink(missing_ok=True)
    make_version(model, mlflow_run_id=run_id, metrics={})

    uploaded = api("ci").post(
        f"/api/v1/models/{model.name}/versions/1/reference-data/",
        {"file": csv_upload()},
        format="multipart",
    )
    assert uploaded.status_code == 201, uploaded.content
    assert not marker.exists()  # queued, not run here
    worker.start()
    wait_for(lambda: VersionAnalysis.objects.exists(), worker, "analysis")
    assert marker.read_text() == str(worker.process.pid)
    assert VersionAnalysis.objects.get().status != VersionAnalysis.Status.UNAVAILABLE
