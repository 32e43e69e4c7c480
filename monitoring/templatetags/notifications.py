"""`{% failed_notifications model %}`: the messages about a model's alerts that were given up
on, for the model's monitoring page (monitoring/notify/selectors.py decides which)."""

from __future__ import annotations

from typing import Any

from django import template

from monitoring.notify.selectors import failed_deliveries

register = template.Library()

SHOWN = 10


@register.inclusion_tag("monitoring/_failed_notifications.html")
def failed_notifications(model: Any) -> dict[str, Any]:
    deliveries = list(failed_deliveries(model)[: SHOWN + 1])
    return {"deliveries": deliveries[:SHOWN], "more": len(deliveries) > SHOWN}
