"""The one switch that lets audit tables be changed: only retention and erasure use it.

On PostgreSQL the audit tables' triggers refuse UPDATE, DELETE and TRUNCATE unless the
transaction set `governance.retention` to 'on' (migration governance/0006). The setting is
transaction-local, so it ends with the retention service's transaction. It keeps bugs, bulk
ORM calls and people at a SQL prompt from changing the record by accident; it does not stop
a compromised application, which can set it too: that is what the hash chain, the signed
checkpoints and the deletion records are for (see SECURITY.md, Audit trail).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connection, transaction


@contextmanager
def retention_path() -> Iterator[None]:
    """Open the audit tables inside this block only (PostgreSQL), in a transaction.

    Set back as it was at the block's end: inside a savepoint a SET LOCAL would otherwise
    last until the enclosing transaction ends, opening the tables for whatever it does next.
    """
    with transaction.atomic():
        before = _switch("on")
        yield
        _switch(before)


def _switch(state: str) -> str:
    """Set the switch for this transaction; what it was before ('' when unset)."""
    if connection.vendor != "postgresql":
        return ""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT coalesce(current_setting('governance.retention', true), ''),"
            " set_config('governance.retention', %s, true)",
            [state],
        )
        return cursor.fetchone()[0]
