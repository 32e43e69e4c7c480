"""Where a meeting's generated agenda comes from: one function per source, in AGENDA_SOURCES.

Each source reads the state of the models at preparation time and returns drafts (a
snapshot: title, summary, figures, and links to what the item concerns). A new source
(revalidations due, open findings, business-impact reviews due, flags) is one function
appended to AGENDA_SOURCES; `meeting_prepare` asks every source and stores what they say.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from django.db.models import Q

from models_registry.models import RegisteredModel
from monitoring.models import Alert, CheckMetric, Incident
from monitoring.selectors import check_metrics_latest
from reviews.meeting_models import AgendaItem, Decision
from reviews.meetings.agenda_drafts import AgendaContext, ItemDraft
from reviews.meetings.board_sources import flags, impact_reviews, open_findings, revalidations
from reviews.models import PromotionRequest


def _days(start: datetime, end: datetime) -> float:
    return round((end - start).total_seconds() / 86400, 1)


def pending_requests(context: AgendaContext) -> list[ItemDraft]:
    """Open promotion requests, oldest first, with how long each has waited."""
    requests = (
        PromotionRequest.objects.filter(status__in=PromotionRequest.OPEN_STATUSES)
        .select_related("model_version__model", "requested_by")
        .order_by("created_at", "id")
    )
    drafts = []
    for request in requests:
        version = request.model_version
        waited = _days(request.created_at, context.now)
        drafts.append(
            ItemDraft(
                source=AgendaItem.Source.PROMOTION_REQUEST,
                title=f"Promotion request #{request.pk}: {version.model.name} v{version.version}"
                f" to {request.target_stage}",
                summary=f"Requested by {request.requested_by.username}, waiting {waited} days"
                f" ({request.status}). {request.justification}",
                data={
                    "request": request.pk,
                    "status": request.status,
                    "strategy": request.strategy,
                    "requested_by": request.requested_by.username,
                    "requested_at": request.created_at.isoformat(),
                    "waited_days": waited,
                    "card_hash": version.card_hash,
                    "risk_tier": version.model.risk_tier,
                },
                model=version.model,
                version=version,
                request=request,
            )
        )
    return drafts


def incidents(context: AgendaContext) -> list[ItemDraft]:
    """Incidents still open, and those opened since the last meeting (even if closed)."""
    rows = (
        Incident.objects.filter(~Q(status=Incident.Status.CLOSED) | Q(opened_at__gte=context.since))
        .select_related("model", "version", "owner")
        .order_by("opened_at", "id")
    )
    return [
        ItemDraft(
            source=AgendaItem.Source.INCIDENT,
            title=f"Incident #{incident.pk} ({incident.severity}, {incident.status}):"
            f" {incident.title}",
            summary=incident.description,
            data={
                "incident": incident.pk,
                "severity": incident.severity,
                "status": incident.status,
                "source": incident.source,
                "opened_at": incident.opened_at.isoformat(),
                "owner": incident.owner.username if incident.owner else None,
                "serious": incident.serious,
            },
            model=incident.model,
            version=incident.version,
            incident=incident,
        )
        for incident in rows
    ]


def open_alerts(context: AgendaContext) -> list[ItemDraft]:
    """Alerts not yet resolved, one item per alert."""
    rows = (
        Alert.objects.exclude(status=Alert.Status.RESOLVED)
        .select_related("model", "version")
        .order_by("first_seen", "id")
    )
    return [
        ItemDraft(
            source=AgendaItem.Source.ALERT,
            title=f"Alert #{alert.pk} ({alert.severity}): {alert.model.name} {alert.metric}"
            f" {alert.comparison} {alert.threshold}",
            summary=f"Latest value {alert.value}, {alert.count} breach(es) since"
            f" {alert.first_seen:%Y-%m-%d %H:%M}; status {alert.status}.",
            data={
                "alert": alert.pk,
                "metric": alert.metric,
                "value": alert.value,
                "threshold": alert.threshold,
                "severity": alert.severity,
                "status": alert.status,
                "count": alert.count,
                "incident": alert.incident_id,
            },
            model=alert.model,
            version=alert.version,
            incident=alert.incident,
        )
        for alert in rows
    ]


def _latest_values(model: RegisteredModel, before: datetime | None) -> dict[str, CheckMetric]:
    """The latest stored value of each of the model's metrics (before `before`), from the
    monitoring selector. Per-feature drift metrics (`drift.<feature>`) stay out:
    `drift_share` sums them up, and the check pages show the detail."""
    latest = check_metrics_latest(model=model, before=before)
    return {metric.name: metric for metric in latest if not metric.name.startswith("drift.")}


def metric_trends(context: AgendaContext) -> list[ItemDraft]:
    """Per model with checks since the last meeting: each metric then and now."""
    model_ids = (
        CheckMetric.objects.filter(computed_at__gt=context.since)
        .values_list("model_id", flat=True)
        .distinct()
    )
    drafts = []
    for model in RegisteredModel.objects.filter(pk__in=list(model_ids)).order_by("name"):
        before = _latest_values(model, context.since)
        now = _latest_values(model, None)
        metrics = []
        for name, current in sorted(now.items()):
            if current.computed_at <= context.since:
                continue
            previous = before.get(name)
            then = previous.value if previous else None
            change = None
            if then is not None and current.value is not None:
                change = current.value - then
            metrics.append(
                {
                    "name": name,
                    "kind": current.kind,
                    "at_last_meeting": then,
                    "now": current.value,
                    "change": change,
                    "version": current.version.version,
                }
            )
        changed = [m for m in metrics if m["change"]]
        drafts.append(
            ItemDraft(
                source=AgendaItem.Source.TREND,
                title=f"Drift, quality and fairness trends of {model.name}",
                summary=f"{len(metrics)} metric(s) measured since the last meeting,"
                f" {len(changed)} changed.",
                data={"since": context.since.isoformat(), "metrics": metrics},
                model=model,
            )
        )
    return drafts


def open_action_items(context: AgendaContext) -> list[ItemDraft]:
    """Action items the board decided in earlier meetings and nobody has marked done."""
    rows = (
        Decision.objects.filter(
            meeting__board=context.meeting.board,
            kind=Decision.Kind.ACTION_ITEM,
            status=Decision.Status.OPEN,
        )
        .exclude(meeting=context.meeting)
        .select_related("meeting", "owner", "model")
        .order_by("due_date", "id")
    )
    return [
        ItemDraft(
            source=AgendaItem.Source.ACTION_ITEM,
            title=f"Action item #{item.pk}: {item.text[:200]}",
            summary=f"Owner {item.owner.username if item.owner else 'nobody'}, due"
            f" {item.due_date or 'no date'}; decided at {item.meeting.title}.",
            data={
                "action_item": item.pk,
                "owner": item.owner.username if item.owner else None,
                "due_date": item.due_date.isoformat() if item.due_date else None,
                "overdue": bool(item.due_date and item.due_date < context.now.date()),
                "meeting": item.meeting_id,
            },
            model=item.model,
            action_item=item,
        )
        for item in rows
    ]


AgendaSource = Callable[[AgendaContext], list[ItemDraft]]

# In agenda order.
AGENDA_SOURCES: list[AgendaSource] = [
    pending_requests,
    incidents,
    open_alerts,
    metric_trends,
    flags,
    revalidations,
    open_findings,
    impact_reviews,
    open_action_items,
]
