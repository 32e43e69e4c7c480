"""The card's charts on the version page: per-group bars against the overall value (from a
real reference-data analysis) and the MLflow run's metric history (from a real run)."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from models_registry.card_charts import group_bar_charts, metric_history_charts
from tests.governance.test_headers import assert_strict
from tests.models_registry.test_reference_data import CARD, UPLOAD, csv_file, version_from_run
from tests.monitoring.test_check_pages import assert_nothing_inline

pytestmark = pytest.mark.django_db
__all__ = ["version_from_run"]  # the fixture, used by name below

PAGE = "/models/churn-classifier/versions/1/"


def test_the_version_page_draws_per_group_bars_and_the_metric_history(api, users, version_from_run):
    holdout = version_from_run["trained"].test
    assert (
        api("ci").post(UPLOAD, {"file": csv_file(holdout)}, format="multipart").status_code == 201
    )
    evaluation = api("board").get(CARD).json()["evaluation"]
    client = Client()
    client.force_login(users["board"])

    response = client.get(PAGE)
    html = response.content.decode()

    assert response.status_code == 200
    for attribute in ("gender", "age_band"):
        groups = evaluation["per_group"][attribute]
        for measure in ("accuracy", "positive_rate"):
            ident = f"card-{attribute}-{measure}"
            svg = re.search(rf'aria-labelledby="{ident}-title {ident}-desc".*?</svg>', html, re.S)
            bars = re.findall(r'height="16" fill="#1f5fbf"><title>([^<]*)</title>', svg.group(0))
            assert bars == [f"{g}: {groups[g][measure]:.4g}" for g in sorted(groups)]
            overall = evaluation["overall"][measure]
            assert f">overall {overall:.4g}</text>" in svg.group(0)
    history = re.search(r'aria-labelledby="card-history-train_loss-title.*?</svg>', html, re.S)
    assert history.group(0).count("<circle") == 3 + 1  # three steps, and the legend's marker
    assert "<td>0</td><td>0.6100</td>" in html and "<td>2</td><td>0.4700</td>" in html
    assert '<link rel="stylesheet" href="/static/css/charts.css">' in html
    assert_strict(response)
    assert_nothing_inline(html)


def test_cards_without_groups_or_history_draw_nothing_and_regression_groups_get_their_error():
    assert group_bar_charts(None, "gender") == []
    assert group_bar_charts({"per_group": {"gender": {}}}, "gender") == []
    assert metric_history_charts(None) == []
    ((caption, chart),) = group_bar_charts(
        {"per_group": {"gender": {"f": {"count": 40, "mae": 2.5}}}, "overall": {}}, "gender"
    )
    assert (
        caption == "mae by gender"
        and "mae by gender" in chart
        and "f: 2.5" in chart
        and "overall" not in chart
    )
