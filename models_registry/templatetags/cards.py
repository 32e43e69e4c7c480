"""Template helpers for rendering model cards."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django import template
from django.utils.dateparse import parse_datetime
from django.utils.safestring import SafeString

from models_registry.card_charts import HistoryChart, group_bar_charts, metric_history_charts

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


@register.filter
def iso_moment(value: Any) -> datetime | str:
    """A card's ISO 8601 timestamp as a datetime, so `|date` formats it like every other
    moment on the page; anything unreadable is shown as it is."""
    try:
        return parse_datetime(str(value)) or str(value)
    except ValueError:
        return str(value)


@register.filter
def measure(value: Any) -> str:
    """A metric as a table shows it: floats to four decimals (thousands and above whole,
    with separators), whole numbers as they are, nothing as a dash."""
    if value is None or value == "":
        return "—"
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.4f}"


@register.filter
def diff_value(value: Any) -> str:
    """A card value in the diff: numbers as `measure` shows them, a list of plain values
    joined, nothing as empty."""
    if value is None:
        return ""
    if isinstance(value, list) and all(not isinstance(item, dict | list) for item in value):
        return ", ".join(diff_value(item) for item in value)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return measure(value)
    return str(value)


@register.filter
def group_bars(evaluation: dict[str, Any] | None, attribute: str) -> list[tuple[str, SafeString]]:
    return group_bar_charts(evaluation, attribute)


@register.filter
def history_charts(history: dict[str, Any] | None) -> list[HistoryChart]:
    return metric_history_charts(history)
