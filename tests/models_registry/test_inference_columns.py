"""The inference log column by column: a window equals the record, and stays equal to it.

Through compaction, rebuild, retention and consent erasure, on PostgreSQL and on SQLite.
"""

from __future__ import annotations

import math
import threading
import uuid
from datetime import UTC, timedelta
from io import StringIO
from typing import Any

import numpy as np
import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import timezone

from models_registry.consent import consent_withdraw
from models_registry.inference_columns import DictionaryColumn, forget_version_kinds, window_read
from models_registry.inference_columns_upkeep import (
    segments_compact,
    segments_rebuild,
    segments_verify,
)
from models_registry.models import ModelVersion, Prediction, PredictionSegment
from models_registry.retention import retention_apply_all, retention_policy_set
from models_registry.serving.inference_log import inference_log_write
from tests.conftest import is_postgres, skip_unless

pytestmark = pytest.mark.django_db

SIGNATURE = [
    {"name": "age", "type": "long"},
    {"name": "income", "type": "double"},
    {"name": "member", "type": "boolean"},
    {"name": "plan", "type": "string"},
]


@pytest.fixture
def log(users, make_model, make_version) -> dict[str, Any]:
    forget_version_kinds()
    model = make_model()
    version = make_version(model)
    ModelVersion.objects.filter(pk=version.pk).update(
        run_facts={"logged_model": {"signature": {"inputs": SIGNATURE}}}
    )
    now = timezone.now().replace(microsecond=0)

    def write(count: int = 3, *, at: Any = None, subject: str = "", **extra: Any) -> list[str]:
        at = at or now
        rows = [
            Prediction(
                model=model,
                version=version,
                request_id=str(uuid.uuid4()),
                source=Prediction.Source.LOGGED,
                occurred_at=at - timedelta(seconds=i),
                subject_id=subject,
                features={
                    "age": 30 + i,
                    "income": 1000.5 * i,
                    "member": i % 2 == 0,
                    "plan": ["basic", "gold"][i % 2],
                },
                attributes={"gender": ["f", "m"][i % 2], "band": i, "vip": i == 0} if i < 2 else {},
                **{"prediction": 0.1 * i, **extra},
            )
            for i in range(count)
        ]
        inference_log_write(rows)
        return [row.request_id for row in rows]

    yield {"model": model, "version": version, "now": now, "write": write}
    forget_version_kinds()


def read(log: dict[str, Any], **kwargs: Any) -> Any:
    kwargs.setdefault("start", log["now"] - timedelta(days=400))
    kwargs.setdefault("end", log["now"] + timedelta(days=1))
    return window_read(version=log["version"], **kwargs)


def as_rows(window: Any) -> dict[str, tuple[Any, ...]]:
    """Window rows by request id, as plain values (NaN compared as such)."""
    rows = {}
    for i, request_id in enumerate(window.request_id):
        values = [window.occurred_at[i], window.prediction[i]]
        values += [(name, column[i]) for name, column in sorted(window.features.items())]
        values += [(name, column[i]) for name, column in sorted(window.attributes.items())]
        rows[request_id] = tuple(values)
    return rows


def record_rows(log: dict[str, Any]) -> dict[str, Any]:
    answered = Prediction.objects.filter(
        version=log["version"], error="", prediction__isnull=False, erased_at=None
    )
    return {row.request_id: row for row in answered}


def test_a_window_holds_the_answered_rows_typed_by_the_versions_feature_kinds(log):
    ids = log["write"](3)
    log["write"](1, error="model failed", prediction=None)
    window = read(log)
    assert window.rows == 3 and sorted(window.request_id) == sorted(ids)
    assert window.request_id.dtype == object and isinstance(window.request_id[0], str)
    assert window.occurred_at.dtype == np.dtype("datetime64[us]")
    assert window.prediction.dtype == np.float64
    assert {name: column.dtype for name, column in window.features.items()} == {
        "age": np.int64,
        "income": np.float64,
        "member": np.bool_,
        "plan": object,
    }
    record = record_rows(log)
    for i, request_id in enumerate(window.request_id):
        row = record[request_id]
        stamp = row.occurred_at.astimezone(UTC).replace(tzinfo=None)
        assert window.occurred_at[i] == np.datetime64(stamp, "us")
        assert window.prediction[i] == row.prediction
        for name, column in window.features.items():
            value = column[i].item() if isinstance(column[i], np.generic) else column[i]
            assert value == row.features[name] and type(value) is type(row.features[name])
        gender, band, vip = (window.attributes[n][i] for n in ("gender", "band", "vip"))
        if row.attributes:  # numbers and booleans are stored as text, JSON-spelled
            assert (gender, band, vip) == (
                row.attributes["gender"],
                str(row.attributes["band"]),
                "true" if row.attributes["vip"] else "false",
            )
        else:
            assert (gender, band, vip) == (None, None, None)
    assert not np.isnan(window.features["income"]).any()  # NaN is never invented


