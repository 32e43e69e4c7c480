"""What the audit chain commits to for each inference record: a salted hash, not the data.

Each row gets a random salt when it is written; its *record hash* is the SHA-256 of the
salt and the row's content. A batch's audit event holds the SHA-256 of its rows' record
hashes in write order. Erasing a row's personal fields (consent withdrawal) stores its
record hash first and then removes the data and the salt: the batch still verifies, the
hash alone says nothing about the data (no salt to try guesses with), and the erasure is
itself on the chain. Retention deletes whole batches and records which.
"""

from __future__ import annotations

import secrets
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
# What a consent withdrawal erases, and what it leaves instead.
PERSONAL_FIELDS = {"subject_id": "", "features": {}, "explanation": None, "salt": ""}
DIGEST_FORMAT = 2  # 1: the batch digest covered the rows' raw content (before salts)


def new_salt() -> str:
    return secrets.token_hex(16)


def record_hash(salt: str, values: tuple[Any, ...]) -> str:
    """SHA-256 of a row's salt and its RECORD_FIELDS values."""
    return sha256_hex(salt + canonical_json(list(values)))


def row_record_hash(row: Any) -> str:
    """The record hash of a row: stored once erased, else computed from its salt."""
    if not row.salt:
        return row.record_hash
    return record_hash(row.salt, tuple(getattr(row, name) for name in RECORD_FIELDS))


def batch_digest(record_hashes: list[str]) -> str:
    return sha256_hex(canonical_json(record_hashes))
