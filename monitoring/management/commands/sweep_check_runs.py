"""Queue again the check runs nobody is working on; fail those tried too often."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from governance.audit_context import Origin, acting_as
from monitoring.services.check_sweep import check_runs_sweep


class Command(BaseCommand):
    help = __doc__

    def handle(self, *args: Any, **options: Any) -> None:
        with acting_as(origin=Origin.COMMAND):
            outcome = check_runs_sweep()
        self.stdout.write(
            f"requeued {len(outcome.requeued)} run(s) {outcome.requeued or ''}; "
            f"failed {len(outcome.failed)} {outcome.failed or ''}".strip()
        )
