"""The Celery app of the worker-kill test: the project's app plus a slow kind of check.

`celery -A tests.monitoring.check_worker_app worker` loads it. The kind `slow` writes the
process id and attempt of each run to CHECK_TEST_MARKER, then sleeps on its first attempt
(long enough for the test to kill that process) and finishes at once on the next one.
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
from monitoring.checks.runner import CheckKind, CheckOutcome, check_kind_register  # noqa: E402

__all__ = ["app"]

SLOW_SECONDS = 120


def slow_check(run: Any, settings: Any) -> CheckOutcome:
    marker = Path(os.environ["CHECK_TEST_MARKER"])
    with marker.open("a") as handle:
        handle.write(f"{os.getpid()} {run.attempts}\n")
    if run.attempts == 1:
        time.sleep(SLOW_SECONDS)
    return CheckOutcome(
        results={"finished_by": os.getpid(), "attempt": run.attempts},
        metrics={"rows": 0.0, "attempt": float(run.attempts)},
        current_rows=0,
    )


check_kind_register(CheckKind("slow", slow_check))
