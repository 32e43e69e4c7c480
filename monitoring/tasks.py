"""Monitoring tasks: thin wrappers that call monitoring.services.

`canary_evaluate_all` runs every minute from beat (CELERY_BEAT_SCHEDULE); without a broker,
`python manage.py evaluate_canaries` does the same. It is not retried: the next run is a
minute away, and a retry could overlap it.

`check_execute` runs one check on the `checks` queue (CELERY_TASK_ROUTES): acks late and
reject on worker lost (global settings) re-deliver it when its worker process dies, and the
service is idempotent, so the run is stored once. `check_scheduled` is what a check
schedule (django-celery-beat PeriodicTask) calls. `check_report_render` runs on the `checks` queue
and records its own failure on the report.

`retraining_execute` runs one retraining on the `retraining` queue (CELERY_TASK_ROUTES),
acks late like checks; the service is idempotent (a done run is not redone) and records
every failure on the run, so the task is not retried.
"""

from __future__ import annotations

from celery import shared_task

from governance.audit_context import Origin, acting_as
from monitoring.retraining import retraining_execute as retraining_execute_service
from monitoring.services import canary_decide_all
from monitoring.services import check_report_render as check_report_render_service
from monitoring.services.check_schedules import check_scheduled_request
from monitoring.services.checks import check_execute as check_execute_service


@shared_task(name="monitoring.canary_evaluate_all")
def canary_evaluate_all() -> dict[str, str]:
    """Promote or stop every canary whose verdict is in; returns model name -> action."""
    with acting_as(origin=Origin.TASK):
        outcomes = canary_decide_all()
    return {outcome.model: outcome.action for outcome in outcomes}


@shared_task(name="monitoring.check_execute")
def check_execute(run_id: int) -> str:
    """Run one queued check; returns its status."""
    with acting_as(origin=Origin.TASK):
        return check_execute_service(run_id=run_id).status


@shared_task(name="monitoring.check_scheduled")
def check_scheduled(model: str, kind: str) -> str:
    """Queue the scheduled check of the model's production version."""
    with acting_as(origin=Origin.TASK):
        outcome = check_scheduled_request(model_name=model, kind=kind)
    return f"queued run {outcome.run.pk}" if outcome.run else f"skipped: {outcome.skipped}"


@shared_task(name="monitoring.check_report_render")
def check_report_render(report_id: int) -> str:
    """Render one check's Evidently report (monitoring/reports.py); returns its status."""
    with acting_as(origin=Origin.TASK):
        return check_report_render_service(report_id=report_id).status


@shared_task(name="monitoring.retraining_execute", acks_late=True)
def retraining_execute(run_id: int) -> str:
    """Run one queued retraining; returns its status."""
    with acting_as(origin=Origin.TASK):
        return retraining_execute_service(run_id=run_id).status