def test_the_window_is_start_exclusive_end_inclusive_and_reads_only_what_is_asked(log):
    now = log["now"]
    early = log["write"](1, at=now - timedelta(hours=2))
    edge = log["write"](1, at=now - timedelta(hours=1))
    late = log["write"](1, at=now)
    window = read(log, start=now - timedelta(hours=2), end=now - timedelta(hours=1))
    assert list(window.request_id) == edge
    window = read(log, start=now - timedelta(hours=3), end=now, features=["age"], attributes=[])
    assert sorted(window.request_id) == sorted(early + edge + late)
    assert list(window.features) == ["age"] and window.attributes == {}
    empty = read(log, start=now, end=now + timedelta(hours=1))
    assert empty.rows == 0 and empty.features["age"].dtype == np.int64
    assert empty.occurred_at.dtype == np.dtype("datetime64[us]")


def test_a_drift_read_gives_string_codes_and_only_the_features(log):
    now = log["now"]
    for hours in (3, 2, 1):  # three segments, the window cutting the first
        log["write"](3, at=now - timedelta(hours=hours))
    start, end = now - timedelta(hours=3, seconds=1), now
    full = read(log, start=start, end=end, features=["plan", "age"], attributes=[])
    coded = read(
        log,
        start=start,
        end=end,
        features=["plan", "age"],
        attributes=[],
        base=False,
        strings="codes",
    )
    assert coded.rows == full.rows == 7
    assert coded.request_id is None and coded.occurred_at is None and coded.prediction is None
    plan = coded.features["plan"]
    assert isinstance(plan, DictionaryColumn) and plan.codes.dtype == np.int32
    assert sorted(plan.values.tolist()) == ["basic", "gold"]
    assert plan.to_objects().tolist() == full.features["plan"].tolist()
    assert coded.features["age"].tolist() == full.features["age"].tolist()
    empty = read(log, start=now, end=now + timedelta(hours=1), base=False, strings="codes")
    assert empty.rows == 0 and len(empty.features["plan"]) == 0


def test_compaction_merges_small_segments_keeps_the_content_and_is_idempotent(log):
    for minute in range(12):
        log["write"](1, at=log["now"] - timedelta(minutes=minute))
    before = as_rows(read(log))
    assert PredictionSegment.objects.count() == 12
    merged = segments_compact(target=5)
    assert merged == 12 - PredictionSegment.objects.count() > 0
    assert sorted(PredictionSegment.objects.values_list("rows", flat=True)) == [2, 5, 5]
    assert as_rows(read(log)) == before
    assert segments_compact(target=5) == 0
    assert as_rows(read(log)) == before
    assert segments_verify().intact


def test_a_rebuild_from_the_record_equals_the_segments_written(log):
    for _ in range(4):
        log["write"](3)
    log["write"](2, error="model failed", prediction=None)
    written = as_rows(read(log))
    outcome = segments_rebuild(model=log["model"], target=5)
    assert (outcome.rows, outcome.segments) == (12, 1)  # chunks of 10,000 rows per flush
    assert as_rows(read(log)) == written
    out = StringIO()
    call_command("inference_columns_rebuild", "--model", log["model"].name, stdout=out)
    assert "12 row(s)" in out.getvalue()
    assert as_rows(read(log)) == written
    with pytest.raises(CommandError, match="No model named"):
        call_command("inference_columns_rebuild", "--model", "nope")


def test_verify_finds_a_batch_missing_from_the_segments_and_rebuild_repairs_it(log):
    log["write"](2)
    log["write"](3)
    out = StringIO()
    call_command("inference_columns_verify", stdout=out)
    assert "5 row(s) in 2 segment(s)" in out.getvalue()
    PredictionSegment.objects.filter(rows=2).delete()
    check = segments_verify()
    assert (
        len(check.mismatched) == 1
        and "2 row(s) in the record, 0 in segments" in (check.mismatched[0])
    )
    with pytest.raises(CommandError, match="1 batch"):
        call_command("inference_columns_verify", stderr=StringIO())
    segments_rebuild()
    assert segments_verify().intact and read(log).rows == 5


