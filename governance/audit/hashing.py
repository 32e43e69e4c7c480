"""The one serialization and the hashes the audit chain is computed over.

An event's *entry hash* covers what it says (when, who, from where, what, on which object,
its data); it is computed when the event is appended. Its *link hash* covers its place in
the chain (its sequence number) and the previous link, and is computed by the sequencer.
Keeping the two apart lets the writer append without knowing the chain's head.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

GENESIS_HASH = "0" * 64


def canonical_json(data: Any) -> str:
    """The one serialization that hashes are computed over."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def entry_hash(
    *,
    occurred_at: datetime,
    actor: str,
    origin: str,
    action: str,
    object_type: str,
    object_id: str,
    data: Any,
) -> str:
    """SHA-256 of what one event says, independent of where it lands in the chain."""
    return sha256_hex(
        canonical_json(
            {
                "occurred_at": occurred_at.isoformat(),
                "actor": actor,
                "origin": origin,
                "action": action,
                "object_type": object_type,
                "object_id": object_id,
                "data": data,
            }
        )
    )


def link_hash(previous_hash: str, sequence: int, entry: str) -> str:
    """SHA-256 binding entry `entry` to position `sequence` after `previous_hash`."""
    return sha256_hex(f"{previous_hash}:{sequence}:{entry}")
