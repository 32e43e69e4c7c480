"""PostgreSQL refuses changes to the audit tables, except the sequencer's and retention's.

The suite opens the tables for tests (tests/conftest.py); these tests close them again for
their own transaction, as production runs.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from governance.audit.chain import audit_sequence
from governance.audit.retention_path import retention_path
from governance.models import AuditChainHead, AuditCheckpoint, AuditEvent
from governance.services import audit_record
from models_registry.models import Prediction
from tests.conftest import is_postgres, skip_unless

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]


def sql(statement: str, params: list[Any] | None = None) -> None:
    with connection.cursor() as cursor:
        cursor.execute(statement, params)


@pytest.fixture
def append_only(db: Any) -> None:
    skip_unless(is_postgres(), "the audit triggers are PostgreSQL's")
    sql("SET LOCAL governance.retention = 'off'")  # until this test's transaction ends


def refused(statement: str, params: list[Any] | None = None) -> bool:
    try:
        with transaction.atomic():
            sql("SET CONSTRAINTS ALL IMMEDIATE")  # else TRUNCATE meets pending FK checks
            sql(statement, params)
    except DatabaseError as error:
        assert "the audit trail is append-only" in str(error)
        return True
    return False


@pytest.fixture
def chained(append_only: None) -> AuditEvent:
    audit_record(action="test.a", object_type="thing", object_id=1)
    audit_record(action="test.b", object_type="thing", object_id=2)
    audit_sequence()
    return AuditEvent.objects.get(sequence=1)


def test_events_cannot_be_edited_deleted_or_truncated(chained):
    assert refused("UPDATE governance_auditevent SET data = '{}' WHERE sequence = 1")
    assert refused("UPDATE governance_auditevent SET hash = repeat('f', 64) WHERE sequence = 1")
    assert refused("DELETE FROM governance_auditevent WHERE sequence = 1")
    assert refused("TRUNCATE governance_auditevent CASCADE")
    assert AuditEvent.objects.count() == 2


def test_the_orm_bulk_paths_are_refused_too(chained):
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEvent.objects.filter(pk=chained.pk).update(action="forged")
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEvent.objects.all().delete()


def test_only_the_sequencer_fills_in_a_new_events_place(chained):
    event = audit_record(action="test.c", object_type="thing", object_id=3)
    assert refused(  # a place, but with changed content
        "UPDATE governance_auditevent SET sequence = 3, hash = 'x', action = 'forged' "
        "WHERE id = %s",
        [event.pk],
    )
    assert audit_sequence() == 1
    assert refused("UPDATE governance_auditevent SET sequence = 9 WHERE sequence = 3")


def test_the_head_only_moves_forward_and_checkpoints_are_final(chained, settings):
    from governance.audit.checkpoints import audit_checkpoint_create, signing_key_generate

    settings.AUDIT_SIGNING_KEY = signing_key_generate("tests")
    audit_checkpoint_create()
    assert refused("UPDATE governance_auditchainhead SET last_sequence = 1")
    assert refused("UPDATE governance_auditchainhead SET last_hash = 'x'")
    assert refused("DELETE FROM governance_auditchainhead")
    assert refused("UPDATE governance_auditcheckpoint SET note = 'forged'")
    assert refused("DELETE FROM governance_auditcheckpoint")
    assert AuditChainHead.objects.get().last_sequence == 2
    assert AuditCheckpoint.objects.count() == 1


def test_the_inference_log_cannot_be_changed_but_through_the_retention_path(
    append_only, make_model, make_version
):
    model = make_model()
    version = make_version(model)
    Prediction.objects.create(
        model=model,
        version=version,
        request_id="r1",
        source=Prediction.Source.LOGGED,
        occurred_at=timezone.now(),
        features={"age": 40},
        prediction=0.4,
    )
    assert refused("UPDATE models_registry_prediction SET prediction = 0.9")
    assert refused("DELETE FROM models_registry_prediction")
    assert refused("TRUNCATE models_registry_prediction")
    with retention_path():
        Prediction.objects.filter(request_id="r1").delete()
    assert not Prediction.objects.exists()


def test_the_application_role_cannot_switch_the_triggers_off(chained):
    """A role that does not own the tables (SECURITY.md) may not disable their triggers."""
    sql("CREATE ROLE governance_app_test NOLOGIN")
    sql("GRANT SELECT, INSERT, UPDATE, DELETE ON governance_auditevent TO governance_app_test")
    sql("SET LOCAL ROLE governance_app_test")
    assert refused("DELETE FROM governance_auditevent")
    with pytest.raises(DatabaseError, match="must be owner"), transaction.atomic():
        sql("ALTER TABLE governance_auditevent DISABLE TRIGGER audit_append_only_delete")
    with pytest.raises(DatabaseError, match="permission denied"), transaction.atomic():
        sql("TRUNCATE governance_auditevent")


def test_the_retention_path_closes_again_when_its_block_ends(chained):
    """Inside an enclosing transaction (a savepoint), the switch must not outlive the block."""
    with retention_path():
        assert not refused("UPDATE governance_auditevent SET data = data WHERE sequence = 1")
    assert refused("DELETE FROM governance_auditevent WHERE sequence = 1")
    assert AuditEvent.objects.count() == 2
