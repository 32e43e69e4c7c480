"""The health page's day of hours on a busy model (issue #12): the hourly read against one
slot_measure per hour, and two other ways to find each hour's p95.

    .venv/bin/python bench/health_hours.py                       # embedded SQLite, temporary
    DATABASE_URL=postgres://.../gov_x .venv/bin/python bench/health_hours.py   # an empty database

Seeds one model (v1 in production, v2 on a 20% canary, both through the services) and
`--calls` served calls over the last 24 hours (1% failed, a latency each, 30% labelled),
then times, `--repeats` times each, interleaved, medians printed against the first:

- per-hour slot_measure: what the page did before (one busy-hours query, then three
  queries per hour and slot);
- windows_measure: what it does now (counts, labels, p95 from the two ranked rows around
  it, in one query each);
- p95 streamed: every timed latency of the day fetched in order with .iterator() and the
  percentile taken in Python (the alternative to ranking in the database);
- percentile_cont (PostgreSQL only): the database's own interpolated percentile, the same
  definition as numpy's default, per hour and version in one aggregate.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "governance.settings")
os.environ.setdefault("VAR_DIR", tempfile.mkdtemp(prefix="bench-health-"))
os.environ.setdefault("LOG_LEVEL", "WARNING")
os.environ.setdefault("CELERY_TASK_ALWAYS_EAGER", "True")


def seed(calls: int):
    import numpy as np
    from django.test import TestCase
    from django.utils import timezone

    from governance.audit_context import Origin, acting_as
    from governance.services import user_set_roles
    from models_registry import services as registry
    from models_registry.models import Prediction
    from monitoring.models import GroundTruth

    ds, _ = user_set_roles(username="dana", roles=["data_scientist"], password="pw-bench-1")
    with acting_as(origin=Origin.SYSTEM), TestCase.captureOnCommitCallbacks(execute=True):
        model = registry.model_create(actor=ds, name="busy", risk_tier="low")
        v1 = registry.version_register(actor=ds, model=model, metrics={"auc": 0.8})
        v2 = registry.version_register(actor=ds, model=model, metrics={"auc": 0.8})
    registry.deployment_promote(version=v1, actor=ds)
    registry.deployment_start_canary(version=v2, actor=ds, traffic=20)
    rng = np.random.default_rng(12)
    now = timezone.now()
    ago = rng.uniform(0, 24 * 3600, size=calls)
    latency = rng.gamma(2.0, 20.0, size=calls)
    score = rng.uniform(0, 1, size=calls)
    rows, truth = [], []
    for i in range(calls):
        canary = i % 5 == 0
        failed = i % 100 == 7
        rows.append(
            Prediction(
                model=model,
                version=v2 if canary else v1,
                request_id=f"r{i}",
                source=Prediction.Source.SERVED,
                slot=Prediction.Slot.CANARY if canary else Prediction.Slot.PRODUCTION,
                occurred_at=now - timedelta(seconds=float(ago[i])),
                features={"tenure": 3},
                prediction=None if failed else float(score[i]),
                latency_ms=float(latency[i]),
                error="boom" if failed else "",
            )
        )
        if i % 10 < 3:
            truth.append(GroundTruth(model=model, request_id=f"r{i}", label=float(i % 2)))
    Prediction.objects.bulk_create(rows, batch_size=5000)
    GroundTruth.objects.bulk_create(truth, batch_size=5000)
    return model


def per_hour_slot_measure(model, start, end):
    """The page's read before windows_measure (monitoring/health_charts.py at 354297b)."""
    from django.db.models import Count
    from django.db.models.functions import TruncHour

    from models_registry.models import ModelVersion, Prediction
    from monitoring.health_charts import SLOTS
    from monitoring.windows import slot_measure

    busy = (
        Prediction.objects.filter(
            model=model,
            source=Prediction.Source.SERVED,
            slot__in=SLOTS,
            occurred_at__gt=start,
            occurred_at__lte=end,
        )
        .annotate(hour=TruncHour("occurred_at"))
        .values_list("hour", "slot", "version")
        .annotate(calls=Count("pk"))
        .order_by("hour", "slot")
    )
    versions = ModelVersion.objects.in_bulk({version for _, _, version, _ in busy})
    return [
        slot_measure(
            model=model,
            version=versions[version],
            start=max(hour, start),
            end=min(hour + timedelta(hours=1), end),
        )
        for hour, _, version, _ in busy
    ]


