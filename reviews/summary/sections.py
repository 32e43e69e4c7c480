"""The facts of a review summary, one function per section, in SUMMARY_SECTIONS order.

Each reads through the selectors the pages, API and agendas use and returns a `Section` of
plain `Entry`s (reviews/summary/entries.py), so the Markdown, the stored data and the
browser page say the same; the sections over what the board keeps track of (flags,
findings, action items, revalidations) are in board_sections.py. Statuses are as they
stand when the summary is made; the period decides what happened (deployments, incidents
and alerts opened, checks, flags).
"""

from __future__ import annotations

from collections.abc import Callable

from django.db.models import Q

from models_registry.models import DeploymentEvent, ModelVersion, RegisteredModel
from models_registry.selectors import deployment_events_between
from monitoring.alert_selectors import alert_list
from monitoring.models import Alert, CheckMetric, Incident
from monitoring.selectors import check_metrics_latest, incident_list
from reviews.models import PromotionRequest
from reviews.selectors import request_list
from reviews.summary.board_sections import action_items_due, findings_due, flags, revalidations
from reviews.summary.entries import Entry, Section, days_between, site_url, when, who
from reviews.summary.period import SummaryPeriod

PROMOTION_KINDS = (
    DeploymentEvent.Kind.PROMOTED,
    DeploymentEvent.Kind.CANARY_STARTED,
    DeploymentEvent.Kind.CANARY_PROMOTED,
)
ROLLBACK_KINDS = (DeploymentEvent.Kind.ROLLED_BACK, DeploymentEvent.Kind.CANARY_STOPPED)
# An alert rule's comparison in words: the Markdown escapes < and > as HTML entities.
WINDOW_SIZES = frozenset({"rows", "labelled"})
COMPARISONS = {">=": "at or above", ">": "above", "<=": "at or below", "<": "below"}


def _version_link(version: ModelVersion) -> tuple[str, str]:
    url = site_url("registry:version", name=version.model.name, version=version.version)
    return f"{version.model.name} v{version.version}", url


def _deployment_entry(event: DeploymentEvent) -> Entry:
    label, url = _version_link(event.version)
    text = f"{event.get_kind_display()} on {when(event.occurred_at)} by"
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
                url=site_url("reviews:request", request_id=request.pk),
                text=f"{version.model.name} v{version.version} to {request.target_stage}"
                f" ({request.strategy}), {request.status}; requested by"
                f" {request.requested_by.username} on {when(request.created_at)}, waiting"
                f" {days_between(request.created_at, period.end)} days",
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
                url=site_url("monitoring:incident", incident_id=incident.pk),
                text=f"{incident.title} ({incident.severity}, {incident.status}); {where},"
                f" opened {when(incident.opened_at)}, owner {who(incident.owner)}",
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
            url=site_url("monitoring:alert", alert_id=alert.pk),
            text=f"{alert.model.name} v{alert.version.version} {alert.metric}"
            f" {COMPARISONS.get(alert.comparison, alert.comparison)} {alert.threshold}"
            f" ({alert.severity}, {alert.status}): latest value {alert.value},"
            f" {alert.count} breach(es) since {when(alert.first_seen)}",
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


def is_headline_metric(name: str) -> bool:
    """A metric the summary shows. The detail stays on the check pages: per-feature drift
    (`drift.<feature>`, summed up by `drift_share`), per-group fairness figures
    (`tpr.gender.female`, summed up by the differences and ratios per attribute) and the
    sizes of a check's window (`rows`, `labelled`)."""
    return not name.startswith("drift.") and name.count(".") < 2 and name not in WINDOW_SIZES


def metric_changes(period: SummaryPeriod) -> Section:
    """Per model with checks in the period, each headline metric measured in it beside its
    value before the period."""
    measured = (
        CheckMetric.objects.filter(computed_at__gte=period.start, computed_at__lt=period.end)
        .values_list("model_id", flat=True)
        .distinct()
    )
    entries = []
    for model in RegisteredModel.objects.filter(pk__in=list(measured)).order_by("name"):
        before = {m.name: m for m in check_metrics_latest(model=model, before=period.start)}
        url = site_url("monitoring:model-monitoring", name=model.name)
        for metric in check_metrics_latest(model=model, before=period.end):
            if not is_headline_metric(metric.name) or metric.computed_at < period.start:
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
