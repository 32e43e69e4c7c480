"""Flags: people (and the applications they use) say a prediction was wrong, unfair,
unexplainable or otherwise off. The rules live here; API, admin and pages only call them.

- The request_id must be a prediction of that model on record (served here or logged), and
  one that was answered: a failed call gave nobody a prediction to flag.
- One flag per person per prediction. Sending the same flag again (same reason and
  comment) is a safe retry: the stored flag is returned and nothing is written. A different
  reason or comment is a Conflict naming the stored flag: a flag is a record of what was
  said when, not a draft.
- The comment may hold personal data: the audit event holds only its salted SHA-256, and
  `flag_comments_erase` removes it (and the salt) once its prediction's personal fields are
  erased or the prediction is deleted by retention.
- A flag is open until it is closed, once: resolved (acted on) or dismissed (nothing to
  do, and the note says why), by `flag_close`. A closed flag stays closed; a new report on
  the same prediction is someone else's new flag.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from governance.errors import Conflict, InvalidInput, NotFound
from governance.roles import Capability
from governance.services import audit_record, require, sha256_hex
from models_registry.models import Prediction, RegisteredModel
from models_registry.serving.inference_records import new_salt
from monitoring.models import PredictionFlag

MAX_COMMENT = 2000
MAX_NOTE = 2000
MAX_ID = 2**63 - 1  # a larger id in a URL is no flag (a 404), never a database error
CHUNK = 1000
CLOSED = (PredictionFlag.Status.RESOLVED, PredictionFlag.Status.DISMISSED)


@dataclass(frozen=True)
class FlagOutcome:
    flag: PredictionFlag
    created: bool  # False: the same flag was sent again and the stored one is returned


def comment_hash(*, salt: str, comment: str) -> str | None:
    """What the audit trail keeps of a comment: SHA-256 of salt and text (None: no comment)."""
    return sha256_hex(salt + comment) if comment else None


def _checked(reason: Any, comment: Any) -> tuple[str, str]:
    errors: dict[str, list[str]] = {}
    if reason not in PredictionFlag.Reason.values:
        errors["reason"] = [f"One of {', '.join(PredictionFlag.Reason.values)}."]
    comment = comment if isinstance(comment, str) else ""
    comment = comment.strip()
    if len(comment) > MAX_COMMENT:
        errors["comment"] = [f"At most {MAX_COMMENT} characters."]
    if errors:
        raise InvalidInput("Invalid flag: " + ", ".join(errors) + ".", extra=errors)
    return reason, comment


def _prediction(model: RegisteredModel, request_id: str) -> Prediction:
    prediction = (
        Prediction.objects.filter(model=model, request_id=request_id)
        .only("pk", "version_id", "prediction", "erased_at")
        .first()
    )
    if prediction is None:
        message = f"{model.name} has no prediction with request_id {request_id!r} on record."
        raise InvalidInput(message, extra={"request_id": [message]})
    if prediction.prediction is None:
        message = f"Request {request_id!r} failed: no prediction was given, so none to flag."
        raise InvalidInput(message, extra={"request_id": [message]})
    return prediction


def _stored(model: RegisteredModel, request_id: str, actor: Any) -> PredictionFlag | None:
    return PredictionFlag.objects.filter(
        model=model, request_id=request_id, flagged_by=actor
    ).first()


def _same_again(existing: PredictionFlag, reason: str, comment: str) -> FlagOutcome:
    if existing.reason == reason and existing.comment == comment:
        return FlagOutcome(flag=existing, created=False)
    raise Conflict(
        f"You flagged {existing.request_id!r} already (flag #{existing.pk}, "
        f"{existing.reason}): one flag per person per prediction.",
        extra={"flag": existing.pk},
    )


@transaction.atomic
def flag_create(
    *, actor: Any, model: RegisteredModel, request_id: str, reason: str, comment: str = ""
) -> FlagOutcome:
    """Flag one prediction of `model` (every role, `service` included), on record."""
    require(actor, Capability.FLAG_PREDICTIONS, "flag predictions")
    reason, comment = _checked(reason, comment)
    prediction = _prediction(model, request_id)
    if comment and prediction.erased_at is not None:
        message = (
            "The personal data of this prediction was erased (consent withdrawn): "
            "a flag on it may not carry a comment."
        )
        raise InvalidInput(message, extra={"comment": [message]})
    existing = _stored(model, request_id, actor)
    if existing is not None:
        return _same_again(existing, reason, comment)
    flag = PredictionFlag(
        model=model,
        version_id=prediction.version_id,
        request_id=request_id,
        reason=reason,
        comment=comment,
        salt=new_salt() if comment else "",
        flagged_by=actor,
    )
    try:
        with transaction.atomic():
            flag.save()
    except IntegrityError:  # the same person's concurrent flag got there first
        stored = PredictionFlag.objects.get(model=model, request_id=request_id, flagged_by=actor)
        return _same_again(stored, reason, comment)
    audit_record(
        action="flag.created",
        object_type="prediction_flag",
        object_id=flag.pk,
        data={
            "model": model.name,
            "version": flag.version.version,
            "request_id": request_id,
            "reason": reason,
            "comment_sha256": comment_hash(salt=flag.salt, comment=comment),
        },
        actor=actor,
    )
    return FlagOutcome(flag=flag, created=True)


def _close_checked(status: Any, note: Any) -> tuple[str, str]:
    errors: dict[str, list[str]] = {}
    if status not in CLOSED:
        errors["status"] = [f"One of {', '.join(CLOSED)}."]
    note = note.strip() if isinstance(note, str) else ""
    if len(note) > MAX_NOTE:
        errors["note"] = [f"At most {MAX_NOTE} characters."]
    elif status == PredictionFlag.Status.DISMISSED and not note:
        errors["note"] = ["Say why the flag is dismissed: nothing is done about it otherwise."]
    if errors:
        raise InvalidInput("Invalid resolution: " + ", ".join(errors) + ".", extra=errors)
    return status, note


@transaction.atomic
def flag_close(
    *, actor: Any, model: RegisteredModel, flag_id: int, status: str, note: str = ""
) -> PredictionFlag:
    """Close an open flag of `model`: `resolved` (acted on) or `dismissed` (nothing to do;
    the note says why), once, on record.

    Who may: holders of MANAGE_ALERTS (data scientists, board members, compliance
    officers). A flag is the people's counterpart of an alert (the `flags` and `flag_rate`
    window metrics feed alert rules), so whoever triages a model's alerts triages its flags.
    Validators and applications (`ci`, `service`) raise flags but do not close them, as
    they do not acknowledge alerts. MANAGE_INCIDENTS (compliance alone) would leave every
    flag waiting on one role; USE_ADMIN is access to the admin, not a triage right.
    """
    require(actor, Capability.MANAGE_ALERTS, "resolve or dismiss flags")
    status, note = _close_checked(status, note)
    flag = (
        PredictionFlag.objects.select_for_update(of=("self",))
        .select_related("version")
        .filter(model=model, pk=flag_id)
        .first()
        if 0 < flag_id <= MAX_ID
        else None
    )
    if flag is None:
        raise NotFound(f"{model.name} has no flag #{flag_id}.")
    if flag.status != PredictionFlag.Status.OPEN:
        raise Conflict(
            f"Flag #{flag.pk} was {flag.status} by {flag.resolved_by} at "
            f"{flag.resolved_at.isoformat()}: a closed flag stays closed.",
            extra={"status": flag.status},
        )
    flag.status, flag.resolved_by, flag.resolved_at = status, actor, timezone.now()
    flag.resolution_note = note
    flag.save(update_fields=["status", "resolved_by", "resolved_at", "resolution_note"])
    audit_record(
        action=f"flag.{status}",
        object_type="prediction_flag",
        object_id=flag.pk,
        data={
            "model": model.name,
            "version": flag.version.version,
            "request_id": flag.request_id,
            "reason": flag.reason,
            "status": status,
            "note": note,
        },
        actor=actor,
    )
    return flag


def _gone(rows: list[PredictionFlag]) -> list[PredictionFlag]:
    """The flags among `rows` whose prediction was erased or deleted."""
    kept = set(
        Prediction.objects.filter(
            model_id__in={row.model_id for row in rows},
            request_id__in={row.request_id for row in rows},
            erased_at__isnull=True,
        ).values_list("model_id", "request_id")
    )
    return [row for row in rows if (row.model_id, row.request_id) not in kept]


def flag_comments_erase(*, model_ids: Iterable[int] | None = None) -> int:
    """Erase comment and salt of every flag (of `model_ids`, default all) whose prediction's
    personal fields were erased or whose prediction retention deleted; how many.

    Each chunk is one transaction with a `flag.comments_erased` event listing the flags and
    the salted hashes of what was erased, so the record shows it happened and what it
    covered, and the text is gone. Idempotent: the receiver of `inference_log_erased` and
    the daily run may both call it.
    """
    with_comments = PredictionFlag.objects.exclude(comment="")
    if model_ids is not None:
        with_comments = with_comments.filter(model_id__in=list(model_ids))
    ids = list(with_comments.order_by("pk").values_list("pk", flat=True))
    total = 0
    for start in range(0, len(ids), CHUNK):
        with transaction.atomic():
            rows = list(
                PredictionFlag.objects.select_for_update()
                .filter(pk__in=ids[start : start + CHUNK])
                .exclude(comment="")
                .order_by("pk")
            )
            doomed = _gone(rows) if rows else []
            if not doomed:
                continue
            now = timezone.now()
            hashes = [comment_hash(salt=row.salt, comment=row.comment) for row in doomed]
            for row in doomed:
                row.comment, row.salt, row.comment_erased_at = "", "", now
            PredictionFlag.objects.bulk_update(doomed, ["comment", "salt", "comment_erased_at"])
            audit_record(
                action="flag.comments_erased",
                object_type="prediction_flag",
                object_id=f"{len(doomed)} flag(s)",
                data={"flags": [row.pk for row in doomed], "comment_sha256": hashes},
            )
            total += len(doomed)
    return total
