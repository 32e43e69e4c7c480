"""Checking the inference log against the audit chain: no row changed, lost or slipped in.

Each inference-log transaction wrote each model's rows with one batch id and appended one
`predictions.recorded` event holding the batch's row count and digest (inference_log.py).
The audit chain itself is checked by `governance.audit.verify`; this checks that the rows
still match what the chain says of them, and that every row missing or erased is so on
record: whole batches deleted by retention (`retention.deleted` events say which model and
up to when), personal fields erased on a consent withdrawal (`consent.erased` events list
the erased rows' record hashes).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from governance.audit.chain import audit_sequence
from governance.models import AuditEvent
from models_registry.models import Prediction
from models_registry.serving.inference_log import DIGESTED_FIELDS, inference_log_digest
from models_registry.serving.inference_records import (
    ATTRIBUTES_FIELD,
    RECORD_FIELDS,
    batch_digest,
    record_hash,
    record_values,
)

ROW_FIELDS = (
    "batch",
    "salt",
    "record_hash",
    *dict.fromkeys((*RECORD_FIELDS, ATTRIBUTES_FIELD, *DIGESTED_FIELDS)),
)


@dataclass
class InferenceLogCheck:
    batches: int = 0  # batches whose rows were compared with their audit event
    rows: int = 0  # rows in those batches
    broken: list[str] = field(default_factory=list)  # one line per batch that does not match
    outside: int = 0  # rows no batch accounts for: written by hand, or before batches existed
    deleted_batches: int = 0  # deleted by retention, on record
    deleted_rows: int = 0
    deletions: list[str] = field(default_factory=list)  # one line per retention run
    erased_rows: int = 0  # personal fields erased on a consent withdrawal, on record
    # Batches from before salted hashes (one batch held every model's rows of a commit, its
    # event names no model) of which retention deleted one model's share: on record, but
    # the rows left cannot be checked against a digest that covered them all.
    legacy_partly_deleted: int = 0

    @property
    def intact(self) -> bool:
        return not self.broken and self.outside == 0


def _retention_cutoffs(check: InferenceLogCheck) -> dict[int, datetime]:
    """model id -> the latest `before` of a retention deletion of its inference log."""
    cutoffs: dict[int, datetime] = {}
    deletions = AuditEvent.objects.filter(action="retention.deleted", object_type="inference_log")
    for event in deletions.order_by("id").iterator():
        before = datetime.fromisoformat(event.data["before"])
        model_id = event.data["model_id"]
        cutoffs[model_id] = max(before, cutoffs.get(model_id, before))
        check.deletions.append(
            f"#{event.sequence} {event.occurred_at:%Y-%m-%d %H:%M} model {event.object_id}: "
            f"{event.data['rows']} row(s) in {event.data['batches']} batch(es) older than "
            f"{event.data['before']}"
        )
    return cutoffs


def _erased_on_record() -> set[str]:
    erasures = AuditEvent.objects.filter(action="consent.erased").only("data")
    return {h for event in erasures.iterator() for h in event.data.get("record_hashes", [])}


def _batch_problem(event: AuditEvent, values: list[dict[str, Any]], erased: set[str]) -> str:
    """Why the rows do not match their event, or ""."""
    if event.data["count"] != len(values):
        return f"#{event.sequence}: {len(values)} row(s) where {event.data['count']} were written"
    if event.data.get("format", 1) == 1:  # unsalted: the digest covered the content itself
        legacy = [tuple(row[name] for name in DIGESTED_FIELDS) for row in values]
        ok = event.data["digest"] == inference_log_digest(legacy)
        return "" if ok else f"#{event.sequence}: rows changed since they were written"
    hashes = []
    digest_format = event.data.get("format", 1)
    for row in values:
        if row["salt"]:
            hashes.append(
                record_hash(row["salt"], record_values(row.get, digest_format=digest_format))
            )
        elif row["record_hash"] in erased:
            hashes.append(row["record_hash"])
        else:
            return f"#{event.sequence}: a row was erased off the record"
    if event.data["digest"] != batch_digest(hashes):
        return f"#{event.sequence}: rows changed since they were written"
    return ""


def inference_log_verify() -> InferenceLogCheck:
    """Recompute every batch's count and digest from its rows (streamed, batch by batch)."""
    audit_sequence()  # so each batch's event has its place in the chain to be named by
    check = InferenceLogCheck()
    cutoffs = _retention_cutoffs(check)
    erased = _erased_on_record()
    events = {
        event.data["batch"]: event
        for event in AuditEvent.objects.filter(action="predictions.recorded")
        .only("sequence", "occurred_at", "data")
        .iterator()
        if "batch" in event.data
    }
    rows = (
        Prediction.objects.filter(batch__isnull=False)
        .order_by("batch", "pk")
        .values(*ROW_FIELDS)
        .iterator(chunk_size=2000)
    )
    # A legacy event names no model: any retention run whose cut-off is after it explains it.
    legacy_cutoff = max(cutoffs.values(), default=None)

    def legacy_deleted(event: AuditEvent) -> bool:
        legacy = event.data.get("format", 1) == 1
        return legacy and legacy_cutoff is not None and event.occurred_at < legacy_cutoff

    for batch, members in itertools.groupby(rows, key=lambda row: row["batch"]):
        values = list(members)
        event = events.pop(str(batch), None)
        check.batches += 1
        check.rows += len(values)
        check.erased_rows += sum(1 for row in values if not row["salt"] and row["record_hash"])
        if event is None:
            check.broken.append(f"batch {batch}: {len(values)} row(s) and no audit event")
        elif len(values) < event.data["count"] and legacy_deleted(event):
            check.legacy_partly_deleted += 1
            check.deleted_rows += event.data["count"] - len(values)
        elif problem := _batch_problem(event, values, erased):
            check.broken.append(problem)
    for event in events.values():  # events whose rows are all gone: by retention, or not
        cutoff = cutoffs.get(event.data.get("model_id"))
        last_at = event.data.get("last_at")
        if legacy_deleted(event) or (
            cutoff is not None and last_at and datetime.fromisoformat(last_at) < cutoff
        ):
            check.deleted_batches += 1
            check.deleted_rows += event.data["count"]
            continue
        check.batches += 1
        check.broken.append(f"#{event.sequence}: all {event.data['count']} row(s) missing")
    check.outside = Prediction.objects.filter(batch__isnull=True).count()
    return check
