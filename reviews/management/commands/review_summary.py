"""Print the review summary of a period as Markdown (what the weekly task stores and sends)."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from governance.audit_context import Origin, acting_as
from governance.errors import InvalidInput
from reviews.summary.period import MAX_DAYS, summary_period
from reviews.summary.services import review_summary_build


def _day(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"Not a date (YYYY-MM-DD): {value!r}") from None


class Command(BaseCommand):
    help = (
        "Print the review summary of the days from --since to --until (both included, UTC; "
        "--until defaults to today) as Markdown: promotions, rollbacks, pending requests and "
        "how long they have waited, incidents, alerts, drift and quality changes, flags, "
        f"findings and action items due, revalidations due. At most {MAX_DAYS} days. "
        "Nothing is stored."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--since", required=True, help="The first day, YYYY-MM-DD.")
        parser.add_argument("--until", help="The last day, YYYY-MM-DD (default today).")

    def handle(self, *args: Any, **options: Any) -> None:
        since = _day(options["since"])
        until = _day(options["until"]) if options["until"] is not None else None
        try:
            period = summary_period(since=since, until=until)
        except InvalidInput as error:
            raise CommandError(str(error.detail)) from None
        with acting_as(origin=Origin.COMMAND):
            draft = review_summary_build(period=period)
        self.stdout.write(draft.markdown, ending="")
