"""Consent withdrawal: a subject's personal fields are erased from the inference log.

`consent_withdraw` records the request and queues the erasure (a task; the daily run
repeats it for records logged since). The erasure keeps each row (its prediction, version,
time and request id stay for aggregate monitoring) but first stores its salted record hash,
then clears subject id, features, explanation and salt. Its batch still verifies (the batch
digest covers the record hashes), the hash reveals nothing without the salt, and the erasure
is on the chain: a `consent.erased` event per chunk lists the erased rows' record hashes
and a salted hash of the subject id, never the id itself. No history model holds these
fields (predictions are append-only and have no history), so there is no history to erase.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from governance.audit.retention_path import retention_path
from governance.errors import InvalidInput
from governance.models import AuditEvent
from governance.roles import Capability
from governance.services import audit_record, require, sha256_hex
from models_registry.inference_columns_upkeep import segments_forget_requests
from models_registry.models import ConsentWithdrawal, Prediction
from models_registry.serving.inference_records import (
    DIGEST_FORMAT,
    PERSONAL_FIELDS,
    new_salt,
    row_record_hash,
)
from models_registry.signals import inference_log_erased_on_commit

CHUNK = 1000


@transaction.atomic
def consent_withdraw(*, actor: Any, subject_id: str) -> ConsentWithdrawal:
    """Record a withdrawal (compliance officers) and queue the erasure after the commit."""
    from models_registry.tasks import consent_erase  # tasks import this module

    require(actor, Capability.USE_ADMIN, "record consent withdrawals")
    subject_id = (subject_id or "").strip()
    if not subject_id or len(subject_id) > 100:
        raise InvalidInput("subject_id: 1 to 100 characters.", extra={"subject_id": ["Invalid."]})
    withdrawal, created = ConsentWithdrawal.objects.get_or_create(
        subject_id=subject_id, defaults={"salt": new_salt(), "requested_by": actor}
    )
    if created:
        audit_record(
            action="consent.withdrawn",
            object_type="consent_withdrawal",
            object_id=withdrawal.pk,
            data={"subject": subject_hash(withdrawal)},
        )
    transaction.on_commit(lambda: consent_erase.delay(withdrawal.pk), robust=True)
    return withdrawal


def subject_hash(withdrawal: ConsentWithdrawal) -> str:
    return sha256_hex(withdrawal.salt + withdrawal.subject_id)


def _digest_formats(batches: set[Any]) -> dict[str, int]:
    """batch id -> the record-hash format its audit event was written with."""
    events = AuditEvent.objects.filter(
        action="predictions.recorded", object_id__in=[str(batch) for batch in batches]
    ).values_list("object_id", "data")
    return {object_id: data.get("format", 1) for object_id, data in events}


def consent_erase(*, withdrawal_id: int) -> int:
    """Erase the subject's personal fields from every prediction about them; how many."""
    withdrawal = ConsentWithdrawal.objects.get(pk=withdrawal_id)
    total = 0
    model_ids: set[int] = set()
    while True:
        with retention_path():
            rows = list(
                Prediction.objects.select_for_update()
                .filter(subject_id=withdrawal.subject_id)
                .order_by("pk")[:CHUNK]
            )
            if not rows:
                break
            now = timezone.now()
            hashes = []
            formats = _digest_formats({row.batch for row in rows if row.batch})
            for row in rows:
                row.record_hash = row_record_hash(
                    row, digest_format=formats.get(str(row.batch), DIGEST_FORMAT)
                )
                hashes.append(row.record_hash)
                for name, blank in PERSONAL_FIELDS.items():
                    setattr(row, name, blank)
                row.erased_at = now
            Prediction.objects.bulk_update(
                rows, ["record_hash", *PERSONAL_FIELDS, "erased_at"], batch_size=CHUNK
            )
            segments_forget_requests(rows=rows)  # erased rows leave the columnar copy
            audit_record(
                action="consent.erased",
                object_type="consent_withdrawal",
                object_id=withdrawal.pk,
                data={
                    "subject": subject_hash(withdrawal),
                    "records": len(rows),
                    "record_hashes": hashes,
                },
            )
            total += len(rows)
            model_ids |= {row.model_id for row in rows}
    ConsentWithdrawal.objects.filter(pk=withdrawal.pk).update(
        erased_at=timezone.now(), records_erased=withdrawal.records_erased + total
    )
    # Higher layers keep data about these predictions too (flags' comments).
    inference_log_erased_on_commit(model_ids)
    return total


def consent_erase_all() -> int:
    """The daily run: records logged since a withdrawal are erased too."""
    return sum(
        consent_erase(withdrawal_id=pk)
        for pk in ConsentWithdrawal.objects.values_list("pk", flat=True)
    )
