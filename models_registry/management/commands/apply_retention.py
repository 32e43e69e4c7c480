"""Delete inference-log batches past their model's retention period (what beat runs daily)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from governance.audit_context import Origin, acting_as
from models_registry.retention import retention_apply_all


class Command(BaseCommand):
    help = "Apply every model's retention policy to its inference log, on record."

    def handle(self, *args: Any, **options: Any) -> None:
        with acting_as(origin=Origin.COMMAND):
            for outcome in retention_apply_all():
                self.stdout.write(outcome.summary())