def hourly_windows(model, start, end):
    from monitoring.health_charts import hours_of_slots

    return hours_of_slots(model=model, start=start, end=end)


def streamed_p95(model, start, end):
    """Every timed latency in order, the percentile taken in Python per (hour, version)."""
    from monitoring.health_charts import hours_between
    from monitoring.windows import _calls, p95_between, p95_position, window_case

    windows = [(max(h, start), min(h + timedelta(hours=1), end)) for h in hours_between(start, end)]
    rows = (
        _calls(model=model, start=start, end=end, served_only=True)
        .filter(latency_ms__isnull=False)
        .annotate(window_index=window_case(windows))
        .order_by("window_index", "version_id", "latency_ms")
        .values_list("window_index", "version_id", "latency_ms")
    )
    groups: dict[tuple[int, int], list[float]] = {}
    for index, version, latency in rows.iterator(chunk_size=10_000):
        groups.setdefault((index, version), []).append(latency)
    found = {}
    for key, values in groups.items():
        lower, towards_next = p95_position(len(values))
        found[key] = p95_between(values[lower : lower + 2], towards_next)
    return found


def percentile_cont(model, start, end):
    from django.db import connection

    from monitoring.health_charts import hours_between

    hours = hours_between(start, end)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT date_trunc('hour', occurred_at - interval '1 microsecond'), version_id, "
            "percentile_cont(0.95) WITHIN GROUP (ORDER BY latency_ms) "
            "FROM models_registry_prediction WHERE model_id = %s AND source = 'served' "
            "AND occurred_at > %s AND occurred_at <= %s AND latency_ms IS NOT NULL "
            "GROUP BY 1, 2",
            [model.pk, start, end],
        )
        found = cursor.fetchall()
    assert len(found) >= len(hours) * 2 - 2
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    call_command("migrate", verbosity=0)
    started = time.perf_counter()
    model = seed(args.calls)
    print(
        f"{connection.vendor}: seeded {args.calls:,} calls in {time.perf_counter() - started:.0f} s"
    )

    end = timezone.now()
    start = end - timedelta(hours=24)
    ways: dict[str, Callable] = {
        "per-hour slot_measure (before)": per_hour_slot_measure,
        "windows_measure (now)": hourly_windows,
        "p95 streamed with .iterator()": streamed_p95,
    }
    if connection.vendor == "postgresql":
        ways["percentile_cont (PostgreSQL)"] = percentile_cont
    now_read = {
        (h.hour, h.measured.version): h.measured.p95_latency_ms
        for h in hourly_windows(model, start, end)
    }
    streamed = streamed_p95(model, start, end)
    assert sorted(v for v in now_read.values() if v is not None) == sorted(streamed.values())
    times: dict[str, list[float]] = {name: [] for name in ways}
    for _ in range(args.repeats):
        for name, way in ways.items():
            begun = time.perf_counter()
            way(model, start, end)
            times[name].append((time.perf_counter() - begun) * 1000)
    first = statistics.median(next(iter(times.values())))
    print(f"  {'read of 24 hours x 2 slots':<32} {'median ms':>9} {'max ms':>7} {'vs before':>9}")
    for name, values in times.items():
        median = statistics.median(values)
        print(f"  {name:<32} {median:9.1f} {max(values):7.1f} {median / first:8.2f}x")


if __name__ == "__main__":
    main()