def test_retention_drops_the_deleted_batches_from_the_segments(log, users):
    now = log["now"]
    old = log["write"](3, at=now - timedelta(days=40))
    kept = log["write"](2, at=now - timedelta(days=5))
    segments_compact(target=100)
    assert PredictionSegment.objects.count() == 1
    retention_policy_set(actor=users["compliance"], model=log["model"], inference_log_days=30)
    retention_apply_all()
    window = read(log)
    assert sorted(window.request_id) == sorted(kept) and not set(old) & set(window.request_id)
    assert PredictionSegment.objects.get().rows == 2
    assert segments_verify().intact


def test_consent_erasure_drops_the_erased_rows_from_the_segments(
    log, users, django_capture_on_commit_callbacks
):
    erased = log["write"](3, subject="customer-17")
    kept = log["write"](2, subject="customer-18")
    segments_compact(target=100)
    with django_capture_on_commit_callbacks(execute=True):
        consent_withdraw(actor=users["compliance"], subject_id="customer-17")
    window = read(log)
    assert sorted(window.request_id) == sorted(kept) and not set(erased) & set(window.request_id)
    assert segments_verify().intact
    segments_rebuild()  # the record agrees: erased rows stay out
    assert sorted(read(log).request_id) == sorted(kept)


def test_a_version_without_a_signature_gets_the_kinds_of_its_values(
    users, make_model, make_version
):
    forget_version_kinds()
    model = make_model(name="fraud")
    version = make_version(model)
    inference_log_write(
        [
            Prediction(
                model=model,
                version=version,
                request_id=f"r{i}",
                source=Prediction.Source.LOGGED,
                occurred_at=timezone.now(),
                features={"n": i, "x": 0.5 + i, "flag": True, "word": "a"},
                prediction=0.5,
            )
            for i in range(2)
        ]
    )
    window = window_read(
        version=version,
        start=timezone.now() - timedelta(hours=1),
        end=timezone.now() + timedelta(hours=1),
    )
    assert {name: column.dtype for name, column in window.features.items()} == {
        "flag": np.bool_,
        "n": np.int64,
        "word": object,
        "x": np.float64,
    }
    assert sorted(window.features["x"].tolist()) == [0.5, 1.5]


def test_a_value_that_does_not_fit_its_kind_is_missing_not_a_guess(log):
    rows = [
        Prediction(
            model=log["model"],
            version=log["version"],
            request_id="odd",
            source=Prediction.Source.LOGGED,
            occurred_at=log["now"],
            features={"age": "old", "income": None, "member": True, "plan": "basic"},
            prediction=0.5,
        )
    ]
    inference_log_write(rows)
    window = read(log)
    assert math.isnan(window.features["age"][0]) and math.isnan(window.features["income"][0])
    assert window.features["member"][0] and segments_verify().intact


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_compaction_is_safe_with_concurrent_writes(log):
    skip_unless(is_postgres(), "concurrent transactions need PostgreSQL")
    written: list[str] = []
    stop = threading.Event()

    def writer() -> None:
        try:
            while not stop.is_set():
                written.extend(log["write"](1))
        finally:
            connection.close()

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        for _ in range(5):
            segments_compact(target=10)
    finally:
        stop.set()
        thread.join()
    segments_compact(target=10)
    window = read(log)
    assert sorted(window.request_id) == sorted(written) and len(written) > 0
    assert segments_verify().intact


def test_segments_that_lack_a_column_read_it_as_missing():
    from datetime import UTC, datetime

    import pyarrow as pa

    from models_registry import inference_columns as columns

    at = datetime(2026, 1, 1, tzinfo=UTC)

    def segment(features: list[dict[str, Any]]) -> bytes:
        n = len(features)
        return columns.segment_bytes(
            columns.segment_table(
                request_ids=[f"r{i}" for i in range(n)],
                occurred_at=[at] * n,
                predictions=[0.5] * n,
                batches=[None] * n,
                features=features,
                attributes=[{}] * n,
                kinds=None,
            )
        )

    data = [
        segment([{"a": 1.0, "s": "x"}, {"a": 2.0, "s": "y"}]),
        segment([{"a": 3.0}]),
        segment([{"a": 4.0, "s": "y", "b": True}]),
    ]
    parts: dict[str, Any] = {}
    bounds = (pa.scalar(at, pa.timestamp("us", tz="UTC")),) * 2
    rows = columns._window_parts(
        [(d, True) for d in data], parts, [], None, None, bounds, base=False
    )
    assert rows == 4
    assert parts["f:a"].numpy("objects").tolist() == [1.0, 2.0, 3.0, 4.0]
    assert parts["f:s"].numpy("objects").tolist() == ["x", "y", None, "y"]
    coded = parts["f:b"].numpy("codes")
    assert coded.tolist() == [None, None, None, True]
