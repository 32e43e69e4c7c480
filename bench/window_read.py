"""Reading a window of the inference log column by column: JSON rows, SQL, segments.

    .venv/bin/python bench/window_read.py                  # about 5 minutes
    .venv/bin/python bench/window_read.py --rows 200000    # quicker

Stores --rows rows x 20 features (10 number, 5 integer, 3 string, 2 boolean) and two
attributes of one version through `inference_log_write`, in batches of 100,000 (COPY, the
audit event, and the segment written from the same rows), then reads the whole window:
(a) every row's JSON fetched and parsed in Python (what a check would do on the record),
(b) the typed values extracted by PostgreSQL (`(features->>'n0')::float8`, ...), fetched
in the binary protocol, (c) `window_read` on the segments. It prints each time and the
ratios, and checks that the three agree. Then the write path: `inference_log_write` with
and without its segment, on 1-row and 1,000-row batches, interleaved rounds, the median
ratio. PostgreSQL only: a database of its own, created and dropped.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import harness

NUMBERS = [f"n{i}" for i in range(10)]
INTEGERS = [f"i{i}" for i in range(5)]
STRINGS = [f"s{i}" for i in range(3)]
BOOLEANS = [f"b{i}" for i in range(2)]
SIGNATURE = (
    [{"name": n, "type": "double"} for n in NUMBERS]
    + [{"name": n, "type": "long"} for n in INTEGERS]
    + [{"name": n, "type": "string"} for n in STRINGS]
    + [{"name": n, "type": "boolean"} for n in BOOLEANS]
)
VOCABULARY = [f"category-{i}" for i in range(40)]
REGIONS = ["north", "south", "east", "west", "centre"]
CHUNK = 100_000


def make_columns(count: int, *, offset: int, start: Any, span: float) -> dict[str, list[Any]]:
    """`count` rows' values, spread over `span` seconds after `start`."""
    rng = np.random.default_rng(offset)
    numbers = np.round(rng.normal(50, 15, size=(len(NUMBERS), count)), 3).tolist()
    integers = rng.integers(0, 1000, size=(len(INTEGERS), count)).tolist()
    strings = rng.integers(0, len(VOCABULARY), size=(len(STRINGS), count)).tolist()
    booleans = (rng.random(size=(len(BOOLEANS), count)) < 0.3).tolist()
    regions = rng.integers(0, len(REGIONS), size=count).tolist()
    features, attributes, times = [], [], []
    for j in range(count):
        row = {name: numbers[k][j] for k, name in enumerate(NUMBERS)}
        row.update({name: integers[k][j] for k, name in enumerate(INTEGERS)})
        row.update({name: VOCABULARY[strings[k][j]] for k, name in enumerate(STRINGS)})
        row.update({name: booleans[k][j] for k, name in enumerate(BOOLEANS)})
        features.append(row)
        attributes.append({"gender": "fm"[j % 2], "region": REGIONS[regions[j]]})
        times.append(start + timedelta(seconds=span * (offset + j) / 1e6))
    return {
        "request_id": [str(uuid.uuid4()) for _ in range(count)],
        "occurred_at": times,
        "prediction": rng.random(count).tolist(),
        "features": features,
        "attributes": attributes,
    }


def make_rows(count: int, *, offset: int, model: Any, version: Any, start: Any, span: float):
    """The same as Prediction rows, for inference_log_write."""
    from models_registry.models import Prediction

    columns = make_columns(count, offset=offset, start=start, span=span)
    return [
        Prediction(
            model=model,
            version=version,
            request_id=columns["request_id"][j],
            source=Prediction.Source.LOGGED,
            occurred_at=columns["occurred_at"][j],
            features=columns["features"][j],
            attributes=columns["attributes"][j],
            prediction=columns["prediction"][j],
        )
        for j in range(count)
    ]


def store_chunk(columns: dict[str, list[Any]], *, model: Any, version: Any) -> None:
    """COPY the rows into the record (one batch) and write their segment, as the log does."""
    import json

    from django.db import connection, transaction

    from models_registry.inference_columns import segment_new, segment_table, version_kinds

    batch = uuid.uuid4()
    statement = (
        "COPY models_registry_prediction (model_id, version_id, request_id, source, slot, "
        "occurred_at, features, attributes, prediction, error, batch, subject_id, salt, "
        "record_hash) FROM STDIN"
    )
    with transaction.atomic():
        with connection.cursor() as cursor, cursor.cursor.copy(statement) as copy:
            for j, request_id in enumerate(columns["request_id"]):
                copy.write_row(
                    (
                        model.pk,
                        version.pk,
                        request_id,
                        "logged",
                        "",
                        columns["occurred_at"][j],
                        json.dumps(columns["features"][j]),
                        json.dumps(columns["attributes"][j]),
                        columns["prediction"][j],
                        "",
                        batch,
                        "",
                        "",
                        "",
                    )
                )
        table = segment_table(
            request_ids=columns["request_id"],
            occurred_at=columns["occurred_at"],
            predictions=columns["prediction"],
            batches=[batch] * len(columns["request_id"]),
            features=columns["features"],
            attributes=columns["attributes"],
            kinds=version_kinds(version.pk),
        )
        segment_new(model_id=model.pk, version_id=version.pk, table=table).save()


