"""What the model health page draws: the last day of served calls hour by hour, production
and canary overlaid (calls, error rate, p95 latency, accuracy where labelled), with the
deployments of those hours marked. Pure reads; each hour of each slot is measured as
windows.slot_measure measures it (the measurement the canary gates and alert rules use),
all hours at once by windows.windows_measure, so the page costs the same queries however
many hours had traffic."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from django.utils import timezone
from django.utils.safestring import SafeString

from governance.charts import Event, Series, line_chart_svg
from models_registry.models import DeploymentEvent, Prediction, RegisteredModel
from monitoring.windows import SlotMeasurement, windows_measure

HEALTH_HOURS = 24
SLOTS = (Prediction.Slot.PRODUCTION, Prediction.Slot.CANARY)


@dataclass(frozen=True)
class HourOfSlot:
    """One point of every health chart: what one slot's version did in one hour."""

    hour: datetime
    slot: str
    measured: SlotMeasurement


@dataclass
class HealthChart:
    key: str
    title: str
    unit: str
    svg: SafeString
    rows: list[tuple[datetime, str, int, float | int]] = field(default_factory=list)


MEASURES = (
    ("traffic", "Calls per hour", "calls", lambda m: m.requests),
    ("errors", "Error rate", "share of served calls", lambda m: m.error_rate),
    ("latency", "p95 latency", "ms", lambda m: m.p95_latency_ms),
    ("accuracy", "Accuracy against ground truth", "share", lambda m: m.accuracy),
)


def deployment_label(event: DeploymentEvent) -> str:
    """A deployment in the words of a chart marker: "v3 to production"."""
    version = f"v{event.version.version}"
    return {
        DeploymentEvent.Kind.PROMOTED: f"{version} to production",
        DeploymentEvent.Kind.CANARY_STARTED: f"{version} canary started",
        DeploymentEvent.Kind.CANARY_PROMOTED: f"{version} canary to production",
        DeploymentEvent.Kind.CANARY_STOPPED: f"{version} canary stopped",
        DeploymentEvent.Kind.ROLLED_BACK: f"rolled back to {version}",
    }.get(event.kind, f"{version} {event.get_kind_display().lower()}")


def deployment_events(*, model: RegisteredModel, start: datetime, end: datetime) -> list[Event]:
    """The model's deployments in (start, end], oldest first, as chart markers."""
    found = DeploymentEvent.objects.filter(
        model=model, occurred_at__gt=start, occurred_at__lte=end
    ).select_related("version")
    return [
        Event(label=deployment_label(e), at=e.occurred_at)
        for e in found.order_by("occurred_at", "id")
    ]


def hours_between(start: datetime, end: datetime) -> list[datetime]:
    """The beginnings of the clock hours (in the current time zone) that overlap (start, end]."""
    hour = timezone.localtime(start).replace(minute=0, second=0, microsecond=0).astimezone(UTC)
    hours = []
    while hour < end:
        hours.append(hour)
        hour += timedelta(hours=1)
    return hours


def hours_of_slots(*, model: RegisteredModel, start: datetime, end: datetime) -> list[HourOfSlot]:
    """Every (hour, slot, version) with served calls in (start, end], measured over the
    part of the hour inside it; a window being (start, end], a call at the top of an hour
    belongs to the hour that ends then."""
    hours = hours_between(start, end)
    windows = [(max(hour, start), min(hour + timedelta(hours=1), end)) for hour in hours]
    measured = windows_measure(model=model, windows=windows)
    found = [
        HourOfSlot(hour=hours[one.window], slot=slot, measured=one.measured)
        for one in measured
        for slot in SLOTS
        if slot in one.slots
    ]
    return sorted(found, key=lambda h: (h.hour, h.slot))


def _middle(hour: datetime, start: datetime, end: datetime) -> datetime:
    """Where an hour's point sits: the middle of the part of it inside the window (the
    current hour has only begun)."""
    first, last = max(hour, start), min(hour + timedelta(hours=1), end)
    return first + (last - first) / 2


def health_charts(*, model: RegisteredModel, end: datetime | None = None) -> list[HealthChart]:
    """One chart per measure over the last HEALTH_HOURS hours; accuracy only when some hour
    had labelled calls."""
    end = end or timezone.now()
    start = end - timedelta(hours=HEALTH_HOURS)
    hours = hours_of_slots(model=model, start=start, end=end)
    events = deployment_events(model=model, start=start, end=end)
    charts = []
    for key, title, unit, value_of in MEASURES:
        rows = [
            (h.hour, h.slot, h.measured.version, value_of(h.measured))
            for h in hours
            if value_of(h.measured) is not None
        ]
        if key == "accuracy" and not rows:
            continue
        points: dict[str, list[tuple[datetime, float]]] = defaultdict(list)
        for hour, slot, _, value in rows:
            points[slot].append((_middle(hour, start, end), float(value)))
        svg = line_chart_svg(
            title=f"{model.name}: {title} ({unit})",
            series=[Series(name=slot, points=points[slot]) for slot in SLOTS if slot in points],
            events=events,
            span=(start, end),
            chart_id=f"health-{key}",
        )
        charts.append(HealthChart(key=key, title=title, unit=unit, svg=svg, rows=rows))
    return charts
