"""A line chart: several series over time (or training steps), horizontal thresholds and
vertical event markers, each labelled in words where it is drawn and again in the legend."""

from __future__ import annotations

from collections.abc import Sequence

from django.utils.safestring import SafeString

from governance.charts.frame import (
    EVENT_DASH,
    FRAME,
    GRID,
    INK,
    MUTED,
    SERIES_STYLES,
    THRESHOLD_DASH,
    Event,
    Position,
    Series,
    Threshold,
    element_id,
    marker,
    no_data,
    number,
    position_number,
    position_text,
    svg,
    text,
    value_range,
)

LEFT, RIGHT, TOP, BOTTOM = 52, 16, 14, 30
LEGEND_ROW = 18
EVENT_LABEL_ROWS = 3  # event labels are stacked in this many rows so neighbours do not overlap


class Box:
    """Maps data to the plot area: x over [first, last], y over the value range."""

    def __init__(
        self,
        *,
        series: Sequence[Series],
        thresholds: Sequence[Threshold],
        span: Sequence[Position],
        size: tuple[int, int],
    ):
        width, height = size
        self.left, self.top = LEFT, TOP
        self.width, self.height = width - LEFT - RIGHT, height - TOP - BOTTOM
        xs = [position_number(p) for s in series for p, _ in s.points]
        xs += [position_number(p) for p in span]
        self.start, self.end = min(xs), max(xs)
        self.low, self.high = value_range(
            [v for s in series for _, v in s.points] + [t.value for t in thresholds]
        )

    def x(self, at: Position) -> float:
        span = self.end - self.start
        if span == 0:
            return self.left + self.width / 2
        return self.left + (position_number(at) - self.start) / span * self.width

    def y(self, value: float) -> float:
        return self.top + (1 - (value - self.low) / (self.high - self.low)) * self.height

    def holds(self, at: Position) -> bool:
        return self.start <= position_number(at) <= self.end


def _axes(box: Box, first: Position, last: Position) -> list[str]:
    parts = [
        f'<rect x="{box.left}" y="{box.top}" width="{box.width}" height="{box.height}" '
        f'fill="#fff" stroke="{FRAME}"/>'
    ]
    for i in range(5):
        value = box.low + (box.high - box.low) * i / 4
        y = box.y(value)
        parts.append(
            f'<line x1="{box.left}" x2="{box.left + box.width}" y1="{y:.1f}" y2="{y:.1f}" '
            f'stroke="{GRID}"/>' + text(box.left - 6, y + 4, number(value), size=11, anchor="end")
        )
    axis_y = box.top + box.height + 16
    parts.append(text(box.left, axis_y, position_text(first), size=11))
    if box.end != box.start:
        parts.append(text(box.left + box.width, axis_y, position_text(last), size=11, anchor="end"))
    return parts


def _thresholds(box: Box, thresholds: Sequence[Threshold]) -> list[str]:
    parts = []
    for threshold in thresholds:
        y = box.y(threshold.value)
        words = f"{threshold.label} {number(threshold.value)}"
        parts.append(
            f'<line x1="{box.left}" x2="{box.left + box.width}" y1="{y:.1f}" y2="{y:.1f}" '
            f'stroke="{INK}" stroke-dasharray="{THRESHOLD_DASH}" stroke-width="1.5"/>'
            # at the left end: event labels take the top right, where the newest data is
            + text(box.left + 10, max(y - 5, box.top + 10), words, size=11)
        )
    return parts


def _events(box: Box, events: Sequence[Event]) -> list[str]:
    parts = []
    for index, event in enumerate(events):
        x = box.x(event.at)
        anchor = "end" if x > box.left + box.width * 0.7 else "start"
        label_x = x - 3 if anchor == "end" else x + 3
        label_y = box.top + 12 + (index % EVENT_LABEL_ROWS) * 13
        parts.append(
            f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{box.top}" y2="{box.top + box.height}" '
            f'stroke="{MUTED}" stroke-dasharray="{EVENT_DASH}" stroke-width="1.5"/>'
            + text(label_x, label_y, event.label, size=11, anchor=anchor)
        )
    return parts


