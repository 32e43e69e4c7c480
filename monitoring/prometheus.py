"""`/metrics`: the Prometheus scrape, and the series read from the database at scrape time.

Counters of the inference log come from models_registry/serving/prometheus.py (one per
process, summed over workers in multiprocess mode). What the checks found is read here
from CheckRun and CheckMetric rows on every scrape, so every process on every machine
reports the same numbers, and a restarted web process forgets nothing:

- governance_check_metric{model, version, kind, metric}: the latest value of each named
  metric per model and kind (drift_share, drift.<feature>, f1, roc_auc,
  demographic_parity_difference.<attribute>, estimated_accuracy, ...). A metric a check
  could not compute (value empty) is left out rather than reported as 0.
- governance_check_runs_total{model, kind, status}: check runs by their status now
  (failed ones are the failures).
- governance_check_duration_seconds{model, kind}: a summary (count, sum) of finished runs.
- governance_check_last_duration_seconds{model, kind}: the latest finished run's duration.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

from django.db import connection
from django.db.models import Count, OuterRef, Subquery, Sum
from prometheus_client import REGISTRY, CollectorRegistry, generate_latest, multiprocess
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    Metric,
    SummaryMetricFamily,
)

from monitoring.models import CheckMetric, CheckRun

FINISHED = (CheckRun.Status.DONE, CheckRun.Status.FAILED)


def latest_metrics() -> list[tuple[str, int, str, str, float]]:
    """(model name, version number, kind, metric name, value) of the newest row per
    (model, kind, name)."""
    columns = ("model__name", "version__version", "kind", "name", "value")
    rows = CheckMetric.objects.order_by()
    if connection.vendor == "postgresql":
        latest = rows.order_by("model_id", "kind", "name", "-computed_at", "-id").distinct(
            "model_id", "kind", "name"
        )
    else:
        newest = CheckMetric.objects.filter(
            model=OuterRef("model"), kind=OuterRef("kind"), name=OuterRef("name")
        ).order_by("-computed_at", "-id")
        latest = rows.filter(pk=Subquery(newest.values("pk")[:1]))
    return [row for row in latest.values_list(*columns) if row[4] is not None]


class CheckCollector:
    """Reads the checks' results from the database on each scrape."""

    def collect(self) -> Iterator[Metric]:
        values = GaugeMetricFamily(
            "governance_check_metric",
            "Latest value of a named check metric, per model and check kind.",
            labels=["model", "version", "kind", "metric"],
        )
        for model, version, kind, name, value in latest_metrics():
            values.add_metric([model, str(version), kind, name], value)
        yield values

        runs = CounterMetricFamily(
            "governance_check_runs",
            "Check runs by status (status=failed: the failures).",
            labels=["model", "kind", "status"],
        )
        counted = CheckRun.objects.order_by().values_list("model__name", "kind", "status")
        for model, kind, status, count in counted.annotate(n=Count("id")):
            runs.add_metric([model, kind, status], count)
        yield runs

        durations = SummaryMetricFamily(
            "governance_check_duration_seconds",
            "Duration of finished check runs.",
            labels=["model", "kind"],
        )
        finished = (
            CheckRun.objects.order_by()
            .filter(status__in=FINISHED, duration_ms__isnull=False)
            .values_list("model__name", "kind")
            .annotate(n=Count("id"), total=Sum("duration_ms"))
        )
        for model, kind, count, total in finished:
            durations.add_metric([model, kind], count_value=count, sum_value=total / 1000.0)
        yield durations

        last = GaugeMetricFamily(
            "governance_check_last_duration_seconds",
            "Duration of the latest finished check run.",
            labels=["model", "kind"],
        )
        newest = CheckRun.objects.filter(
            model=OuterRef("model"), kind=OuterRef("kind"), status__in=FINISHED
        ).order_by("-finished_at", "-id")
        latest_runs = CheckRun.objects.filter(
            pk=Subquery(newest.values("pk")[:1]), duration_ms__isnull=False
        ).values_list("model__name", "kind", "duration_ms")
        for model, kind, duration_ms in latest_runs:
            last.add_metric([model, kind], duration_ms / 1000.0)
        yield last


def metrics_scrape() -> bytes:
    """The whole scrape in the text format: this process's (or every worker's) counters and
    the checks' series."""
    checks = CollectorRegistry(auto_describe=False)
    checks.register(CheckCollector())
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        counters = CollectorRegistry(auto_describe=False)
        multiprocess.MultiProcessCollector(counters)
    else:
        counters = REGISTRY  # one process: its own counters, plus process and platform facts
    return generate_latest(counters) + generate_latest(checks)
