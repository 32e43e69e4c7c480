"""The sweep of check runs nobody works on: a lost message, a machine that died mid-run."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.test import TestCase
from django.utils import timezone

from governance.audit_context import Origin, acting_as
from monitoring.checks.runner import check_kind_register
from monitoring.models import CheckMetric, CheckRun
from monitoring.services.check_sweep import check_runs_sweep
from tests.monitoring.check_helpers import check_kinds, counting_kind, log_window

__all__ = ["check_kinds"]
pytestmark = pytest.mark.django_db


@pytest.fixture
def version(make_model, make_version, check_kinds) -> Any:
    check_kind_register(counting_kind())
    version = make_version(make_model())
    log_window(version, [{"features": {}, "prediction": 0.5} for _ in range(3)])
    return version


def stuck(version: Any, status: str, *, minutes: float, attempts: int) -> CheckRun:
    """A run as a lost message or a dead worker leaves it (nothing was enqueued here)."""
    now = timezone.now()
    run = CheckRun.objects.create(
        model=version.model,
        version=version,
        kind="test",
        window_start=now - timedelta(hours=2),
        window_end=now,
        attempts=attempts,
    )
    past = now - timedelta(minutes=minutes)
    CheckRun.objects.filter(pk=run.pk).update(
        status=status, queued_at=past, started_at=past if status == "running" else None
    )
    return run


def sweep() -> Any:
    with acting_as(origin=Origin.SYSTEM), TestCase.captureOnCommitCallbacks(execute=True):
        return check_runs_sweep()


def test_a_run_whose_message_was_lost_is_queued_again_and_done_once(version, settings):
    run = stuck(version, "queued", minutes=settings.CHECK_RUN_REQUEUE_SECONDS / 60 + 1, attempts=0)
    outcome = sweep()
    assert outcome.requeued == [run.pk] and outcome.failed == []
    run.refresh_from_db()
    assert (run.status, run.attempts, run.current_rows) == ("done", 1, 3)
    assert CheckMetric.objects.filter(run=run, name="rows").count() == 1
    assert sweep().requeued == []  # done: nothing left to sweep


def test_a_run_whose_worker_died_long_ago_runs_again(version, settings):
    run = stuck(version, "running", minutes=settings.CHECK_RUN_STALE_SECONDS / 60 + 1, attempts=1)
    assert sweep().requeued == [run.pk]
    run.refresh_from_db()
    assert (run.status, run.attempts) == ("done", 2)


def test_runs_still_within_their_time_are_left_alone(version, settings):
    queued = stuck(version, "queued", minutes=1, attempts=0)
    running = stuck(
        version, "running", minutes=settings.CHECK_RUN_STALE_SECONDS / 60 - 5, attempts=1
    )
    outcome = sweep()
    assert outcome.requeued == [] and outcome.failed == []
    assert CheckRun.objects.get(pk=queued.pk).status == "queued"
    assert CheckRun.objects.get(pk=running.pk).status == "running"


def test_a_run_started_too_often_fails_saying_so(version, settings):
    run = stuck(
        version,
        "running",
        minutes=settings.CHECK_RUN_STALE_SECONDS / 60 + 1,
        attempts=settings.CHECK_RUN_MAX_ATTEMPTS,
    )
    assert sweep().failed == [run.pk]
    run.refresh_from_db()
    assert run.status == "failed" and run.finished_at is not None
    assert f"Started {settings.CHECK_RUN_MAX_ATTEMPTS} times" in run.error


def test_the_command_sweeps_and_says_what_it_did(version, settings):
    run = stuck(version, "queued", minutes=settings.CHECK_RUN_REQUEUE_SECONDS / 60 + 1, attempts=0)
    out = StringIO()
    with TestCase.captureOnCommitCallbacks(execute=True):
        call_command("sweep_check_runs", stdout=out)
    assert f"requeued 1 run(s) [{run.pk}]" in out.getvalue()
    assert CheckRun.objects.get(pk=run.pk).status == "done"
