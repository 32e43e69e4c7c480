"""Concurrent writers append without waiting for each other or the sequencer; one chain."""

from __future__ import annotations

import threading
import time

import pytest
from django.db import connection, connections, transaction

from governance.audit.chain import audit_sequence
from governance.models import AuditChainHead, AuditEvent
from governance.services import audit_chain_verify, audit_record
from tests.conftest import is_postgres, skip_unless

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]


def append_in_thread(count: int, label: str, done: list[float]) -> threading.Thread:
    def work() -> None:
        try:
            started = time.monotonic()
            for i in range(count):
                with transaction.atomic():
                    audit_record(action=f"test.{label}", object_type="thing", object_id=i)
            done.append(time.monotonic() - started)
        finally:
            connections.close_all()

    return threading.Thread(target=work)


def test_writers_commit_while_the_chain_head_is_locked():
    """Under the old design every append locked the head row: these writers would wait."""
    skip_unless(is_postgres(), "row locks need PostgreSQL")
    AuditChainHead.objects.get_or_create(pk=1)
    done: list[float] = []
    with transaction.atomic():
        AuditChainHead.objects.select_for_update().get(pk=1)  # a sequencer mid-run
        threads = [append_in_thread(20, f"w{n}", done) for n in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=20)
        assert len(done) == 4, "a writer waited for the chain head"
    connection.close()
    assert AuditEvent.objects.filter(sequence__isnull=True).count() == 80
    assert audit_sequence() == 80
    assert audit_chain_verify() == []


def test_concurrent_writers_and_sequencers_form_one_chain():
    skip_unless(is_postgres(), "concurrent transactions need PostgreSQL")
    done: list[float] = []
    writers = [append_in_thread(25, f"w{n}", done) for n in range(4)]

    def sequencer() -> None:
        try:
            for _ in range(30):
                audit_sequence(wait=False)
                time.sleep(0.005)
        finally:
            connections.close_all()

    sequencers = [threading.Thread(target=sequencer) for _ in range(2)]
    for thread in writers + sequencers:
        thread.start()
    for thread in writers + sequencers:
        thread.join(timeout=30)
    audit_sequence()
    sequences = list(AuditEvent.objects.order_by("sequence").values_list("sequence", flat=True))
    assert sequences == list(range(1, 101))
    assert audit_chain_verify() == []
