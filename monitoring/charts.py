"""Server-rendered SVG for the monitoring pages: line charts over time and drift pictures.

No script and no inline style (the site's CSP): geometry and colours are SVG presentation
attributes, every text is escaped. Readable without colour: each series has its own marker
shape and dash pattern, thresholds are dashed grey lines with their value written beside
them, and each chart carries a <title> and an aria-label (the pages add a table of the
same numbers).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import pairwise
from typing import Any

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

# (stroke colour, dash pattern, marker) per series, in order; colour is never the only cue.
SERIES_STYLES = (
    ("#1f5fbf", "", "circle"),
    ("#b3261e", "6 3", "square"),
    ("#1c7c43", "2 3", "triangle"),
    ("#9a6700", "8 3 2 3", "diamond"),
    ("#5f3dc4", "1 2", "cross"),
)
MAX_PICTURE_BARS = 20


@dataclass(frozen=True)
class Series:
    name: str
    points: list[tuple[datetime, float]]


@dataclass(frozen=True)
class Threshold:
    label: str
    value: float


@dataclass(frozen=True)
class Event:
    """Something that happened at one moment (a deployment): a dotted vertical line."""

    label: str
    at: datetime


def _number(value: float) -> str:
    return f"{value:.4g}"


def _marker(shape: str, x: float, y: float, colour: str, label: str) -> str:
    title = f"<title>{escape(label)}</title>"
    if shape == "circle":
        return f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3.5" fill="{colour}">{title}</circle>'
    if shape == "square":
        return (
            f'<rect x="{x - 3.5:.1f}" y="{y - 3.5:.1f}" width="7" height="7" '
            f'fill="{colour}">{title}</rect>'
        )
    if shape == "triangle":
        points = f"{x:.1f},{y - 4.5:.1f} {x - 4:.1f},{y + 3:.1f} {x + 4:.1f},{y + 3:.1f}"
        return f'<polygon points="{points}" fill="{colour}">{title}</polygon>'
    if shape == "diamond":
        points = (
            f"{x:.1f},{y - 4.5:.1f} {x - 4.5:.1f},{y:.1f} "
            f"{x:.1f},{y + 4.5:.1f} {x + 4.5:.1f},{y:.1f}"
        )
        return f'<polygon points="{points}" fill="{colour}">{title}</polygon>'
    path = (
        f"M{x - 4:.1f},{y - 4:.1f} L{x + 4:.1f},{y + 4:.1f} "
        f"M{x - 4:.1f},{y + 4:.1f} L{x + 4:.1f},{y - 4:.1f}"
    )
    return f'<path d="{path}" stroke="{colour}" stroke-width="2">{title}</path>'


def _value_range(series: Sequence[Series], thresholds: Sequence[Threshold]) -> tuple[float, float]:
    values = [v for s in series for _, v in s.points] + [t.value for t in thresholds]
    low, high = min(values), max(values)
    if low >= 0 and high <= 1:
        return 0.0, 1.0  # shares, rates, AUC: always on the same scale
    low = min(low, 0.0)
    if high == low:
        high = low + 1.0
    return low, high + (high - low) * 0.05


def line_chart_svg(
    *,
    title: str,
    series: Sequence[Series],
    thresholds: Sequence[Threshold] = (),
    events: Sequence[Event] = (),
    width: int = 640,
    height: int = 240,
) -> SafeString:
    """Values over time, one line per series; empty string when there is nothing to draw.
    `events` inside the time range are dotted vertical lines (their label as a tooltip)."""
    series = [s for s in series if s.points]
    if not series:
        return mark_safe("")
    left, right, top, bottom = 48, 12, 12, 28
    times = [t for s in series for t, _ in s.points]
    start, end = min(times), max(times)
    span = (end - start).total_seconds()
    events = [e for e in events if start <= e.at <= end] if span else []
    legend_height = 18 * (len(series) + len(thresholds) + (1 if events else 0))
    plot_w, plot_h = width - left - right, height - top - bottom
    low, high = _value_range(series, thresholds)

    def x_of(when: datetime) -> float:
        if span == 0:
            return left + plot_w / 2
        return left + (when - start).total_seconds() / span * plot_w

    def y_of(value: float) -> float:
        return top + (1 - (value - low) / (high - low)) * plot_h

    parts = [
        f'<rect x="{left}" y="{top}" width="{plot_w}" height="{plot_h}" fill="#fff" '
        'stroke="#dde2e8"/>'
    ]
    for i in range(5):
        value = low + (high - low) * i / 4
        y = y_of(value)
        parts.append(
            f'<line x1="{left}" x2="{left + plot_w}" y1="{y:.1f}" y2="{y:.1f}" stroke="#eef1f5"/>'
            f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="11" '
            f'fill="#5f6b7a">{_number(value)}</text>'
        )
    axis_y = top + plot_h + 16
    parts.append(
        f'<text x="{left}" y="{axis_y}" font-size="11" fill="#5f6b7a">'
        f"{escape(start.strftime('%Y-%m-%d %H:%M'))}</text>"
    )
    if span:
        parts.append(
            f'<text x="{left + plot_w}" y="{axis_y}" text-anchor="end" font-size="11" '
            f'fill="#5f6b7a">{escape(end.strftime("%Y-%m-%d %H:%M"))}</text>'
        )
    for threshold in thresholds:
        y = y_of(threshold.value)
        parts.append(
            f'<line x1="{left}" x2="{left + plot_w}" y1="{y:.1f}" y2="{y:.1f}" stroke="#1d2330" '
            f'stroke-dasharray="10 4" stroke-width="1.5"><title>{escape(threshold.label)} '
            f"{_number(threshold.value)}</title></line>"
        )
    for event in events:
        x = x_of(event.at)
        parts.append(
            f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{top}" y2="{top + plot_h}" stroke="#5f6b7a" '
            f'stroke-dasharray="2 3" stroke-width="1.5"><title>{escape(event.label)} '
            f"({escape(event.at.strftime('%Y-%m-%d %H:%M'))})</title></line>"
        )
    for index, one in enumerate(series):
        colour, dash, shape = SERIES_STYLES[index % len(SERIES_STYLES)]
        points = sorted(one.points)
        path = " ".join(f"{x_of(t):.1f},{y_of(v):.1f}" for t, v in points)
        dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
        parts.append(
            f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2"{dash_attr}/>'
        )
        for t, v in points:
            label = f"{one.name} {_number(v)} at {t.strftime('%Y-%m-%d %H:%M')}"
            parts.append(_marker(shape, x_of(t), y_of(v), colour, label))
    y = height + 4
    for index, one in enumerate(series):
        colour, dash, shape = SERIES_STYLES[index % len(SERIES_STYLES)]
        dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
        parts.append(
            f'<line x1="{left}" x2="{left + 28}" y1="{y + 6}" y2="{y + 6}" stroke="{colour}" '
            f'stroke-width="2"{dash_attr}/>'
            + _marker(shape, left + 14, y + 6, colour, one.name)
            + f'<text x="{left + 36}" y="{y + 10}" font-size="12" fill="#1d2330">'
            f"{escape(one.name)}</text>"
        )
        y += 18
    for threshold in thresholds:
        parts.append(
            f'<line x1="{left}" x2="{left + 28}" y1="{y + 6}" y2="{y + 6}" stroke="#1d2330" '
            'stroke-dasharray="10 4" stroke-width="1.5"/>'
            f'<text x="{left + 36}" y="{y + 10}" font-size="12" fill="#1d2330">'
            f"threshold: {escape(threshold.label)} {_number(threshold.value)}</text>"
        )
        y += 18
    if events:
        parts.append(
            f'<line x1="{left + 14}" x2="{left + 14}" y1="{y}" y2="{y + 12}" stroke="#5f6b7a" '
            'stroke-dasharray="2 3" stroke-width="1.5"/>'
            f'<text x="{left + 36}" y="{y + 10}" font-size="12" fill="#1d2330">'
            f"deployment ({len(events)}; see the table)</text>"
        )
    names = ", ".join(s.name for s in series)
    label = f"{title}: {names} over time"
    total_height = height + legend_height + 8
    return mark_safe(
        f'<svg class="chart" role="img" aria-label="{escape(label)}" '
        f'viewBox="0 0 {width} {total_height}" width="{width}" height="{total_height}" '
        f'xmlns="http://www.w3.org/2000/svg"><title>{escape(label)}</title>'
        + "".join(parts)
        + "</svg>"
    )


def _bar_labels(picture: dict[str, Any]) -> list[str] | None:
    if picture.get("kind") == "histogram":
        edges = picture.get("edges") or []
        return [f"{_number(a)} to {_number(b)}" for a, b in pairwise(edges)]
    if picture.get("kind") == "categories":
        return [str(c) for c in picture.get("categories") or []]
    return None


def drift_picture_svg(*, feature: str, picture: dict[str, Any] | None) -> SafeString:
    """Reference against current shares, bar beside bar: grey outlined for the reference,
    solid dark for the current window (told apart by fill and outline, not colour alone)."""
    if not isinstance(picture, dict):
        return mark_safe("")
    labels = _bar_labels(picture)
    reference, current = picture.get("reference") or [], picture.get("current") or []
    if not labels or len(reference) != len(labels) or len(current) != len(labels):
        return mark_safe("")
    labels, reference, current = (
        labels[:MAX_PICTURE_BARS],
        reference[:MAX_PICTURE_BARS],
        current[:MAX_PICTURE_BARS],
    )
    width, height, top, bottom = 240, 80, 4, 16
    plot_h = height - top - bottom
    peak = max([*reference, *current, 1e-12])
    slot = width / len(labels)
    bar = max(slot / 2 - 1, 1)
    parts = []
    for i, name in enumerate(labels):
        for j, (share, fill, stroke, which) in enumerate(
            (
                (reference[i], "#dde2e8", "#5f6b7a", "reference"),
                (current[i], "#1d2330", "#1d2330", "current"),
            )
        ):
            h = (share or 0) / peak * plot_h
            x = i * slot + j * bar + 0.5
            parts.append(
                f'<rect x="{x:.1f}" y="{top + plot_h - h:.1f}" width="{bar:.1f}" '
                f'height="{h:.1f}" fill="{fill}" stroke="{stroke}" stroke-width="0.75">'
                f"<title>{escape(name)}: {which} {(share or 0):.1%}</title></rect>"
            )
    parts.append(
        f'<text x="0" y="{height - 3}" font-size="10" fill="#5f6b7a">{escape(labels[0])}</text>'
    )
    if len(labels) > 1:
        parts.append(
            f'<text x="{width}" y="{height - 3}" text-anchor="end" font-size="10" '
            f'fill="#5f6b7a">{escape(labels[-1])}</text>'
        )
    per = "bin" if picture["kind"] == "histogram" else "category"
    label = f"{feature}: share of rows per {per}, reference (light, outlined) beside current (dark)"
    return mark_safe(
        f'<svg class="picture" role="img" aria-label="{escape(label)}" viewBox="0 0 {width} '
        f'{height}" width="{width}" height="{height}" xmlns="http://www.w3.org/2000/svg">'
        f"<title>{escape(label)}</title>" + "".join(parts) + "</svg>"
    )
