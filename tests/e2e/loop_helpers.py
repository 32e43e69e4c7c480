"""What the loop's end-to-end test stands on: one real Celery worker consuming every queue
the loop uses, an SMTP server it mails to, beat's dispatch of due entries, and calls through
the predict endpoint with chosen routing keys.

The worker is a subprocess against the test's PostgreSQL database and the session's MLflow
store, on queue names of its own (so it never takes other people's tasks from the shared
Redis). This process publishes to those queues once the test has set up its data.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from aiosmtpd.controller import Controller
from django.conf import settings as django_settings

from governance.celery import app
from models_registry.serving.routing import bucket
from monitoring.services.check_schedules import due_schedules
from tests.conftest import is_postgres, skip_unless
from tests.models_registry.test_celery_worker import (
    Worker,
    _forget_broker_setup,
    require_redis,
)
from tests.monitoring.notification_helpers import SmtpSink, free_port

QUEUE_KINDS = ("checks", "retraining", "notifications")
ROUTED = {
    "monitoring.check_execute": "checks",
    "monitoring.check_report_render": "checks",
    "monitoring.retraining_execute": "retraining",
    "monitoring.notification_deliver": "notifications",
}


@pytest.fixture(scope="module")
def smtp_server() -> Iterator[SmtpSink]:
    """A real SMTP server (aiosmtpd) for the whole module: the worker is told its port once."""
    sink = SmtpSink(port=free_port())
    controller = Controller(sink, hostname="127.0.0.1", port=sink.port)
    controller.start()
    yield sink
    controller.stop()


@pytest.fixture(scope="module")
def loop_worker(
    django_db_setup: Any,
    tmp_path_factory: pytest.TempPathFactory,
    mlflow_store: str,
    smtp_server: SmtpSink,
) -> Iterator[Worker]:
    """One `celery worker` taking the default, checks, retraining and notifications queues
    (each under a name of its own), mailing through `smtp_server`."""
    skip_unless(is_postgres(), "the end-to-end test needs PostgreSQL (set DATABASE_URL)")
    redis_url = require_redis()
    base = f"test-e2e-{uuid.uuid4().hex[:12]}"
    queues = {kind: f"{base}-{kind}" for kind in QUEUE_KINDS}
    worker = Worker(
        base,
        redis_url,
        tmp_path_factory.mktemp("celery") / "worker.log",
        env={
            "CHECKS_QUEUE": queues["checks"],
            "RETRAINING_QUEUE": queues["retraining"],
            "NOTIFICATIONS_QUEUE": queues["notifications"],
            "MLFLOW_TRACKING_URI": django_settings.MLFLOW_TRACKING_URI,
            "MLFLOW_ARTIFACT_ROOT": django_settings.MLFLOW_ARTIFACT_ROOT,
            "EMAIL_URL": f"smtp://127.0.0.1:{smtp_server.port}?timeout=5",
            "NOTIFICATION_RETRY_SECONDS": "1",
            "NOTIFICATION_TIMEOUT_SECONDS": "5",
        },
        also=tuple(queues.values()),
    )
    try:
        worker.launch()  # ready by the time the test has set up its data (publish_to waits)
        yield worker
    finally:
        worker.stop()
        import redis

        client = redis.Redis.from_url(redis_url)
        for key in client.scan_iter(match=f"*{base}*"):  # the queues and kombu's bindings
            client.delete(key)


def publish_to(worker: Worker, settings: Any) -> Iterator[Worker]:
    """From here on this process publishes tasks to the worker's queues instead of running
    them (the body of a fixture: the conf is restored afterwards)."""
    worker.wait_ready()
    keys = ("task_always_eager", "task_default_queue", "broker_url", "task_routes")
    saved = {key: app.conf[key] for key in keys}
    settings.CELERY_TASK_ALWAYS_EAGER = False
    app.conf.update(
        task_always_eager=False,
        task_default_queue=worker.queue,
        broker_url=worker.redis_url,
        task_routes={task: {"queue": f"{worker.queue}-{kind}"} for task, kind in ROUTED.items()},
    )
    _forget_broker_setup(app)
    try:
        yield worker
    finally:
        app.conf.update(saved)
        _forget_broker_setup(app)


# --- beat -----------------------------------------------------------------------------------


def beat_sends(entry: Any) -> None:
    """What beat does with a due entry: celery's own Scheduler publishes its task with the
    entry's options (and beat's header) to the broker."""
    from celery.beat import Scheduler

    Scheduler(app=app, lazy=True).apply_async(entry, advance=False)


def beat_sends_due_checks() -> list[str]:
    """One beat tick over the check schedules (django-celery-beat PeriodicTasks): each due one
    is recorded as run on its row, as DatabaseScheduler does, and `monitoring.check_scheduled`
    is published with its kwargs. Returns the names of the schedules that were due."""
    sent = []
    for entry in due_schedules():
        next(entry).save()  # last_run_at = now, total_run_count + 1
        beat_sends(entry)
        sent.append(entry.name)
    return sent


def beat_sends_entry(name: str) -> None:
    """Beat publishing the CELERY_BEAT_SCHEDULE entry `name` (e.g. the canaries' minute)."""
    from celery.beat import ScheduleEntry

    spec = app.conf.beat_schedule[name]
    beat_sends(
        ScheduleEntry(
            name=name,
            task=spec["task"],
            schedule=spec["schedule"],
            args=spec.get("args", ()),
            kwargs=spec.get("kwargs", {}),
            options=spec.get("options", {}),
            app=app,
        )
    )


# --- serving --------------------------------------------------------------------------------


def routing_keys(model_name: str, traffic: int, *, canary: bool, count: int) -> list[str]:
    """`count` caller keys that sticky routing sends to the canary (or to production)."""
    keys = (f"caller-{number}" for number in itertools.count())
    chosen = (key for key in keys if (bucket(model_name, key) < traffic) == canary)
    return list(itertools.islice(chosen, count))


def plain(row: Any, names: list[str]) -> dict[str, Any]:
    """A data frame row as JSON features (numpy scalars as Python numbers)."""
    return {
        name: row[name].item() if isinstance(row[name], np.generic) else row[name] for name in names
    }
