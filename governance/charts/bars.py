"""A horizontal bar chart: one bar per group, its value written beside it, and an optional
labelled reference line (the overall value, a threshold) across all bars."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from django.utils.html import escape
from django.utils.safestring import SafeString

from governance.charts.frame import (
    FRAME,
    INK,
    SERIES_STYLES,
    THRESHOLD_DASH,
    Threshold,
    element_id,
    no_data,
    number,
    svg,
    text,
    value_range,
)

BAR, GAP, TOP, LABEL_WIDTH, VALUE_WIDTH = 16, 8, 22, 150, 56


@dataclass(frozen=True)
class Bar:
    label: str
    value: float


def bar_chart_svg(
    *,
    title: str,
    bars: Sequence[Bar],
    reference: Threshold | None = None,
    width: int = 480,
    chart_id: str | None = None,
) -> SafeString:
    """Bars from zero to each value (leftwards for negative ones), each value written at the
    right end of its row. Without any bar, the "no data yet" message instead of an SVG."""
    if not bars:
        return no_data(title)
    values = [b.value for b in bars] + ([reference.value] if reference else [])
    low, high = value_range(values)
    plot_left, plot_width = LABEL_WIDTH, width - LABEL_WIDTH - VALUE_WIDTH

    def x_of(value: float) -> float:
        return plot_left + (value - low) / (high - low) * plot_width

    colour = SERIES_STYLES[0][0]
    plot_height = len(bars) * (BAR + GAP)
    parts = [
        f'<rect x="{plot_left}" y="{TOP - 4}" width="{plot_width}" height="{plot_height + 4}" '
        f'fill="#fff" stroke="{FRAME}"/>',
        text(plot_left, TOP - 8, number(low), size=11),
        text(plot_left + plot_width, TOP - 8, number(high), size=11, anchor="end"),
    ]
    zero = x_of(0.0)
    for index, bar in enumerate(bars):
        y = TOP + index * (BAR + GAP)
        start, end = sorted((zero, x_of(bar.value)))
        parts.append(
            text(plot_left - 6, y + BAR - 4, bar.label, anchor="end")
            + f'<rect x="{start:.1f}" y="{y}" width="{max(end - start, 1):.1f}" height="{BAR}" '
            f'fill="{colour}"><title>{escape(_said(bar))}</title></rect>'
            + text(plot_left + plot_width + 6, y + BAR - 4, number(bar.value), size=11)
        )
    if reference is not None:
        x = x_of(reference.value)
        parts.append(
            f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{TOP - 4}" y2="{TOP + plot_height}" '
            f'stroke="{INK}" stroke-dasharray="{THRESHOLD_DASH}" stroke-width="1.5"/>'
            + text(
                x,
                TOP + plot_height + 14,
                f"{reference.label} {number(reference.value)}",
                size=11,
                anchor="end" if x > plot_left + plot_width / 2 else "start",
            )
        )
    desc = "; ".join(_said(b) for b in bars)
    if reference is not None:
        desc += f"; dashed line: {reference.label} {number(reference.value)}"
    return svg(
        kind="chart bars",
        ident=element_id(title, chart_id),
        title=title,
        desc=desc + ".",
        width=width,
        height=TOP + plot_height + (22 if reference else 6),
        body=parts,
    )


def _said(bar: Bar) -> str:
    return f"{bar.label}: {number(bar.value)}"
