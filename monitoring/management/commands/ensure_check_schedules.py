"""Give every model in production its default check schedules (existing ones are kept)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from governance.audit_context import Origin, acting_as
from monitoring.services import check_schedules_ensure_all


class Command(BaseCommand):
    help = (
        "Create the default daily drift, quality and fairness schedules (and estimation for "
        "binary classifiers with reference data) of every model with a production version. "
        "Versions promoted later get theirs when they reach production."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        with acting_as(origin=Origin.COMMAND):
            created = check_schedules_ensure_all()
        for task in created:
            self.stdout.write(f"created: {task.name}")
        self.stdout.write(f"{len(created)} schedule(s) created.")
