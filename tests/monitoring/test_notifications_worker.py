"""A real Celery worker on the notifications queue, through Redis, against the test's
PostgreSQL database: a webhook that answers 500 is retried by the worker itself (a delayed
task, exponential backoff) and delivered on the second attempt. Skipped on the embedded
default."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import transaction

from monitoring.models import Alert, NotificationDelivery
from monitoring.signals import alert_fired
from tests.conftest import is_postgres, skip_unless
from tests.models_registry.test_celery_worker import (
    Worker,
    _forget_broker_setup,
    require_redis,
    wait_for,
)
from tests.monitoring.notification_helpers import http_receiver, make_alert, route, webhook

__all__ = ["http_receiver"]

pytestmark = pytest.mark.celery_worker


@pytest.fixture
def notification_worker(
    django_db_setup: Any, tmp_path_factory: pytest.TempPathFactory, settings: Any
) -> Iterator[Worker]:
    skip_unless(is_postgres(), "the worker test needs PostgreSQL (set DATABASE_URL)")
    redis_url = require_redis()
    queue = f"test-notifications-{uuid.uuid4().hex[:12]}"
    worker = Worker(
        queue,
        redis_url,
        tmp_path_factory.mktemp("celery") / "worker.log",
        env={
            "NOTIFICATIONS_QUEUE": queue,
            "NOTIFICATION_RETRY_SECONDS": "1",
            "NOTIFICATION_MAX_ATTEMPTS": "3",
            "NOTIFICATION_TIMEOUT_SECONDS": "2",
        },
    )
    from governance.celery import app

    keys = ("task_always_eager", "task_default_queue", "broker_url", "task_routes")
    saved = {key: app.conf[key] for key in keys}
    settings.CELERY_TASK_ALWAYS_EAGER = False
    app.conf.update(
        task_always_eager=False,
        task_default_queue=f"{queue}-default",
        broker_url=redis_url,
        task_routes={"monitoring.notification_deliver": {"queue": queue}},
    )
    _forget_broker_setup(app)
    worker.start()
    try:
        yield worker
    finally:
        worker.stop()
        app.conf.update(saved)
        _forget_broker_setup(app)
        import redis

        client = redis.Redis.from_url(redis_url)
        for key in client.scan_iter(match=f"*{queue}*"):
            client.delete(key)


@pytest.mark.django_db(transaction=True)
def test_the_worker_retries_a_failed_webhook_with_backoff(
    make_model, make_version, http_receiver, notification_worker
):
    http_receiver.answers = [(500, {})]
    version = make_version(make_model("churn"))
    route(webhook("ops", http_receiver.url), version.model)

    with transaction.atomic():  # as the rule engine does: the signal goes out on commit
        alert = make_alert(version)
        transaction.on_commit(
            lambda: alert_fired.send(sender=Alert, alert=alert, created=True), robust=True
        )

    def delivered() -> bool:
        return NotificationDelivery.objects.filter(status="delivered").exists()

    wait_for(delivered, notification_worker, "delivered webhook", timeout=60)
    delivery = NotificationDelivery.objects.get()
    first, second = delivery.attempt_records.all()
    assert (first.outcome, first.http_status) == ("failed", 500)
    assert (second.outcome, second.http_status) == ("delivered", 200)
    assert 1.0 <= (first.next_retry_at - first.created_at).total_seconds() <= 1.1
    assert second.created_at >= first.next_retry_at
    assert len(http_receiver.requests) == 2
    assert http_receiver.requests[0].body == http_receiver.requests[1].body
