"""Template helpers for rendering model cards."""

from __future__ import annotations

from typing import Any

from django import template

register = template.Library()


@register.filter
def importance_bars(importance: dict[str, float] | None) -> list[tuple[str, float, int]]:
    """(feature, value, bar width in percent of the largest), largest first.

    The card stores importance as a JSON object, whose key order the database does not keep.
    """
    if not importance:
        return []
    ordered = sorted(importance.items(), key=lambda item: item[1], reverse=True)
    top = ordered[0][1] or 1.0
    return [(name, value, round(100 * value / top)) for name, value in ordered]


@register.filter
def decision_past(decision: Any) -> str:
    return {"approve": "approved", "reject": "rejected"}.get(str(decision), str(decision))
