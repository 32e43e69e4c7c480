"""Monitoring tasks: thin wrappers that call monitoring.services.

`canary_evaluate_all` runs every minute from beat (CELERY_BEAT_SCHEDULE); without a broker,
`python manage.py evaluate_canaries` does the same. It is not retried: the next run is a
minute away, and a retry could overlap it.
"""

from __future__ import annotations

from celery import shared_task

from governance.audit_context import Origin, acting_as
from monitoring.services import canary_decide_all


@shared_task(name="monitoring.canary_evaluate_all")
def canary_evaluate_all() -> dict[str, str]:
    """Promote or stop every canary whose verdict is in; returns model name -> action."""
    with acting_as(origin=Origin.TASK):
        outcomes = canary_decide_all()
    return {outcome.model: outcome.action for outcome in outcomes}
