"""Evidently HTML reports of checks: rendered on demand from a bounded sample, served
sandboxed to readers only, failures recorded on the report."""

from __future__ import annotations

import io
from datetime import timedelta

import numpy as np
import pandas as pd
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client, TestCase
from django.urls import reverse

from governance.models import AuditEvent
from models_registry.models import Prediction
from models_registry.reference_data import reference_data_upload
from monitoring.models import CheckReport, CheckRun, GroundTruth
from monitoring.reports import sample_positions
from tests.conftest import assert_json_error
from tests.monitoring.check_data import DRIFT_RESULTS, make_check

pytestmark = pytest.mark.django_db
ROWS = 300


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def log_window(run: CheckRun, rows: int = ROWS, shift: float = 15.0) -> list[str]:
    """Predictions of the run's version inside its window, their age shifted by `shift`."""
    rng = np.random.default_rng(1)
    ids = [f"r{run.pk}-{i}" for i in range(rows)]
    from models_registry.serving.inference_log import inference_log_write

    inference_log_write(  # the write path: rows, their columnar segment, the chain
        [
            Prediction(
                model=run.model,
                version=run.version,
                request_id=request_id,
                source=Prediction.Source.LOGGED,
                occurred_at=run.window_end - timedelta(minutes=i + 1),
                features={
                    "age": float(rng.normal(40 + shift, 8)),
                    "contract": str(rng.choice(["month-to-month", "one-year", "two-year"])),
                },
                prediction=float(rng.uniform()),
            )
            for i, request_id in enumerate(ids)
        ]
    )
    return ids


@pytest.fixture
def version(make_model, make_version):
    return make_version(make_model())


@pytest.fixture
def reference(users, version):
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {
            "age": rng.normal(40, 8, 400),
            "contract": rng.choice(["month-to-month", "one-year", "two-year"], 400),
            "label": rng.integers(0, 2, 400),
        }
    )
    buffer = io.StringIO()
    frame.to_csv(buffer, index=False)
    upload = SimpleUploadedFile("reference.csv", buffer.getvalue().encode(), "text/csv")
    return reference_data_upload(actor=users["ds"], version=version, upload=upload)


@pytest.fixture
def drift_check(version, reference):
    run = make_check(
        version, CheckRun.Kind.DRIFT, results=DRIFT_RESULTS, reference=reference, reference_rows=400
    )
    log_window(run)
    return run


def report_api(run: CheckRun) -> str:
    return f"/api/v1/checks/{run.pk}/report/"


def report_page(run: CheckRun) -> str:
    return reverse("monitoring:check-report", args=[run.model.name, run.pk])


def test_a_drift_report_is_rendered_by_evidently_and_served_sandboxed(api, users, drift_check):
    response = api("ds").post(report_api(drift_check), {}, format="json")

    assert response.status_code == 202, response.content
    body = response.json()
    assert body["check_id"] == drift_check.pk and body["url"] == report_page(drift_check)
    report = CheckReport.objects.get(run=drift_check)
    assert report.status == CheckReport.Status.DONE, report.error
    assert report.sample_rows == ROWS and report.requested_by == users["ds"]
    html = report.file.read().decode()
    assert "root_metric_" in html  # Evidently's standalone page
    assert "Drifted Columns" in html and '"age"' in html and '"contract"' in html
    assert api("board").get(report_api(drift_check)).json()["status"] == "done"
    assert AuditEvent.objects.filter(action="check_report.requested").count() == 1

    client = Client()
    client.force_login(users["board"])
    served = client.get(report_page(drift_check))
    assert served.status_code == 200
    assert b"".join(served.streaming_content).decode() == html
    policy = served["Content-Security-Policy"]
    assert "sandbox allow-scripts" in policy and "connect-src 'none'" in policy
    assert "allow-same-origin" not in policy
    assert served["X-Content-Type-Options"] == "nosniff"
    assert served["Content-Type"] == "text/html; charset=utf-8"


