"""The randomized tamper suite: every kind of tampering is detected and its entry named.

A rogue database owner edits, deletes, inserts, reorders or rewrites entries with raw SQL,
switching the append-only triggers off first (as an owner can). Each trial runs in a
savepoint that is rolled back, so all trials tamper with the same honest chain of 40 entries,
signed at #15 and #30.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection, transaction

from governance.audit.chain import audit_sequence, event_entry_hash
from governance.audit.checkpoints import (
    _parse_private,
    audit_checkpoint_create,
    signing_key_generate,
    verifier_key_text,
)
from governance.audit.hashing import link_hash
from governance.audit.verify import chain_walk
from governance.models import AuditChainHead, AuditEvent
from governance.services import audit_record

TRIALS = 200
SEED = 20261201
SIZE = 40
CHECKPOINTS = (15, 30)


@pytest.fixture
def signed_chain(db: Any, settings: Any) -> str:
    """The chain; returns the signing key of its checkpoints."""
    settings.AUDIT_SIGNING_KEY = signing_key_generate("tests")
    for n in range(1, SIZE + 1):
        audit_record(action="test.entry", object_type="thing", object_id=n, data={"n": n})
        if n in CHECKPOINTS:
            audit_checkpoint_create()
    audit_sequence()
    return settings.AUDIT_SIGNING_KEY


def sql(statement: str, params: list[Any] | None = None) -> None:
    with connection.cursor() as cursor:
        cursor.execute(statement, params or [])


def rogue_owner() -> None:
    """Switch triggers off for this transaction, as the tables' owner (or a superuser) can."""
    if connection.vendor == "postgresql":
        sql("SET LOCAL session_replication_role = replica")


TABLE = AuditEvent._meta.db_table


def row(sequence: int) -> AuditEvent:
    return AuditEvent.objects.get(sequence=sequence)


def forge(event: AuditEvent, data: dict[str, Any]) -> str:
    event.data = data
    return event_entry_hash(event)


def shift(above: int, by: int) -> None:
    """Renumber entries after `above` (via a far offset: sequence numbers are unique)."""
    sql(f"UPDATE {TABLE} SET sequence = sequence + 1000000 WHERE sequence > %s", [above])
    sql(f"UPDATE {TABLE} SET sequence = sequence - 1000000 + %s WHERE sequence > 1000000", [by])


# Each tamper takes the trial's random source and returns the entry the verifier must name.


def edit(rng: random.Random) -> int:
    k = rng.randint(1, SIZE)
    sql(f"UPDATE {TABLE} SET data = %s WHERE sequence = %s", [json.dumps({"forged": k}), k])
    return k


def edit_and_rehash(rng: random.Random) -> int:
    k = rng.randint(1, SIZE)
    event = row(k)
    new_entry = forge(event, {"forged": k})
    sql(
        f"UPDATE {TABLE} SET data = %s, entry_hash = %s WHERE sequence = %s",
        [json.dumps(event.data), new_entry, k],
    )
    return k


def edit_and_relink(rng: random.Random) -> int:
    k = rng.randint(1, SIZE)
    event = row(k)
    new_entry = forge(event, {"forged": k})
    new_link = link_hash(event.previous_hash, k, new_entry)
    sql(
        f"UPDATE {TABLE} SET data = %s, entry_hash = %s, hash = %s WHERE sequence = %s",
        [json.dumps(event.data), new_entry, new_link, k],
    )
    return k


def delete(rng: random.Random) -> int:
    k = rng.randint(1, SIZE)
    sql(f"DELETE FROM {TABLE} WHERE sequence = %s", [k])
    return k


def delete_and_renumber(rng: random.Random) -> int:
    k = rng.randint(1, SIZE - 1)
    sql(f"DELETE FROM {TABLE} WHERE sequence = %s", [k])
    shift(k, -1)
    return k


def insert(rng: random.Random) -> int:
    k = rng.randint(1, SIZE)
    before = row(k - 1).hash if k > 1 else "0" * 64
    template = row(k)
    shift(k - 1, 1)
    forged = AuditEvent(
        sequence=k,
        occurred_at=template.occurred_at,
        origin=template.origin,
        action="test.forged",
        object_type="thing",
        object_id="forged",
        data={"forged": True},
    )
    forged.entry_hash = event_entry_hash(forged)
    forged.previous_hash = before
    forged.hash = link_hash(before, k, forged.entry_hash)
    forged.save()
    return k


def reorder(rng: random.Random) -> int:
    k, j = sorted(rng.sample(range(1, SIZE + 1), 2))
    sql(f"UPDATE {TABLE} SET sequence = 1000000 WHERE sequence = %s", [k])
    sql(f"UPDATE {TABLE} SET sequence = %s WHERE sequence = %s", [k, j])
    sql(f"UPDATE {TABLE} SET sequence = %s WHERE sequence = 1000000", [j])
    return k


