"""The inference log, column by column: what checks read a window of logged inputs from.

Prediction (one JSON object of features per row) stays the system of record. Beside it,
`PredictionSegment` rows hold the answered rows of one version as an Arrow IPC stream
(lz4-compressed from 10,000 rows on, settings.INFERENCE_COLUMNS_COMPRESSION), one typed column each:

    request_id      utf8
    occurred_at     timestamp[us, UTC]
    prediction      float64
    _batch          dictionary<utf8>: the inference-log batch of the row (retention, verify)
    f:<feature>     by the version's feature kind: number float64, integer int64,
                    boolean bool, string dictionary<utf8>
    a:<attribute>   dictionary<utf8>, null where the record had none

Attribute values are stored as text: strings as they are, booleans as "true"/"false" (their
JSON spelling), numbers as Python's str() (3 -> "3", 0.5 -> "0.5"), anything else as
canonical JSON. A value that does not fit its feature's kind (never, for inputs checked by
predict or ingest) is stored as null and read as NaN (number), None (string), or makes the
window's column float64 with NaN (integer) or an object array with None (boolean).

Segments are written from the in-memory rows inside `inference_log_write`, in its
transaction: no JSON is parsed again, and a row is in the layout exactly when it is in the
record. Served calls commit in tiny batches, so `segments_compact`
(inference_columns_upkeep.py) merges a version's small segments, in time order, up to
settings.INFERENCE_COLUMNS_SEGMENT_ROWS. The version's feature kinds come from its
signature or reference data (serving's FeatureSpec), else from the values themselves.
"""

from __future__ import annotations

import contextlib
import json
import logging
import operator
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import numpy as np
from django.conf import settings
from django.db import connection

from governance.errors import Conflict
from models_registry.models import ModelVersion, Prediction, PredictionSegment
from models_registry.serving.features import BOOLEAN, INTEGER, NUMBER, STRING

if TYPE_CHECKING:
    import pyarrow as pa

logger = logging.getLogger(__name__)
FORMAT = 1
FEATURE, ATTRIBUTE = "f:", "a:"
BASE_COLUMNS = ("request_id", "occurred_at", "prediction", "_batch")


@dataclass(frozen=True)
class Window:
    """The answered rows of one version in (start, end], column by column (not sorted)."""

    rows: int
    request_id: np.ndarray | None  # object array of str (None: read with base=False)
    occurred_at: np.ndarray | None  # datetime64[us] (UTC)
    prediction: np.ndarray | None  # float64
    features: dict[str, np.ndarray | DictionaryColumn]  # DictionaryColumn: strings="codes"
    attributes: dict[str, np.ndarray]


# -- feature kinds -----------------------------------------------------------------------

# How long a process trusts its copy of a version's feature kinds: a new reference data set
# can change them (a version without a signature takes them from its reference data).
KINDS_RETRY_SECONDS = 60.0
_kinds: dict[int, tuple[float, dict[str, str] | None]] = {}


def version_kinds(version_id: int, *, fresh: bool = False) -> dict[str, str] | None:
    """Feature name -> kind of the version (serving's FeatureSpec), None if it has none.

    Kept in process memory for KINDS_RETRY_SECONDS: the hot path asks about once a minute
    per version; a reference upload forgets this process's copy at once
    (`version_kinds_forget`).
    """
    found = None if fresh else _kinds.get(version_id)
    if found is not None and time.monotonic() < found[0]:
        return found[1]
    from models_registry.serving.loader import feature_spec

    try:
        version = ModelVersion.objects.get(pk=version_id)
        kinds: dict[str, str] | None = dict(feature_spec(version).columns)
    except (Conflict, ModelVersion.DoesNotExist):
        kinds = None
    _kinds[version_id] = (time.monotonic() + KINDS_RETRY_SECONDS, kinds)
    return kinds


def version_kinds_forget(version_id: int | None = None) -> None:
    """Drop this process's copy of a version's feature kinds (all versions: None)."""
    if version_id is None:
        _kinds.clear()
    else:
        _kinds.pop(version_id, None)


def _inferred_kind(values: Iterable[Any]) -> str:
    kinds = set()
    for value in values:
        if value is None:
            continue
        if isinstance(value, bool):
            kinds.add(BOOLEAN)
        elif isinstance(value, int):
            kinds.add(INTEGER)
        elif isinstance(value, float):
            kinds.add(NUMBER)
        else:
            kinds.add(STRING)
    if len(kinds) == 1:
        return kinds.pop()
    return NUMBER if kinds == {INTEGER, NUMBER} else STRING


# -- encoding ----------------------------------------------------------------------------