def test_the_sample_is_bounded_by_the_setting_and_seeded(api, settings, drift_check):
    settings.CHECK_REPORT_SAMPLE_ROWS = 100
    assert api("ds").post(report_api(drift_check), {}, format="json").status_code == 202
    assert CheckReport.objects.get(run=drift_check).sample_rows == 100
    first = sample_positions(1000, 10, seed=7)
    assert len(set(first)) == 10 and list(first) == sorted(first)
    assert list(first) == list(sample_positions(1000, 10, seed=7))


def test_a_quality_report_renders_the_labelled_rows_with_the_classification_preset(api, version):
    run = make_check(version, CheckRun.Kind.QUALITY, metrics={"accuracy": 0.5})
    ids = log_window(run)
    GroundTruth.objects.bulk_create(
        GroundTruth(model=run.model, request_id=rid, label=float(i % 2))
        for i, rid in enumerate(ids[:120])
    )
    assert api("validator").post(report_api(run), {}, format="json").status_code == 202
    report = CheckReport.objects.get(run=run)
    assert report.status == CheckReport.Status.DONE, report.error
    assert report.sample_rows == 120
    html = report.file.read().decode()
    assert "root_metric_" in html and "Accuracy" in html


def test_a_report_that_cannot_be_made_records_why(api, version):
    run = make_check(version, CheckRun.Kind.DRIFT, results=DRIFT_RESULTS)  # no reference
    log_window(run, rows=20)
    assert api("ds").post(report_api(run), {}, format="json").status_code == 202
    report = CheckReport.objects.get(run=run)
    assert report.status == CheckReport.Status.FAILED
    assert report.error == "The check has no reference data to compare with."
    assert not report.file
    quality = make_check(version, CheckRun.Kind.QUALITY)
    log_window(quality, rows=20)
    api("ds").post(report_api(quality), {}, format="json")
    assert CheckReport.objects.get(run=quality).error == (
        "No prediction in the check's sample has ground truth yet."
    )


def test_a_check_not_done_has_no_report_yet(api, version):
    run = make_check(version, CheckRun.Kind.DRIFT, status=CheckRun.Status.RUNNING)
    body = assert_json_error(api("ds").post(report_api(run), {}, format="json"), 409)
    assert "is running" in body["detail"]
    assert not CheckReport.objects.exists()
    assert_json_error(api("ds").post("/api/v1/checks/999999/report/", {}, format="json"), 404)
    assert_json_error(api("ds").get(report_api(run)), 404)
    body = assert_json_error(api("ds").post(report_api(run), {"kind": "x"}, format="json"), 400)
    assert "kind" in str(body)


def test_who_may_ask_for_and_read_a_report(api, users, drift_check):
    assert_json_error(api(None).post(report_api(drift_check), {}, format="json"), 401)
    assert_json_error(api("outsider").post(report_api(drift_check), {}, format="json"), 403)
    assert not CheckReport.objects.exists()
    api("ds").post(report_api(drift_check), {}, format="json")

    anonymous = Client().get(report_page(drift_check))
    assert anonymous.status_code == 302 and anonymous["Location"].startswith("/login/")
    outsider = Client()
    outsider.force_login(users["outsider"])
    assert outsider.get(report_page(drift_check)).status_code == 403
    assert (
        outsider.post(
            reverse("monitoring:check-report-render", args=[drift_check.model.name, drift_check.pk])
        ).status_code
        == 403
    )


def test_the_page_button_renders_and_an_unready_report_leads_back_to_the_check(users, drift_check):
    client = Client()
    client.force_login(users["compliance"])
    check_page = reverse("monitoring:check", args=[drift_check.model.name, drift_check.pk])
    waiting = client.get(report_page(drift_check))
    assert waiting.status_code == 302 and waiting["Location"] == check_page

    render = reverse(
        "monitoring:check-report-render", args=[drift_check.model.name, drift_check.pk]
    )
    with TestCase.captureOnCommitCallbacks(execute=True):
        response = client.post(render)
    assert response.status_code == 302 and response["Location"] == check_page
    assert CheckReport.objects.get(run=drift_check).status == CheckReport.Status.DONE
    html = client.get(check_page).content.decode()
    assert "Open the Evidently report" in html and "from 300 sampled rows" in html
