"""`{{ alert|rule_described }}`: an alert's rule in words; `{{ alert|status_now }}`: its
status as it stands now (a silence whose time has passed reads open)."""

from __future__ import annotations

from django import template
from django.utils import timezone

from monitoring import alert_pages
from monitoring.models import Alert

register = template.Library()


@register.filter
def rule_described(alert: Alert) -> str:
    return alert_pages.rule_described(alert)


@register.filter
def status_now(alert: Alert) -> str:
    return alert.status_at(timezone.now())