def read_json(version: Any, start: Any, end: Any) -> dict[str, np.ndarray]:
    """(a) Every row fetched, its JSON parsed, the columns built in Python."""
    from models_registry.models import Prediction

    rows = (
        Prediction.objects.filter(version=version, occurred_at__gt=start, occurred_at__lte=end)
        .exclude(prediction=None)
        .filter(error="", erased_at=None)
        .values_list("request_id", "prediction", "features", "attributes")
        .iterator(chunk_size=10_000)
    )
    ids, scores, features, attributes = [], [], [], []
    for request_id, score, row_features, row_attributes in rows:
        ids.append(request_id)
        scores.append(score)
        features.append(row_features)
        attributes.append(row_attributes)
    columns = {"request_id": np.array(ids, dtype=object), "prediction": np.array(scores)}
    for name in NUMBERS:
        columns[name] = np.array([f[name] for f in features], dtype=np.float64)
    for name in INTEGERS:
        columns[name] = np.array([f[name] for f in features], dtype=np.int64)
    for name in STRINGS:
        columns[name] = np.array([f[name] for f in features], dtype=object)
    for name in BOOLEANS:
        columns[name] = np.array([f[name] for f in features], dtype=bool)
    for name in ("gender", "region"):
        columns[name] = np.array([a.get(name) for a in attributes], dtype=object)
    return columns


def read_sql(version: Any, start: Any, end: Any) -> dict[str, np.ndarray]:
    """(b) PostgreSQL extracts each typed value; Python only builds the arrays."""
    import psycopg
    from django.db import connection

    casts = (
        [f"(features->>'{n}')::float8" for n in NUMBERS]
        + [f"(features->>'{n}')::int8" for n in INTEGERS]
        + [f"features->>'{n}'" for n in STRINGS]
        + [f"(features->>'{n}')::bool" for n in BOOLEANS]
        + ["attributes->>'gender'", "attributes->>'region'"]
    )
    query = (
        f"SELECT request_id, prediction, {', '.join(casts)} FROM models_registry_prediction "
        "WHERE version_id = %s AND occurred_at > %s AND occurred_at <= %s "
        "AND prediction IS NOT NULL AND error = '' AND erased_at IS NULL"
    )
    connection.ensure_connection()
    with psycopg.Cursor(connection.connection) as cursor:
        cursor.execute(query, [version.pk, start, end], binary=True)
        rows = cursor.fetchall()
    names = ["request_id", "prediction", *NUMBERS, *INTEGERS, *STRINGS, *BOOLEANS]
    names += ["gender", "region"]
    dtypes = {n: np.float64 for n in ["prediction", *NUMBERS]}
    dtypes.update({n: np.int64 for n in INTEGERS})
    dtypes.update({n: bool for n in BOOLEANS})
    values = list(zip(*rows, strict=True)) if rows else [()] * len(names)
    return {
        name: np.array(column, dtype=dtypes.get(name, object))
        for name, column in zip(names, values, strict=True)
    }


def read_segments(version: Any, start: Any, end: Any) -> dict[str, np.ndarray]:
    """(c) window_read."""
    from models_registry.inference_columns import window_read

    window = window_read(version=version, start=start, end=end)
    return {
        "request_id": window.request_id,
        "prediction": window.prediction,
        **window.features,
        **window.attributes,
    }


