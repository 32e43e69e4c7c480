"""Schedules of checks: one django-celery-beat PeriodicTask per model and kind.

Beat (DatabaseScheduler) reads them when a broker is configured; the embedded mode, which
has no beat, runs the due ones with `manage.py run_due_checks`. Due is decided by
django-celery-beat's own ModelEntry in both, so the two modes agree. Compliance officers edit
them in the admin (Periodic tasks); `check_schedules_ensure` only adds missing ones and never
overwrites an edited schedule.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django_celery_beat.models import CrontabSchedule, PeriodicTask

from governance.audit.chain import audit_record
from governance.errors import ApplicationError
from models_registry.models import ModelVersion, RegisteredModel
from monitoring.checks.inputs import reference_latest
from monitoring.checks.runner import BINARY
from monitoring.config import monitoring_settings
from monitoring.models import CheckRun

logger = logging.getLogger(__name__)

SCHEDULED_TASK = "monitoring.check_scheduled"
# Daily, at a quiet hour (UTC): yesterday's window, the default of `window_hours`.
DEFAULT_CRONTAB = {"minute": "0", "hour": "2", "day_of_week": "*", "day_of_month": "*"}
DEFAULT_KINDS = (CheckRun.Kind.DRIFT, CheckRun.Kind.QUALITY, CheckRun.Kind.FAIRNESS)


def schedule_name(model_name: str, kind: str) -> str:
    return f"{kind} check of {model_name}"


def production_version(model: RegisteredModel) -> ModelVersion | None:
    return model.versions.filter(stage=ModelVersion.Stage.PRODUCTION).first()


def _default_kinds(model: RegisteredModel, version: ModelVersion) -> list[str]:
    kinds = list(DEFAULT_KINDS)
    if monitoring_settings(model=model).task == BINARY and reference_latest(version=version):
        kinds.append(CheckRun.Kind.ESTIMATION)
    return kinds


@transaction.atomic
def check_schedule_save(*, actor: Any, task: PeriodicTask, changed: list[str]) -> PeriodicTask:
    """Store an edit of a check schedule (the admin's form: when it runs, whether it is
    enabled, its expiry, its description), with an audit event naming each changed field
    and its new value, so the trail shows who moved a model's checks, and when."""
    with transaction.atomic():
        task.save()
        if changed:
            audit_record(
                action="check_schedule.changed",
                object_type="check_schedule",
                object_id=task.pk,
                data={
                    "name": task.name,
                    "changed": {name: _described(getattr(task, name, None)) for name in changed},
                },
                actor=actor,
            )
    return task


def _described(value: Any) -> str | bool | int | None:
    if value is None or isinstance(value, bool | int | str):
        return value
    return str(value)  # a schedule, a moment: as the admin shows it


@transaction.atomic
def check_schedules_ensure(*, model: RegisteredModel) -> list[PeriodicTask]:
    """The default schedules of a model in production (daily drift, quality, fairness, and
    estimation for a binary classifier with reference data); existing ones are kept as
    they are. Returns the schedules it created."""
    version = production_version(model)
    if version is None:
        return []
    crontab, _ = CrontabSchedule.objects.get_or_create(
        **DEFAULT_CRONTAB, month_of_year="*", timezone="UTC"
    )
    created = []
    for kind in _default_kinds(model, version):
        task, made = PeriodicTask.objects.get_or_create(
            name=schedule_name(model.name, kind),
            defaults={
                "task": SCHEDULED_TASK,
                "crontab": crontab,
                "kwargs": json.dumps({"model": model.name, "kind": kind}),
                "description": f"Default daily {kind} check of {model.name}'s production version.",
            },
        )
        if made:
            created.append(task)
    return created


def check_schedules_ensure_all() -> list[PeriodicTask]:
    """Default schedules for every model with a production version."""
    created: list[PeriodicTask] = []
    production = ModelVersion.objects.filter(stage=ModelVersion.Stage.PRODUCTION)
    for model in RegisteredModel.objects.filter(pk__in=production.values("model_id")):
        created += check_schedules_ensure(model=model)
    return created


@dataclass(frozen=True)
class ScheduledOutcome:
    run: CheckRun | None
    skipped: str = ""


def check_scheduled_request(*, model_name: str, kind: str) -> ScheduledOutcome:
    """Queue the scheduled check of the model's production version, or say why not."""
    from monitoring.services.checks import check_request

    model = RegisteredModel.objects.filter(name=model_name).first()
    if model is None:
        return ScheduledOutcome(None, f"no model named {model_name}")
    version = production_version(model)
    if version is None:
        return ScheduledOutcome(None, f"{model_name} has no production version")
    try:
        run = check_request(
            actor=None,
            model=model,
            version=version.version,
            kind=kind,
            trigger=CheckRun.Trigger.SCHEDULE,
        )
    except ApplicationError as refused:
        logger.warning("scheduled %s check of %s skipped: %s", kind, model_name, refused.detail)
        return ScheduledOutcome(None, str(refused.detail))
    return ScheduledOutcome(run)


def due_schedules() -> list[Any]:
    """The enabled check schedules due now, as django-celery-beat's scheduler decides."""
    from django_celery_beat.schedulers import ModelEntry

    from governance.celery import app

    entries = []
    for task in PeriodicTask.objects.filter(task=SCHEDULED_TASK, enabled=True):
        entry = ModelEntry(task, app=app)
        if entry.is_due().is_due:
            entries.append(entry)
    return entries


def check_schedules_run_due() -> list[tuple[str, ScheduledOutcome]]:
    """Run every due check schedule in this process and record that it ran (embedded mode)."""
    outcomes = []
    for entry in due_schedules():
        kwargs = json.loads(entry.model.kwargs or "{}")
        next(entry).save()  # last_run_at = now, total_run_count + 1, as beat records it
        outcome = check_scheduled_request(
            model_name=kwargs.get("model", ""), kind=kwargs.get("kind", "")
        )
        outcomes.append((entry.name, outcome))
    return outcomes
