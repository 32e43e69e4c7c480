"""`manage.py review_summary` prints a period's Markdown; the weekly task stores last week's
summary once and e-mails it to the members of every board."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
from celery.schedules import crontab
from django.conf import settings
from django.core import mail
from django.core.management import CommandError, call_command
from django.utils import timezone

from governance.audit.models import AuditEvent
from reviews.meetings import services as meetings
from reviews.models import BoardMember, ReviewSummary
from reviews.summary.period import previous_week
from reviews.tasks import review_summary_send, review_summary_weekly
from tests.conftest import make_user
from tests.reviews.summary_world import BOARD_EMAILS

pytestmark = pytest.mark.django_db

TODAY = timezone.now().astimezone(UTC).date()


def run(*args: str) -> str:
    out = StringIO()
    call_command("review_summary", *args, stdout=out)
    return out.getvalue()


def test_the_command_prints_the_markdown_of_the_days_asked(summary_world):
    since = str(TODAY - timedelta(days=6))

    text = run("--since", since, "--until", str(TODAY))

    assert text.startswith(f"# Model review: {since} to {TODAY}\n")
    assert "## Rollbacks (1)" in text and "AUC fell to 0.71" in text
    assert f"[Promotion request #{summary_world.request.pk}]" in text
    assert not ReviewSummary.objects.exists()  # printing stores nothing


def test_until_defaults_to_today(db):
    assert run("--since", str(TODAY)).startswith(f"# Model review: {TODAY} to {TODAY}\n")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((), "the following arguments are required: --since"),
        (("--since", "2026-13-01"), "Not a date (YYYY-MM-DD): '2026-13-01'"),
        (("--since", "last monday"), "Not a date"),
        (("--since", str(TODAY), "--until", "yesterday"), "Not a date"),
        (("--since", str(TODAY), "--until", str(TODAY - timedelta(days=1))), "ends before"),
        (("--since", str(TODAY + timedelta(days=1))), "ends before"),
        (("--since", str(TODAY), "--until", str(TODAY + timedelta(days=1))), "have begun"),
        (("--since", str(TODAY - timedelta(days=366))), "at most 366 days"),
    ],
)
def test_bad_arguments_are_command_errors(db, args, message):
    with pytest.raises(CommandError, match=message.replace("(", r"\(").replace(")", r"\)")):
        run(*args)


def test_the_previous_week_of_a_monday_is_monday_to_sunday():
    monday = datetime(2026, 11, 30, 3, 0, tzinfo=UTC)

    week = previous_week(now=monday)

    assert (str(week.since), str(week.until), week.days) == ("2026-11-23", "2026-11-29", 7)
    assert week.start == datetime(2026, 11, 23, tzinfo=UTC)
    assert week.end == datetime(2026, 11, 30, tzinfo=UTC)


def test_the_task_is_scheduled_on_mondays_at_three_utc_and_mails_on_the_notifications_queue():
    entry = settings.CELERY_BEAT_SCHEDULE["every-monday-store-and-email-the-review-summary"]

    assert entry["task"] == "reviews.review_summary_weekly"
    assert entry["schedule"] == crontab(minute="0", hour="3", day_of_week="1")
    assert settings.TIME_ZONE == "UTC"
    route = settings.CELERY_TASK_ROUTES["reviews.review_summary_send"]
    assert route == {"queue": settings.NOTIFICATIONS_QUEUE}


def test_the_weekly_task_stores_last_week_once_and_mails_every_board_member_once(summary_world):
    first = review_summary_weekly.delay().get()
    second = review_summary_weekly.delay().get()

    assert first == second
    summary = ReviewSummary.objects.get()
    week = previous_week()
    assert (summary.period_start, summary.period_end) == (week.since, week.until)
    assert summary.origin == "task" and summary.created_by is None
    assert summary.markdown.startswith(f"# Model review: {week.since} to {week.until}\n")
    assert [s["key"] for s in summary.sections][:2] == ["promotions", "rollbacks"]
    # One message per member of the board, sent once though the task ran twice.
    assert sorted(m.to[0] for m in mail.outbox) == sorted(BOARD_EMAILS.values())
    assert all(len(m.to) == 1 for m in mail.outbox)
    assert summary.emailed_to == sorted(BOARD_EMAILS.values())
    message = mail.outbox[0]
    assert message.subject == f"Model review: {week.since} to {week.until}"
    assert summary.markdown in message.body
    assert f"http://127.0.0.1:8000/summaries/{summary.pk}/" in message.body
    actions = list(
        AuditEvent.objects.filter(object_type="review_summary").values_list("action", flat=True)
    )
    assert sorted(actions) == ["review_summary.emailed", "review_summary.stored"]


def test_a_member_who_left_the_board_or_has_no_address_gets_nothing(summary_world):
    BoardMember.objects.filter(user__username="rita").update(active=False)
    summary_world.users["board2"].email = ""
    summary_world.users["board2"].save()

    review_summary_weekly.delay().get()

    assert sorted(m.to[0] for m in mail.outbox) == ["bella@example.com", "carla@example.com"]


def test_sending_again_reaches_only_members_not_yet_sent_it(summary_world):
    summary_id = review_summary_weekly.delay().get()
    mail.outbox.clear()
    newcomer = make_user("nora", "board")
    newcomer.email = "nora@example.com"
    newcomer.save()
    meetings.board_member_set(
        actor=summary_world.users["compliance"], board=summary_world.board.board, user=newcomer
    )

    assert review_summary_send.delay(summary_id).get() == ["nora@example.com"]
    assert [m.to for m in mail.outbox] == [["nora@example.com"]]
