"""The health charts' hours: each one measured exactly as windows.slot_measure measures that
hour, read in a constant number of queries however many hours had traffic (issue #12)."""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from models_registry.models import ModelVersion, Prediction
from monitoring.health_charts import HEALTH_HOURS, health_charts, hours_of_slots
from monitoring.windows import slot_measure
from tests.monitoring import test_health_charts
from tests.monitoring.test_canary import label, log_calls

pytestmark = pytest.mark.django_db

deployed = test_health_charts.deployed  # the same fixture: production v1, canary v2 at 20%


def calls_at(version: ModelVersion, at: datetime, count: int, **kwargs) -> list[str]:
    """log_calls, moved to the moment `at` (and to another slot, if given)."""
    slot = kwargs.pop("slot", None)
    ids = log_calls(version, count, **kwargs)
    moved = Prediction.objects.filter(request_id__in=ids)
    moved.update(occurred_at=at, **({"slot": slot} if slot is not None else {}))
    return ids


def test_every_hour_of_every_slot_is_what_slot_measure_says_of_it(deployed):
    model, v1, v2 = deployed
    top = timezone.now().replace(minute=0, second=0, microsecond=0)
    end = top + timedelta(minutes=30)
    start = end - timedelta(hours=HEALTH_HOURS)
    rng = np.random.default_rng(12)

    for hours_ago in (0, 1, 2, 5, 23):
        at = top - timedelta(hours=hours_ago) + timedelta(minutes=10)
        latencies = rng.gamma(2.0, 40.0, size=37).tolist()
        served = calls_at(v1, at, 37, errors=3, latency_ms=lambda i, xs=latencies: xs[i])
        label(model, served[3:20], [float(i % 2) for i in range(17)])
        calls_at(v2, at + timedelta(minutes=3), 11, errors=hours_ago % 3, latency_ms=float)
    # A call at exactly the top of an hour belongs to the hour that ends then: a window
    # is (start, end].
    calls_at(v1, top - timedelta(hours=3), 4, latency_ms=300.0)
    calls_at(v1, top - timedelta(hours=3, minutes=30), 2, latency_ms=5.0)
    # Calls without a latency count as calls but not towards p95; logged calls not at all.
    calls_at(v2, top - timedelta(hours=1, minutes=10), 5, latency_ms=None)
    calls_at(v1, top - timedelta(hours=2, minutes=1), 9, source=Prediction.Source.LOGGED)
    # The canary's version also served production calls in one hour (promoted mid-hour):
    # slot_measure measures the version, so both slots show all of its calls of that hour.
    calls_at(v2, top - timedelta(hours=5) + timedelta(minutes=20), 6, slot="production")
    # Labels that are not binary: no accuracy for that hour.
    label(model, calls_at(v2, top - timedelta(hours=23, minutes=5), 3), 2.5)
    # At the very start of the window, so outside it.
    calls_at(v1, start, 3)

    hours = hours_of_slots(model=model, start=start, end=end)

    for h in hours:
        expected = slot_measure(
            model=model,
            version=v1 if h.measured.version == 1 else v2,
            start=max(h.hour, start),
            end=min(h.hour + timedelta(hours=1), end),
        )
        assert h.measured == expected, (h.hour, h.slot)
    drawn = {((top - h.hour) // timedelta(hours=1), h.slot, h.measured.version): h for h in hours}
    assert len(drawn) == len(hours)
    production, canary = Prediction.Slot.PRODUCTION, Prediction.Slot.CANARY
    assert set(drawn) == {
        *((n, production, 1) for n in (0, 1, 2, 4, 5, 23)),
        *((n, canary, 2) for n in (0, 1, 2, 5, 23, 24)),
        (5, production, 2),
    }
    assert drawn[4, production, 1].measured.requests == 6  # 2 in the hour, 4 at its end
    assert drawn[4, production, 1].measured.p95_latency_ms == 300.0
    assert drawn[1, production, 1].measured.accuracy == 8 / 17
    assert drawn[1, production, 1].measured.error_rate == 3 / 37
    assert drawn[2, canary, 2].measured.requests == 16
    assert drawn[24, canary, 2].measured.labelled == 3
    assert drawn[24, canary, 2].measured.accuracy is None
    assert drawn[5, canary, 2].measured == drawn[5, production, 2].measured


def health_queries(user) -> tuple[int, str]:
    client = Client()
    client.force_login(user)
    url = reverse("monitoring:model-health", args=["churn-classifier"])
    client.get(url)  # warm-up: sessions and lazy imports are not the page
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return len(captured), response.content.decode()


def traffic(model, v1, v2, minutes_ago: float) -> None:
    served = log_calls(v1, 20, minutes_ago=minutes_ago, errors=2, latency_ms=lambda i: 10.0 + i)
    label(model, served[2:12], 1)
    log_calls(v2, 5, minutes_ago=minutes_ago + 1, errors=1, latency_ms=80.0)


def test_the_health_page_costs_the_same_queries_with_1_and_24_hours_of_traffic(users, deployed):
    model, v1, v2 = deployed
    traffic(model, v1, v2, minutes_ago=5)
    one_hour, html = health_queries(users["board"])
    assert "Table of the chart (2 values)" in html

    for hours_ago in range(1, HEALTH_HOURS):
        traffic(model, v1, v2, minutes_ago=5 + 60 * hours_ago)
    whole_day, html = health_queries(users["board"])

    assert "Table of the chart (48 values)" in html
    print(f"health page: {one_hour} queries with 1 hour of traffic, {whole_day} with 24")
    assert whole_day == one_hour


def test_the_charts_read_the_day_in_a_handful_of_queries(deployed):
    model, v1, v2 = deployed
    for hours_ago in range(HEALTH_HOURS):
        traffic(model, v1, v2, minutes_ago=5 + 60 * hours_ago)

    with CaptureQueriesContext(connection) as captured:
        charts = health_charts(model=model)

    assert [c.key for c in charts] == ["traffic", "errors", "latency", "accuracy"]
    assert len(captured) == 4, [q["sql"][:80] for q in captured]  # 3 + the deployments
