"""Records logged from a model served elsewhere, as light rows for the inference log's COPY.

A batch of 10,000 records would cost more as Django model instances (and Django's per-field
preparation for the database) than the rest of the ingest together. A LoggedRecord has the
attributes of a Prediction that the write path reads (so `inference_log_write` and what it
calls treat both alike), and carries its JSON encoded once: the canonical JSON of its
features and attributes serves both its record hash (`record_text`, inference_records.py)
and the COPY line, which is built here as text without any per-field adaptation.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from models_registry.models import Prediction

# The canonical JSON of governance.audit.hashing.canonical_json, as one reusable encoder.
ENCODE = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode

COLUMNS = (
    "model_id",
    "version_id",
    "request_id",
    "source",
    "slot",
    "actor_id",
    "occurred_at",
    "features",
    "attributes",
    "prediction",
    "explanation",
    "latency_ms",
    "error",
    "batch",
    "subject_id",
    "salt",
    "record_hash",
    "erased_at",
)


def copy_text(value: str) -> str:
    """A value in PostgreSQL's COPY text format (backslash, tab, newline and CR escaped)."""
    if "\\" in value:
        value = value.replace("\\", "\\\\")
    if "\t" in value or "\n" in value or "\r" in value:
        value = value.replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
    return value


class LoggedRecord:
    """One validated record of an ingested batch."""

    __slots__ = (
        "actor_id",
        "attributes",
        "attributes_json",
        "batch",
        "features",
        "features_json",
        "model_id",
        "occurred_at",
        "prediction",
        "record_text",
        "request_id",
        "salt",
        "subject_id",
        "version_id",
    )
    source = Prediction.Source.LOGGED.value
    slot = Prediction.Slot.UNKNOWN.value
    explanation = None
    latency_ms = None
    error = ""
    record_hash = ""
    erased_at = None

    def __init__(
        self,
        *,
        model_id: int,
        version_id: int,
        request_id: str,
        actor_id: int | None,
        occurred_at: datetime,  # UTC
        features: dict[str, Any],
        attributes: dict[str, Any],
        prediction: float,
        subject_id: str,
    ) -> None:
        self.model_id = model_id
        self.version_id = version_id
        self.request_id = request_id
        self.actor_id = actor_id
        self.occurred_at = occurred_at
        self.features = features
        self.attributes = attributes
        self.prediction = prediction
        self.subject_id = subject_id
        self.features_json = ENCODE(features)
        self.attributes_json = ENCODE(attributes) if attributes else "{}"
        # canonical_json of inference_records.record_values(), built from the parts.
        self.record_text = (
            f"[{ENCODE(request_id)},{version_id},{ENCODE(str(occurred_at))},"
            f"{ENCODE(subject_id)},{self.features_json},{prediction!r},null"
            f"{',' + self.attributes_json if attributes else ''}]"
        )
        self.batch: Any = None
        self.salt = ""

    def as_prediction(self) -> Prediction:
        """The same row as a model instance (databases without COPY)."""
        return Prediction(
            **{name: getattr(self, name) for name in COLUMNS if name not in ("batch", "salt")},
            batch=self.batch,
            salt=self.salt,
        )


def copy_logged_records(cursor: Any, table: str, rows: list[LoggedRecord]) -> None:
    """COPY the rows, each line built as text from values encoded once."""
    statement = f"COPY {table} ({', '.join(COLUMNS)}) FROM STDIN"
    lines = []
    for row in rows:
        actor = "\\N" if row.actor_id is None else str(row.actor_id)
        lines.append(
            f"{row.model_id}\t{row.version_id}\t{copy_text(row.request_id)}\t{row.source}\t"
            f"{row.slot}\t{actor}\t{row.occurred_at.isoformat()}\t"
            f"{copy_text(row.features_json)}\t{copy_text(row.attributes_json)}\t"
            f"{row.prediction!r}\t\\N\t\\N\t\t{row.batch}\t{copy_text(row.subject_id)}\t"
            f"{row.salt}\t\t\\N\n"
        )
    with cursor.copy(statement) as copy:
        copy.write("".join(lines))
