"""The one switch that lets audit tables be changed: only retention and erasure use it.

On PostgreSQL the audit tables' triggers refuse UPDATE, DELETE and TRUNCATE unless the
transaction set `governance.retention` to 'on' (migration governance/0003). The setting is
transaction-local, so it ends with the retention service's transaction. It keeps bugs, bulk
ORM calls and people at a SQL prompt from changing the record by accident; it does not stop
a compromised application, which can set it too: that is what the hash chain, the signed
checkpoints and the deletion records are for (see SECURITY.md, Audit trail).
"""

from __future__ import annotations

from django.db import connection


def retention_path() -> None:
    """Open the audit tables for the rest of the current transaction (PostgreSQL)."""
    if not connection.in_atomic_block:
        raise RuntimeError("retention_path() needs the caller's transaction")
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL governance.retention = 'on'")
