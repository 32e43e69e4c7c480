"""Drift pictures for the check page (the charts themselves are governance.charts).

No script and no inline style (the site's CSP): geometry and colours are SVG presentation
attributes, every text is escaped; reference and current bars differ by fill and outline,
not by colour alone.
"""

from __future__ import annotations

from itertools import pairwise
from typing import Any

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from governance.charts.frame import number as _number

MAX_PICTURE_BARS = 20


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
