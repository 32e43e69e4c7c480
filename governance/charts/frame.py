"""What every chart shares: its data classes, series styles, the value scale, the <svg>
element with its text alternative, and the message shown when there is nothing to draw."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from django.utils.html import escape, format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.text import slugify

# A point's position along the horizontal axis: a moment, or a number such as a training step.
Position = datetime | float

# (stroke colour, dash pattern, marker) per series, in order; colour is never the only cue.
SERIES_STYLES = (
    ("#1f5fbf", "", "circle"),
    ("#b3261e", "6 3", "square"),
    ("#1c7c43", "2 3", "triangle"),
    ("#9a6700", "8 3 2 3", "diamond"),
    ("#5f3dc4", "1 2", "cross"),
)
INK, MUTED, GRID, FRAME = "#1d2330", "#5f6b7a", "#eef1f5", "#dde2e8"
THRESHOLD_DASH = "10 4"
EVENT_DASH = "2 3"


@dataclass(frozen=True)
class Series:
    name: str
    points: list[tuple[Position, float]]


@dataclass(frozen=True)
class Threshold:
    """A horizontal line at `value` (a vertical one in a bar chart), labelled where drawn."""

    label: str
    value: float


@dataclass(frozen=True)
class Event:
    """Something that happened at one moment (a deployment): a dotted vertical line."""

    label: str
    at: Position


def number(value: float) -> str:
    return f"{value:.4g}"


def position_text(value: Position) -> str:
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    return number(value)


def position_number(value: Position) -> float:
    return value.timestamp() if isinstance(value, datetime) else float(value)


def value_range(values: Iterable[float]) -> tuple[float, float]:
    """The span of the value axis: 0 to 1 when everything is a share or a rate (so such
    charts share a scale); otherwise from zero (or the lowest value, when negative) to the
    highest, padded by 5% on each side that does not stop at zero."""
    values = list(values)
    low, high = min(values), max(values)
    if low >= 0 and high <= 1:
        return 0.0, 1.0
    low, high = min(low, 0.0), max(high, 0.0)
    pad = (high - low) * 0.05
    return (low - pad if low < 0 else low), (high + pad if high > 0 else high)


def marker(shape: str, x: float, y: float, colour: str, label: str) -> str:
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


def text(x: float, y: float, content: str, *, size: int = 12, anchor: str = "start") -> str:
    anchor_attr = f' text-anchor="{anchor}"' if anchor != "start" else ""
    fill = INK if size >= 12 else MUTED
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" fill="{fill}"{anchor_attr}>'
        f"{escape(content)}</text>"
    )


def element_id(title: str, given: str | None) -> str:
    """The id prefix of a chart's <title> and <desc>: given, or derived from its title."""
    if given:
        return slugify(given) or "chart"
    digest = hashlib.sha256(title.encode()).hexdigest()[:8]
    return f"chart-{slugify(title)[:40]}-{digest}"


def svg(
    *, kind: str, ident: str, title: str, desc: str, width: int, height: int, body: list[str]
) -> SafeString:
    """The <svg> element: an image named by its <title> and described by its <desc>."""
    return mark_safe(
        f'<svg class="{kind}" role="img" aria-labelledby="{ident}-title {ident}-desc" '
        f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'xmlns="http://www.w3.org/2000/svg">'
        f'<title id="{ident}-title">{escape(title)}</title>'
        f'<desc id="{ident}-desc">{escape(desc)}</desc>' + "".join(body) + "</svg>"
    )


def no_data(title: str) -> SafeString:
    """What a chart without any point shows instead of an empty picture."""
    return format_html('<p class="chart-empty">{}: no data yet.</p>', title)
