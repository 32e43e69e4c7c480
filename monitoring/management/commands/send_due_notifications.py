"""Send every notification attempt that is due now (what beat does every minute), in-process.

The embedded mode has no beat and no delayed tasks: run this from cron (e.g. every minute) so
retries go out. Prints one line per attempt.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from governance.audit_context import Origin, acting_as
from monitoring.services import notification_deliver, notifications_due


class Command(BaseCommand):
    help = "Make every due notification attempt (e-mail, webhook) now, in this process."

    def handle(self, *args: Any, **options: Any) -> None:
        with acting_as(origin=Origin.COMMAND):
            due = notifications_due()
            for item in due:
                delivery = notification_deliver(delivery_id=item.delivery_id, attempt=item.attempt)
                outcome = delivery.status if delivery is not None else "not due"
                self.stdout.write(f"delivery #{item.delivery_id} attempt {item.attempt}: {outcome}")
        if not due:
            self.stdout.write("No notification is due.")
