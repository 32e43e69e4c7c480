"""Prometheus series of the inference log: every committed row, counted once.

`inference_log_write` calls `predictions_count_on_commit(rows)` for every transaction it
writes (served calls, alone or group-committed, and logged batches alike), so the counter
moves only for rows that are on record, and a rolled-back batch counts nothing.

Under gunicorn the series live in PROMETHEUS_MULTIPROC_DIR (prometheus_client's
multiprocess mode, see gunicorn.conf.py) and a scrape of any worker sums every worker.
"""

from __future__ import annotations

from collections import Counter as Tally

from django.db import transaction
from prometheus_client import Counter, Histogram

from models_registry.models import ModelVersion, Prediction

LABELS = ("model", "version", "slot")
# Seconds; a served call takes milliseconds, a cold model load up to seconds.
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

PREDICTIONS = Counter(
    "governance_predictions",
    "Predictions on record: answered calls (slot production or canary) and logged records.",
    LABELS,
)
PREDICTION_ERRORS = Counter(
    "governance_prediction_errors",
    "Calls on record whose model failed.",
    LABELS,
)
LATENCY = Histogram(
    "governance_prediction_latency_seconds",
    "Time to answer a served call, as recorded on its row.",
    LABELS,
    buckets=LATENCY_BUCKETS,
)

# version id -> (model name, version number): both never change once a version exists.
_version_labels: dict[int, tuple[str, str]] = {}


def _labels_of(version_ids: set[int]) -> dict[int, tuple[str, str]]:
    missing = version_ids - _version_labels.keys()
    if missing:
        for pk, model, number in ModelVersion.objects.filter(pk__in=missing).values_list(
            "pk", "model__name", "version"
        ):
            _version_labels[pk] = (model, str(number))
    return _version_labels


def slot_label(row: Prediction) -> str:
    """production or canary for a served call, logged for a record of a model served elsewhere."""
    if row.source == Prediction.Source.LOGGED:
        return "logged"
    return row.slot or "unknown"


def predictions_count(rows: list[Prediction]) -> None:
    """Add committed rows to the series."""
    labels = _labels_of({row.version_id for row in rows})
    tally: Tally[tuple[str, str, str]] = Tally()
    errors: Tally[tuple[str, str, str]] = Tally()
    for row in rows:
        key = (*labels.get(row.version_id, ("unknown", str(row.version_id))), slot_label(row))
        tally[key] += 1
        if row.error:
            errors[key] += 1
        if row.latency_ms is not None:
            LATENCY.labels(*key).observe(row.latency_ms / 1000.0)
    for key, count in tally.items():
        PREDICTIONS.labels(*key).inc(count)
    for key, count in errors.items():
        PREDICTION_ERRORS.labels(*key).inc(count)


def predictions_count_on_commit(rows: list[Prediction]) -> None:
    """Count `rows` once the transaction that writes them commits (never if it rolls back)."""
    transaction.on_commit(lambda: predictions_count(rows), robust=True)
