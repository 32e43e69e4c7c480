"""Retention of the inference log: whole batches past their model's period are deleted.

Fast at any volume: the oldest rows are found through the (model, occurred_at) index and
their batches deleted through the batch index, chunk by chunk, each chunk its own short
transaction, so neither serving nor ingest
queues behind one long delete. Only whole batches go: a batch with a row inside the period
is kept entire until its last row is past it. Every chunk deleted leaves, in its own
transaction, a `retention.deleted` event on the chain (model, cutoff, counts), which
`inference_log_verify` uses to tell deleted batches from lost ones. A legal hold skips the model.

The same policy records the legal basis of processing (GDPR Art. 6(1)) that the ethics
dashboard shows; `retention_policy_set` is the one way to change any of it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import Max, Min
from django.utils import timezone

from governance.audit.retention_path import retention_path
from governance.errors import InvalidInput
from governance.history import set_change_reason
from governance.roles import Capability
from governance.services import audit_record, require
from models_registry.inference_columns_upkeep import segments_forget_batches
from models_registry.models import Prediction, ReferenceDataset, RegisteredModel, RetentionPolicy
from models_registry.signals import inference_log_erased_on_commit

CHUNK = 20_000


@dataclass(frozen=True)
class RetentionOutcome:
    model: str
    held: bool = False
    rows: int = 0
    batches: int = 0
    before: datetime | None = None
    reference_files: int = 0

    def summary(self) -> str:
        if self.held:
            return f"{self.model}: on legal hold, nothing deleted"
        files = f", {self.reference_files} reference data file(s)" if self.reference_files else ""
        return f"{self.model}: {self.rows} row(s) in {self.batches} batch(es) deleted{files}"


MAX_LEGAL_BASIS_NOTE = RetentionPolicy._meta.get_field("legal_basis_note").max_length


def _policy_checked(
    *, legal_hold: bool, legal_hold_reason: str, legal_basis: Any, legal_basis_note: Any
) -> tuple[str, str]:
    """The basis as one of GDPR Art. 6(1)'s (or blank: not recorded) and its stripped note;
    else a 400 naming each offending field, before anything is stored."""
    errors: dict[str, list[str]] = {}
    if legal_hold and not legal_hold_reason.strip():
        errors["legal_hold_reason"] = ["A legal hold needs a reason."]
    if legal_basis not in ("", *RetentionPolicy.LegalBasis.values):
        errors["legal_basis"] = [
            f"One of {', '.join(RetentionPolicy.LegalBasis.values)}, or blank (not recorded)."
        ]
    note = legal_basis_note.strip() if isinstance(legal_basis_note, str) else ""
    if len(note) > MAX_LEGAL_BASIS_NOTE:
        errors["legal_basis_note"] = [f"At most {MAX_LEGAL_BASIS_NOTE} characters."]
    if errors:
        raise InvalidInput("Invalid retention policy: " + ", ".join(errors) + ".", extra=errors)
    return legal_basis, note


@transaction.atomic
def retention_policy_set(
    *,
    actor: Any,
    model: RegisteredModel,
    inference_log_days: int | None,
    reference_data_days: int | None = None,
    legal_hold: bool = False,
    legal_hold_reason: str = "",
    legal_basis: str = "",
    legal_basis_note: str = "",
) -> RetentionPolicy:
    """Set a model's whole retention policy (compliance officers), on record: its periods,
    legal hold, and the GDPR Art. 6(1) legal basis of processing with a note on what it
    rests on (blank: not recorded). A field left out takes its default, as in the admin's
    form; the API's PATCH sends the stored values of the fields it was not given."""
    require(actor, Capability.USE_ADMIN, "set retention policies")
    legal_basis, legal_basis_note = _policy_checked(
        legal_hold=legal_hold,
        legal_hold_reason=legal_hold_reason,
        legal_basis=legal_basis,
        legal_basis_note=legal_basis_note,
    )
    policy = RetentionPolicy.objects.select_for_update().filter(model=model).first()
    created = policy is None
    policy = policy or RetentionPolicy(model=model)
    policy.inference_log_days = inference_log_days
    policy.reference_data_days = reference_data_days
    policy.legal_hold = legal_hold
    policy.legal_hold_reason = legal_hold_reason if legal_hold else ""
    policy.legal_basis = legal_basis
    policy.legal_basis_note = legal_basis_note
    set_change_reason(policy, "created" if created else "edited")
    policy.full_clean()
    policy.save()
    audit_record(
        action="retention.policy_set",
        object_type="model",
        object_id=model.name,
        data={
            "inference_log_days": inference_log_days,
            "reference_data_days": reference_data_days,
            "legal_hold": legal_hold,
            "legal_hold_reason": policy.legal_hold_reason,
            "legal_basis": legal_basis,
            "legal_basis_note": legal_basis_note,
        },
    )
    return policy


