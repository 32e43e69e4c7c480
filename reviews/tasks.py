"""Review-board tasks: thin wrappers around reviews.summary.services.

`review_summary_weekly` runs from beat on Mondays at 03:00 UTC (CELERY_BEAT_SCHEDULE): it
stores the summary of the seven days before (once per period: a second run finds it
stored) and queues its e-mail on the notifications queue (CELERY_TASK_ROUTES), unless it
went out already. `review_summary_send` e-mails it to the boards' members, each address
once, so a retry never sends twice to the same person.
"""

from __future__ import annotations

from celery import shared_task
from django.db import OperationalError

from governance.audit_context import Origin, acting_as
from reviews.summary.period import previous_week
from reviews.summary.services import review_summary_email, review_summary_store


@shared_task(name="reviews.review_summary_weekly", autoretry_for=(OperationalError,), max_retries=3)
def review_summary_weekly() -> int:
    """Store last week's summary and queue its e-mail; returns the summary's id."""
    with acting_as(origin=Origin.TASK):
        summary, _created = review_summary_store(period=previous_week())
    if not summary.emailed_to:
        review_summary_send.delay(summary.pk)
    return summary.pk


@shared_task(name="reviews.review_summary_send", autoretry_for=(OperationalError,), max_retries=3)
def review_summary_send(summary_id: int) -> list[str]:
    """E-mail a stored summary to the boards' members; returns the addresses it reached."""
    with acting_as(origin=Origin.TASK):
        return review_summary_email(summary_id=summary_id)
