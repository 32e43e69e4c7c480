"""Audit-trail tasks: thin wrappers around governance.audit services."""

from __future__ import annotations

from celery import shared_task
from django.db import OperationalError

from governance.audit.chain import audit_sequence as sequence
from governance.audit.checkpoints import audit_checkpoint_create
from governance.audit.verify import audit_verification_run
from governance.audit_context import Origin, acting_as


@shared_task(name="governance.audit_sequence", autoretry_for=(OperationalError,), max_retries=3)
def audit_sequence() -> int:
    """Give appended events their place in the chain (beat: every AUDIT_SEQUENCE_SECONDS)."""
    return sequence()


@shared_task(name="governance.audit_checkpoint", autoretry_for=(OperationalError,), max_retries=3)
def audit_checkpoint() -> int | None:
    """Sign the chain's head; returns the checkpoint's size."""
    checkpoint = audit_checkpoint_create()
    return checkpoint.size if checkpoint else None


@shared_task(name="governance.audit_verify", autoretry_for=(OperationalError,), max_retries=3)
def audit_verify(verification_id: int) -> bool | None:
    """Run a requested verification and store its report."""
    with acting_as(origin=Origin.TASK):
        return audit_verification_run(verification_id=verification_id).ok
