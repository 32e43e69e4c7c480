"""Prediction series on /metrics: counted on commit, per model, version and slot, and summed
over gunicorn workers in multiprocess mode."""

from __future__ import annotations

import os
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from django.db import transaction
from django.test import Client, TestCase
from django.utils import timezone
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from governance.services import user_token
from models_registry import services as registry
from models_registry.models import Prediction
from models_registry.serving.inference_log import inference_log_write
from tests.models_registry import test_serving_processes as serving_processes
from tests.models_registry.serving_data import PREDICT, ROW

pytestmark = pytest.mark.django_db
# The served model and the gunicorn server (2 workers) of the multi-process serving tests.
production = serving_processes.production
gunicorn = serving_processes.gunicorn
call = serving_processes.call


def count(name: str, model: str, version: int, slot: str) -> float:
    labels = {"model": model, "version": str(version), "slot": slot}
    return REGISTRY.get_sample_value(name, labels) or 0.0


def scrape(client: Client | None = None) -> dict[str, list]:
    """/metrics parsed by prometheus_client's own parser: family name -> samples."""
    response = (client or Client()).get("/metrics")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=")
    families = text_string_to_metric_families(response.content.decode())
    return {family.name: family.samples for family in families}


def logged_rows(version, n: int) -> list[Prediction]:
    now = timezone.now()
    return [
        Prediction(
            model_id=version.model_id,
            version=version,
            request_id=f"ext-{uuid.uuid4()}",
            source=Prediction.Source.LOGGED,
            occurred_at=now,
            features=ROW,
            prediction=0.4,
        )
        for _ in range(n)
    ]


@pytest.fixture
def served(users, make_model, make_version, churn_run, fresh_serving_process):
    model = make_model(risk_tier="low")
    version = make_version(model, mlflow_run_id=churn_run["run_id"], metrics={})
    registry.deployment_promote(version=version, actor=users["ds"])
    return model, version


def test_a_predict_call_counts_once_with_its_latency_under_its_slot(api, served):
    model, version = served
    before = count("governance_predictions_total", model.name, version.version, "production")
    latency_before = count(
        "governance_prediction_latency_seconds_count", model.name, version.version, "production"
    )

    for _ in range(3):
        assert api("ci").post(PREDICT, {"features": ROW}, format="json").status_code == 200

    after = count("governance_predictions_total", model.name, version.version, "production")
    assert after - before == 3
    latency = count(
        "governance_prediction_latency_seconds_count", model.name, version.version, "production"
    )
    assert latency - latency_before == 3
    samples = scrape()["governance_predictions"]
    ours = [s for s in samples if s.labels.get("model") == model.name and s.name.endswith("_total")]
    assert ours and ours[0].labels == {
        "model": model.name,
        "version": str(version.version),
        "slot": "production",
    }


def test_a_logged_batch_counts_its_rows_under_the_logged_slot(served):
    model, version = served
    before = count("governance_predictions_total", model.name, version.version, "logged")
    with TestCase.captureOnCommitCallbacks(execute=True):
        inference_log_write(logged_rows(version, 25))
    assert count("governance_predictions_total", model.name, version.version, "logged") == (
        before + 25
    )


def test_a_rolled_back_batch_counts_nothing(served):
    model, version = served
    before = count("governance_predictions_total", model.name, version.version, "logged")
    with (
        TestCase.captureOnCommitCallbacks(execute=True),
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        inference_log_write(logged_rows(version, 5))
        raise RuntimeError("the caller's transaction fails after the write")
    assert count("governance_predictions_total", model.name, version.version, "logged") == before


def test_metrics_are_open_without_a_token_and_closed_with_one(settings, served):
    assert Client().get("/metrics").status_code == 200
    settings.METRICS_TOKEN = "scrape-secret"
    refused = Client().get("/metrics")
    assert refused.status_code == 401 and refused["WWW-Authenticate"].startswith("Bearer")
    wrong = Client(headers={"Authorization": "Bearer guess"}).get("/metrics")
    assert wrong.status_code == 401
    assert "governance_predictions" in scrape(
        Client(headers={"Authorization": "Bearer scrape-secret"})
    )


@pytest.fixture
def multiprocess_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Where the gunicorn workers keep their counters (read by gunicorn.conf.py)."""
    directory = tmp_path / "prometheus"
    directory.mkdir()
    (directory / "counter_1.db").write_bytes(b"stale")  # the master's start must remove it
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(directory))
    return directory


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_scrape_under_gunicorn_sums_both_workers(users, production, multiprocess_dir, gunicorn):
    model, version = production
    token = user_token(user=users["ci"])
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda i: call(gunicorn, token, ROW, f"k{i}"), range(80)))
    assert all(status == 200 for status, _ in results)

    workers = {p.name for p in multiprocess_dir.glob("counter_*.db")}
    assert "counter_1.db" not in workers and len(workers) == 2, workers
    with urllib.request.urlopen(gunicorn + "/metrics", timeout=10) as response:
        text = response.read().decode()
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }
    labels = (("model", model.name), ("slot", "production"), ("version", str(version.version)))
    assert samples[("governance_predictions_total", labels)] == 80
    assert samples[("governance_prediction_latency_seconds_count", labels)] == 80
    assert os.environ["PROMETHEUS_MULTIPROC_DIR"] == str(multiprocess_dir)
