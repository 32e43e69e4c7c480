"""Monitoring tasks: thin wrappers that call monitoring.services.

`canary_evaluate_all` runs every minute from beat (CELERY_BEAT_SCHEDULE); without a broker,
`python manage.py evaluate_canaries` does the same. It is not retried: the next run is a
minute away, and a retry could overlap it.

`check_execute` runs one check on the `checks` queue (CELERY_TASK_ROUTES): acks late and
reject on worker lost (global settings) re-deliver it when its worker process dies, and the
service is idempotent, so the run is stored once. `check_scheduled` is what a check
schedule (django-celery-beat PeriodicTask) calls. `check_report_render` runs on the `checks` queue
and records its own failure on the report.

`alerts_evaluate_windows` runs every ALERTS_EVALUATE_SECONDS from beat: it ends expired
silences and evaluates the window alert rules of every live version; without a broker,
`python manage.py alerts_evaluate_windows` does the same. Not retried, as the canaries.

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
from monitoring.services.alerts import alerts_evaluate_windows as alerts_evaluate_windows_service
from monitoring.services.check_schedules import check_scheduled_request
from monitoring.services.checks import check_execute as check_execute_service
from monitoring.services.notifications import notification_deliver as notification_deliver_service
from monitoring.services.notifications import notifications_due


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


@shared_task(name="monitoring.check_runs_sweep")
def check_runs_sweep() -> dict[str, list[int]]:
    """Queue again the runs nobody works on (monitoring/services/check_sweep.py)."""
    from monitoring.services.check_sweep import check_runs_sweep as sweep

    with acting_as(origin=Origin.TASK):
        outcome = sweep()
    return {"requeued": outcome.requeued, "failed": outcome.failed}


@shared_task(name="monitoring.alerts_evaluate_windows")
def alerts_evaluate_windows() -> dict[str, list[str]]:
    """Window alert rules of every live version; returns "model vN" -> what each rule did."""
    with acting_as(origin=Origin.TASK):
        results = alerts_evaluate_windows_service()
    return {name: [result.action.value for result in found] for name, found in results.items()}


@shared_task(name="monitoring.notification_deliver")
def notification_deliver(delivery_id: int, attempt: int = 1) -> str:
    """Make one attempt at a notification; after a failure, queue the next for when it is due.

    A duplicate (a re-delivered message, the sweeper's copy) finds it is not its turn and
    does nothing. Without a broker the next attempt runs at once, finds it is not due yet,
    and is left to `notifications_send_due` (`manage.py send_due_notifications`).
    """
    with acting_as(origin=Origin.TASK):
        delivery = notification_deliver_service(delivery_id=delivery_id, attempt=attempt)
    if delivery is None:
        return "not due"
    if delivery.status == delivery.Status.PENDING and delivery.next_attempt_at is not None:
        notification_deliver.apply_async(
            (delivery.pk, delivery.attempts + 1), eta=delivery.next_attempt_at
        )
    return delivery.status


@shared_task(name="monitoring.notifications_send_due")
def notifications_send_due() -> int:
    """Queue every notification attempt that is due (beat, every minute); returns how many."""
    with acting_as(origin=Origin.TASK):
        due = notifications_due()
    for item in due:
        notification_deliver.delay(item.delivery_id, item.attempt)
    return len(due)


@shared_task(name="monitoring.retraining_execute", acks_late=True)
def retraining_execute(run_id: int) -> str:
    """Run one queued retraining; returns its status."""
    with acting_as(origin=Origin.TASK):
        return retraining_execute_service(run_id=run_id).status


@shared_task(name="monitoring.flag_comments_erase")
def flag_comments_erase() -> int:
    """The daily run (beat) behind the receiver of `inference_log_erased`: comments of flags
    on erased or deleted predictions are erased; returns how many."""
    from monitoring.services.flags import flag_comments_erase as erase

    with acting_as(origin=Origin.TASK):
        return erase()
