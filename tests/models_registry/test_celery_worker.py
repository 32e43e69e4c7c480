"""Cards built by a real Celery worker process through Redis, against the test database.

The worker is a subprocess on a queue of its own (so it never takes other people's tasks
from the shared Redis), pointed at the database pytest-django created. Rows must be
committed for it to see them, hence transactional tests. Needs PostgreSQL and Redis: skipped
on the embedded default, failed under REQUIRE_SERVICES=True (CI).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

from governance.audit_context import Origin, acting_as
from models_registry.models import ModelCardRevision, ModelVersion
from reviews import services as reviews
from reviews.models import PromotionRequest
from tests.conftest import database_url, is_postgres, skip_unless

pytestmark = pytest.mark.celery_worker

WORKER_START_TIMEOUT = 60
CARD_TIMEOUT = 60
BAD_REDIS_URL = "redis://127.0.0.1:1/0"


def redis_answers(url: str) -> bool:
    if not url:
        return False
    import redis

    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1).ping())
    except redis.RedisError:
        return False


def require_redis() -> str:
    url = settings.REDIS_URL
    skip_unless(bool(url), "needs Redis: set REDIS_URL")
    skip_unless(redis_answers(url), f"Redis does not answer at {url}")
    return url


class Worker:
    """`celery worker --pool=solo` on its own queue, started on first use (another app module
    or pool when a test needs them: the check worker-kill test kills a prefork child; more
    queues to consume beside its own, `also`: the end-to-end test's one worker takes them
    all)."""

    def __init__(
        self,
        queue: str,
        redis_url: str,
        log_path: Path,
        env: dict[str, str] | None = None,
        app: str = "governance",
        pool: str = "solo",
        also: tuple[str, ...] = (),
    ) -> None:
        self.app = app
        self.pool = pool
        self.queue = queue
        self.also = also
        self.redis_url = redis_url
        self.log_path = log_path
        self.env = env or {}
        self.process: subprocess.Popen[bytes] | None = None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def start(self) -> None:
        self.launch()
        self.wait_ready()

    def launch(self) -> None:
        """Start the process without waiting for it (the caller does other work meanwhile)."""
        if self.process is not None:
            return
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "governance.settings",
            "DATABASE_URL": database_url(settings.DATABASES["default"]),
            "DB_CONN_MAX_AGE": "0",  # no idle connection left behind to block the DB drop
            "REDIS_URL": self.redis_url,
            "CELERY_QUEUE": self.queue,
            "PYTHONUNBUFFERED": "1",
            **self.env,
        }
        command = [
            sys.executable,
            "-m",
            "celery",
            "-A",
            self.app,
            "worker",
            f"--pool={self.pool}",
            "--concurrency=1",
            "-Q",
            ",".join((self.queue, *self.also)),
            "-n",
            f"{self.queue}@%h",
            "--loglevel=INFO",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
        ]
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                command,
                cwd=settings.BASE_DIR,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def wait_ready(self) -> None:
        assert self.process is not None, "launch() the worker first"
        deadline = time.monotonic() + WORKER_START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(
                    f"the Celery worker exited with {self.process.returncode}:\n{self.log()}"
                )
            if " ready." in self.log():
                return
            time.sleep(0.2)
        pytest.fail(f"the Celery worker was not ready after {WORKER_START_TIMEOUT}s:\n{self.log()}")

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)  # warm shutdown
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


@pytest.fixture(scope="module")
def worker(django_db_setup: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Worker]:
    skip_unless(is_postgres(), "the worker test needs PostgreSQL (set DATABASE_URL)")
    redis_url = require_redis()
    queue = f"test-worker-{uuid.uuid4().hex[:12]}"
    worker = Worker(queue, redis_url, tmp_path_factory.mktemp("celery") / "worker.log")
    yield worker
    worker.stop()
    import redis

    client = redis.Redis.from_url(redis_url)
    for key in client.scan_iter(match=f"*{queue}*"):  # the queue and kombu's bindings of it
        client.delete(key)


def _forget_broker_setup(app: Any) -> None:
    """Make the app read the broker URL and queues from its configuration again.

    Its connection pool is kombu's shared pool for the URL (not closed here: it is shared);
    `amqp` caches the queue declarations and the router built from the configuration.
    """
    app._pool = None
    app.__dict__.pop("amqp", None)


@pytest.fixture
def tasks_via_worker(worker: Worker, settings: Any) -> Iterator[Worker]:
    """This test process publishes tasks to the worker's queue instead of running them."""
    from governance.celery import app

    keys = ("task_always_eager", "task_default_queue", "broker_url")
    saved = {key: app.conf[key] for key in keys}
    settings.CELERY_TASK_ALWAYS_EAGER = False
    app.conf.update(
        task_always_eager=False, task_default_queue=worker.queue, broker_url=worker.redis_url
    )
    _forget_broker_setup(app)
    try:
        yield worker
    finally:
        app.conf.update(saved)
        _forget_broker_setup(app)


