"""Asking for a retraining run: validated like a check request, queued on commit.

Who asks: a person (API, a page's button, an incident page) holding REQUEST_RETRAINING, or
an alert rule whose action is `retrain` (no person: the `retraining_wanted` receiver).
Who registers the candidate and requests its promotion: the retraining account, a system
user holding only the `ci` role. CI accounts never sign off (governance.roles), a requester
never signs their own request (reviews.duties), and the person who started the run is
written into the MLflow run as its `mlflow.user`, so the run-author rule of reviews.duties
keeps them from signing the version they asked for too.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction

from governance.errors import Conflict, InvalidInput, NotFound
from governance.roles import Capability, Role
from governance.services import audit_record, require, user_set_roles
from models_registry.models import ModelVersion
from models_registry.selectors import model_get, version_get
from monitoring.models import Alert, Incident, RetrainingRun
from monitoring.services.checks import _window
from monitoring.services.incidents import incident_event_add

# Triggers with no person behind them.
UNATTENDED = {RetrainingRun.Trigger.RULE}


def _invalid(field: str, message: str) -> InvalidInput:
    return InvalidInput(message, extra={field: [message]})


def retraining_account() -> Any:
    """The system user that registers retrained candidates and requests their promotion."""
    user = get_user_model().objects.filter(username=settings.RETRAINING_USERNAME).first()
    if user is None:
        user, _ = user_set_roles(username=settings.RETRAINING_USERNAME, roles=[Role.CI.value])
    return user


def _linked(model: Any, incident_id: int | None, alert_id: int | None) -> tuple[Any, Any]:
    incident = alert = None
    if alert_id is not None:
        alert = Alert.objects.filter(pk=alert_id).first()
        if alert is None:
            raise NotFound(f"No alert #{alert_id}.")
        if alert.model_id != model.pk:
            raise _invalid("alert", f"Alert #{alert_id} is about another model.")
        if incident_id is None:
            incident_id = alert.incident_id
    if incident_id is not None:
        incident = Incident.objects.filter(pk=incident_id).first()
        if incident is None:
            raise NotFound(f"No incident #{incident_id}.")
        if incident.model_id != model.pk:
            raise _invalid("incident", f"Incident #{incident_id} is about another model.")
    return incident, alert


def retraining_request(
    *,
    actor: Any,
    model_name: str,
    version: int | None = None,
    window_start: datetime | None = None,
    window_end: datetime | None = None,
    incident_id: int | None = None,
    alert_id: int | None = None,
    trigger: str = RetrainingRun.Trigger.API,
) -> RetrainingRun:
    """Queue a retraining of the model's production version over a window of its log
    (default: the last RETRAINING_WINDOW_HOURS, ending now).

    403 without REQUEST_RETRAINING; 404 for an unknown model, version, incident or alert;
    400 for a bad window or trigger, or an incident or alert of another model; 409 when the
    version is not the one in production, there is none, or a run of the model is queued
    or running already. Runs when the caller commits.
    """
    if trigger not in RetrainingRun.Trigger.values:
        raise _invalid("trigger", f"Unknown trigger '{trigger}'.")
    if actor is not None or trigger not in UNATTENDED:
        require(actor, Capability.REQUEST_RETRAINING, "start retraining runs")
    model = model_get(name=model_name)
    production = ModelVersion.objects.filter(
        model=model, stage=ModelVersion.Stage.PRODUCTION
    ).first()
    if version is not None:
        base = version_get(model_name=model.name, version=version)
        if production is None or base.pk != production.pk:
            live = f"v{production.version}" if production else "no version"
            raise Conflict(
                f"{base} is {base.stage}; retraining clones the production version "
                f"({live} of {model.name}).",
                extra={"production_version": production.version if production else None},
            )
    elif production is None:
        raise Conflict(f"{model.name} has no version in production to retrain.")
    start, end = _window(window_start, window_end, settings.RETRAINING_WINDOW_HOURS)
    incident, alert = _linked(model, incident_id, alert_id)
    return _queue(
        model=model,
        base=production,
        start=start,
        end=end,
        incident=incident,
        alert=alert,
        trigger=trigger,
        actor=actor,
    )


@transaction.atomic
def _queue(
    *, model: Any, base: Any, start: datetime, end: datetime, incident, alert, trigger, actor
) -> RetrainingRun:
    # The model's row first (the lock order of governance/locking.py): two requests for one
    # model queue one run, and the second is told which.
    from models_registry.locking import lock_model_for_change

    lock_model_for_change(model.pk, live=False)
    active = RetrainingRun.objects.filter(model=model, status__in=RetrainingRun.ACTIVE).first()
    if active is not None:
        raise Conflict(
            f"Retraining run #{active.pk} of {model.name} is {active.status}; wait for it.",
            extra={"retraining_run": active.pk},
        )
    run = RetrainingRun.objects.create(
        model=model,
        base_version=base,
        window_start=start,
        window_end=end,
        incident=incident,
        alert=alert,
        trigger=trigger,
        requested_by=actor,
    )
    audit_record(
        action="retraining.requested",
        object_type="retraining_run",
        object_id=run.pk,
        data={
            "model": model.name,
            "version": base.version,
            "window_start": start.isoformat(),
            "window_end": end.isoformat(),
            "trigger": trigger,
            "incident": incident.pk if incident else None,
            "alert": alert.pk if alert else None,
        },
        actor=actor,
    )
    if incident is not None:
        incident_event_add(
            incident=incident,
            actor=actor,
            kind="retraining_started",
            message=f"Retraining run #{run.pk} of v{base.version} queued ({trigger}).",
            data={"retraining_run": run.pk},
        )
    # Imported here: monitoring.tasks imports the services.
    from monitoring.tasks import retraining_execute as retraining_execute_task

    transaction.on_commit(lambda: retraining_execute_task.delay(run.pk), robust=True)
    return run
