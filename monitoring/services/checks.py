"""Check runs: request one (validated, queued on commit) and execute it (idempotent).

`check_execute` may run more than once for the same run: Celery re-delivers a task whose
worker died (acks late, reject on worker lost), and two workers may hold the same message
after a visibility timeout. It locks the run to start it, computes outside any transaction
(a check over a million rows must not hold a lock or a connection in a transaction), then
locks it again and stores the outcome only if no other attempt stored one first: whatever
happens, a run is stored once, and ends done or failed with a readable error, never lost.
"""

from __future__ import annotations

import logging
import math
import time
from datetime import datetime, timedelta
from typing import Any

import numpy as np
from django.db import transaction
from django.utils import timezone

from governance.errors import ApplicationError, Conflict, InvalidInput
from governance.roles import Capability
from governance.services import audit_record, require
from models_registry.models import RegisteredModel
from models_registry.selectors import version_get
from monitoring.checks.inputs import reference_latest
from monitoring.checks.runner import CHECK_KINDS, CheckOutcome, check_kind_refusal
from monitoring.config import monitoring_settings
from monitoring.models import CheckMetric, CheckRun
from monitoring.signals import check_completed

logger = logging.getLogger(__name__)

# A window longer than this is a mistake (a year of minutes, a start in 1970), not a check.
MAX_WINDOW = timedelta(days=366)
# How far past now a window may end: clocks of callers differ a little.
CLOCK_SKEW = timedelta(minutes=5)
# Triggers without a person behind them: the schedule, a command, an alert rule.
UNATTENDED = {CheckRun.Trigger.SCHEDULE, CheckRun.Trigger.COMMAND, CheckRun.Trigger.RULE}
FINISHED = {CheckRun.Status.DONE, CheckRun.Status.FAILED}


def _invalid(field: str, message: str) -> InvalidInput:
    return InvalidInput(message, extra={field: [message]})


def _window(
    window_start: datetime | None, window_end: datetime | None, hours: int
) -> tuple[datetime, datetime]:
    now = timezone.now()
    for field, value in (("window_start", window_start), ("window_end", window_end)):
        if value is not None and timezone.is_naive(value):
            raise _invalid(field, f"{field} must carry a time zone (e.g. 2026-11-27T10:00:00Z).")
    end = window_end or now
    start = window_start or end - timedelta(hours=hours)
    if start >= end:
        raise _invalid("window_start", "window_start must be before window_end.")
    if end > now + CLOCK_SKEW:
        raise _invalid("window_end", "window_end lies in the future.")
    if end - start > MAX_WINDOW:
        raise _invalid("window_start", f"A window may span at most {MAX_WINDOW.days} days.")
    return start, end


def check_request(
    *,
    actor: Any,
    model: RegisteredModel,
    version: int,
    kind: str,
    window_start: datetime | None = None,
    window_end: datetime | None = None,
    trigger: str = CheckRun.Trigger.API,
) -> CheckRun:
    """Queue a check of `kind` of the version's window (default: the last `window_hours`).

    404 for an unknown version, 400 for a bad window, 409 when the kind cannot run for this
    version (no reference data, a task it does not apply to). Runs when the caller commits.
    """
    if actor is not None or trigger not in UNATTENDED:
        require(actor, Capability.RUN_CHECKS, "run checks")
    check_kind = CHECK_KINDS.get(kind)
    if check_kind is None:
        raise _invalid("kind", f"Unknown kind of check '{kind}'.")
    model_version = version_get(model_name=model.name, version=version)
    settings = monitoring_settings(model=model)
    start, end = _window(window_start, window_end, settings.window_hours)
    reference = reference_latest(version=model_version)
    refusal = check_kind_refusal(check_kind, settings=settings, reference=reference)
    if refusal:
        raise Conflict(refusal)
    return _queue(
        model=model,
        version=model_version,
        kind=kind,
        start=start,
        end=end,
        reference=reference if check_kind.needs_reference else None,
        trigger=trigger,
        actor=actor,
    )


@transaction.atomic
def _queue(
    *, model: Any, version: Any, kind: str, start, end, reference, trigger, actor
) -> CheckRun:
    run = CheckRun.objects.create(
        model=model,
        version=version,
        kind=kind,
        window_start=start,
        window_end=end,
        reference=reference,
        trigger=trigger,
        requested_by=actor,
    )
    audit_record(
        action="check.requested",
        object_type="check_run",
        object_id=run.pk,
        data={
            "model": model.name,
            "version": version.version,
            "kind": kind,
            "window_start": start.isoformat(),
            "window_end": end.isoformat(),
            "trigger": trigger,
        },
        actor=actor,
    )
    # Imported here: monitoring.tasks imports these services.
    from monitoring.tasks import check_execute as check_execute_task

    transaction.on_commit(lambda: check_execute_task.delay(run.pk), robust=True)
    return run


