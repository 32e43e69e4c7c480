"""Decide every canary now (what the beat task does every minute), printing each verdict."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from governance.audit_context import Origin, acting_as
from models_registry.models import RegisteredModel
from monitoring.services import Action, canary_decide_all


class Command(BaseCommand):
    help = (
        "Compare each canary with production on its window: promote it when it passes its "
        "gates, stop it and open an incident when it fails, or wait for more calls."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--model", metavar="NAME", help="Only this model.")

    def handle(self, *args: Any, **options: Any) -> None:
        name = options["model"]
        if name is not None and not RegisteredModel.objects.filter(name=name).exists():
            raise CommandError(f"No model named '{name}'.")
        with acting_as(origin=Origin.COMMAND):
            outcomes = canary_decide_all(model_name=name)
        if not outcomes:
            self.stdout.write(f"{name}: no canary." if name else "No model has a canary.")
            return
        for outcome in outcomes:
            self.stdout.write(f"{outcome.model}: {outcome.message}")
            if outcome.evaluation is not None and outcome.action != Action.WAITING:
                for check in outcome.evaluation.checks:
                    self.stdout.write(f"  {check.gate}: {check.status} ({check.detail})")
        errors = [o.model for o in outcomes if o.action == Action.ERROR]
        if errors:
            raise CommandError(f"Evaluation failed for: {', '.join(errors)}")
