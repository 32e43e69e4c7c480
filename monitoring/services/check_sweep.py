"""Check runs that nobody is working on any more: queued again, or failed after too many tries.

A run stays `queued` if its message was lost (this Redis keeps nothing on disk: a restart
drops every queued message) and `running` if the machine running it died (Redis hands the
message to another worker only after the visibility timeout, if it still has it). The
sweep, every few minutes from beat or `manage.py sweep_check_runs`, sends the runs queued
longer than CHECK_RUN_REQUEUE_SECONDS and the runs running longer than
CHECK_RUN_STALE_SECONDS to the checks queue again. `check_execute` is idempotent, so a run
whose first message turns up after all is stored once. A run started CHECK_RUN_MAX_ATTEMPTS
times without finishing fails, saying so, instead of going round for ever.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from governance.services import audit_record
from monitoring.models import CheckRun


@dataclass
class SweepOutcome:
    requeued: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)


def check_runs_sweep(*, now: datetime | None = None) -> SweepOutcome:
    """Queue again, or fail, the runs nobody is working on (see the module)."""
    now = now or timezone.now()
    queued_before = now - timedelta(seconds=settings.CHECK_RUN_REQUEUE_SECONDS)
    running_before = now - timedelta(seconds=settings.CHECK_RUN_STALE_SECONDS)
    outcome = SweepOutcome()
    candidates = list(
        CheckRun.objects.filter(
            Q(status=CheckRun.Status.QUEUED, queued_at__lt=queued_before)
            | Q(status=CheckRun.Status.RUNNING, started_at__lt=running_before)
        ).values_list("pk", flat=True)
    )
    for run_id in sorted(candidates):
        verdict = _sweep_one(run_id, queued_before, running_before)
        if verdict == "requeued":
            outcome.requeued.append(run_id)
        elif verdict == "failed":
            outcome.failed.append(run_id)
    return outcome


@transaction.atomic
def _sweep_one(run_id: int, queued_before: datetime, running_before: datetime) -> str:
    """Look at the run again under its lock: a worker may have moved it meanwhile."""
    run = CheckRun.objects.select_for_update(skip_locked=True).filter(pk=run_id).first()
    if run is None:  # a worker holds it right now: it is being worked on
        return ""
    stale_queued = run.status == CheckRun.Status.QUEUED and run.queued_at < queued_before
    stale_running = (
        run.status == CheckRun.Status.RUNNING
        and run.started_at is not None
        and run.started_at < running_before
    )
    if not (stale_queued or stale_running):
        return ""
    if run.attempts >= settings.CHECK_RUN_MAX_ATTEMPTS:
        run.status = CheckRun.Status.FAILED
        run.error = (
            f"Started {run.attempts} times without finishing (its workers stopped or were "
            "lost); not tried again."
        )
        run.finished_at = timezone.now()
        run.save(update_fields=["status", "error", "finished_at"])
        _audit(run, "check.failed", reason="stalled")
        return "failed"
    was = run.status
    run.status = CheckRun.Status.QUEUED
    run.queued_at = timezone.now()
    run.save(update_fields=["status", "queued_at"])
    _audit(run, "check.requeued", was=was)
    from monitoring.tasks import check_execute as check_execute_task

    transaction.on_commit(lambda: check_execute_task.delay(run.pk), robust=True)
    return "requeued"


def _audit(run: CheckRun, action: str, **data: object) -> None:
    audit_record(
        action=action,
        object_type="check_run",
        object_id=run.pk,
        data={"kind": run.kind, "attempts": run.attempts, **data},
    )
