"""Check the inference log's columnar copy against the record; exit 1 if they differ."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from governance.errors import NotFound
from models_registry.inference_columns_upkeep import segments_verify
from models_registry.selectors import model_get


class Command(BaseCommand):
    help = (
        "Count the rows of every inference-log batch in the segments and in the record "
        "(answered, not erased); `inference_columns_rebuild` repairs a difference."
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
        check = segments_verify(model=model)
        for line in check.mismatched:
            self.stderr.write(line)
        if check.mismatched:
            raise CommandError(f"{len(check.mismatched)} batch(es) differ from the record")
        self.stdout.write(
            f"{check.rows} row(s) in {check.segments} segment(s) of {check.versions} "
            "version(s) match the record"
        )
