"""The period a review summary covers: whole days in UTC, the first and the last included.

`summary_period` holds the one rule (no day after today, the last day not before the
first, at most MAX_DAYS days) for the command, the API preview and the weekly task.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from django.utils import timezone

from governance.errors import InvalidInput

MAX_DAYS = 366
WEEK = 7


@dataclass(frozen=True)
class SummaryPeriod:
    since: date  # the first day covered
    until: date  # the last day covered
    now: datetime  # when the summary is made: a period reaching today ends now

    @property
    def start(self) -> datetime:
        return datetime.combine(self.since, time.min, tzinfo=UTC)

    @property
    def end(self) -> datetime:
        """The moment the period ends (exclusive): midnight after `until`, or now if earlier."""
        return min(datetime.combine(self.until + timedelta(days=1), time.min, tzinfo=UTC), self.now)

    @property
    def days(self) -> int:
        return (self.until - self.since).days + 1


def summary_period(
    *, since: date, until: date | None = None, now: datetime | None = None
) -> SummaryPeriod:
    """The period from `since` to `until` (default today), both included; a 400 naming the
    field when `until` lies after today or precedes `since`, or the period is longer than
    MAX_DAYS days."""
    now = now or timezone.now()
    today = now.astimezone(UTC).date()
    until = until or today
    if until > today:
        raise InvalidInput(
            "A summary covers days that have begun.",
            extra={"until": [f"Not after today ({today}, UTC)."]},
        )
    if until < since:
        raise InvalidInput(
            "The period ends before it starts.", extra={"until": ["Must not precede since."]}
        )
    if (until - since).days + 1 > MAX_DAYS:
        raise InvalidInput(
            f"A summary covers at most {MAX_DAYS} days.",
            extra={"since": [f"At most {MAX_DAYS} days before until."]},
        )
    return SummaryPeriod(since=since, until=until, now=now)


def previous_week(*, now: datetime | None = None) -> SummaryPeriod:
    """The seven days before today (run on a Monday: Monday to Sunday of last week)."""
    now = now or timezone.now()
    today = now.astimezone(UTC).date()
    return summary_period(
        since=today - timedelta(days=WEEK), until=today - timedelta(days=1), now=now
    )
