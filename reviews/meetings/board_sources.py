"""Agenda sources over what the board keeps track of besides the models' health: flags
people raised, revalidations due, open findings, business-impact reviews due. Each is one
function of the context, listed in agenda_sources.AGENDA_SOURCES."""

from __future__ import annotations

from django.utils import timezone

from models_registry.models import RegisteredModel
from monitoring.flag_selectors import flags_summary
from monitoring.models import PredictionFlag
from reviews.finding_selectors import findings_open
from reviews.impact_selectors import impact_reviews_due
from reviews.meeting_models import AgendaItem
from reviews.meetings.agenda_drafts import AgendaContext, ItemDraft
from reviews.revalidation_selectors import revalidations_due


def revalidations(context: AgendaContext) -> list[ItemDraft]:
    """Models whose revalidation is overdue, or due within 30 days of the meeting."""
    drafts = []
    for state in revalidations_due(as_of=context.now.date()):
        when = (
            f"{state.days_overdue} days overdue"
            if state.is_overdue
            else f"due in {state.days_until_due} days"
        )
        drafts.append(
            ItemDraft(
                source=AgendaItem.Source.REVALIDATION,
                title=f"Revalidation of {state.model.name}: {when}",
                summary=f"Risk {state.risk_level} (tier {state.risk_tier}, materiality "
                f"{state.materiality}): every {state.interval_months} months; last validated "
                f"{state.last_validated_on or 'never'}, due {state.due_date}.",
                data={
                    "status": state.status,
                    "due_date": state.due_date.isoformat(),
                    "days_overdue": state.days_overdue,
                    "last_validated_on": state.last_validated_on.isoformat()
                    if state.last_validated_on
                    else None,
                    "interval_months": state.interval_months,
                    "risk_level": state.risk_level,
                },
                model=state.model,
            )
        )
    return drafts


def open_findings(context: AgendaContext) -> list[ItemDraft]:
    """Findings not yet settled, gravest first (high and critical ones open every agenda)."""
    today = timezone.localdate(context.now)
    drafts = []
    for finding in findings_open():
        overdue = finding.is_overdue_on(today)
        owner = finding.owner.username if finding.owner else "nobody"
        drafts.append(
            ItemDraft(
                source=AgendaItem.Source.FINDING,
                title=f"Finding #{finding.pk} ({finding.severity}): {finding.title}",
                summary=f"{finding.model.name}, {finding.get_status_display().lower()}, owner "
                f"{owner}, due {finding.due_date or 'no date'}"
                + (" (overdue)." if overdue else "."),
                data={
                    "finding": finding.pk,
                    "severity": finding.severity,
                    "status": finding.status,
                    "due_date": finding.due_date.isoformat() if finding.due_date else None,
                    "overdue": overdue,
                },
                model=finding.model,
                version=finding.version,
            )
        )
    return drafts


def impact_reviews(context: AgendaContext) -> list[ItemDraft]:
    """Business-impact reviews due by the meeting and not yet done, the most overdue first."""
    today = context.now.date()
    return [
        ItemDraft(
            source=AgendaItem.Source.IMPACT_REVIEW,
            title=f"Business-impact review: {review.model.name} v{review.version.version}",
            summary=f"Promoted {review.promoted_at:%Y-%m-%d}, review due {review.due_on}"
            + (f", {(today - review.due_on).days} days overdue." if review.due_on < today else "."),
            data={
                "impact_review": review.pk,
                "promoted_at": review.promoted_at.isoformat(),
                "due_on": review.due_on.isoformat(),
                "overdue_days": max((today - review.due_on).days, 0),
            },
            model=review.model,
            version=review.version,
        )
        for review in impact_reviews_due(as_of=context.now).select_related("model", "version")
    ]


def flags(context: AgendaContext) -> list[ItemDraft]:
    """Per model, what people flagged since the last meeting (wrong, unfair, ...)."""
    drafts = []
    flagged = (
        PredictionFlag.objects.filter(created_at__gt=context.since, created_at__lte=context.now)
        .values_list("model", flat=True)
        .distinct()
    )
    for model in RegisteredModel.objects.filter(pk__in=flagged).order_by("name"):
        summary = flags_summary(model=model, start=context.since, end=context.now)
        reasons = ", ".join(f"{n} {reason}" for reason, n in summary.by_reason.items() if n)
        rate = f"{summary.flag_rate:.2%}" if summary.flag_rate is not None else "no predictions"
        drafts.append(
            ItemDraft(
                source=AgendaItem.Source.FLAGS,
                title=f"Flags on {model.name}: {summary.flags} since the last meeting",
                summary=f"{reasons}; {summary.flagged_predictions} predictions flagged, "
                f"flag rate {rate}.",
                data=summary.as_dict(),
                model=model,
            )
        )
    return drafts
