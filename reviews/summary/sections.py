"""The facts of a review summary, one function per section, in SUMMARY_SECTIONS order.

Each reads through the selectors the pages, API and agendas use and returns a `Section` of
plain `Entry`s (text, and a link to what it concerns), so the Markdown, the stored data and
the browser page say the same. Statuses are as they stand when the summary is made; the
period decides what happened (deployments, incidents and alerts opened, checks, flags).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import Q
from django.urls import reverse

from models_registry.models import DeploymentEvent, ModelVersion, RegisteredModel
from models_registry.selectors import deployment_events_between
from monitoring.alert_selectors import alert_list
from monitoring.flag_selectors import flags_summary
from monitoring.models import Alert, CheckMetric, Incident, PredictionFlag
from monitoring.selectors import check_metrics_latest, incident_list
from reviews.finding_selectors import findings_open
from reviews.meeting_models import Decision
from reviews.models import PromotionRequest
from reviews.revalidation_selectors import revalidations_due
from reviews.selectors import request_list
from reviews.summary.period import WEEK, SummaryPeriod

PROMOTION_KINDS = (
    DeploymentEvent.Kind.PROMOTED,
    DeploymentEvent.Kind.CANARY_STARTED,
    DeploymentEvent.Kind.CANARY_PROMOTED,
)
ROLLBACK_KINDS = (DeploymentEvent.Kind.ROLLED_BACK, DeploymentEvent.Kind.CANARY_STOPPED)
# An alert rule's comparison in words: the Markdown escapes < and > as HTML entities.
COMPARISONS = {">=": "at or above", ">": "above", "<=": "at or below", "<": "below"}


@dataclass(frozen=True)
class Entry:
    """One line of a section: `label` links to `url` (both may be empty), then `text`."""

    text: str
    label: str = ""
    url: str = ""


@dataclass(frozen=True)
class Section:
    key: str
    title: str
    entries: list[Entry] = field(default_factory=list)
    empty: str = "None."

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _url(route: str, /, **kwargs: Any) -> str:
    return f"{settings.SITE_URL}{reverse(route, kwargs=kwargs)}"


def _version_link(version: ModelVersion) -> tuple[str, str]:
    url = _url("registry:version", name=version.model.name, version=version.version)
    return f"{version.model.name} v{version.version}", url


def _when(moment: datetime) -> str:
    return f"{moment:%Y-%m-%d %H:%M} UTC"


def _days(start: datetime, end: datetime) -> float:
    return round((end - start).total_seconds() / 86400, 1)


def _who(user: Any) -> str:
    return user.username if user is not None else "nobody"


def _deployment_entry(event: DeploymentEvent) -> Entry:
    label, url = _version_link(event.version)
    text = f"{event.get_kind_display()} on {_when(event.occurred_at)} by"
    text += f" {event.actor.username if event.actor else 'the platform'}"
    if event.kind == DeploymentEvent.Kind.ROLLED_BACK and event.previous_version:
        text += f", taking v{event.previous_version.version} out of production"
    elif event.previous_version:
        text += f", replacing v{event.previous_version.version}"
    if event.reason:
        text += f": {event.reason}"
    return Entry(text=text, label=label, url=url)


def promotions(period: SummaryPeriod) -> Section:
    """Versions that went to production or started a canary in the period."""
    events = deployment_events_between(start=period.start, end=period.end, kinds=PROMOTION_KINDS)
    return Section("promotions", "Promotions", [_deployment_entry(e) for e in events])


def rollbacks(period: SummaryPeriod) -> Section:
    """Rollbacks and stopped canaries in the period."""
    events = deployment_events_between(start=period.start, end=period.end, kinds=ROLLBACK_KINDS)
    return Section("rollbacks", "Rollbacks", [_deployment_entry(e) for e in events])


def pending_requests(period: SummaryPeriod) -> Section:
    """Promotion requests still open, oldest first, with how long each has waited."""
    rows = (
        request_list()
        .filter(status__in=PromotionRequest.OPEN_STATUSES, created_at__lt=period.end)
        .order_by("created_at", "id")
    )
    entries = []
    for request in rows:
        version = request.model_version
        entries.append(
            Entry(
                label=f"Promotion request #{request.pk}",
                url=_url("reviews:request", request_id=request.pk),
                text=f"{version.model.name} v{version.version} to {request.target_stage}"
                f" ({request.strategy}), {request.status}; requested by"
                f" {request.requested_by.username} on {_when(request.created_at)}, waiting"
                f" {_days(request.created_at, period.end)} days",
            )
        )
    return Section("pending_requests", "Pending promotion requests", entries)


def incidents(period: SummaryPeriod) -> Section:
    """Incidents opened in the period, and older ones not yet closed."""
    rows = (
        incident_list()
        .filter(opened_at__lt=period.end)
        .filter(Q(opened_at__gte=period.start) | ~Q(status=Incident.Status.CLOSED))
        .order_by("opened_at", "id")
    )
    entries = []
    for incident in rows:
        where = (
            f"{incident.model.name} v{incident.version.version}"
            if incident.version
            else incident.model.name
        )
        entries.append(
            Entry(
                label=f"Incident #{incident.pk}",
                url=_url("monitoring:incident", incident_id=incident.pk),
                text=f"{incident.title} ({incident.severity}, {incident.status}); {where},"
                f" opened {_when(incident.opened_at)}, owner {_who(incident.owner)}",
            )
        )
    return Section("incidents", "Incidents", entries)


def alerts(period: SummaryPeriod) -> Section:
    """Alerts first seen in the period, and older ones not yet resolved."""
    rows = (
        alert_list()
        .filter(first_seen__lt=period.end)
        .filter(Q(first_seen__gte=period.start) | ~Q(status=Alert.Status.RESOLVED))
        .order_by("first_seen", "id")
    )
    entries = [
        Entry(
            label=f"Alert #{alert.pk}",
            url=_url("monitoring:alert", alert_id=alert.pk),
            text=f"{alert.model.name} v{alert.version.version} {alert.metric}"
            f" {COMPARISONS.get(alert.comparison, alert.comparison)} {alert.threshold}"
            f" ({alert.severity}, {alert.status}): latest value {alert.value},"
            f" {alert.count} breach(es) since {_when(alert.first_seen)}",
        )
        for alert in rows
    ]
    return Section("alerts", "Alerts", entries)


def _change(before: float | None, now: float | None) -> str:
    if now is None:
        return "not computable"
    if before is None:
        return f"{now:.4g} (first measured)"
    return f"{before:.4g} → {now:.4g} ({now - before:+.4g})"


def metric_changes(period: SummaryPeriod) -> Section:
    """Per model with checks in the period, each metric at the start and at the end.

    Per-feature drift (`drift.<feature>`) stays on the check pages: `drift_share` sums it up.
    """
    measured = (
        CheckMetric.objects.filter(computed_at__gte=period.start, computed_at__lt=period.end)
        .values_list("model_id", flat=True)
        .distinct()
    )
    entries = []
    for model in RegisteredModel.objects.filter(pk__in=list(measured)).order_by("name"):
        before = {m.name: m for m in check_metrics_latest(model=model, before=period.start)}
        url = _url("monitoring:model-monitoring", name=model.name)
        for metric in check_metrics_latest(model=model, before=period.end):
            if metric.name.startswith("drift.") or metric.computed_at < period.start:
                continue
            then = before.get(metric.name)
            entries.append(
                Entry(
                    label=model.name,
                    url=url,
                    text=f"{metric.name} ({metric.kind}, v{metric.version.version}):"
                    f" {_change(then.value if then else None, metric.value)}",
                )
            )
    return Section("metric_changes", "Drift, quality and fairness changes", entries)


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
                url=_url("monitoring:model-monitoring", name=model.name),
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
                url=_url("reviews:finding", finding_id=finding.pk),
                text=f"{finding.title} ({finding.severity}, {status});"
                f" {finding.model.name}, owner {_who(finding.owner)}, due {finding.due_date}"
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
            text=f"{item.text[:200]}; owner {_who(item.owner)}, due {item.due_date}"
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
                url=_url("registry:model", name=state.model.name),
                text=f"revalidation {when} (due {state.due_date}; risk {state.risk_level},"
                f" every {state.interval_months} months; last validated"
                f" {state.last_validated_on or 'never'})",
            )
        )
    return Section("revalidations", "Revalidations due", entries)


SummarySection = Callable[[SummaryPeriod], Section]

# In the order of the summary.
SUMMARY_SECTIONS: list[SummarySection] = [
    promotions,
    rollbacks,
    pending_requests,
    incidents,
    alerts,
    metric_changes,
    flags,
    findings_due,
    action_items_due,
    revalidations,
]


def summary_sections(period: SummaryPeriod) -> list[Section]:
    return [section(period) for section in SUMMARY_SECTIONS]
