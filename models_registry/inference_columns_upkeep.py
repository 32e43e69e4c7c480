"""Keeping the columnar layout of the inference log in step with the record.

- `segments_compact`: merges a version's small segments, in time order, up to
  settings.INFERENCE_COLUMNS_SEGMENT_ROWS, each merge one transaction (the merged segment
  in, its parts out: a reader sees one or the other). Segments being merged are locked with
  SKIP LOCKED, so two compactions never merge the same segment and writes never wait.
- `segments_rebuild`: a version's segments again from its Prediction rows, streamed in
  chunks (bounded memory), in one REPEATABLE READ transaction per version on PostgreSQL:
  the rows read and the segments replaced are the same snapshot, and rows committed
  meanwhile keep the segments their own writes made.
- `segments_verify`: rows per batch in the segments against the record.
- `segments_forget_batches` (retention) and `segments_forget_requests` (consent erasure):
  the segments holding those rows are rewritten without them, in the caller's transaction.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count

from models_registry.inference_columns import (
    segment_decode,
    segment_new,
    segment_table,
    version_kinds,
)
from models_registry.models import ModelVersion, Prediction, PredictionSegment

REBUILD_CHUNK = 10_000


# -- compaction --------------------------------------------------------------------------


def _groups(segments: list[tuple[int, int]], target: int) -> list[list[int]]:
    """Consecutive runs of (id, rows) reaching `target` rows (the last may fall short)."""
    groups, current, total = [], [], 0
    for pk, rows in segments:
        current.append(pk)
        total += rows
        if total >= target:
            groups.append(current)
            current, total = [], 0
    if len(current) > 1:
        groups.append(current)
    return [g for g in groups if len(g) > 1]


def _merge(ids: list[int]) -> int:
    """Merge these segments into one, atomically; how many were merged (0: none locked)."""
    import pyarrow as pa

    with transaction.atomic():
        parts = list(
            PredictionSegment.objects.select_for_update(skip_locked=True)
            .filter(pk__in=ids)
            .order_by("first_at", "id")
        )
        if len(parts) < 2:
            return 0
        tables = [segment_decode(bytes(part.data)) for part in parts]
        table = pa.concat_tables(tables, promote_options="permissive")
        merged = segment_new(
            model_id=parts[0].model_id, version_id=parts[0].version_id, table=table
        )
        merged.save()
        PredictionSegment.objects.filter(pk__in=[part.pk for part in parts]).delete()
    return len(parts)


def segments_compact(*, version_id: int | None = None, target: int | None = None) -> int:
    """Merge small segments (of one version, or all); how many segments were merged away."""
    target = target or settings.INFERENCE_COLUMNS_SEGMENT_ROWS
    small = PredictionSegment.objects.filter(rows__lt=target)
    if version_id is not None:
        small = small.filter(version_id=version_id)
    versions = (
        small.values("version_id").annotate(n=Count("id")).filter(n__gte=2).order_by("version_id")
    )
    merged = 0
    for entry in versions:
        segments = list(
            small.filter(version_id=entry["version_id"])
            .order_by("first_at", "id")
            .values_list("id", "rows")
        )
        for ids in _groups(segments, target):
            done = _merge(ids)
            merged += done - 1 if done else 0
    return merged


# -- rebuild -----------------------------------------------------------------------------


@dataclass
class RebuildOutcome:
    versions: int = 0
    rows: int = 0
    segments: int = 0


def _answered(version: ModelVersion) -> Any:
    return Prediction.objects.filter(
        version=version, error="", prediction__isnull=False, erased_at=None
    )


def _rebuild_version(version: ModelVersion, target: int, outcome: RebuildOutcome) -> None:
    import pyarrow as pa

    kinds = version_kinds(version.pk, fresh=True)
    outermost = not connection.in_atomic_block  # else the caller's transaction decides
    with transaction.atomic():
        if connection.vendor == "postgresql" and outermost:
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        PredictionSegment.objects.filter(version=version).delete()
        rows = (
            _answered(version)
            .order_by("occurred_at", "id")
            .values_list(
                "request_id", "occurred_at", "prediction", "batch", "features", "attributes"
            )
            .iterator(chunk_size=REBUILD_CHUNK)
        )
        pending: list[pa.Table] = []
        pending_rows = 0
        chunk: list[tuple[Any, ...]] = []

        def flush_chunk() -> None:
            nonlocal pending_rows
            if chunk:
                columns = list(zip(*chunk, strict=True))
                pending.append(
                    segment_table(
                        request_ids=columns[0],
                        occurred_at=columns[1],
                        predictions=columns[2],
                        batches=columns[3],
                        features=[f or {} for f in columns[4]],
                        attributes=[a or {} for a in columns[5]],
                        kinds=kinds,
                    )
                )
                pending_rows += len(chunk)
                chunk.clear()

        def flush_segment() -> None:
            nonlocal pending_rows
            if pending:
                table = pa.concat_tables(pending, promote_options="permissive")
                segment_new(model_id=version.model_id, version_id=version.pk, table=table).save()
                outcome.rows += table.num_rows
                outcome.segments += 1
                pending.clear()
                pending_rows = 0

        for row in rows:
            chunk.append(row)
            if len(chunk) >= REBUILD_CHUNK:
                flush_chunk()
                if pending_rows >= target:
                    flush_segment()
        flush_chunk()
        flush_segment()
    outcome.versions += 1


def segments_rebuild(*, model: Any = None, target: int | None = None) -> RebuildOutcome:
    """Every segment of the model's versions (or of all) again from the record."""
    target = target or settings.INFERENCE_COLUMNS_SEGMENT_ROWS
    versions = ModelVersion.objects.order_by("model_id", "version")
    if model is not None:
        versions = versions.filter(model=model)
    outcome = RebuildOutcome()
    for version in versions:
        _rebuild_version(version, target, outcome)
    return outcome


