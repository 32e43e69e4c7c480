"""The real kinds, wired to their engines: drift, quality and fairness over a logged window."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from django.test import TestCase
from sklearn.metrics import accuracy_score, f1_score

from monitoring.config import config_normalize
from monitoring.models import CheckMetric, CheckRun, GroundTruth, MonitoringConfig
from monitoring.services import check_request
from tests.monitoring.check_helpers import log_window, upload_reference


@pytest.fixture
def version(make_model, make_version) -> Any:
    return make_version(make_model(protected_attributes=["gender"]))


def run_check(users: dict[str, Any], version: Any, kind: str) -> CheckRun:
    with TestCase.captureOnCommitCallbacks(execute=True):
        run = check_request(actor=users["ds"], model=version.model, version=1, kind=kind)
    run.refresh_from_db()
    return run


def test_a_drift_check_finds_a_shifted_feature_and_not_a_steady_one(users, version):
    rng = np.random.default_rng(7)
    upload_reference(
        users["ds"],
        version,
        pd.DataFrame({"tenure": rng.normal(10, 2, 2000), "spend": rng.normal(50, 5, 2000)}),
    )
    log_window(
        version,
        [
            {"features": {"tenure": float(t), "spend": float(s)}, "prediction": 0.5}
            for t, s in zip(rng.normal(16, 2, 300), rng.normal(50, 5, 300), strict=True)
        ],
    )

    run = run_check(users, version, "drift")

    assert run.status == CheckRun.Status.DONE, run.error
    assert (run.reference_rows, run.current_rows) == (2000, 300)
    features = run.results["features"]
    assert features["tenure"]["drifted"] is True and features["spend"]["drifted"] is False
    assert features["tenure"]["method"] == "wasserstein"
    assert run.results["drift_share"] == 0.5 and run.results["dataset_drift"] is True
    metrics = dict(CheckMetric.objects.filter(run=run).values_list("name", "value"))
    assert metrics["drift_share"] == 0.5 and metrics["rows"] == 300.0
    assert metrics["drift.tenure"] == features["tenure"]["statistic"]


def test_a_quality_check_equals_scikit_learn_on_the_labelled_rows(users, version):
    scores = [0.9, 0.2, 0.7, 0.4, 0.8, 0.1]
    ids = log_window(version, [{"features": {}, "prediction": s} for s in scores])
    labels = {ids[0]: 1, ids[1]: 0, ids[2]: 0, ids[3]: 1}
    for request_id, label in labels.items():
        GroundTruth.objects.create(model=version.model, request_id=request_id, label=label)

    run = run_check(users, version, "quality")

    assert run.status == CheckRun.Status.DONE, run.error
    assert (run.current_rows, run.labelled_rows) == (6, 4)
    y_true, y_pred = [1, 0, 0, 1], [1, 0, 1, 0]
    metrics = dict(CheckMetric.objects.filter(run=run).values_list("name", "value"))
    assert metrics["accuracy"] == pytest.approx(accuracy_score(y_true, y_pred))
    assert metrics["f1"] == pytest.approx(f1_score(y_true, y_pred))


def test_a_fairness_check_reads_attributes_of_the_records(users, version):
    rows = [
        {"features": {}, "prediction": 0.9 if i % 2 else 0.1, "attributes": {"gender": "fm"[i % 2]}}
        for i in range(80)
    ]
    log_window(version, rows)
    run = run_check(users, version, "fairness")
    assert run.status == CheckRun.Status.DONE, run.error
    groups = run.results["attributes"]["gender"]["groups"]
    assert set(groups) == {"f", "m"}
    metrics = dict(CheckMetric.objects.filter(run=run).values_list("name", "value"))
    assert metrics["demographic_parity_difference.gender"] == pytest.approx(1.0)


def test_named_metrics_of_the_config_are_stored_beside_the_checks_own(users, version):
    document = config_normalize(
        {"metrics": [{"name": "churn_quality", "type": "binary_classification"}]},
        features=None,
        protected=["gender"],
    )
    MonitoringConfig.objects.create(model=version.model, document=document)
    ids = log_window(
        version, [{"features": {}, "prediction": 0.9}, {"features": {}, "prediction": 0.1}]
    )
    GroundTruth.objects.create(model=version.model, request_id=ids[0], label=1)
    GroundTruth.objects.create(model=version.model, request_id=ids[1], label=1)
    run = run_check(users, version, "quality")
    assert run.status == CheckRun.Status.DONE, run.error
    names = set(CheckMetric.objects.filter(run=run).values_list("name", flat=True))
    assert "accuracy" in names
    assert any(name.startswith("churn_quality") for name in names), names