def attribute_text(value: Any) -> str | None:
    """How an attribute value is stored (see the module's docstring)."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def _fits(value: Any, kind: str) -> Any:
    """The value as its kind takes it, or None."""
    if kind == STRING:
        return value if isinstance(value, str) else None
    if kind == BOOLEAN:
        return value if isinstance(value, bool) else None
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if kind == INTEGER:
        if isinstance(value, float) and not value.is_integer():
            return None
        value = int(value)
        return value if -(2**63) <= value < 2**63 else None
    return float(value)


ALLOWED_TYPES = {
    NUMBER: {float, int, type(None)},
    INTEGER: {int, type(None)},
    BOOLEAN: {bool, type(None)},
    STRING: {str, type(None)},
}
# Below this many rows a segment is written uncompressed: compressing a handful of values
# costs more than it saves, and compaction compresses the merged segment.
COMPRESS_FROM_ROWS = 10_000


def _arrow_type(kind: str) -> pa.DataType:
    import pyarrow as pa

    if kind == NUMBER:
        return pa.float64()
    if kind == INTEGER:
        return pa.int64()
    if kind == BOOLEAN:
        return pa.bool_()
    return pa.dictionary(pa.int32(), pa.string())


def _fitting(values: list[Any], kind: str) -> list[Any]:
    """The values, with None for each that does not fit the kind (checked by exact type)."""
    if set(map(type, values)) <= ALLOWED_TYPES[kind] and (
        kind != INTEGER or all(-(2**63) <= v < 2**63 for v in values if v is not None)
    ):
        return values
    return [_fits(v, kind) for v in values]


def segment_table(
    *,
    request_ids: Sequence[str],
    occurred_at: Sequence[datetime],
    predictions: Sequence[float],
    batches: Sequence[Any],
    features: Sequence[dict[str, Any]],
    attributes: Sequence[dict[str, Any]],
    kinds: dict[str, str] | None,
) -> pa.Table:
    """The Arrow table of these rows (one list entry per row in every argument).

    Built in one call from the lists and a schema: per column, a Python call into Arrow
    costs more than converting a thousand values.
    """
    import pyarrow as pa

    text = pa.dictionary(pa.int32(), pa.string())
    batch_text = {b: None if b is None else str(b) for b in set(batches)}
    columns: dict[str, Any] = {
        "request_id": list(request_ids),
        "occurred_at": list(occurred_at),
        "prediction": list(predictions),
        "_batch": [batch_text[b] for b in batches],
    }
    fields = [
        ("request_id", pa.string()),
        ("occurred_at", pa.timestamp("us", tz="UTC")),
        ("prediction", pa.float64()),
        ("_batch", text),
    ]
    if kinds is None:
        names = sorted({name for row in features for name in row})
        kinds = {name: _inferred_kind(row.get(name) for row in features) for name in names}
    for (name, kind), values in zip(kinds.items(), _columns(features, list(kinds)), strict=True):
        columns[FEATURE + name] = _fitting(values, kind)
        fields.append((FEATURE + name, _arrow_type(kind)))
    for name in sorted({name for row in attributes for name in row}):
        columns[ATTRIBUTE + name] = [attribute_text(row.get(name)) for row in attributes]
        fields.append((ATTRIBUTE + name, text))
    return pa.Table.from_pydict(columns, schema=_schema(tuple(fields)))


def _columns(rows: Sequence[dict[str, Any]], names: list[str]) -> list[Sequence[Any]]:
    """The values of each name, row by row (None where a row lacks it)."""
    if len(names) < 2:
        return [[row.get(name) for row in rows] for name in names]
    try:  # every row has every name: transposed in C
        return list(zip(*map(operator.itemgetter(*names), rows), strict=True)) or [
            [] for _ in names
        ]
    except KeyError:
        return [[row.get(name) for row in rows] for name in names]


_schemas: dict[tuple[Any, ...], pa.Schema] = {}


def _schema(fields: tuple[tuple[str, Any], ...]) -> pa.Schema:
    """One schema object per layout (a version's columns seldom change)."""
    import pyarrow as pa

    found = _schemas.get(fields)
    if found is None:
        if len(_schemas) > 1000:
            _schemas.clear()
        found = _schemas[fields] = pa.schema(list(fields))
    return found


def segment_bytes(table: pa.Table) -> bytes:
    """An Arrow IPC stream of one record batch (compressed from COMPRESS_FROM_ROWS rows)."""
    import pyarrow as pa

    if table.num_columns and any(c.num_chunks > 1 for c in table.columns):
        table = table.unify_dictionaries().combine_chunks()
    sink = pa.BufferOutputStream()
    codec = settings.INFERENCE_COLUMNS_COMPRESSION if table.num_rows >= COMPRESS_FROM_ROWS else ""
    options = pa.ipc.IpcWriteOptions(compression=codec or None)
    with pa.ipc.new_stream(sink, table.schema, options=options) as writer:
        writer.write_table(table, max_chunksize=max(table.num_rows, 1))
    return sink.getvalue().to_pybytes()


def segment_decode(data: bytes | memoryview, names: Iterable[str] | None = None) -> pa.Table:
    """A segment's table; only the `names` columns (that it has) are decompressed."""
    import pyarrow as pa

    buffer = pa.py_buffer(data)
    if names is None:
        return pa.ipc.open_stream(buffer).read_all()
    schema = pa.ipc.open_stream(buffer).schema
    fields = sorted({schema.get_field_index(n) for n in names if n in schema.names})
    options = pa.ipc.IpcReadOptions(included_fields=fields)
    return pa.ipc.open_stream(buffer, options=options).read_all()


def segment_new(
    *,
    model_id: int,
    version_id: int,
    table: pa.Table,
    span: tuple[datetime, datetime] | None = None,
) -> PredictionSegment:
    """An unsaved segment of the table's rows (`span`: their first and last time, if known)."""
    if span is None:
        import pyarrow.compute as pc

        found = pc.min_max(table["occurred_at"])
        span = (found["min"].as_py(), found["max"].as_py())
    return PredictionSegment(
        model_id=model_id,
        version_id=version_id,
        first_at=span[0],
        last_at=span[1],
        rows=table.num_rows,
        format=FORMAT,
        data=segment_bytes(table),
    )


def answered(row: Prediction) -> bool:
    return not row.error and row.prediction is not None


def segments_write(rows: list[Prediction]) -> None:
    """Store the answered rows of this inference-log write as one segment per version.

    Called inside `inference_log_write`'s transaction, after its rows are in, from the
    same in-memory objects. A row that cannot be encoded (a bug, never bad input: null
    stands for what does not fit) leaves its batch out of the layout, with a log line;
    `inference_columns_verify` finds it and `inference_columns_rebuild` repairs it.
    """
    groups: dict[tuple[int, int], list[Prediction]] = {}
    for row in rows:
        if answered(row):
            groups.setdefault((row.model_id, row.version_id), []).append(row)
    segments = []
    for (model_id, version_id), members in groups.items():
        try:
            table = segment_table(
                request_ids=[r.request_id for r in members],
                occurred_at=[r.occurred_at for r in members],
                predictions=[r.prediction for r in members],
                batches=[r.batch for r in members],
                features=[r.features or {} for r in members],
                attributes=[r.attributes or {} for r in members],
                kinds=version_kinds(version_id),
            )
            times = [r.occurred_at for r in members]
            segments.append(
                segment_new(
                    model_id=model_id,
                    version_id=version_id,
                    table=table,
                    span=(min(times), max(times)),
                )
            )
        except Exception:  # the record is written regardless; the layout is rebuildable
            logger.exception("inference columns: %d row(s) of version %d", len(members), version_id)
    if segments:
        PredictionSegment.objects.bulk_create(segments)


# -- reading -----------------------------------------------------------------------------


# Segments fetched ahead of the one being decoded (each about 16 MB at 100,000 rows x 20).
SEGMENTS_AHEAD = 2


def _segment_data(
    version: ModelVersion, start: datetime, end: datetime
) -> Iterator[tuple[bytes, bool]]:
    """The data of the version's segments that overlap (start, end], in time order, each
    with whether all its rows lie inside (then no row's time needs comparing).

    On PostgreSQL the bytes come in the binary protocol (no hex text to decode), streamed
    row by row by a thread while the caller decodes the ones before: the server's reading
    and sending overlaps the decoding, and only a few segments are held at a time.
    """
    table = connection.ops.quote_name(PredictionSegment._meta.db_table)
    query = (
        f"SELECT data, first_at > %s AND last_at <= %s FROM {table} "
        "WHERE version_id = %s AND first_at <= %s AND last_at > %s ORDER BY first_at, id"
    )
    params = [start, end, version.pk, end, start]
    if connection.vendor == "postgresql":
        connection.ensure_connection()  # Django's cursors bind on the client: text only
        yield from _streamed(connection.connection, query, params)
        return
    with connection.cursor() as cursor:
        cursor.execute(query, params)
        rows = cursor.fetchall()
    for data, whole in rows:
        yield data, bool(whole)


def _streamed(raw: Any, query: str, params: list[Any]) -> Iterator[tuple[bytes, bool]]:
    """The rows of `query` on the psycopg connection, fetched by a thread a few ahead.

    The caller does not touch the connection until this ends; if it stops early, the thread
    reads the rest of the result (dropping it), so the connection is left clean.
    """
    import queue
    import threading

    import psycopg

    found: queue.Queue[Any] = queue.Queue(maxsize=SEGMENTS_AHEAD)
    stop = threading.Event()
    end = object()

    def fetch() -> None:
        try:
            with psycopg.Cursor(raw) as cursor:
                for data, whole in cursor.stream(query, params, binary=True):
                    if not stop.is_set():
                        found.put((data, bool(whole)))
        except BaseException as error:  # handed to the reader, raised there
            found.put(error)
        else:
            found.put(end)

    thread = threading.Thread(target=fetch, name="segments-fetch", daemon=True)
    thread.start()
    try:
        while (item := found.get()) is not end:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        while thread.is_alive():  # unblock a put the thread may be waiting in
            with contextlib.suppress(queue.Empty):
                found.get(timeout=0.1)
        thread.join()


@dataclass(frozen=True)
class DictionaryColumn:
    """A string column as dictionary codes: `codes` (int32) index `values` (distinct str),
    -1 is null. What `window_read(strings="codes")` hands out instead of Python strings;
    `to_objects()` is the object array (None for null) the default read gives."""

    codes: np.ndarray
    values: np.ndarray

    def __len__(self) -> int:
        return int(self.codes.size)

    @property
    def size(self) -> int:
        return int(self.codes.size)

    def to_objects(self) -> np.ndarray:
        lookup = np.concatenate([self.values.astype(object), np.array([None], dtype=object)])
        return lookup[self.codes]


class _ColumnParts:
    """One window column gathered segment by segment, joined once at the end.

    Dictionary chunks: each segment's dictionary is mapped into one for the window (a few
    distinct values, in the order met), so only int32 codes are copied, never strings. A
    column whose segments disagree on its type (kinds inferred per segment) is joined as
    numpy promotes it, its strings as objects.
    """

    def __init__(self) -> None:
        self.parts: list[tuple[bool, np.ndarray]] = []
        self.values: dict[Any, int] = {}
        self.type: Any = None

    def add(self, chunk: Any) -> None:
        import pyarrow as pa

        if self.type is None:
            self.type = chunk.type
        if pa.types.is_dictionary(chunk.type):
            values = self.values
            lookup = [
                -1 if value is None else values.setdefault(value, len(values))
                for value in chunk.dictionary.to_pylist()
            ]
            indices = chunk.indices
            if indices.null_count:
                indices = indices.fill_null(-1)
            codes = indices.to_numpy(zero_copy_only=False)
            self.parts.append((True, np.array([*lookup, -1], dtype=np.int32)[codes]))
        elif pa.types.is_timestamp(chunk.type):
            self.parts.append(
                (False, chunk.to_numpy(zero_copy_only=False).astype("datetime64[us]"))
            )
        else:  # zero-copy where Arrow's buffer is numpy's (no nulls, not bits)
            self.parts.append((False, chunk.to_numpy(zero_copy_only=False)))

    def add_nulls(self, rows: int) -> None:
        import pyarrow as pa

        self.add(pa.nulls(rows, self.type))

    def numpy(self, strings: str) -> np.ndarray | DictionaryColumn:
        parts, self.parts = self.parts, []
        if not parts:
            return np.array([], dtype=object)
        values = np.array(list(self.values), dtype=object)
        if all(coded for coded, _ in parts):
            codes = np.concatenate([p for _, p in parts]) if len(parts) > 1 else parts[0][1]
            column = DictionaryColumn(codes, values)
            return column if strings == "codes" else column.to_objects()
        arrays = [DictionaryColumn(p, values).to_objects() if coded else p for coded, p in parts]
        return np.concatenate(arrays) if len(arrays) > 1 else arrays[0]


def _numpy(column: Any) -> np.ndarray:
    """One column of the window as numpy (see Window for the types)."""
    parts = _ColumnParts()
    for chunk in column.chunks:
        parts.add(chunk)
    return parts.numpy("objects")


def _empty(kind: str, strings: str = "objects") -> np.ndarray | DictionaryColumn:
    if kind == STRING and strings == "codes":
        return DictionaryColumn(np.array([], dtype=np.int32), np.array([], dtype=object))
    dtype = {NUMBER: "float64", INTEGER: "int64", BOOLEAN: "bool"}.get(kind, object)
    return np.array([], dtype=dtype)


def _window_parts(
    segments: Iterable[tuple[bytes, bool]],
    parts: dict[str, _ColumnParts],
    base_names: list[str],
    features: list[str] | None,
    attributes: list[str] | None,
    bounds: tuple[Any, Any],
    base: bool,
) -> int:
    """Decode the segments one by one into `parts`; how many rows lie inside the window."""
    import pyarrow as pa
    import pyarrow.compute as pc

    rows = 0
    for data, whole in segments:
        buffer = pa.py_buffer(data)
        schema = pa.ipc.open_stream(buffer).schema
        wanted = list(base_names)
        if not whole and "occurred_at" not in wanted:
            wanted.append("occurred_at")
        wanted += [
            n
            for n in schema.names
            if n.startswith(FEATURE) and (features is None or n[2:] in features)
        ]
        wanted += [
            n
            for n in schema.names
            if n.startswith(ATTRIBUTE) and (attributes is None or n[2:] in attributes)
        ]
        table = segment_decode(buffer, wanted)
        if not whole:
            times = table["occurred_at"]
            inside = pc.and_(pc.greater(times, bounds[0]), pc.less_equal(times, bounds[1]))
            if not pc.all(inside).as_py():
                table = table.filter(inside)
        if not table.num_rows:
            continue
        # a column some earlier segment lacked: those rows are missing (null) in it
        for name in table.column_names:
            if name not in parts and (base or name != "occurred_at"):
                parts[name] = _ColumnParts()
                if rows:
                    parts[name].type = table.schema.field(name).type
                    parts[name].add_nulls(rows)
        for name, column_parts in parts.items():
            if name in table.column_names:
                for chunk in table[name].chunks:
                    column_parts.add(chunk)
            else:
                column_parts.add_nulls(table.num_rows)
        rows += table.num_rows
        del table
    return rows


def window_read(
    *,
    version: ModelVersion,
    start: datetime,
    end: datetime,
    features: list[str] | None = None,
    attributes: list[str] | None = None,
    base: bool = True,
    strings: str = "objects",
) -> Window:
    """The version's answered, not erased rows with start < occurred_at <= end.

    `features`/`attributes`: which to read (None: all the version has); only those columns
    are decompressed. A name the window has no value for reads as an empty-valued column
    (NaN or None per row). `base=False`: request_id, occurred_at and prediction are not
    read (None in the Window; a drift check needs the features alone). `strings="codes"`:
    string features come as DictionaryColumn (codes and distinct values), not as objects.

    Segments are decoded one at a time into numpy parts, and each column's parts joined
    once: the window's Arrow tables are never held, or concatenated, all at once.
    """
    import pyarrow as pa

    if strings not in ("objects", "codes"):
        raise ValueError(f"strings must be 'objects' or 'codes', not {strings!r}")
    kinds = version_kinds(version.pk) or {}
    bounds = (
        pa.scalar(start, pa.timestamp("us", tz="UTC")),
        pa.scalar(end, pa.timestamp("us", tz="UTC")),
    )
    base_names = ["request_id", "occurred_at", "prediction"] if base else []
    parts: dict[str, _ColumnParts] = {}
    # closed on the way out, error or not: the fetching thread holds the connection till then
    with contextlib.closing(_segment_data(version, start, end)) as segments:
        rows = _window_parts(segments, parts, base_names, features, attributes, bounds, base)
    names = list(parts)
    feature_names = (
        features
        if features is not None
        else list(dict.fromkeys(list(kinds) + [n[2:] for n in names if n.startswith(FEATURE)]))
    )
    attribute_names = (
        attributes if attributes is not None else [n[2:] for n in names if n.startswith(ATTRIBUTE)]
    )

    def column(name: str, kind: str, how: str = "objects") -> np.ndarray | DictionaryColumn:
        if not rows:
            return _empty(kind, how)
        if name in parts:
            return parts.pop(name).numpy(how)
        if kind in (NUMBER, INTEGER):
            return np.full(rows, np.nan)
        if kind == STRING and how == "codes":
            return DictionaryColumn(np.full(rows, -1, dtype=np.int32), np.array([], dtype=object))
        return np.full(rows, None, dtype=object)

    return Window(
        rows=rows,
        request_id=column("request_id", STRING) if base else None,
        occurred_at=(
            (column("occurred_at", "") if rows else np.array([], dtype="datetime64[us]"))
            if base
            else None
        ),
        prediction=column("prediction", NUMBER) if base else None,
        features={n: column(FEATURE + n, kinds.get(n, STRING), strings) for n in feature_names},
        attributes={n: column(ATTRIBUTE + n, STRING) for n in attribute_names},
    )


def forget_version_kinds() -> None:
    """Ask every version for its feature kinds again (tests; a process that must reload)."""
    _kinds.clear()