def _straddling_batches(model_id: int, before: datetime) -> list[Any]:
    """Batches with rows on both sides of `before`: kept whole until they are all past it.

    A batch's rows were answered within one commit of each other, so looking one hour past
    the cutoff finds every such batch through the index.
    """
    return list(
        Prediction.objects.filter(
            model_id=model_id, occurred_at__gte=before, occurred_at__lt=before + timedelta(hours=1)
        )
        .exclude(batch=None)
        .values_list("batch", flat=True)
        .distinct()
    )


def retention_apply(*, policy: RetentionPolicy, now: datetime | None = None) -> RetentionOutcome:
    """Delete this model's inference-log batches past the policy's period."""
    name = policy.model.name
    if policy.legal_hold:
        return RetentionOutcome(model=name, held=True)
    files = _reference_data_apply(policy=policy, now=now or timezone.now())
    if not policy.inference_log_days:
        return RetentionOutcome(model=name, reference_files=files)
    before = (now or timezone.now()) - timedelta(days=policy.inference_log_days)
    kept = _straddling_batches(policy.model_id, before)
    old = Prediction.objects.filter(model_id=policy.model_id, occurred_at__lt=before).exclude(
        batch__in=kept
    )
    rows = batches = 0
    while True:
        with transaction.atomic():
            if RetentionPolicy.objects.select_for_update().get(pk=policy.pk).legal_hold:
                break  # a hold set meanwhile stops the run between two chunks
            with retention_path():
                # The oldest rows, through the (model, occurred_at) index; their batches go whole
                # (each is entirely past the period: straddling ones are excluded).
                oldest = set(old.order_by("occurred_at").values_list("batch", flat=True)[:CHUNK])
                ids = [batch for batch in oldest if batch is not None]
                if not oldest:
                    break
                doomed = Prediction.objects.filter(model_id=policy.model_id, batch__in=ids)
                if None in oldest:  # rows written outside any batch
                    doomed = doomed | old.filter(batch=None)
                span = doomed.aggregate(first=Min("occurred_at"), last=Max("occurred_at"))
                deleted, _ = doomed.delete()
                segments_forget_batches(  # the columnar copy checks read
                    model_id=policy.model_id,
                    batches=ids,
                    first_at=span["first"],
                    last_at=span["last"],
                    unbatched_before=before if None in oldest else None,
                )
                # In the same transaction: no deletion without its record, even after a crash.
                audit_record(
                    action="retention.deleted",
                    object_type="inference_log",
                    object_id=name,
                    data={
                        "model_id": policy.model_id,
                        "before": before.isoformat(),
                        "days": policy.inference_log_days,
                        "rows": deleted,
                        "batches": len(ids),
                    },
                )
                rows, batches = rows + deleted, batches + len(ids)
    if rows:
        inference_log_erased_on_commit([policy.model_id])
    return RetentionOutcome(
        model=name, rows=rows, batches=batches, before=before, reference_files=files
    )


def _reference_data_apply(*, policy: RetentionPolicy, now: datetime) -> int:
    """Delete the files of reference data sets past the period; their row and hash stay."""
    if not policy.reference_data_days:
        return 0
    before = now - timedelta(days=policy.reference_data_days)
    expired = ReferenceDataset.objects.filter(
        model_version__model_id=policy.model_id, uploaded_at__lt=before, erased_at=None
    ).select_related("model_version")
    count = 0
    for dataset in expired:
        with transaction.atomic():
            dataset.file.delete(save=False)  # a file already gone is no error
            ReferenceDataset.objects.filter(pk=dataset.pk).update(erased_at=now)
            audit_record(
                action="retention.deleted",
                object_type="reference_data",
                object_id=dataset.pk,
                data={
                    "model_id": policy.model_id,
                    "version": dataset.model_version.version,
                    "sha256": dataset.sha256,
                    "rows": dataset.rows,
                    "uploaded_at": dataset.uploaded_at.isoformat(),
                    "before": before.isoformat(),
                    "days": policy.reference_data_days,
                },
            )
        count += 1
    return count


def retention_apply_all(*, now: datetime | None = None) -> list[RetentionOutcome]:
    """The daily run: every model with a policy."""
    policies = RetentionPolicy.objects.select_related("model").order_by("model__name")
    return [retention_apply(policy=policy, now=now) for policy in policies]