# -- verification ------------------------------------------------------------------------


@dataclass
class SegmentCheck:
    versions: int = 0
    rows: int = 0
    segments: int = 0
    mismatched: list[str] = field(default_factory=list)

    @property
    def intact(self) -> bool:
        return not self.mismatched


def segments_verify(*, model: Any = None) -> SegmentCheck:
    """Rows per batch of every version: the segments against the record (answered, kept)."""
    check = SegmentCheck()
    versions = ModelVersion.objects.select_related("model").order_by("model_id", "version")
    if model is not None:
        versions = versions.filter(model=model)
    for version in versions:
        record = Counter(
            {
                (str(e["batch"]) if e["batch"] else None): e["n"]
                for e in _answered(version).values("batch").annotate(n=Count("id")).order_by()
            }
        )
        stored: Counter[str | None] = Counter()
        for data in PredictionSegment.objects.filter(version=version).values_list(
            "data", flat=True
        ):
            stored.update(segment_decode(bytes(data), ["_batch"])["_batch"].to_pylist())
            check.segments += 1
        check.versions += 1
        check.rows += sum(stored.values())
        for batch in sorted(set(record) | set(stored), key=str):
            if record[batch] != stored[batch]:
                check.mismatched.append(
                    f"{version}: batch {batch}: {record[batch]} row(s) in the record, "
                    f"{stored[batch]} in segments"
                )
    return check


# -- retention and consent erasure -------------------------------------------------------


def _rewrite(segments: Iterable[PredictionSegment], drop: Any) -> int:
    """Rewrite each segment without the rows `drop(table)` marks; rows dropped."""
    import pyarrow.compute as pc

    dropped = 0
    for segment in segments:
        table = segment_decode(bytes(segment.data))
        doomed = drop(table)
        count = pc.sum(doomed).as_py() or 0
        if not count:
            continue
        dropped += count
        kept = table.filter(pc.invert(doomed))
        if kept.num_rows == 0:
            segment.delete()
            continue
        fresh = segment_new(model_id=segment.model_id, version_id=segment.version_id, table=kept)
        PredictionSegment.objects.filter(pk=segment.pk).update(
            first_at=fresh.first_at, last_at=fresh.last_at, rows=fresh.rows, data=fresh.data
        )
    return dropped


def _overlapping(
    *,
    first_at: datetime,
    last_at: datetime,
    model_id: int | None = None,
    version_id: int | None = None,
) -> Any:
    segments = PredictionSegment.objects.select_for_update().filter(
        first_at__lte=last_at, last_at__gte=first_at
    )
    if model_id is not None:
        segments = segments.filter(model_id=model_id)
    if version_id is not None:
        segments = segments.filter(version_id=version_id)
    return segments.order_by("id")


def segments_forget_batches(
    *,
    model_id: int,
    batches: list[Any],
    first_at: datetime | None,
    last_at: datetime | None,
    unbatched_before: datetime | None = None,
) -> int:
    """Retention deleted these batches (rows between first_at and last_at): drop their rows.

    `unbatched_before`: rows written outside any batch before it went too.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    if first_at is None or last_at is None:
        return 0
    gone = pa.array([str(b) for b in batches], type=pa.string())

    def drop(table: pa.Table) -> pa.ChunkedArray:
        doomed = pc.fill_null(pc.is_in(table["_batch"].cast(pa.string()), value_set=gone), False)
        if unbatched_before is not None:
            before = pa.scalar(unbatched_before, pa.timestamp("us", tz="UTC"))
            old = pc.and_(pc.is_null(table["_batch"]), pc.less(table["occurred_at"], before))
            doomed = pc.or_(doomed, old)
        return doomed

    return _rewrite(_overlapping(model_id=model_id, first_at=first_at, last_at=last_at), drop)


def segments_forget_requests(*, rows: list[Prediction]) -> int:
    """Consent erasure erased these rows: the segments holding them are rewritten without."""
    import pyarrow as pa
    import pyarrow.compute as pc

    by_version: dict[int, list[Prediction]] = {}
    for row in rows:
        by_version.setdefault(row.version_id, []).append(row)
    dropped = 0
    for version_id, members in by_version.items():
        gone = pa.array([row.request_id for row in members], type=pa.string())
        times = [row.occurred_at for row in members]
        dropped += _rewrite(
            _overlapping(version_id=version_id, first_at=min(times), last_at=max(times)),
            lambda table, gone=gone: pc.is_in(table["request_id"], value_set=gone),
        )
    return dropped
