"""The write path of the inference log: every answered call is committed before its answer.

Two modes (settings.INFERENCE_LOG_GROUP_COMMIT):
- off: each call writes its row in its own transaction (embedded default, tests).
- on: the calls of one process hand their rows to one writer thread, which commits whatever
  has queued up as one transaction, then releases every waiting call. Each call still gets
  its 200 only after its row is committed; concurrent calls share the commit's cost.

Each transaction also appends one event per model to the governance audit chain with a
digest of that model's rows (a batch), so the inference log is tamper-evident batch by batch
without a chain lock per call: the rows carry the batch's id, and `inference_log_verify`
recomputes every batch's digest. The digest covers salted record hashes, not the data
(inference_records.py), so erasing a subject's data leaves it verifiable.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
import uuid
from typing import Any

from django.conf import settings
from django.db import connection, transaction

from governance.errors import ServiceUnavailable
from governance.services import audit_record, canonical_json, sha256_hex
from models_registry.inference_columns import segments_write
from models_registry.models import Prediction
from models_registry.serving.inference_records import (
    DIGEST_FORMAT,
    batch_digest,
    new_salts,
    row_record_hash,
)
from models_registry.serving.logged_records import LoggedRecord, copy_logged_records
from models_registry.serving.prometheus import predictions_count_on_commit

logger = logging.getLogger(__name__)
COMMIT_TIMEOUT_SECONDS = 30


# What a batch's digest covered, per row, before records were salted (DIGEST_FORMAT 1).
DIGESTED_FIELDS = (
    "request_id",
    "version_id",
    "occurred_at",
    "features",
    "prediction",
    "explanation",
)


def inference_log_digest(values: list[tuple[Any, ...]]) -> str:
    """SHA-256 of a format-1 batch: one tuple of DIGESTED_FIELDS per row, in write order."""
    return sha256_hex(canonical_json([list(row) for row in values]))


def _copy_rows(rows: list[Any]) -> None:
    """PostgreSQL's COPY: one stream for the whole batch, no SQL to build or parse per row."""
    if rows and isinstance(rows[0], LoggedRecord):  # an ingested batch: all of them are
        with connection.cursor() as cursor, connection.wrap_database_errors:
            copy_logged_records(
                cursor.cursor, connection.ops.quote_name(Prediction._meta.db_table), rows
            )
        return
    fields = [f for f in Prediction._meta.concrete_fields if not f.primary_key]
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    table = connection.ops.quote_name(Prediction._meta.db_table)
    statement = f"COPY {table} ({columns}) FROM STDIN"
    with connection.cursor() as cursor, cursor.cursor.copy(statement) as copy:
        for row in rows:
            values = [f.get_db_prep_save(getattr(row, f.attname), connection) for f in fields]
            copy.write_row(values)


@transaction.atomic
def inference_log_write(
    rows: list[Prediction] | list[LoggedRecord], *, use_copy: bool | None = None
) -> None:
    """Store the rows and chain their digest into the audit trail, in one transaction.

    The rows are served calls (Prediction instances) or records logged from a model served
    elsewhere (LoggedRecord, models_registry/serving/ingest.py): both have the attributes
    read here.

    The audit events take no lock (governance.audit.chain), so no lock order needs keeping
    here: the rows' foreign keys are checked at commit, as Django defers them.
    On PostgreSQL the rows go in with COPY (`use_copy=False`: one multi-row INSERT, as on
    other databases); bench/inference_log.py compares the two.
    """
    postgres = connection.vendor == "postgresql"
    batches: dict[int, uuid.UUID] = {}  # one per model, so retention deletes whole batches
    for row, salt in zip(rows, new_salts(len(rows)), strict=True):
        batch = batches.get(row.model_id)
        if batch is None:
            batch = batches[row.model_id] = uuid.uuid4()
        row.batch = batch
        row.salt = salt
    if postgres and use_copy is not False:
        _copy_rows(rows)
    else:
        Prediction.objects.bulk_create(
            [row.as_prediction() if isinstance(row, LoggedRecord) else row for row in rows]
        )
    segments_write(rows)  # the columnar copy checks read (models_registry/inference_columns.py)
    for model_id, batch in batches.items():
        members = [row for row in rows if row.batch == batch]
        times = [row.occurred_at for row in members]
        audit_record(
            action="predictions.recorded",
            object_type="inference_log",
            object_id=batch,
            data={
                "batch": str(batch),
                "model_id": model_id,
                "count": len(members),
                "format": DIGEST_FORMAT,
                "digest": batch_digest([row_record_hash(row) for row in members]),
                "first_at": min(times).isoformat(),
                "last_at": max(times).isoformat(),
                "first_request_id": members[0].request_id,
                "last_request_id": members[-1].request_id,
            },
            sequence_on_commit=False,  # the periodic sequencer takes it: no extra transaction
        )
    predictions_count_on_commit(rows)


