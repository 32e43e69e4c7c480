"""`{{ alert|rule_described }}`: an alert's rule in words, for the alert pages."""

from __future__ import annotations

from django import template

from monitoring import alert_pages
from monitoring.models import Alert

register = template.Library()


@register.filter
def rule_described(alert: Alert) -> str:
    return alert_pages.rule_described(alert)
