"""The monitoring page's charts: each check kind over time against the alert thresholds,
the deployments of the period marked, the same numbers in the table below each chart."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse

from models_registry import services as registry
from monitoring.models import CheckRun, MonitoringConfig
from tests.governance.test_headers import assert_strict
from tests.monitoring.check_data import make_check
from tests.monitoring.test_check_pages import assert_nothing_inline

pytestmark = pytest.mark.django_db


def section(html: str, key: str) -> str:
    return re.search(rf'id="chart-{key}">(.*?)</section>', html, re.S).group(1)


def test_quality_and_drift_lines_meet_their_thresholds_and_deployments(
    users, make_model, make_version
):
    model = make_model()
    MonitoringConfig.objects.create(
        model=model,
        document={
            "alerts": [
                {"metric": "accuracy", "threshold": 0.8, "severity": "warning"},
                {"metric": "drift_share", "threshold": 0.3, "severity": "warning"},
            ]
        },
    )
    v1 = make_version(model)
    for days, accuracy, recall in ((4, 0.91, 0.7), (3, 0.85, 0.65), (2, 0.78, 0.6)):
        make_check(
            v1,
            CheckRun.Kind.QUALITY,
            metrics={"accuracy": accuracy, "recall": recall},
            ago=timedelta(days=days),
        )
    make_check(v1, CheckRun.Kind.DRIFT, metrics={"drift_share": 0.4}, ago=timedelta(days=1))
    registry.deployment_promote(version=v1, actor=users["ds"])
    client = Client()
    client.force_login(users["validator"])

    response = client.get(reverse("monitoring:model-monitoring", args=[model.name]))
    html = response.content.decode()

    quality = section(html, "quality")
    assert quality.count("<polyline") == 2  # accuracy and recall
    assert quality.count("<circle") == 3 + 1 and "recall (square markers)" in quality
    assert ">alert on accuracy 0.8</text>" in quality and "alert on recall" not in quality
    assert ">v1 to production</text>" in quality
    rows = re.findall(r"<tr><td>[^<]*</td><td>v1</td><td>(\w+)</td><td>([\d.]+)</td></tr>", quality)
    expected = {
        "accuracy": ("0.9100", "0.8500", "0.7800"),
        "recall": ("0.7000", "0.6500", "0.6000"),
    }
    assert sorted(rows) == sorted((name, v) for name, values in expected.items() for v in values)
    drift = section(html, "drift")
    assert drift.count("<polyline") == 1 and ">alert on drift_share 0.3</text>" in drift
    assert "No fairness checks in this period." in section(html, "fairness")
    assert '<link rel="stylesheet" href="/static/css/charts.css">' in html
    assert_strict(response)
    assert_nothing_inline(html)
