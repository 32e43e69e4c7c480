"""Asking for a verification: a report row now, the walk in a task (it may take minutes)."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from governance.audit.models import AuditVerification
from governance.tasks import audit_verify


@transaction.atomic
def audit_verification_request(*, actor: Any = None, full: bool = False) -> AuditVerification:
    """Store a report row and queue the verification that fills it, after the commit."""
    report = AuditVerification.objects.create(full=full, requested_by=actor)
    transaction.on_commit(lambda: audit_verify.delay(report.pk), robust=True)
    return report