Item = tuple[Prediction | None, threading.Event, list[Any]]  # row None: stop


class GroupCommitWriter:
    """One per process: a thread that commits queued rows in batches."""

    def __init__(self, max_batch: int) -> None:
        self.max_batch = max_batch
        self._queue: queue.SimpleQueue[Item] = queue.SimpleQueue()
        self._pid = 0
        self._start_lock = threading.Lock()

    def submit(self, row: Prediction) -> None:
        """Return once `row` is committed; raise ServiceUnavailable if it could not be."""
        self._ensure_thread()
        done, outcome = threading.Event(), [None]
        self._queue.put((row, done, outcome))
        if not done.wait(COMMIT_TIMEOUT_SECONDS):
            raise ServiceUnavailable("The inference log did not commit in time.")
        if outcome[0] is not None:
            raise ServiceUnavailable("The inference log could not be written.") from outcome[0]

    def stop(self) -> None:
        """Commit what is queued, close the thread's connection and end the thread.

        For tests and orderly shutdowns; the next submit starts a new thread.
        """
        with self._start_lock:
            if self._pid != os.getpid():
                return
            done = threading.Event()
            self._queue.put((None, done, [None]))
            done.wait(COMMIT_TIMEOUT_SECONDS)
            self._pid = 0

    def _ensure_thread(self) -> None:
        if self._pid == os.getpid():
            return
        with self._start_lock:  # after a fork, the child starts its own thread
            if self._pid != os.getpid():
                self._queue = queue.SimpleQueue()
                threading.Thread(
                    target=self._run, args=(self._queue,), name="inference-log", daemon=True
                ).start()
                self._pid = os.getpid()

    def _run(self, items: queue.SimpleQueue[Item]) -> None:
        while True:
            batch, stop = [], None
            item = items.get()
            while True:
                if item[0] is None:
                    stop = item
                    break
                batch.append(item)
                if len(batch) >= self.max_batch:
                    break
                try:
                    item = items.get_nowait()
                except queue.Empty:
                    break
            if batch:
                self._commit(batch)
            if stop is not None:
                connection.close()
                stop[1].set()
                return

    def _commit(self, batch: list[Item]) -> None:
        error: BaseException | None = None
        try:
            inference_log_write([row for row, _, _ in batch])  # type: ignore[misc]
        except BaseException as exc:  # every waiting call must hear of it
            logger.exception("inference log batch of %d rows failed", len(batch))
            error = exc
            # The next batch starts on a new connection. Not checked before every batch:
            # Django's health check is one more round trip on the write path.
            connection.close()
        for _, done, outcome in batch:
            outcome[0] = error
            done.set()


_writer = GroupCommitWriter(max_batch=settings.INFERENCE_LOG_MAX_BATCH)


def inference_log_stop() -> None:
    """Stop this process's group-commit writer after it committed what is queued."""
    _writer.stop()


def record_prediction(row: Prediction) -> None:
    """Commit one answered call's row, through the group writer or on its own."""
    if settings.INFERENCE_LOG_GROUP_COMMIT:
        _writer.submit(row)
    else:
        inference_log_write([row])
