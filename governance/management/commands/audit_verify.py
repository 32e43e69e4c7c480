"""Verify the audit chain, store the report, and exit 1 if it is broken."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from governance.audit.models import AuditVerification
from governance.audit.verify import audit_verification_run
from governance.audit_context import Origin, acting_as


class Command(BaseCommand):
    help = "Verify the audit chain from the latest matching signed checkpoint (or --full)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--full", action="store_true", help="From the first entry.")

    def handle(self, *args: Any, **options: Any) -> None:
        with acting_as(origin=Origin.COMMAND):
            report = AuditVerification.objects.create(full=options["full"])
            report = audit_verification_run(verification_id=report.pk)
        if not report.ok:
            self.stderr.write(report.detail)
            raise CommandError(f"The audit chain is broken: first bad entry #{report.first_bad}")
        self.stdout.write(report.detail)
