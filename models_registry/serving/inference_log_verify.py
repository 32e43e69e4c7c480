"""Checking the inference log against the audit chain: no row changed, lost or slipped in.

Each inference-log transaction wrote its rows with one batch id and appended one
`predictions.recorded` event holding the batch's row count and SHA-256 (inference_log.py).
The audit chain itself is checked by `governance.audit.verify`; this checks
that the rows still match what the chain says of them.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

from governance.audit.chain import audit_sequence
from governance.models import AuditEvent
from models_registry.models import Prediction
from models_registry.serving.inference_log import DIGESTED_FIELDS, inference_log_digest


@dataclass
class InferenceLogCheck:
    batches: int = 0  # batches whose rows were compared with their audit event
    rows: int = 0  # rows in those batches
    broken: list[str] = field(default_factory=list)  # one line per batch that does not match
    outside: int = 0  # rows no batch accounts for: written by hand, or before batches existed

    @property
    def intact(self) -> bool:
        return not self.broken and self.outside == 0


def inference_log_verify() -> InferenceLogCheck:
    """Recompute every batch's count and digest from its rows (streamed, batch by batch)."""
    audit_sequence()  # so each batch's event has its place in the chain to be named by
    check = InferenceLogCheck()
    events = {
        event.data["batch"]: event
        for event in AuditEvent.objects.filter(action="predictions.recorded").only(
            "sequence", "data"
        )
        if "batch" in event.data
    }
    rows = (
        Prediction.objects.filter(batch__isnull=False)
        .order_by("batch", "pk")
        .values_list("batch", *DIGESTED_FIELDS)
        .iterator(chunk_size=2000)
    )
    for batch, members in itertools.groupby(rows, key=lambda row: row[0]):
        values = [row[1:] for row in members]
        event = events.pop(str(batch), None)
        check.batches += 1
        check.rows += len(values)
        if event is None:
            check.broken.append(f"batch {batch}: {len(values)} row(s) and no audit event")
        elif event.data["count"] != len(values):
            check.broken.append(
                f"#{event.sequence}: {len(values)} row(s) where {event.data['count']} were written"
            )
        elif event.data["digest"] != inference_log_digest(values):
            check.broken.append(f"#{event.sequence}: rows changed since they were written")
    for event in events.values():  # events whose rows are all gone
        check.batches += 1
        check.broken.append(f"#{event.sequence}: all {event.data['count']} row(s) missing")
    check.outside = Prediction.objects.filter(batch__isnull=True).count()
    return check
