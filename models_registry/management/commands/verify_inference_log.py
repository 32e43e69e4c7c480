"""Check every inference-log batch against its audit event; exit 1 if any does not match."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from models_registry.serving.inference_log_verify import inference_log_verify


class Command(BaseCommand):
    help = (
        "Recompute the row count and SHA-256 of every inference-log batch and compare them "
        "with its audit-chain event (run audit-chain verification in the admin as well)."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        check = inference_log_verify()
        for line in check.broken:
            self.stderr.write(line)
        if check.outside:
            self.stderr.write(f"{check.outside} row(s) belong to no recorded batch")
        if check.broken:
            raise CommandError(f"{len(check.broken)} batch(es) do not match the audit chain")
        self.stdout.write(f"{check.rows} row(s) in {check.batches} batch(es) match the audit chain")
        if check.deleted_rows:
            self.stdout.write(
                f"{check.deleted_rows} row(s) deleted by retention on record"
                + (
                    f" ({check.legacy_partly_deleted} batch(es) from before salted hashes kept "
                    "other models' rows, which their digest cannot check)"
                    if check.legacy_partly_deleted
                    else ""
                )
            )
