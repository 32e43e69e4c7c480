"""Alerts become notifications: the rule engine's `alert_fired` and `alert_resolved` (sent on
commit) create the deliveries the routes call for and queue their first attempt once those
are committed. Wired in MonitoringConfig.ready()."""

from __future__ import annotations

import logging
from functools import partial
from typing import Any

from django.db import transaction
from django.dispatch import receiver

from monitoring.alert_models import Alert
from monitoring.notification_models import NotificationDelivery
from monitoring.services.notifications import notifications_for_alert
from monitoring.signals import alert_fired, alert_resolved
from monitoring.tasks import notification_deliver

logger = logging.getLogger(__name__)


def _notify(alert: Alert, event: str) -> None:
    # Other receivers of the same signal (incidents) must run even if this one fails.
    try:
        deliveries = notifications_for_alert(alert=alert, event=event)
    except Exception:
        logger.exception("Could not create the notifications of alert #%s %s", alert.pk, event)
        return
    for delivery in deliveries:
        transaction.on_commit(partial(notification_deliver.delay, delivery.pk, 1), robust=True)


@receiver(alert_fired)
def notify_on_alert_fired(sender: Any, alert: Alert, created: bool, **kwargs: Any) -> None:
    # A repeat breach (created=False) notifies only when the severity rose: the service
    # knows what each endpoint was told.
    _notify(alert, NotificationDelivery.Event.FIRED)


@receiver(alert_resolved)
def notify_on_alert_resolved(sender: Any, alert: Alert, **kwargs: Any) -> None:
    _notify(alert, NotificationDelivery.Event.RESOLVED)
