"""The Celery app of the worker-kill test: the project's app plus a slow kind of check.

`celery -A tests.monitoring.check_worker_app worker` loads it. The kind `slow-drift` is the
real drift check, paused on its first attempt: it writes the process id and attempt of each
run to CHECK_TEST_MARKER, sleeps on the first attempt (long enough for the test to kill that
process in the middle of the check) and on the next one computes the drift at once.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "governance.settings")
django.setup()

from governance.celery import app  # noqa: E402
from monitoring.checks.runner import (  # noqa: E402
    CHECK_KINDS,
    CheckKind,
    CheckOutcome,
    check_kind_register,
)

__all__ = ["app"]

SLOW_SECONDS = 120


def slow_check(run: Any, settings: Any) -> CheckOutcome:
    marker = Path(os.environ["CHECK_TEST_MARKER"])
    with marker.open("a") as handle:
        handle.write(f"{os.getpid()} {run.attempts}\n")
    if run.attempts == 1:
        time.sleep(SLOW_SECONDS)
    outcome = CHECK_KINDS["drift"].run(run, settings)
    outcome.results["finished_by"] = os.getpid()
    return outcome


check_kind_register(CheckKind("slow-drift", slow_check, needs_reference=True))
