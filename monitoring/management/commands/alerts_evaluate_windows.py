"""Evaluate the window alert rules now (what the beat task does every few minutes)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from governance.audit_context import Origin, acting_as
from monitoring.services.alerts import alerts_evaluate_windows


class Command(BaseCommand):
    help = (
        "End expired alert silences, then evaluate the window alert rules (error_rate, "
        "p95_latency_ms, prediction_volume, flags, flag_rate) of every production and canary "
        "version over the last ALERTS_WINDOW_MINUTES. Run it from cron where there is no beat."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        with acting_as(origin=Origin.COMMAND):
            results = alerts_evaluate_windows()
        if not results:
            self.stdout.write("No live version has window alert rules.")
            return
        for name, found in results.items():
            for result in found:
                alert = f" (alert #{result.alert.pk})" if result.alert is not None else ""
                reason = result.evaluation.reason
                self.stdout.write(f"{name}: {result.action.value}{alert}: {reason}")