def agree(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> bool:
    """The same rows with the same values (in any order)."""
    order_a, order_b = np.argsort(a["request_id"]), np.argsort(b["request_id"])
    for name, column in a.items():
        left, right = column[order_a], b[name][order_b]
        if left.dtype != right.dtype or not np.array_equal(left, right):
            print(f"    column {name} differs ({left.dtype} / {right.dtype})")
            return False
    return True


def timed(function: Any, *args: Any) -> tuple[float, Any]:
    started = time.perf_counter()
    result = function(*args)
    return time.perf_counter() - started, result


def write_path(model: Any, version: Any, rounds: int) -> None:
    """inference_log_write with and without its segment, 1-row and 1,000-row batches."""
    from django.utils import timezone

    from models_registry.serving import inference_log

    real = inference_log.segments_write
    cases = [("1-row batches", 1, 300), ("1,000-row batches", 1000, 6)]
    print("\n  inference_log_write, ms per transaction with the segment and without it")
    print("  (wall time, then this process's CPU time):")
    header = f"{'with':>10}{'without':>10}{'ratio':>8}"
    print(f"  {'round':<7}{'batch':<20}{header}{header}")
    ratios: dict[str, list[float]] = {name: [] for name, _, _ in cases}
    cpu_ratios: dict[str, list[float]] = {name: [] for name, _, _ in cases}
    offset = 10**8
    for round_no in range(1, rounds + 1):
        for name, size, transactions in cases:
            took, spent = {}, {}
            for with_segment in (True, False) if round_no % 2 else (False, True):
                inference_log.segments_write = real if with_segment else (lambda rows: None)
                batches = []
                for _ in range(transactions):
                    batches.append(
                        make_rows(
                            size,
                            offset=offset,
                            model=model,
                            version=version,
                            start=timezone.now(),
                            span=1.0,
                        )
                    )
                    offset += size
                started, cpu = time.perf_counter(), time.process_time()
                for rows in batches:
                    inference_log.inference_log_write(rows)
                took[with_segment] = (time.perf_counter() - started) / transactions * 1000
                spent[with_segment] = (time.process_time() - cpu) / transactions * 1000
            inference_log.segments_write = real
            ratio, cpu_ratio = took[True] / took[False], spent[True] / spent[False]
            ratios[name].append(ratio)
            cpu_ratios[name].append(cpu_ratio)
            print(
                f"  {round_no:<7}{name:<20}{took[True]:>10.2f}{took[False]:>10.2f}{ratio:>8.2f}"
                f"{spent[True]:>10.2f}{spent[False]:>10.2f}{cpu_ratio:>8.2f}",
                flush=True,
            )
    for name in ratios:
        print(
            f"    median with/without, {name}: wall {statistics.median(ratios[name]):.2f}, "
            f"this process's CPU {statistics.median(cpu_ratios[name]):.2f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=3, help="rounds of each read, write path")
    parser.add_argument("--skip-json", action="store_true", help="skip the (slow) JSON read")
    args = parser.parse_args()

    with harness.Setup("window-read") as world:
        if not world.database.startswith("PostgreSQL"):
            raise SystemExit("this bench needs PostgreSQL; see bench/README.md")
        harness.django_setup()
        from django.conf import settings
        from django.db import connection
        from django.utils import timezone

        from governance.audit_context import Origin, acting_as
        from governance.services import user_set_roles
        from models_registry.inference_columns_upkeep import segments_verify
        from models_registry.models import ModelVersion, PredictionSegment
        from models_registry.services import model_create, version_register

        with acting_as(origin=Origin.COMMAND):
            scientist, _ = user_set_roles(username="bench-scientist", roles=["data_scientist"])
            model = model_create(actor=scientist, name="window-bench", risk_tier="low")
            version = version_register(actor=scientist, model=model, metrics={"auc": 0.9})
            ModelVersion.objects.filter(pk=version.pk).update(
                run_facts={"logged_model": {"signature": {"inputs": SIGNATURE}}}
            )
            version.refresh_from_db()
            start = timezone.now() - timedelta(days=1)
            print(f"database: {world.database}")
            print(f"storing {args.rows} rows x 20 features (COPY and the segment writer) ...")
            took = 0.0
            for offset in range(0, args.rows, CHUNK):
                count = min(CHUNK, args.rows - offset)
                columns = make_columns(count, offset=offset, start=start, span=23 * 3600.0)
                took += timed(lambda c=columns: store_chunk(c, model=model, version=version))[0]
                print(f"  {offset + count} rows ({took:.0f} s writing)", flush=True)
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE models_registry_prediction")
                cursor.execute(
                    "SELECT pg_total_relation_size('models_registry_prediction'), "
                    "COALESCE(SUM(octet_length(data)), 0) FROM models_registry_predictionsegment"
                )
                table_bytes, segment_bytes = cursor.fetchone()
            segments = PredictionSegment.objects.count()
            print(
                f"  record {table_bytes / 1e6:.0f} MB (table and indexes); segments "
                f"{segment_bytes / 1e6:.0f} MB in {segments} "
                f"({settings.INFERENCE_COLUMNS_COMPRESSION or 'uncompressed'})"
            )
            end = timezone.now()

            readers = [("(c) segments, window_read", read_segments)]
            readers.append(("(b) SQL-extracted typed values", read_sql))
            if not args.skip_json:
                readers.append(("(a) JSON per row, parsed", read_json))
            print(f"\n  reading the window: {args.rows} rows x 20 features + 2 attributes")
            times: dict[str, list[float]] = {name: [] for name, _ in readers}
            results = {}
            for round_no in range(1, args.rounds + 1):
                for name, reader in readers:
                    if name.startswith("(a)") and round_no > 1:
                        continue  # one round of the slow baseline is enough
                    seconds, result = timed(reader, version, start, end)
                    times[name].append(seconds)
                    results[name] = result
                    print(f"  round {round_no}  {name:<34}{seconds:>8.2f} s", flush=True)
            best = {name: min(values) for name, values in times.items()}
            ours = best[readers[0][0]]
            print("\n  best of the rounds, and against window_read:")
            for name, seconds in best.items():
                print(f"    {name:<34}{seconds:>8.2f} s  {seconds / ours:>7.1f}x")
            same = all(agree(results[readers[0][0]], results[name]) for name, _ in readers[1:])
            print(f"  the readers agree: {'yes' if same else 'NO'}")
            check = segments_verify()
            print(f"  segments against the record: {'intact' if check.intact else 'MISMATCH'}")
            write_path(model, version, args.rounds)
            if not same or not check.intact:
                raise SystemExit(1)


if __name__ == "__main__":
    main()
