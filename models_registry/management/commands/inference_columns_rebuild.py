"""Rebuild the inference log's columnar copy from the record (Prediction rows)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from governance.errors import NotFound
from models_registry.inference_columns_upkeep import segments_rebuild
from models_registry.selectors import model_get


class Command(BaseCommand):
    help = (
        "Replace every inference-log segment of a model's versions (or of all) with segments "
        "built from its stored predictions, streamed in chunks."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--model", help="the model's name (default: every model)")

    def handle(self, *args: Any, **options: Any) -> None:
        model = None
        if options["model"]:
            try:
                model = model_get(name=options["model"])
            except NotFound as error:
                raise CommandError(str(error.detail)) from None
        outcome = segments_rebuild(model=model)
        self.stdout.write(
            f"{outcome.rows} row(s) of {outcome.versions} version(s) in "
            f"{outcome.segments} segment(s)"
        )
