"""Review summaries: build one for a period (a preview, nothing stored), store a period's
summary once, and e-mail a stored one to the members of every board.

Storing is the platform's act (the weekly task, `origin` task) or a person's; it needs no
capability of its own, since it records only what everyone who reads the registry may
read. The same period is stored once: storing it again (a second run of the task, two
workers at once) returns the summary already stored, unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.urls import reverse

from governance.audit_context import current_audit_context
from governance.errors import NotFound
from governance.services import audit_record
from monitoring.notify import transport
from reviews.meeting_models import BoardMember
from reviews.summary.entries import Section
from reviews.summary.markdown import summary_markdown, summary_title
from reviews.summary.period import SummaryPeriod
from reviews.summary.sections import summary_sections
from reviews.summary_models import ReviewSummary


@dataclass(frozen=True)
class SummaryDraft:
    period: SummaryPeriod
    sections: list[Section]
    markdown: str

    @property
    def title(self) -> str:
        return summary_title(self.period.since, self.period.until)


def review_summary_build(*, period: SummaryPeriod) -> SummaryDraft:
    """The summary of `period` as it would be stored now."""
    sections = summary_sections(period)
    return SummaryDraft(
        period=period, sections=sections, markdown=summary_markdown(period, sections)
    )


def _stored(period: SummaryPeriod) -> ReviewSummary | None:
    return ReviewSummary.objects.filter(period_start=period.since, period_end=period.until).first()


def review_summary_store(*, period: SummaryPeriod, actor: Any = None) -> tuple[ReviewSummary, bool]:
    """The stored summary of `period`, and whether this call stored it."""
    existing = _stored(period)
    if existing is not None:
        return existing, False
    draft = review_summary_build(period=period)
    context = current_audit_context()
    actor = actor if actor is not None else context.acting_user()
    try:
        with transaction.atomic():
            summary = ReviewSummary.objects.create(
                period_start=period.since,
                period_end=period.until,
                markdown=draft.markdown,
                sections=[section.as_dict() for section in draft.sections],
                created_by=actor,
                origin=context.origin,
            )
            audit_record(
                action="review_summary.stored",
                object_type="review_summary",
                object_id=summary.pk,
                data={"since": str(period.since), "until": str(period.until)},
                actor=actor,
            )
    except IntegrityError:  # another run stored the same period first
        existing = _stored(period)
        if existing is None:
            raise
        return existing, False
    return summary, True


def review_summary_recipients() -> list[str]:
    """The e-mail addresses of everyone who sits on a board (active seats and users)."""
    seats = BoardMember.objects.filter(active=True, user__is_active=True).exclude(user__email="")
    return sorted(set(seats.values_list("user__email", flat=True)))


def review_summary_email(*, summary_id: int) -> list[str]:
    """E-mail the stored summary to every board member not yet sent it, one message each;
    the addresses it reached are kept on the summary. Returns them."""
    summary = ReviewSummary.objects.filter(pk=summary_id).first()
    if summary is None:
        raise NotFound(f"No review summary #{summary_id}.")
    url = settings.SITE_URL + reverse("reviews:summary", kwargs={"summary_id": summary.pk})
    subject = summary_title(summary.period_start, summary.period_end)
    body = f"{summary.markdown}\n---\nOn the platform: {url}\n"
    sent = []
    for address in review_summary_recipients():
        if address in summary.emailed_to:
            continue
        if transport.email_send(to=[address], subject=subject, body=body).delivered:
            sent.append(address)
    if sent:
        with transaction.atomic():
            summary = ReviewSummary.objects.select_for_update().get(pk=summary.pk)
            summary.emailed_to = sorted({*summary.emailed_to, *sent})
            summary.save(update_fields=["emailed_to"])
            audit_record(
                action="review_summary.emailed",
                object_type="review_summary",
                object_id=summary.pk,
                data={"recipients": len(sent)},  # no addresses in the append-only chain
            )
    return sent
