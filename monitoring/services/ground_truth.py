"""Ground truth: the true outcomes of predictions, joined to them by (model, request_id)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django.db import transaction

from governance.errors import InvalidInput
from governance.roles import Capability
from governance.services import audit_record, require
from models_registry.models import Prediction, RegisteredModel
from monitoring.models import GroundTruth

# Per query: well below SQLite's and PostgreSQL's limits on bound parameters.
CHUNK = 1000

# An error response or audit event lists at most this many records or request ids.
MAX_LISTED = 100


def _chunks(items: list[str]) -> Iterator[list[str]]:
    for start in range(0, len(items), CHUNK):
        yield items[start : start + CHUNK]


@dataclass(frozen=True)
class GroundTruthReceipt:
    accepted: int
    created: int
    updated: int
    unmatched: int


def _record_errors(index: int, record: Any, seen: dict[str, int]) -> dict[str, list[str]]:
    if not isinstance(record, dict):
        return {"non_field_errors": ["Expected an object with request_id and label."]}
    errors = {key: ["Unknown field."] for key in sorted(set(record) - {"request_id", "label"})}
    request_id = record.get("request_id")
    if request_id is None:
        errors["request_id"] = ["This field is required."]
    elif not isinstance(request_id, str):
        errors["request_id"] = ["A string is required."]
    elif not request_id.strip():
        errors["request_id"] = ["This field may not be blank."]
    elif len(request_id) > 100:
        errors["request_id"] = ["At most 100 characters."]
    elif request_id in seen:
        errors["request_id"] = [f"Duplicate of record {seen[request_id]}."]
    else:
        seen[request_id] = index
    label = record.get("label")
    if label is None:
        errors["label"] = ["This field is required."]
    elif isinstance(label, bool) or not isinstance(label, int | float):
        errors["label"] = ["A number is required."]
    elif not abs(label) <= sys.float_info.max:  # NaN, infinities and ints beyond a float
        errors["label"] = ["Not a finite number."]
    return errors


def _validated_labels(records: list[Any]) -> dict[str, float]:
    """request_id -> label, or InvalidInput naming every bad record by its index."""
    seen: dict[str, int] = {}
    errors: dict[str, dict[str, list[str]]] = {}
    for index, record in enumerate(records):
        problems = _record_errors(index, record, seen)
        if problems:
            errors[str(index)] = problems
    if errors:
        listed = dict(list(errors.items())[:MAX_LISTED])
        first = f" (the first {MAX_LISTED})" if len(errors) > MAX_LISTED else ""
        raise InvalidInput(
            f"{len(errors)} of {len(records)} record(s) are invalid, nothing was stored; "
            f"'records' names them by index{first}.",
            extra={"records": listed},
        )
    return {record["request_id"]: float(record["label"]) for record in records}


@transaction.atomic
def ground_truth_record(
    *, actor: Any, model: RegisteredModel, records: list[Any]
) -> GroundTruthReceipt:
    """Store the true outcomes of predictions, all or nothing.

    A label for a request_id that already has one replaces it (a correction): the last label
    sent wins, with its sender and time. The audit event lists the corrected request ids.
    A request_id need not be in the inference log yet (labels may arrive first); the
    receipt says how many are not.
    """
    require(actor, Capability.LOG_PREDICTIONS, "record ground truth")
    labels = _validated_labels(records)
    request_ids = list(labels)
    updated: list[str] = []
    matched = 0
    for chunk in _chunks(request_ids):
        updated += GroundTruth.objects.filter(model=model, request_id__in=chunk).values_list(
            "request_id", flat=True
        )
        matched += Prediction.objects.filter(model=model, request_id__in=chunk).count()
    GroundTruth.objects.bulk_create(
        [
            GroundTruth(model=model, request_id=request_id, label=label, actor=actor)
            for request_id, label in labels.items()
        ],
        batch_size=CHUNK,
        update_conflicts=True,
        unique_fields=["model", "request_id"],
        update_fields=["label", "received_at", "actor"],
    )
    receipt = GroundTruthReceipt(
        accepted=len(labels),
        created=len(labels) - len(updated),
        updated=len(updated),
        unmatched=len(labels) - matched,
    )
    audit_record(
        action="ground_truth.recorded",
        object_type="model",
        object_id=model.name,
        data={
            "accepted": receipt.accepted,
            "created": receipt.created,
            "updated": receipt.updated,
            "unmatched": receipt.unmatched,
            "updated_request_ids": sorted(updated)[:MAX_LISTED],
        },
        actor=actor,
    )
    return receipt
