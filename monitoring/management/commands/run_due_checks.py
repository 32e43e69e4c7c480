"""Run the check schedules that are due, in this process: the embedded mode's beat."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from governance.audit_context import Origin, acting_as
from monitoring.services import check_schedules_run_due


class Command(BaseCommand):
    help = (
        "Run every enabled check schedule (admin: Periodic tasks) that is due, as beat would, "
        "and record that it ran. Without a broker the checks run here, one after another; "
        "with one they are queued for the workers of the checks queue. Run it from cron "
        "(e.g. every 15 minutes) where there is no beat."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        with acting_as(origin=Origin.COMMAND):
            outcomes = check_schedules_run_due()
        if not outcomes:
            self.stdout.write("No check is due.")
            return
        failed = []
        for name, outcome in outcomes:
            if outcome.run is None:
                self.stdout.write(f"{name}: skipped ({outcome.skipped})")
                continue
            outcome.run.refresh_from_db()
            line = f"{name}: run #{outcome.run.pk} {outcome.run.status}"
            if outcome.run.error:
                line += f" ({outcome.run.error})"
                failed.append(name)
            self.stdout.write(line)
        if failed:
            raise CommandError(f"Failed: {', '.join(failed)}")