def wait_for(predicate: Any, worker: Worker, what: str, timeout: float = CARD_TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        assert worker.process is None or worker.process.poll() is None, (
            f"the worker died while waiting for {what}:\n{worker.log()}"
        )
        time.sleep(0.2)
    pytest.fail(f"no {what} after {timeout}s. Worker log:\n{worker.log()}")


@pytest.mark.django_db(transaction=True)
def test_worker_builds_the_card_of_a_registered_version(api, make_model, tasks_via_worker):
    worker = tasks_via_worker
    worker.stop()  # in case another test started it: the task must wait for the worker
    model = make_model(name="fraud-scorer", risk_tier="low")

    # Registered while no worker runs: the task waits in Redis, the card is pending.
    response = api("ds").post(
        f"/api/v1/models/{model.name}/versions/", {"metrics": {"auc": 0.93}}, format="json"
    )
    assert response.status_code == 201, response.content
    assert response.json()["card_status"] == "pending"
    assert response.json()["card_hash"] == ""
    version = ModelVersion.objects.get(model=model, version=response.json()["version"])
    assert version.card_status == ModelVersion.CardStatus.PENDING
    assert not ModelCardRevision.objects.filter(model_version=version).exists()

    worker.start()

    def card_ready() -> bool:
        version.refresh_from_db()
        return version.card_status == ModelVersion.CardStatus.READY

    wait_for(card_ready, worker, "card built by the worker")
    revisions = ModelCardRevision.objects.filter(model_version=version)
    assert revisions.count() == 1
    assert revisions.get().content_hash == version.card_hash
    assert "models_registry.card_generate" in worker.log()

    built = version.history.filter(card_status=ModelVersion.CardStatus.READY)
    assert built.count() == 1
    assert built.get().history_origin == Origin.TASK
    assert built.get().history_change_reason.startswith("card revision 1")
    registered = version.history.earliest("history_date")
    assert registered.history_origin == Origin.API
    assert registered.card_status == ModelVersion.CardStatus.PENDING

    body = api("ds").get(f"/api/v1/models/{model.name}/versions/{version.version}/").json()
    assert body["card_status"] == "ready"
    assert body["card_hash"] == version.card_hash


@pytest.mark.django_db(transaction=True)
def test_worker_rebuilds_cards_and_stales_approvals_after_an_edit(
    api, users, make_model, make_version, tasks_via_worker
):
    worker = tasks_via_worker
    worker.start()
    model = make_model(name="credit-limit", risk_tier="low")
    version = make_version(model)

    def card_revision(number: int) -> Any:
        def check() -> bool:
            version.refresh_from_db()
            return version.card_revisions.filter(revision=number).exists()

        return check

    wait_for(card_revision(1), worker, "first card revision")
    with acting_as(origin=Origin.SYSTEM):
        request = reviews.promotion_request_create(
            actor=users["ds"], version=version, justification="lower loss"
        )
        reviews.signoff_create(actor=users["board"], request_id=request.pk, decision="approve")
    request.refresh_from_db()
    assert request.status == PromotionRequest.Status.APPROVED
    first_hash = version.card_hash

    response = api("ds").patch(
        f"/api/v1/models/{model.name}/", {"description": "Now trained on 2025 data."}, format="json"
    )
    assert response.status_code == 200, response.content

    wait_for(card_revision(2), worker, "card revision after the edit")
    assert version.card_hash != first_hash
    assert version.card_revisions.get(revision=2).reason == "model details edited"
    rebuilt = version.history.filter(history_change_reason__startswith="card revision 2")
    assert [row.history_origin for row in rebuilt] == [Origin.TASK]

    # The worker re-evaluated the request: the approval was given on the old card.
    request.refresh_from_db()
    assert request.status == PromotionRequest.Status.PENDING
    stale = request.history.filter(status=PromotionRequest.Status.PENDING).latest("history_date")
    assert stale.history_origin == Origin.TASK
    detail = api("ds").get(f"/api/v1/promotion-requests/{request.pk}/")
    assert detail.status_code == 200
    assert detail.json()["status"] == "pending"


@pytest.mark.django_db
def test_healthz_reports_the_broker(client, settings):
    settings.REDIS_URL = require_redis()
    response = client.get("/healthz")
    assert response.status_code == 200, response.content
    assert response.json() == {"database": "ok", "broker": "ok"}
    assert "no-cache" in response["Cache-Control"]


@pytest.mark.django_db
def test_healthz_is_503_when_the_broker_is_down(client, settings):
    # Needs no Redis (nothing listens on port 1), so it runs on the embedded default too.
    settings.REDIS_URL = BAD_REDIS_URL
    started = time.monotonic()
    response = client.get("/healthz")
    assert response.status_code == 503, response.content
    assert response.json() == {"database": "ok", "broker": "down"}
    assert time.monotonic() - started < 5  # short timeouts: a health probe must not hang
