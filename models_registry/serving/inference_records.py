"""What the audit chain commits to for each inference record: a salted hash, not the data.

Each row gets a random salt when it is written; its *record hash* is the SHA-256 of the
salt and the row's content. A batch's audit event holds the SHA-256 of its rows' record
hashes in write order. Erasing a row's personal fields (consent withdrawal) stores its
record hash first and then removes the data and the salt: the batch still verifies, the
hash alone says nothing about the data (no salt to try guesses with), and the erasure is
itself on the chain. Retention deletes whole batches and records which.

Format 3 (protected or segment attributes, issue 9): a record hash also covers the row's
`attributes` when it has any. A row without attributes hashes exactly as in format 2, and
format-2 rows were all written without any, so one rule checks both formats and a record
hash never depends on its batch's format (consent erasure need not look it up); attributes
slipped into a format-2 row later change its hash, so they show.
"""

from __future__ import annotations

import secrets
from decimal import Decimal
from typing import Any

from governance.services import canonical_json, sha256_hex

# What a record hash covers, in this order.
RECORD_FIELDS = (
    "request_id",
    "version_id",
    "occurred_at",
    "subject_id",
    "features",
    "prediction",
    "explanation",
)
# Format 3: appended to RECORD_FIELDS when the row has attributes.
ATTRIBUTES_FIELD = "attributes"
# What a consent withdrawal erases, and what it leaves instead.
PERSONAL_FIELDS = {
    "subject_id": "",
    "features": {},
    "attributes": {},
    "explanation": None,
    "salt": "",
}
# 1: the batch digest covered the rows' raw content (before salts); 2: salted record hashes;
# 3: record hashes cover attributes too; 4: JSON numbers as the database gives them back
# (`as_stored`), and a prediction of -0.0 as 0.0, so that what the database returns verifies.
DIGEST_FORMAT = 4
# The JSON fields whose numbers go through jsonb.
JSON_FIELDS = ("features", "explanation", "attributes")


def as_stored(value: Any) -> Any:
    """A JSON value as PostgreSQL's jsonb gives it back: its numbers are decimals, so a
    negative zero comes back as 0.0 and a float written with an exponent above 1e16
    (3.4e+38) as the whole number it stands for. Idempotent; SQLite keeps what it was given,
    which this maps to the same."""
    if type(value) is float:
        if value == 0:
            return 0.0
        text = repr(value)
        if "e+" in text:
            return int(Decimal(text))
        return value
    if isinstance(value, dict):
        return {key: as_stored(item) for key, item in value.items()}
    if isinstance(value, list):
        return [as_stored(item) for item in value]
    return value


def new_salt() -> str:
    return secrets.token_hex(16)


def new_salts(count: int) -> list[str]:
    """`count` salts like new_salt's, from one read of the system's random source."""
    text = secrets.token_hex(16 * count)
    return [text[start : start + 32] for start in range(0, 32 * count, 32)]


def record_hash(salt: str, values: tuple[Any, ...]) -> str:
    """SHA-256 of a row's salt and its RECORD_FIELDS values."""
    return sha256_hex(salt + canonical_json(list(values)))


def record_values(get: Any, *, digest_format: int = DIGEST_FORMAT) -> tuple[Any, ...]:
    """What a record hash covers (formats 2 to 4), read with `get(name)` from a row."""
    if digest_format >= 4:
        read = get

        def get(name: str) -> Any:
            value = read(name)
            if name in JSON_FIELDS:
                return as_stored(value)
            if name == "prediction" and value == 0:
                return 0.0  # SQLite stores a negative zero as 0.0
            return value

    values = tuple(get(name) for name in RECORD_FIELDS)
    attributes = get(ATTRIBUTES_FIELD)
    return (*values, attributes) if attributes else values


def row_record_hash(row: Any, *, digest_format: int = DIGEST_FORMAT) -> str:
    """The record hash of a row: stored once erased, else computed from its salt.

    A row that carries its record's canonical JSON already (`record_text`, ingested rows:
    models_registry/serving/logged_records.py) is not encoded a second time.
    """
    if not row.salt:
        return row.record_hash
    text = getattr(row, "record_text", None)
    if text is not None and digest_format == DIGEST_FORMAT:
        return sha256_hex(row.salt + text)
    return record_hash(
        row.salt, record_values(lambda name: getattr(row, name), digest_format=digest_format)
    )


def batch_digest(record_hashes: list[str]) -> str:
    return sha256_hex(canonical_json(record_hashes))
