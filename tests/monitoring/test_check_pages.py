"""The check page and the model's monitoring page: what each check found, and its history."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse

from monitoring.models import CheckReport, CheckRun, MonitoringConfig
from tests.monitoring.check_data import DRIFT_RESULTS, FAIRNESS_RESULTS, make_check

pytestmark = pytest.mark.django_db

READERS = ("ds", "validator", "board", "compliance", "ci")


def assert_nothing_inline(html: str) -> None:
    """What the site's CSP would block: style attributes and scripts without a src."""
    assert " style=" not in html
    assert not re.search(r"<script(?![^>]*\bsrc=)", html)


def page(user, url: str) -> tuple[int, str]:
    client = Client()
    if user is not None:
        client.force_login(user)
    response = client.get(url)
    return response.status_code, response.content.decode()


@pytest.fixture
def version(make_model, make_version):
    model = make_model(protected_attributes=["gender"])
    MonitoringConfig.objects.create(
        model=model,
        document={
            "alerts": [
                {"metric": "drift_share", "threshold": 0.3, "severity": "warning"},
                {
                    "metric": "demographic_parity_difference.gender",
                    "threshold": 0.1,
                    "severity": "critical",
                },
            ]
        },
    )
    return make_version(model)


def check_url(run: CheckRun) -> str:
    return reverse("monitoring:check", args=[run.model.name, run.pk])


def test_every_reader_sees_a_drift_check_per_feature_with_its_picture(users, version):
    run = make_check(
        version,
        CheckRun.Kind.DRIFT,
        results=DRIFT_RESULTS,
        metrics={"drift_share": 0.5, "drift.age": 0.4321, "rows": 4000},
        requested_by=users["ds"],
        current_rows=4000,
        reference_rows=5000,
    )
    for who in READERS:
        status, html = page(users[who], check_url(run))
        assert status == 200, who
    assert "1 of 2 features drifted" in html
    rows = re.findall(r"<tr><td>(age|contract)</td>.*?</tr>", html, re.S)
    assert rows == ["age", "contract"]  # drifted first
    age = re.search(r"<tr><td>age</td>(.*?)</tr>", html, re.S).group(1)
    assert "wasserstein" in age and "0.4321" in age and "drifted" in age
    assert '<svg class="picture" role="img" aria-label="age: share of rows per bin' in age
    assert "18 to 30: reference 40.0%" in age and "54 to 66: current 40.0%" in age
    contract = re.search(r"<tr><td>contract</td>(.*?)</tr>", html, re.S).group(1)
    assert "stable" in contract and "&lt;one-year&gt;: current 42.0%" in contract
    assert "<one-year>" not in html  # logged values are escaped, in text and in SVG
    assert "customer_note: text column" in html
    assert "dana (API call)" in html and "1234 ms" in html
    assert "4000 in the window, 5000 in the reference" in html
    assert_nothing_inline(html)


def test_a_fairness_check_shows_groups_and_differences_against_the_alert_thresholds(users, version):
    run = make_check(
        version,
        CheckRun.Kind.FAIRNESS,
        results=FAIRNESS_RESULTS,
        metrics={"demographic_parity_difference.gender": 0.15},
    )
    status, html = page(users["board"], check_url(run))
    assert status == 200
    groups = re.search(r'class="list compact fairness-groups">(.*?)</table>', html, re.S).group(1)
    assert re.search(r"<td>f</td><td>120</td><td>0.300</td><td>0.700</td><td>0.100</td>", groups)
    measures = re.search(r'fairness-measures">(.*?)</table>', html, re.S).group(1)
    parity = re.search(r"<td>demographic_parity_difference</td>(.*?)</tr>", measures, re.S)
    assert "0.1500" in parity.group(1) and "0.1" in parity.group(1)
    assert "reached" in parity.group(1)
    odds = re.search(r"<td>equalized_odds_difference</td>(.*?)</tr>", measures, re.S).group(1)
    assert "—" in odds  # no rule on it


def test_a_quality_check_says_how_many_predictions_were_labelled(users, version):
    run = make_check(
        version,
        CheckRun.Kind.QUALITY,
        metrics={"accuracy": 0.91, "f1": 0.8, "roc_auc": None, "labelled": 250},
        labelled_rows=250,
        current_rows=4000,
    )
    status, html = page(users["validator"], check_url(run))
    assert status == 200
    assert "Computed over 250 labelled predictions of 4000 in the window" in html
    assert re.search(r"<td>accuracy</td><td>0.9100</td>", html)
    assert re.search(r"<td>roc_auc</td><td>not computable</td>", html)


def test_an_estimation_check_shows_estimated_beside_realized(users, version):
    run = make_check(
        version,
        CheckRun.Kind.ESTIMATION,
        metrics={"estimated_accuracy": 0.88, "realized_accuracy": 0.86, "estimated_roc_auc": 0.9},
    )
    status, html = page(users["ci"], check_url(run))
    assert status == 200
    table = re.search(r'id="estimation">(.*?)</table>', html, re.S).group(1)
    assert re.search(r"<td>accuracy</td><td>0.8800</td><td>0.8600</td>", table)
    assert re.search(r"<td>roc_auc</td><td>0.9000</td><td>not yet</td>", table)


