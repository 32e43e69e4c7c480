"""The health and monitoring charts in a real browser (Debian's Chromium via Playwright):
drawn at full size, nothing refused by the Content-Security-Policy, the table behind each
chart one click away. With SHOTS_DIR set, full-page screenshots of both pages go there."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import pytest

from models_registry import services as registry
from monitoring.models import CheckRun, MonitoringConfig
from tests.monitoring.check_data import make_check
from tests.monitoring.test_canary import label, log_calls
from tests.reviews.test_browser import browser, log_in, new_page

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
__all__ = ["browser", "new_page"]  # fixtures, used by name below


@pytest.fixture
def busy_model(users, make_model, make_version):
    """v1 in production for six hours, v2 on canary for the last three, labelled calls,
    and two weeks of checks against alert thresholds."""
    model = make_model(protected_attributes=["gender"])
    MonitoringConfig.objects.create(
        model=model,
        document={
            "alerts": [
                {"metric": "drift_share", "threshold": 0.3, "severity": "warning"},
                {"metric": "accuracy", "threshold": 0.8, "severity": "warning"},
            ]
        },
    )
    v1, v2 = make_version(model), make_version(model)
    registry.deployment_promote(version=v1, actor=users["ds"])
    for day in range(14, 0, -1):
        ago = timedelta(days=day)
        make_check(v1, CheckRun.Kind.DRIFT, metrics={"drift_share": 0.1 + day % 5 * 0.06}, ago=ago)
        metrics = {"accuracy": 0.9 - day % 4 * 0.03, "recall": 0.7 + day % 3 * 0.04}
        make_check(v1, CheckRun.Kind.QUALITY, metrics=metrics, ago=ago)
    registry.deployment_start_canary(version=v2, actor=users["ds"], traffic=20)
    v1.refresh_from_db()
    v2.refresh_from_db()
    for hour in range(6):
        served = log_calls(
            v1,
            60 + hour * 10,
            minutes_ago=60 * hour + 5,
            errors=hour % 3,
            latency_ms=lambda i, h=hour: 20.0 + h * 3 + i % 7,
        )
        label(model, served[:30], [1] * (24 + hour) + [0] * (6 - hour))
        if hour < 3:
            log_calls(v2, 15, minutes_ago=60 * hour + 5, errors=hour, latency_ms=35.0)
    return model


def visit(page, path: str) -> list[str]:
    refused: list[str] = []
    page.on("console", lambda m: refused.append(m.text) if "Content Security" in m.text else None)
    page.goto(path)
    return refused


def shoot(page, name: str) -> None:
    if os.environ.get("SHOTS_DIR"):
        Path(os.environ["SHOTS_DIR"]).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(os.environ["SHOTS_DIR"]) / name), full_page=True)


def test_the_health_and_monitoring_charts_are_drawn_and_their_tables_open(busy_model, new_page):
    from playwright.sync_api import expect

    page = new_page()
    log_in(page, "bella")

    refused = visit(page, f"/models/{busy_model.name}/health/")
    charts = page.locator("figure.chart svg[role=img]")
    expect(charts).to_have_count(4)  # calls, error rate, p95 latency, accuracy
    assert charts.first.bounding_box()["width"] > 400
    expect(page.locator("#chart-traffic svg")).to_contain_text("v2 canary started")
    page.locator("#chart-traffic summary").click()
    expect(page.locator("#chart-traffic table tbody tr")).to_have_count(6 + 3)
    shoot(page, "model-health.png")

    refused += visit(page, f"/models/{busy_model.name}/monitoring/")
    expect(page.locator("#chart-drift svg")).to_contain_text("alert on drift_share 0.3")
    expect(page.locator("#chart-quality svg polyline")).to_have_count(2)
    shoot(page, "model-monitoring.png")
    assert refused == []