def check_execute(*, run_id: int) -> CheckRun:
    """Run a queued check and store what it found; a finished run is returned as it is."""
    run = _start(run_id)
    if run.status in FINISHED:
        return run
    started = time.monotonic()
    try:
        settings = monitoring_settings(model=run.model)
        outcome = CHECK_KINDS[run.kind].run(run, settings)
        aliases = settings.aliases(run.kind, dict(outcome.metrics))
    except Exception as error:  # any failure ends the run, with a readable error
        logger.exception("check run %s failed", run_id)
        return _fail(run_id, _readable(error), started)
    return _finish(run_id, outcome, aliases, started)


@transaction.atomic
def _start(run_id: int) -> CheckRun:
    run = CheckRun.objects.select_for_update().select_related("model", "version").get(pk=run_id)
    if run.status in FINISHED:
        return run
    run.status = CheckRun.Status.RUNNING
    run.attempts += 1
    run.started_at = timezone.now()
    run.save(update_fields=["status", "attempts", "started_at"])
    return run


def _readable(error: BaseException) -> str:
    if isinstance(error, ApplicationError):
        return str(error.detail)
    if isinstance(error, KeyError):
        return f"Unknown kind of check or missing value: {error}."
    text = str(error).strip()
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def _json_safe(value: Any) -> Any:
    """numpy scalars and arrays as plain JSON; NaN and infinities as null."""
    if isinstance(value, dict):
        return {str(key): _json_safe(item) for key, item in value.items()}
    if isinstance(value, list | tuple | np.ndarray):
        return [_json_safe(item) for item in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _number(value: Any) -> float | None:
    if value is None:
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def _locked_unfinished(run_id: int) -> CheckRun | None:
    run = CheckRun.objects.select_for_update().select_related("model", "version").get(pk=run_id)
    return None if run.status in FINISHED else run


@transaction.atomic
def _finish(
    run_id: int, outcome: CheckOutcome, aliases: dict[str, float | None], started: float
) -> CheckRun:
    run = _locked_unfinished(run_id)
    if run is None:  # another attempt stored it first
        return CheckRun.objects.get(pk=run_id)
    now = timezone.now()
    run.results = _json_safe(outcome.results)
    run.current_rows = outcome.current_rows
    run.reference_rows = outcome.reference_rows
    run.labelled_rows = outcome.labelled_rows
    run.status = CheckRun.Status.DONE
    run.error = ""
    run.finished_at = now
    run.duration_ms = (time.monotonic() - started) * 1000
    run.save()
    metrics = {**outcome.metrics, **aliases}
    CheckMetric.objects.bulk_create(
        CheckMetric(
            run=run,
            model=run.model,
            version=run.version,
            kind=run.kind,
            name=name,
            value=_number(value),
            computed_at=now,
        )
        for name, value in sorted(metrics.items())
    )
    audit_record(
        action="check.completed",
        object_type="check_run",
        object_id=run.pk,
        data={
            "model": run.model.name,
            "version": run.version.version,
            "kind": run.kind,
            "current_rows": run.current_rows,
            "attempts": run.attempts,
            "duration_ms": round(run.duration_ms, 1),
        },
    )
    transaction.on_commit(lambda: check_completed.send(sender=CheckRun, run=run), robust=True)
    return run


@transaction.atomic
def _fail(run_id: int, error: str, started: float) -> CheckRun:
    run = _locked_unfinished(run_id)
    if run is None:
        return CheckRun.objects.get(pk=run_id)
    run.status = CheckRun.Status.FAILED
    run.error = error[:5000]
    run.finished_at = timezone.now()
    run.duration_ms = (time.monotonic() - started) * 1000
    run.save(update_fields=["status", "error", "finished_at", "duration_ms"])
    audit_record(
        action="check.failed",
        object_type="check_run",
        object_id=run.pk,
        data={
            "model": run.model.name,
            "version": run.version.version,
            "kind": run.kind,
            "error": run.error[:500],
            "attempts": run.attempts,
        },
    )
    return run
