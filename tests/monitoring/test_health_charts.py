"""The health page's charts: the last day hour by hour, production and canary overlaid,
deployments marked, every number again in a table; nothing the site's CSP would block."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import reverse

from governance.charts.lines import RIGHT
from models_registry import services as registry
from tests.governance.test_headers import assert_strict
from tests.monitoring.test_canary import label, log_calls
from tests.monitoring.test_check_pages import assert_nothing_inline

pytestmark = pytest.mark.django_db


def health(user, name: str = "churn-classifier"):
    client = Client()
    client.force_login(user)
    return client.get(reverse("monitoring:model-health", args=[name]))


def section(html: str, key: str) -> str:
    return re.search(rf'id="chart-{key}">(.*?)</section>', html, re.S).group(1)


@pytest.fixture
def deployed(users, make_model, make_version):
    model = make_model()
    v1, v2 = make_version(model), make_version(model)
    registry.deployment_promote(version=v1, actor=users["ds"])
    registry.deployment_start_canary(version=v2, actor=users["ds"], traffic=20)
    v1.refresh_from_db()
    v2.refresh_from_db()
    return model, v1, v2


def test_three_hours_of_production_and_two_of_canary_make_two_lines_with_markers(users, deployed):
    _, v1, v2 = deployed
    for minutes_ago, calls in ((5, 40), (125, 30), (245, 20)):  # three different hours
        log_calls(v1, calls, minutes_ago=minutes_ago, errors=2, latency_ms=50.0)
    for minutes_ago in (5, 125):
        log_calls(v2, 10, minutes_ago=minutes_ago, errors=5, latency_ms=80.0)

    response = health(users["board"])
    html = response.content.decode()

    assert response.status_code == 200
    traffic = section(html, "traffic")
    assert traffic.count("<polyline") == 2
    xs = [
        float(pair.split(",")[0])
        for pair in " ".join(re.findall(r'<polyline points="([^"]*)"', traffic)).split()
    ]
    assert max(xs) <= 640 - RIGHT  # the current hour's point stays inside the window, at now
    assert traffic.count("<circle") == 3 + 1  # production's hours, and its legend marker
    assert traffic.count('height="7" fill=') == 2 + 1  # the canary's squares, and its legend
    assert ">v1 to production</text>" in traffic and ">v2 canary started</text>" in traffic
    assert traffic.count('stroke-dasharray="2 3" stroke-width="1.5"') == 2 + 1
    assert 'aria-labelledby="health-traffic-title health-traffic-desc"' in traffic
    table = re.findall(
        r"<tr><td>[^<]*</td><td>(\w+)</td><td>v(\d)</td><td>([\d.]+)</td></tr>", traffic
    )
    assert sorted(table) == sorted(
        [("production", "1", str(n)) for n in (40, 30, 20)] + [("canary", "2", "10")] * 2
    )
    errors = section(html, "errors")
    assert "<td>canary</td><td>v2</td><td>0.5000</td>" in errors
    assert "<td>production</td><td>v1</td><td>0.0500</td>" in errors  # 2 of 40
    assert "<td>production</td><td>v1</td><td>50</td>" in section(html, "latency")
    assert 'id="chart-accuracy"' not in html  # no ground truth yet
    assert_strict(response)
    assert_nothing_inline(html)
    assert '<link rel="stylesheet" href="/static/css/charts.css">' in html


def test_accuracy_is_charted_once_some_calls_have_ground_truth(users, deployed):
    model, v1, _ = deployed
    served = log_calls(v1, 20, minutes_ago=5)
    label(model, served[:10], 1)  # prediction 0.8: all ten right
    label(model, served[10:], 0)  # all ten wrong

    accuracy = section(health(users["validator"]).content.decode(), "accuracy")

    assert accuracy.count("<polyline") == 1
    assert "<td>production</td><td>v1</td><td>0.5000</td>" in accuracy


def test_without_calls_each_chart_says_no_data_yet(users, deployed):
    html = health(users["ds"]).content.decode()
    traffic = section(html, "traffic")
    assert "<svg" not in traffic and "no data yet." in traffic
    assert "<details>" not in traffic