def _lines(box: Box, series: Sequence[Series]) -> list[str]:
    parts = []
    for index, one in enumerate(series):
        colour, dash, shape = SERIES_STYLES[index % len(SERIES_STYLES)]
        points = sorted(one.points, key=lambda point: position_number(point[0]))
        path = " ".join(f"{box.x(p):.1f},{box.y(v):.1f}" for p, v in points)
        dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
        parts.append(
            f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2"{dash_attr}/>'
        )
        for p, v in points:
            label = f"{one.name} {number(v)} at {position_text(p)}"
            parts.append(marker(shape, box.x(p), box.y(v), colour, label))
    return parts


def _legend(
    y: float,
    series: Sequence[Series],
    thresholds: Sequence[Threshold],
    events: Sequence[Event],
    events_note: str,
) -> list[str]:
    parts = []
    for index, one in enumerate(series):
        colour, dash, shape = SERIES_STYLES[index % len(SERIES_STYLES)]
        dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
        parts.append(
            f'<line x1="{LEFT}" x2="{LEFT + 28}" y1="{y + 6}" y2="{y + 6}" stroke="{colour}" '
            f'stroke-width="2"{dash_attr}/>'
            + marker(shape, LEFT + 14, y + 6, colour, one.name)
            + text(LEFT + 36, y + 10, f"{one.name} ({shape} markers)")
        )
        y += LEGEND_ROW
    for threshold in thresholds:
        parts.append(
            f'<line x1="{LEFT}" x2="{LEFT + 28}" y1="{y + 6}" y2="{y + 6}" stroke="{INK}" '
            f'stroke-dasharray="{THRESHOLD_DASH}" stroke-width="1.5"/>'
            + text(LEFT + 36, y + 10, f"threshold: {threshold.label} {number(threshold.value)}")
        )
        y += LEGEND_ROW
    if events:
        parts.append(
            f'<line x1="{LEFT + 14}" x2="{LEFT + 14}" y1="{y}" y2="{y + 12}" stroke="{MUTED}" '
            f'stroke-dasharray="{EVENT_DASH}" stroke-width="1.5"/>'
            + text(LEFT + 36, y + 10, f"dotted lines: deployment ({len(events)}; {events_note})")
        )
    return parts


def _description(
    series: Sequence[Series], thresholds: Sequence[Threshold], events: Sequence[Event]
) -> str:
    said = []
    for one in series:
        values = [v for _, v in one.points]
        lowest, highest = number(min(values)), number(max(values))
        said.append(f"{one.name}: {len(values)} point(s) from {lowest} to {highest}")
    said += [f"threshold {t.label} at {number(t.value)}" for t in thresholds]
    said += [f"{e.label} at {position_text(e.at)}" for e in events]
    return "; ".join(said) + ". The table below the chart holds every value."


def line_chart_svg(
    *,
    title: str,
    series: Sequence[Series],
    thresholds: Sequence[Threshold] = (),
    events: Sequence[Event] = (),
    width: int = 640,
    height: int = 240,
    span: tuple[Position, Position] | None = None,
    chart_id: str | None = None,
    events_note: str = "named where drawn",
) -> SafeString:
    """One line per series, across `span` (first, last) or else the points' own range;
    `events` inside it become labelled dotted vertical lines. Without any point, the
    "no data yet" message instead of an SVG."""
    series = [s for s in series if s.points]
    if not series:
        return no_data(title)
    box = Box(series=series, thresholds=thresholds, span=span or (), size=(width, height))
    events = [e for e in events if box.holds(e.at)] if box.end != box.start else []
    positions = [p for s in series for p, _ in s.points] + list(span or ())
    positions.sort(key=position_number)
    parts = [
        *_axes(box, positions[0], positions[-1]),
        *_thresholds(box, thresholds),
        *_events(box, events),
        *_lines(box, series),
        *_legend(height + 4, series, thresholds, events, events_note),
    ]
    rows = len(series) + len(thresholds) + (1 if events else 0)
    return svg(
        kind="chart",
        ident=element_id(title, chart_id),
        title=f"{title}: {', '.join(s.name for s in series)}",
        desc=_description(series, thresholds, events),
        width=width,
        height=height + LEGEND_ROW * rows + 8,
        body=parts,
    )