def test_a_failed_check_shows_its_error_and_offers_no_report(users, version):
    run = make_check(
        version, CheckRun.Kind.DRIFT, status=CheckRun.Status.FAILED, error="No reference data."
    )
    status, html = page(users["ds"], check_url(run))
    assert status == 200 and "No reference data." in html
    assert "Render the Evidently report" not in html


def test_a_done_check_offers_the_report_button_to_whoever_runs_checks(users, version):
    run = make_check(version, CheckRun.Kind.DRIFT, results=DRIFT_RESULTS)
    html = page(users["validator"], check_url(run))[1]
    assert "Render the Evidently report" in html and "at most 10000 rows" in html


def test_a_ready_report_is_linked_and_a_failed_one_says_why(users, version):
    run = make_check(version, CheckRun.Kind.DRIFT, results=DRIFT_RESULTS)
    CheckReport.objects.create(run=run, status=CheckReport.Status.FAILED, error="No labels yet.")
    assert "could not be rendered: No labels yet." in page(users["ds"], check_url(run))[1]


def test_people_without_read_and_strangers_are_refused(users, version):
    run = make_check(version, CheckRun.Kind.DRIFT, results=DRIFT_RESULTS)
    monitoring = reverse("monitoring:model-monitoring", args=[version.model.name])
    for url in (check_url(run), monitoring):
        assert page(users["outsider"], url)[0] == 403
        status = Client().get(url)
        assert status.status_code == 302 and status["Location"].startswith("/login/")


def test_another_models_check_or_an_unknown_one_is_not_found(users, version, make_model):
    run = make_check(version, CheckRun.Kind.DRIFT, results=DRIFT_RESULTS)
    other = make_model("other-model")
    assert page(users["ds"], reverse("monitoring:check", args=[other.name, run.pk]))[0] == 404
    unknown = reverse("monitoring:check", args=[version.model.name, run.pk + 100])
    assert page(users["ds"], unknown)[0] == 404


def test_the_monitoring_page_charts_history_with_alert_thresholds_and_a_table(users, version):
    for days, share in ((3, 0.1), (2, 0.25), (1, 0.5)):
        make_check(
            version,
            CheckRun.Kind.DRIFT,
            results=DRIFT_RESULTS,
            metrics={"drift_share": share, "drift.age": 0.2},
            ago=timedelta(days=days),
        )
    for days, gap in ((2, 0.05), (1, 0.15)):
        make_check(
            version,
            CheckRun.Kind.FAIRNESS,
            metrics={"demographic_parity_difference.gender": gap, "selection_rate.gender.f": 0.3},
            ago=timedelta(days=days),
        )
    make_check(
        version,
        CheckRun.Kind.ESTIMATION,
        metrics={"estimated_accuracy": 0.88, "realized_accuracy": 0.86},
    )
    url = reverse("monitoring:model-monitoring", args=[version.model.name])
    for who in READERS:
        assert page(users[who], url)[0] == 200, who
    html = page(users["board"], url)[1]

    drift = re.search(r'id="chart-drift">(.*?)</section>', html, re.S).group(1)
    assert 'role="img" aria-labelledby="monitoring-drift-title monitoring-drift-desc"' in drift
    assert '<title id="monitoring-drift-title">churn-classifier: Drift share: drift_share' in drift
    assert drift.count("<circle") == 3 + 1  # three points and the legend's marker
    assert 'stroke-dasharray="10 4"' in drift and "alert on drift_share 0.3" in drift
    assert drift.count("<tr><td>") == 3 and "<td>drift_share</td><td>0.5000</td>" in drift
    fairness = re.search(r'id="chart-fairness">(.*?)</section>', html, re.S).group(1)
    assert "demographic_parity_difference.gender" in fairness
    assert "selection_rate" not in fairness  # per-group rates are on the check page
    assert "alert on demographic_parity_difference.gender 0.1" in fairness
    estimation = re.search(r'id="chart-estimation">(.*?)</section>', html, re.S).group(1)
    assert "estimated_accuracy" in estimation and "realized_accuracy" in estimation
    assert "<rect" in estimation  # the second series is drawn with squares, not colour alone
    assert "No quality checks in this period." in html
    checks = re.search(r'id="checks">(.*?)</table>', html, re.S).group(1)
    assert checks.count("<tr><td><a href=") == 6
    assert_nothing_inline(html)


def test_the_model_page_links_to_its_monitoring_page(users, version):
    html = page(users["ds"], reverse("registry:model", args=[version.model.name]))[1]
    assert reverse("monitoring:model-monitoring", args=[version.model.name]) in html