def rewrite_after_checkpoint(rng: random.Random) -> int:
    """Edit one signed entry and recompute every hash from it on, the head's too.

    Self-consistent: only the signed checkpoints can tell, so the verifier names the first
    entry after the last checkpoint that still matches (the rewrite began there or later).
    """
    k = rng.randint(1, CHECKPOINTS[-1])
    previous = row(k - 1).hash if k > 1 else "0" * 64
    for sequence in range(k, SIZE + 1):
        event = row(sequence)
        entry = forge(event, {"forged": k}) if sequence == k else event.entry_hash
        link = link_hash(previous, sequence, entry)
        sql(
            f"UPDATE {TABLE} SET data = %s, entry_hash = %s, previous_hash = %s, hash = %s "
            "WHERE sequence = %s",
            [json.dumps(event.data), entry, previous, link, sequence],
        )
        previous = link
    AuditChainHead.objects.filter(pk=1).update(last_hash=previous)
    return max([0, *(c for c in CHECKPOINTS if c < k)]) + 1


def cut_off_before_a_checkpoint(rng: random.Random) -> int:
    """Delete the newest entries down to k and move the head back: a checkpoint is beyond."""
    k = rng.randint(1, CHECKPOINTS[-1] - 1)
    sql(f"DELETE FROM {TABLE} WHERE sequence > %s", [k])
    AuditChainHead.objects.filter(pk=1).update(last_sequence=k, last_hash=row(k).hash)
    return k + 1


TAMPERS: list[Callable[[random.Random], int]] = [
    edit,
    edit_and_rehash,
    edit_and_relink,
    delete,
    delete_and_renumber,
    insert,
    reorder,
    rewrite_after_checkpoint,
    cut_off_before_a_checkpoint,
]


def test_the_honest_chain_verifies_with_both_checkpoints(signed_chain):
    check = chain_walk(full=True)
    assert check.ok and check.checked == SIZE and check.checkpoints == len(CHECKPOINTS)
    latest = chain_walk()
    assert latest.ok and latest.from_sequence == CHECKPOINTS[-1]
    assert latest.checked == SIZE - CHECKPOINTS[-1]


def test_every_randomized_tampering_is_detected_and_its_first_bad_entry_named(signed_chain):
    outcomes: dict[str, list[bool]] = {tamper.__name__: [] for tamper in TAMPERS}
    failures = []
    for trial in range(TRIALS):
        rng = random.Random(SEED + trial)
        tamper = rng.choice(TAMPERS)
        with transaction.atomic():
            rogue_owner()
            expected = tamper(rng)
            check = chain_walk(full=True)
            transaction.set_rollback(True)
        named = not check.ok and check.first_bad == expected
        outcomes[tamper.__name__].append(named)
        if not named:
            failures.append((trial, tamper.__name__, expected, check.first_bad, check.problems))
    print(  # the suite's figures, for the report (pytest -s)
        "\ntamper suite: "
        + ", ".join(f"{name} {sum(v)}/{len(v)}" for name, v in outcomes.items())
        + f"; detected and named {TRIALS - len(failures)}/{TRIALS}"
    )
    assert failures == []
    assert all(outcomes.values()), "every kind of tampering was tried"


def test_verifying_from_the_latest_checkpoint_finds_tampering_after_it(signed_chain):
    sql(f"UPDATE {TABLE} SET data = %s WHERE sequence = 35", ['{"forged": true}'])
    check = chain_walk()
    assert check.from_sequence == CHECKPOINTS[-1] and check.first_bad == 35


def test_a_latest_checkpoint_that_no_longer_matches_sends_the_walk_back_to_the_start(
    signed_chain,
):
    rewrite_after_checkpoint(random.Random(1))  # k = 5 with this seed
    check = chain_walk()
    assert check.from_sequence == 0 and check.first_bad == 1
    assert "rewritten after a checkpoint" in " ".join(check.problems)


def test_a_checkpoint_signed_by_an_untrusted_key_is_reported_and_not_used(signed_chain, settings):
    settings.AUDIT_SIGNING_KEY = signing_key_generate("mallory")
    audit_record(action="test.more", object_type="thing", object_id="x")
    audit_checkpoint_create()
    settings.AUDIT_SIGNING_KEY = signed_chain
    check = chain_walk()
    assert check.from_sequence == CHECKPOINTS[-1]  # mallory's, at #41, is not trusted
    assert not check.ok and len(check.problems) == 1
    assert "no valid trusted signature" in check.problems[0]


def test_checkpoints_of_a_rotated_key_verify_with_its_verifier_key(signed_chain, settings):
    name, private = _parse_private(signed_chain)
    settings.AUDIT_VERIFY_KEYS = [verifier_key_text(name, private.public_key())]
    settings.AUDIT_SIGNING_KEY = signing_key_generate("tests-2027")
    assert chain_walk(full=True).checkpoints == len(CHECKPOINTS)
    settings.AUDIT_VERIFY_KEYS = []
    assert chain_walk(full=True).checkpoints == 0
