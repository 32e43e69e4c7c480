"""Appending to the audit chain without a lock, and sequencing what was appended.

Writers never touch the chain's head. `audit_record` inserts the event with the hash of its
content, in the caller's transaction: concurrent writers insert side by side, and the
database's group commit serves them all. `audit_sequence` is the single sequencer: in a
short transaction of its own it locks the head row (the only lock in the design, taken by
nobody else), reads the committed events still waiting, in insertion order, and gives each
its sequence number, the previous link's hash and its own. So the chain cannot fork (one
sequencer at a time) and no writer waits for another writer's transaction.

The sequencer runs after the commit of every governance action (unless it is busy, in which
case the busy one or the next run takes the new events), on a beat schedule
(`AUDIT_SEQUENCE_SECONDS`), and before every checkpoint and verification.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from governance.audit.hashing import canonical_json, entry_hash, link_hash
from governance.audit.models import AuditChainHead, AuditEvent
from governance.audit_context import current_audit_context

logger = logging.getLogger(__name__)
SEQUENCE_BATCH = 5000


def audit_record(
    *,
    action: str,
    object_type: str,
    object_id: Any,
    data: dict[str, Any] | None = None,
    actor: Any = None,
    sequence_on_commit: bool = True,
) -> AuditEvent:
    """Append one event to the audit chain, inside the caller's transaction.

    One INSERT, so no transaction of its own is needed: it commits or rolls back with the
    caller's work. The event gets its place in the chain once committed (see module doc);
    `sequence_on_commit=False` leaves that to the next sequencer run, for high-volume
    writers (the inference log) that should not pay for a sequencer transaction each.
    """
    context = current_audit_context()
    actor = actor if actor is not None else context.acting_user()
    event = AuditEvent(
        occurred_at=timezone.now(),
        actor=actor,
        actor_username=getattr(actor, "username", "") or "",
        origin=context.origin,
        action=action,
        object_type=object_type,
        object_id=str(object_id),
        data=json.loads(canonical_json(data or {})),
    )
    event.entry_hash = event_entry_hash(event)
    event.save()
    if sequence_on_commit:
        transaction.on_commit(_sequence_quietly, robust=True)
    return event


def event_entry_hash(event: AuditEvent) -> str:
    return entry_hash(
        occurred_at=event.occurred_at,
        actor=event.actor_username,
        origin=event.origin,
        action=event.action,
        object_type=event.object_type,
        object_id=event.object_id,
        data=event.data,
    )


_last_nudge = [0.0]  # when this process last ran the sequencer after a commit


def _sequence_quietly() -> None:
    """After a commit: sequence now, unless another sequencer is at work or this process
    ran one less than AUDIT_SEQUENCE_NUDGE_SECONDS ago (a burst of appends then shares
    one run; the last of a burst waits at most for the beat's run)."""
    now = time.monotonic()
    if now - _last_nudge[0] < settings.AUDIT_SEQUENCE_NUDGE_SECONDS:
        return
    _last_nudge[0] = now
    audit_sequence(wait=False)


def _locked_head(*, wait: bool) -> AuditChainHead | None:
    heads = AuditChainHead.objects.select_for_update(skip_locked=not wait)
    head = heads.filter(pk=1).first()
    if head is None and not AuditChainHead.objects.filter(pk=1).exists():
        AuditChainHead.objects.get_or_create(pk=1)
        head = heads.filter(pk=1).first()
    return head


def audit_sequence(*, wait: bool = True, batch: int = SEQUENCE_BATCH) -> int:
    """Give every committed, unsequenced event its place in the chain; returns how many.

    `wait=False` returns 0 at once when another sequencer holds the head. Each round is
    its own short transaction of at most `batch` events, so the lock is held briefly even
    with a long backlog.
    """
    total = 0
    while True:
        with transaction.atomic():
            head = _locked_head(wait=wait)
            if head is None:
                return total
            pending = list(
                AuditEvent.objects.filter(sequence__isnull=True)
                .order_by("id")
                .values_list("id", "entry_hash")[:batch]
            )
            if not pending:
                return total
            if connection.vendor == "postgresql" and len(connection.atomic_blocks) == 1:
                # No wait for the disk: a sequencing lost in a crash is redone identically
                # (same events, same order), and whatever records it durably (a checkpoint,
                # a report) commits synchronously, which flushes this commit before its own.
                # Only in a transaction of its own: an enclosing one (a checkpoint) keeps
                # its synchronous commit.
                with connection.cursor() as cursor:
                    cursor.execute("SET LOCAL synchronous_commit = off")
            sequence, previous = head.last_sequence, head.last_hash
            links = []
            for pk, entry in pending:
                sequence += 1
                current = link_hash(previous, sequence, entry)
                links.append((sequence, previous, current, pk))
                previous = current
            table = connection.ops.quote_name(AuditEvent._meta.db_table)
            with connection.cursor() as cursor:
                cursor.executemany(
                    f"UPDATE {table} SET sequence = %s, previous_hash = %s, hash = %s "
                    "WHERE id = %s AND sequence IS NULL",
                    links,
                )
            head.last_sequence, head.last_hash = sequence, previous
            head.save(update_fields=["last_sequence", "last_hash"])
        total += len(pending)
        if len(pending) < batch:
            return total
