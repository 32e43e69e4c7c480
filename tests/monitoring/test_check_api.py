"""The check endpoints: POST .../{kind}-checks/, GET /{kind}-checks/{id}/, runs and metrics."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from monitoring.checks.runner import CheckKind, CheckOutcome, check_kind_register
from monitoring.models import CheckMetric, CheckRun
from tests.conftest import assert_json_error
from tests.monitoring.check_helpers import check_kinds, log_window

__all__ = ["check_kinds"]

MODEL = "churn-classifier"


@pytest.fixture
def version(make_model, make_version) -> Any:
    return make_version(make_model(name=MODEL, protected_attributes=["gender"]))


def fake_quality(run: CheckRun, settings: Any) -> CheckOutcome:
    return CheckOutcome(
        results={"task": settings.task, "metrics": {"accuracy": 0.75, "f1": 0.5}},
        metrics={"accuracy": 0.75, "f1": 0.5, "labelled": 4.0, "rows": 6.0},
        current_rows=6,
        labelled_rows=4,
    )


def stored_run(version: Any, kind: str, results: dict[str, Any], **metrics: float) -> CheckRun:
    now = timezone.now()
    run = CheckRun.objects.create(
        model=version.model,
        version=version,
        kind=kind,
        status=CheckRun.Status.DONE,
        window_start=now - timedelta(hours=24),
        window_end=now,
        results=results,
        current_rows=1000,
        reference_rows=5000,
        finished_at=now,
        duration_ms=12.5,
    )
    CheckMetric.objects.bulk_create(
        CheckMetric(
            run=run,
            model=version.model,
            version=version,
            kind=kind,
            name=n,
            value=v,
            computed_at=now,
        )
        for n, v in metrics.items()
    )
    return run


DRIFT_RESULTS = {
    "dataset_drift": True,
    "drift_share": 0.5,
    "drift_share_threshold": 0.5,
    "number_of_columns": 2,
    "number_of_drifted_columns": 1,
    "features": {
        "tenure": {"method": "wasserstein", "statistic": 0.31, "threshold": 0.1, "drifted": True},
        "plan": {"method": "jensenshannon", "statistic": 0.02, "threshold": 0.1, "drifted": False},
    },
    "untested": {"notes": "text column"},
}


def test_a_quality_check_is_queued_run_and_read_back(api, version, check_kinds):
    check_kind_register(CheckKind("quality", fake_quality, tasks=("binary_classification",)))
    log_window(version, [{"features": {}, "prediction": 0.5}] * 6)

    response = api("ci").post(f"/api/v1/models/{MODEL}/quality-checks/", {"version": 1})

    assert response.status_code == 202, response.content
    body = response.json()
    assert body == {"id": body["id"], "status": "queued"}
    detail = api("validator").get(f"/api/v1/quality-checks/{body['id']}/")
    assert detail.status_code == 200, detail.content
    run = detail.json()
    assert run["status"] == "done"
    assert run["labelled"] == 4
    assert run["metrics"] == {"accuracy": 0.75, "f1": 0.5}
    assert run["model"] == MODEL and run["version"] == 1 and run["kind"] == "quality"
    assert run["current_rows"] == 6 and run["trigger"] == "api" and run["requested_by"] == "ci-bot"
    assert run["error"] == "" and run["attempts"] == 1
    for key in ("window_start", "window_end", "queued_at", "started_at", "finished_at"):
        assert run[key], key
    assert isinstance(run["duration_ms"], float)


def test_a_drift_check_reads_as_the_contract_says(api, version):
    run = stored_run(version, "drift", DRIFT_RESULTS, drift_share=0.5)

    body = api("ds").get(f"/api/v1/drift-checks/{run.pk}/").json()

    assert body["status"] == "done"
    assert body["dataset_drift"] is True and body["drift_share"] == 0.5
    assert body["features"]["tenure"] == {
        "method": "wasserstein",
        "statistic": 0.31,
        "threshold": 0.1,
        "drifted": True,
    }
    assert body["untested"] == {"notes": "text column"}
    assert (body["current_rows"], body["reference_rows"], body["duration_ms"]) == (1000, 5000, 12.5)


def test_a_queued_drift_check_has_no_verdict_yet(api, version):
    run = stored_run(version, "drift", {})
    CheckRun.objects.filter(pk=run.pk).update(status=CheckRun.Status.QUEUED)
    body = api("ds").get(f"/api/v1/drift-checks/{run.pk}/").json()
    assert body["status"] == "queued"
    assert body["dataset_drift"] is None and body["features"] == {}


def test_fairness_and_estimation_checks_read_back(api, version):
    attributes = {
        "gender": {
            "groups": {"f": {"count": 40, "selection_rate": 0.3, "tpr": 0.8, "fpr": 0.1}},
            "demographic_parity_difference": 0.1,
            "demographic_parity_ratio": 0.8,
            "equalized_odds_difference": 0.05,
        }
    }
    fairness = stored_run(version, "fairness", {"attributes": attributes})
    estimation = stored_run(
        version, "estimation", {"estimated_accuracy": 0.8}, estimated_accuracy=0.8, rows=10.0
    )
    body = api("ds").get(f"/api/v1/fairness-checks/{fairness.pk}/").json()
    assert body["attributes"] == attributes
    body = api("ds").get(f"/api/v1/estimation-checks/{estimation.pk}/").json()
    assert body["metrics"] == {"estimated_accuracy": 0.8}
    assert body["results"] == {"estimated_accuracy": 0.8}


def test_a_check_read_through_another_kinds_route_is_not_found(api, version):
    run = stored_run(version, "drift", DRIFT_RESULTS)
    assert_json_error(api("ds").get(f"/api/v1/quality-checks/{run.pk}/"), 404)
    assert_json_error(api("ds").get(f"/api/v1/fairness-checks/{run.pk}/"), 404)
    assert_json_error(api("ds").get("/api/v1/drift-checks/999999/"), 404)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "version"),
        ({"version": "one"}, "version"),
        ({"version": 0}, "version"),
        ({"version": 1, "window_start": "2026-11-27T10:00:00"}, "window_start"),
        ({"version": 1, "window_end": "yesterday"}, "window_end"),
        # Well formed but impossible: a 400, not the 500 schemathesis found.
        ({"version": 1, "window_end": "2026-11-27T10:60:00Z"}, "window_end"),
        (
            {
                "version": 1,
                "window_start": "2026-11-27T10:00:00Z",
                "window_end": "2026-11-27T09:00:00Z",
            },
            "window_start",
        ),
        ({"version": 1, "windows": 3}, "windows"),
    ],
)
def test_bad_requests_are_400_naming_the_field_and_store_nothing(api, version, body, field):
    response = api("ci").post(f"/api/v1/models/{MODEL}/quality-checks/", body)
    assert field in assert_json_error(response, 400), response.json()
    assert not CheckRun.objects.exists()


def test_unknown_models_and_versions_are_404(api, version):
    assert_json_error(api("ci").post("/api/v1/models/nope/drift-checks/", {"version": 1}), 404)
    assert_json_error(api("ci").post(f"/api/v1/models/{MODEL}/drift-checks/", {"version": 7}), 404)


def test_a_drift_check_without_reference_data_is_409(api, version):
    response = api("ci").post(f"/api/v1/models/{MODEL}/drift-checks/", {"version": 1})
    assert "reference data" in assert_json_error(response, 409)["detail"]
    assert not CheckRun.objects.exists()


def test_who_may_request_and_read_checks(api, version):
    run = stored_run(version, "drift", DRIFT_RESULTS)
    url = f"/api/v1/models/{MODEL}/fairness-checks/"
    assert_json_error(api(None).post(url, {"version": 1}), 401)
    assert_json_error(api("outsider").post(url, {"version": 1}), 403)
    assert_json_error(api(None).get(f"/api/v1/drift-checks/{run.pk}/"), 401)
    assert api("compliance").post(url, {"version": 1}).status_code == 202


def test_the_models_runs_are_listed_newest_first_by_kind(api, version):
    drift = stored_run(version, "drift", DRIFT_RESULTS)
    quality = stored_run(version, "quality", {})

    every = api("ds").get(f"/api/v1/models/{MODEL}/checks/").json()
    assert [run["id"] for run in every["results"]] == [quality.pk, drift.pk]
    only = api("ds").get(f"/api/v1/models/{MODEL}/checks/?kind=drift").json()
    assert [run["id"] for run in only["results"]] == [drift.pk]
    assert_json_error(api("ds").get(f"/api/v1/models/{MODEL}/checks/?kind=astrology"), 400)
    assert_json_error(api("ds").get("/api/v1/models/nope/checks/"), 404)


def test_metrics_are_read_by_name_latest_and_over_time(api, version):
    first = stored_run(version, "drift", DRIFT_RESULTS, drift_share=0.1, **{"drift.tenure": 0.3})
    second = stored_run(version, "drift", DRIFT_RESULTS, drift_share=0.6)
    CheckMetric.objects.filter(run=first).update(computed_at=timezone.now() - timedelta(days=1))

    latest = api("ds").get(f"/api/v1/models/{MODEL}/metrics/").json()["results"]
    assert [(m["name"], m["value"], m["run"]) for m in latest] == [
        ("drift.tenure", 0.3, first.pk),
        ("drift_share", 0.6, second.pk),
    ]
    history = api("ds").get(f"/api/v1/models/{MODEL}/metrics/?name=drift_share").json()
    assert [(m["value"], m["run"], m["version"]) for m in history["results"]] == [
        (0.6, second.pk, 1),
        (0.1, first.pk, 1),
    ]
    none = api("ds").get(f"/api/v1/models/{MODEL}/metrics/?name=f1").json()
    assert none["results"] == []
