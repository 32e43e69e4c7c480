"""Serving across real processes: gunicorn workers on the test database (PostgreSQL).

- Every answered call is on record, under concurrent load, with group commit on.
- A rollback made elsewhere is what every worker serves within a second.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from django.conf import settings

from governance.services import user_token
from models_registry import services as registry
from models_registry.models import Prediction
from tests.conftest import database_url, is_postgres, skip_unless
from tests.models_registry.serving_data import PREDICT, ROW

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def gunicorn(tmp_path: Path, mlflow_store: str):
    """Start gunicorn (2 workers x 4 threads) on the test database; yields its base URL."""
    skip_unless(is_postgres(), "the multi-process serving tests need PostgreSQL")
    port = free_port()
    log = tmp_path / "gunicorn.log"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "governance.settings",
        "DATABASE_URL": database_url(settings.DATABASES["default"]),
        "MLFLOW_TRACKING_URI": settings.MLFLOW_TRACKING_URI,
        "MLFLOW_ARTIFACT_ROOT": settings.MLFLOW_ARTIFACT_ROOT,
        "INFERENCE_LOG_GROUP_COMMIT": "True",
        "ROUTING_STATE_SECONDS": "0.5",
        "DEBUG": "False",
        "LOG_LEVEL": "INFO",  # each worker logs the end of its serving warm-up
    }
    env.pop("REDIS_URL", None)  # process-memory explanation cache; no broker needed here
    with log.open("wb") as out:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "governance.wsgi",
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                "2",
                "--worker-class",
                "gthread",
                "--threads",
                "4",
            ],
            cwd=settings.BASE_DIR,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(base + "/healthz", timeout=1)
                break
            except OSError:  # refused, reset or timed out while it boots
                if process.poll() is not None:
                    break
                time.sleep(0.3)
        else:
            pytest.fail("gunicorn did not start:\n" + log.read_text())
        if process.poll() is not None:
            pytest.fail("gunicorn exited:\n" + log.read_text())
        while log.read_text(errors="replace").count("serving warm-up:") < 2:
            if time.monotonic() > deadline or process.poll() is not None:
                pytest.fail("a worker did not finish its warm-up:\n" + log.read_text())
            time.sleep(0.2)
        yield base
    finally:
        print("gunicorn log:\n" + log.read_text(errors="replace")[-5000:])
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()


@pytest.fixture
def production(users, make_model, make_version, churn_run):
    model = make_model(risk_tier="low")
    first = make_version(model, mlflow_run_id=churn_run["run_id"], metrics={})
    registry.deployment_promote(version=first, actor=users["ds"])
    return model, first


def call(base: str, token: str, row: dict, key: str = "") -> tuple[int, dict]:
    request = urllib.request.Request(
        base + PREDICT,
        data=json.dumps({"features": row}).encode(),
        headers={
            "Authorization": f"Token {token}",
            "Content-Type": "application/json",
            **({"X-Routing-Key": key} if key else {}),
        },
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


@pytest.fixture
def rolled_forward(users, production, make_version, churn_run):
    """v2 promoted over v1: v1 is the rollback target."""
    model, _ = production
    second = make_version(model, mlflow_run_id=churn_run["run_id"], metrics={})
    registry.deployment_promote(version=second, actor=users["ds"])
    return model


# The server fixture comes last in each test's arguments: it starts after the versions
# exist, like a web process that was running before the incident, so its warm-up loads them.


def test_every_answered_call_is_on_record_under_concurrent_load(users, production, gunicorn):
    token = user_token(user=users["ci"])
    call(gunicorn, token, ROW)
    rows = [{**ROW, "age": 18 + i % 60, "tenure_months": i % 72} for i in range(240)]
    with ThreadPoolExecutor(max_workers=16) as pool:
        results = list(pool.map(lambda row: call(gunicorn, token, row), rows))
    answered = [body["request_id"] for status, body in results if status == 200]
    assert len(answered) == len(rows), results[:3]
    recorded = set(
        Prediction.objects.filter(request_id__in=answered).values_list("request_id", flat=True)
    )
    assert recorded == set(answered)
    assert Prediction.objects.count() == len(rows) + 1


def test_a_rollback_is_served_by_every_worker_within_a_second(users, rolled_forward, gunicorn):
    model = rolled_forward
    token = user_token(user=users["ci"])
    with ThreadPoolExecutor(max_workers=8) as pool:
        before = list(pool.map(lambda i: call(gunicorn, token, ROW, f"k{i}"), range(16)))
    assert {body["version"] for _, body in before} == {2}

    registry.deployment_rollback(model=model, actor=users["compliance"], reason="bad release")
    rolled_back_at = time.monotonic()
    time.sleep(1.0 - 0.2)  # the bound is 0.5 s; probe at 0.8 s, still inside one second
    with ThreadPoolExecutor(max_workers=8) as pool:
        after = list(pool.map(lambda i: call(gunicorn, token, ROW, f"k{i}"), range(32)))
    assert time.monotonic() - rolled_back_at < 1.5
    assert {body["version"] for _, body in after} == {1}
