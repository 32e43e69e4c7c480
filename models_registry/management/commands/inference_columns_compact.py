"""Merge small segments of the inference log's columnar copy (what beat does every minute)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from models_registry.inference_columns_upkeep import segments_compact


class Command(BaseCommand):
    help = "Merge each version's small inference-log segments, in time order, up to the target."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--rows", type=int, help="target rows per segment")

    def handle(self, *args: Any, **options: Any) -> None:
        merged = segments_compact(target=options["rows"])
        self.stdout.write(f"{merged} segment(s) merged away")
