"""/metrics reports what the checks found, read from the database at scrape time."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from prometheus_client.parser import text_string_to_metric_families

from monitoring.models import CheckRun
from tests.monitoring.check_data import make_check

pytestmark = pytest.mark.django_db


def samples() -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = Client().get("/metrics")
    assert response.status_code == 200
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(response.content.decode())
        for s in family.samples
    }


def metric(model: str, version: int, kind: str, name: str) -> tuple:
    labels = {"model": model, "version": str(version), "kind": kind, "metric": name}
    return ("governance_check_metric", tuple(sorted(labels.items())))


def test_the_gauges_show_the_latest_value_of_each_metric(make_model, make_version):
    model = make_model()
    v1, v2 = make_version(model), make_version(model)
    make_check(v1, CheckRun.Kind.DRIFT, metrics={"drift_share": 0.2}, ago=timedelta(days=2))
    make_check(v2, CheckRun.Kind.DRIFT, metrics={"drift_share": 0.6, "drift.age": 0.31})
    make_check(v2, CheckRun.Kind.DRIFT, metrics={"drift_share": 0.4}, ago=timedelta(days=1))
    make_check(v2, CheckRun.Kind.QUALITY, metrics={"f1": 0.8, "roc_auc": None, "rows": 900})
    make_check(
        v2,
        CheckRun.Kind.FAIRNESS,
        metrics={"demographic_parity_difference.gender": 0.12, "rows": 800},
    )
    make_check(v2, CheckRun.Kind.ESTIMATION, metrics={"estimated_accuracy": 0.87})

    found = samples()

    assert found[metric(model.name, 2, "drift", "drift_share")] == 0.6
    assert metric(model.name, 1, "drift", "drift_share") not in found
    assert found[metric(model.name, 2, "drift", "drift.age")] == 0.31
    assert found[metric(model.name, 2, "quality", "f1")] == 0.8
    assert metric(model.name, 2, "quality", "roc_auc") not in found  # not computable: left out
    assert found[metric(model.name, 2, "quality", "rows")] == 900  # per kind, not mixed
    assert found[metric(model.name, 2, "fairness", "rows")] == 800
    assert found[metric(model.name, 2, "fairness", "demographic_parity_difference.gender")] == 0.12
    assert found[metric(model.name, 2, "estimation", "estimated_accuracy")] == 0.87


def test_check_runs_failures_and_durations_are_counted(make_model, make_version):
    model = make_model()
    version = make_version(model)
    make_check(version, CheckRun.Kind.DRIFT, duration_ms=2000.0, ago=timedelta(hours=2))
    make_check(version, CheckRun.Kind.DRIFT, duration_ms=500.0, ago=timedelta(hours=1))
    make_check(version, CheckRun.Kind.DRIFT, status=CheckRun.Status.FAILED, duration_ms=100.0)
    make_check(version, CheckRun.Kind.QUALITY, status=CheckRun.Status.QUEUED, duration_ms=None)

    found = samples()

    def runs(kind: str, status: str) -> float | None:
        labels = (("kind", kind), ("model", model.name), ("status", status))
        return found.get(("governance_check_runs_total", labels))

    assert runs("drift", "done") == 2 and runs("drift", "failed") == 1
    assert runs("quality", "queued") == 1
    labels = (("kind", "drift"), ("model", model.name))
    assert found[("governance_check_duration_seconds_count", labels)] == 3
    assert found[("governance_check_duration_seconds_sum", labels)] == pytest.approx(2.6)
    quality = (("kind", "quality"), ("model", model.name))
    assert ("governance_check_duration_seconds_count", quality) not in found
    assert found[("governance_check_last_duration_seconds", labels)] == 0.1
