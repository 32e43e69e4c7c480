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
from functools import lru_cache
from typing import Any

import orjson

from models_registry.models import Prediction
from models_registry.serving.inference_records import as_stored

# The canonical JSON of governance.audit.hashing.canonical_json, as one reusable encoder.
ENCODE = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode


@lru_cache(maxsize=1024)
def _names_encode_alike(names: frozenset[str]) -> bool:
    """Whether orjson writes (and sorts) these names as ENCODE does."""
    sample = dict.fromkeys(names, 1.5)
    return orjson.dumps(sample, option=orjson.OPT_SORT_KEYS).decode() == ENCODE(sample)


def text_json(text: str) -> str:
    """ENCODE(text), without the encoder's call for text with nothing to escape."""
    if text.isprintable() and '"' not in text and "\\" not in text:
        return f'"{text}"'  # ENCODE escapes only quotes, backslashes and control characters
    return ENCODE(text)


def time_json(moment: datetime) -> str:
    """ENCODE(str(moment)): a batch's records mostly share a few times. (Equal times in
    other zones are equal keys, but their text differs: the zone is part of the key.)"""
    return _time_json(moment, moment.tzinfo)


@lru_cache(maxsize=64)
def _time_json(moment: datetime, zone: Any) -> str:
    return ENCODE(str(moment))


def float_features_json(features: dict[str, float]) -> str:
    """ENCODE(as_stored(features)) for features whose values are all finite floats, ten
    times faster.

    Python writes a float as its shortest round-trip digits (repr), and so does orjson,
    except that orjson spells a magnitude below 1e-4 without an exponent (0.00001, not
    1e-05) or with a short one (1.5e-7, not 1.5e-07). And as_stored changes a negative zero
    and a magnitude of 1e16 or more. Records holding any of these are encoded the standard
    way. tests/governance/test_fast_json.py holds orjson to this over a million values:
    the record hash of every ingested row depends on it.
    """
    magnitudes = list(map(abs, features.values()))
    smallest = min(magnitudes, default=1.0)
    if (
        max(magnitudes, default=0.0) >= 1e16
        or 0 < smallest < 1e-4
        or (smallest == 0 and any(0 < m < 1e-4 for m in magnitudes))
        or not _names_encode_alike(frozenset(features))
    ):
        return ENCODE(as_stored(features))
    text = orjson.dumps(features, option=orjson.OPT_SORT_KEYS)
    if smallest == 0 and (b"-0.0," in text or b"-0.0}" in text):
        return ENCODE(as_stored(features))
    return text.decode()


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
        floats_only: bool = False,  # every feature value a finite float (checked already)
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
        # The text the record hash covers (and COPY stores): numbers as jsonb gives them back.
        self.features_json = (
            float_features_json(features) if floats_only else ENCODE(as_stored(features))
        )
        self.attributes_json = ENCODE(as_stored(attributes)) if attributes else "{}"
        # canonical_json of inference_records.record_values(), built from the parts (format 4:
        # a prediction of -0.0 as 0.0).
        self.record_text = (
            f"[{text_json(request_id)},{version_id},{time_json(occurred_at)},"
            f"{text_json(subject_id)},{self.features_json},{prediction or 0.0!r},null"
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
    """COPY the rows, each line built as text from values encoded once.

    A batch's rows share a few times and one batch id: each is formatted once.
    """
    statement = f"COPY {table} ({', '.join(COLUMNS)}) FROM STDIN"
    times: dict[datetime, str] = {}
    batches: dict[Any, str] = {}
    lines = []
    for row in rows:
        actor = "\\N" if row.actor_id is None else str(row.actor_id)
        moment = times.get(row.occurred_at)
        if moment is None:
            moment = times[row.occurred_at] = row.occurred_at.isoformat()
        batch = batches.get(row.batch)
        if batch is None:
            batch = batches[row.batch] = str(row.batch)
        lines.append(
            f"{row.model_id}\t{row.version_id}\t{copy_text(row.request_id)}\t{row.source}\t"
            f"{row.slot}\t{actor}\t{moment}\t"
            f"{copy_text(row.features_json)}\t{copy_text(row.attributes_json)}\t"
            f"{row.prediction!r}\t\\N\t\\N\t\t{batch}\t{copy_text(row.subject_id)}\t"
            f"{row.salt}\t\t\\N\n"
        )
    with cursor.copy(statement) as copy:
        copy.write("".join(lines))
