from __future__ import annotations

from django import template

from monitoring.canary import percent as percent_text

register = template.Library()


@register.filter
def percent(rate: float | None) -> str:
    """0.0123 -> "1.23%", as the canary gates word it; None -> "—"."""
    return "—" if rate is None else percent_text(rate)
