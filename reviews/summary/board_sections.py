"""Summary sections over what the board keeps track of besides the models' health: flags
people raised, findings and action items due, revalidations due (as the agenda's
reviews/meetings/board_sources.py, for a period instead of a meeting)."""

from __future__ import annotations

from datetime import timedelta

from models_registry.models import RegisteredModel
from monitoring.flag_selectors import flags_summary
from monitoring.models import PredictionFlag
from reviews.finding_selectors import findings_open
from reviews.meeting_models import Decision
from reviews.revalidation_selectors import revalidations_due
from reviews.summary.entries import Entry, Section, site_url, who
from reviews.summary.period import WEEK, SummaryPeriod


def flags(period: SummaryPeriod) -> Section:
    """Per model, what people flagged in the period, by reason, with the flag rate."""
    flagged = (
        PredictionFlag.objects.filter(created_at__gt=period.start, created_at__lte=period.end)
        .values_list("model", flat=True)
        .distinct()
    )
    entries = []
    for model in RegisteredModel.objects.filter(pk__in=list(flagged)).order_by("name"):
        summary = flags_summary(model=model, start=period.start, end=period.end)
        reasons = ", ".join(f"{n} {reason}" for reason, n in summary.by_reason.items() if n)
        rate = f"{summary.flag_rate:.2%}" if summary.flag_rate is not None else "no predictions"
        entries.append(
            Entry(
                label=model.name,
                url=site_url("monitoring:model-monitoring", name=model.name),
                text=f"{summary.flags} flag(s) ({reasons}) on {summary.flagged_predictions}"
                f" prediction(s); flag rate {rate}",
            )
        )
    return Section("flags", "Flags from people", entries)


def findings_due(period: SummaryPeriod) -> Section:
    """Unsettled findings due within a week after the period, or overdue, gravest first."""
    horizon = period.until + timedelta(days=WEEK)
    entries = []
    for finding in findings_open().filter(due_date__lte=horizon):
        overdue = finding.is_overdue_on(period.until)
        status = finding.get_status_display().lower()
        entries.append(
            Entry(
                label=f"Finding #{finding.pk}",
                url=site_url("reviews:finding", finding_id=finding.pk),
                text=f"{finding.title} ({finding.severity}, {status});"
                f" {finding.model.name}, owner {who(finding.owner)}, due {finding.due_date}"
                + (" (overdue)" if overdue else ""),
            )
        )
    return Section("findings_due", "Findings due", entries)


def action_items_due(period: SummaryPeriod) -> Section:
    """Open action items of the boards due within a week after the period, or overdue."""
    horizon = period.until + timedelta(days=WEEK)
    rows = (
        Decision.objects.filter(
            kind=Decision.Kind.ACTION_ITEM, status=Decision.Status.OPEN, due_date__lte=horizon
        )
        .select_related("meeting__board", "owner")
        .order_by("due_date", "id")
    )
    entries = [
        Entry(
            label=f"Action item #{item.pk}",
            text=f"{item.text[:200]}; owner {who(item.owner)}, due {item.due_date}"
            + (" (overdue)" if item.due_date < period.until else "")
            + f"; decided at {item.meeting.title} ({item.meeting.board.name})",
        )
        for item in rows
    ]
    return Section("action_items_due", "Action items due", entries)


def revalidations(period: SummaryPeriod) -> Section:
    """Models whose revalidation is overdue, or due within 30 days of the period's end."""
    entries = []
    for state in revalidations_due(as_of=period.until):
        when = (
            f"{state.days_overdue} days overdue"
            if state.is_overdue
            else f"due in {state.days_until_due} days"
        )
        entries.append(
            Entry(
                label=state.model.name,
                url=site_url("registry:model", name=state.model.name),
                text=f"revalidation {when} (due {state.due_date}; risk {state.risk_level},"
                f" every {state.interval_months} months; last validated"
                f" {state.last_validated_on or 'never'})",
            )
        )
    return Section("revalidations", "Revalidations due", entries)
