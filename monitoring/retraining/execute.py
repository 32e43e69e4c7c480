"""Executing a retraining run: load, clone, fit, compare, log, register; or fail cleanly.

The task may run more than once for one run (acks late: a worker that dies mid-run has its
message re-delivered). A finished run is returned as it is; a started one is started again
(its earlier attempt died), up to RETRAINING_MAX_ATTEMPTS. Loading, fitting and logging
happen outside any transaction. The candidate is registered in the transaction that marks
the run done, under the run's row lock, so a version is registered once per run and never
without the run saying so; an attempt that finds the run finished by another drops the
MLflow run it logged.

Failure paths, each a `reason` on the run and an entry on its incident's timeline, leaving
no registered version and no promotion request: too few labels; a production model that
cannot be loaded safely or cloned; an MLflow tracking server that does not answer (reading
the production model, logging the run, or reading it back to register it).

Lock order: a running run's row is locked before its model's (registration locks the model
inside); nothing locks a running run's row while holding its model. Once the run is done,
reviews and `retraining_abandon` lock the model (and version) first, then the run.
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from governance.errors import ApplicationError
from governance.history import set_change_reason
from governance.services import audit_record
from models_registry.model_artifact import RecordedArtifact
from models_registry.models import ModelVersion
from monitoring.config import monitoring_settings
from monitoring.models import RetrainingRun
from monitoring.retraining.requests import retraining_account
from monitoring.retraining.training import Retrained, RetrainingRefused, cloned, retrain
from monitoring.services.incidents import incident_event_add
from monitoring.signals import retraining_finished

logger = logging.getLogger(__name__)


def _tracking_error(error: BaseException) -> bool:
    from mlflow.exceptions import MlflowException

    return isinstance(error, MlflowException | OSError)


def _tracking_reason(step: str, error: BaseException) -> str:
    from models_registry.mlflow_adapter import tracking_uri

    return (
        f"The MLflow tracking server at {tracking_uri()} did not answer while {step}: "
        f"{type(error).__name__}: {str(error)[:300]}"
    )


def _timeline(
    run: RetrainingRun, message: str, actor: Any = None, *, kind: str = "retraining_finished"
) -> None:
    if run.incident_id is not None:
        incident_event_add(
            incident=run.incident,
            kind=kind,
            message=message,
            actor=actor,
            data={"retraining_run": run.pk},
        )


@transaction.atomic
def _start(run_id: int) -> tuple[RetrainingRun, str]:
    """The run, marked running; or a reason to stop ("finished", or too many attempts)."""
    run = RetrainingRun.objects.select_for_update().get(pk=run_id)
    if run.is_finished:
        return run, "finished"
    if run.attempts >= settings.RETRAINING_MAX_ATTEMPTS:
        return run, (
            f"The run was started {run.attempts} times and its worker never finished it "
            "(killed, out of memory?); it is not started again."
        )
    run.status = RetrainingRun.Status.RUNNING
    run.attempts += 1
    run.started_at = timezone.now()
    set_change_reason(run, f"started (attempt {run.attempts})")
    run.save(update_fields=["status", "attempts", "started_at"])
    return run, ""


def retraining_execute(*, run_id: int) -> RetrainingRun:
    """Run a queued retraining; a finished run is returned as it is."""
    run, stop = _start(run_id)
    if stop == "finished":
        return run
    if stop:
        return _fail(run_id, stop)
    try:
        retrained = _compute(run)
    except RetrainingRefused as error:
        return _fail(run_id, str(error), labelled_rows=error.labelled_rows)
    except Exception as error:  # any failure ends the run, with a readable reason
        logger.exception("retraining run %s failed", run_id)
        return _fail(run_id, f"{type(error).__name__}: {str(error)[:500]}")
    try:
        mlflow_run_id = _log(run, retrained)
    except Exception as error:
        logger.warning("retraining run %s: logging to MLflow failed", run_id, exc_info=True)
        return _fail(run_id, _tracking_reason("the run was logged", error))
    try:
        done = _register(run_id, retrained, mlflow_run_id)
    except Exception as error:
        logger.warning("retraining run %s: registration failed", run_id, exc_info=True)
        _forget(mlflow_run_id)
        if _tracking_error(error):
            return _fail(run_id, _tracking_reason("the new run was read to register it", error))
        detail = error.detail if isinstance(error, ApplicationError) else error
        return _fail(run_id, f"The candidate could not be registered: {detail}")
    if done is None:  # another attempt finished the run first
        _forget(mlflow_run_id)
        return RetrainingRun.objects.get(pk=run_id)
    return done


def _compute(run: RetrainingRun) -> Retrained:
    from models_registry.model_loading import LoadPurpose, ModelNotLoadable, model_load
    from models_registry.serving.loader import feature_spec

    base = run.base_version
    record = RecordedArtifact.of(base.run_facts)
    if record is None or record.format is None:
        raise RetrainingRefused(
            f"The production model cannot be cloned: v{base.version} has no recorded MLflow "
            "model to load."
        )
    unsafe = record.format.unsafe_reason()
    if unsafe:
        # Even where ALLOW_UNSAFE_MODEL_FORMATS lets a worker load such a model, retraining
        # does not: it would run the author's code to make a version nobody reviewed yet.
        raise RetrainingRefused(
            f"The production model cannot be cloned: {unsafe}; retraining loads only "
            "scikit-learn models stored with skops and the trusted types."
        )
    try:
        estimator = model_load(version=base, purpose=LoadPurpose.ANALYSIS)
    except ModelNotLoadable as error:
        raise RetrainingRefused(
            f"The production model cannot be loaded to be cloned: {error.detail}"
        ) from error
    except Exception as error:
        if _tracking_error(error):
            raise RetrainingRefused(
                _tracking_reason(f"v{base.version}'s model was read", error)
            ) from error
        raise
    model = cloned(estimator)  # before reading any data: an unclonable model fails fast
    try:
        spec = feature_spec(base)
    except ApplicationError as error:
        raise RetrainingRefused(str(error.detail)) from error
    config = monitoring_settings(model=run.model)
    return retrain(
        estimator=estimator,
        model=model,
        version=base,
        spec=spec,
        start=run.window_start,
        end=run.window_end,
        task=config.task,
        threshold=config.threshold,
    )


def _log(run: RetrainingRun, retrained: Retrained) -> str:
    from models_registry.mlflow_adapter import run_log_sklearn

    base, data = run.base_version, retrained.data
    author = (run.requested_by or retraining_account()).get_username()
    params = {key: str(value)[:500] for key, value in (base.params or {}).items()}
    params.update(
        {
            "retrained_from_version": base.version,
            "retraining_run": run.pk,
            "window_start": run.window_start.isoformat(),
            "window_end": run.window_end.isoformat(),
            "labelled_rows": data.labelled_rows,
            "reference_rows": data.reference_rows,
            "train_rows": len(data.train_y),
            "holdout_rows": len(data.holdout_y),
        }
    )
    metrics = {name: value for name, value in retrained.new.items() if value is not None}
    metrics.update(
        {f"current_{name}": value for name, value in retrained.current.items() if value is not None}
    )
    tags = {
        # The person who asked is the run's author: reviews.duties keeps them from signing.
        "mlflow.user": author,
        "mlflow.runName": f"retraining-{run.pk}-{run.model.name}",
        "governance.retraining_run": str(run.pk),
        "governance.base_version": str(base.version),
        "governance.trigger": run.trigger,
        "governance.window_start": run.window_start.isoformat(),
        "governance.window_end": run.window_end.isoformat(),
        "governance.incident": str(run.incident_id or ""),
        "governance.alert": str(run.alert_id or ""),
    }
    return run_log_sklearn(
        model=retrained.model,
        experiment=f"{settings.RETRAINING_EXPERIMENT}-{run.model.name}",
        params=params,
        metrics=metrics,
        input_example=data.train_x.head(5),
        tags=tags,
    )


def _forget(mlflow_run_id: str) -> None:
    from models_registry.mlflow_adapter import run_delete

    try:
        run_delete(mlflow_run_id)
    except Exception:  # the tracking server is down: the run stays, unregistered
        logger.warning("could not delete MLflow run %s", mlflow_run_id, exc_info=True)


@transaction.atomic
def _register(run_id: int, retrained: Retrained, mlflow_run_id: str) -> RetrainingRun | None:
    from models_registry.services import version_register

    run = (
        RetrainingRun.objects.select_for_update(of=("self",))
        .select_related("model", "base_version")
        .get(pk=run_id)
    )
    if run.is_finished:
        return None
    # Reads the run back from MLflow inside this transaction (seconds): the version and the
    # run's `done` commit together or not at all.
    version = version_register(
        actor=retraining_account(), model=run.model, mlflow_run_id=mlflow_run_id
    )
    data = retrained.data
    run.status = RetrainingRun.Status.DONE
    run.reason = ""
    run.candidate_version = version
    run.mlflow_run_id = mlflow_run_id
    run.labelled_rows = data.labelled_rows
    run.reference_rows = data.reference_rows
    run.metrics = {
        "task": monitoring_settings(model=run.model).task,
        "holdout_rows": len(data.holdout_y),
        "train_rows": len(data.train_y),
        "new": retrained.new,
        "current": retrained.current,
    }
    run.finished_at = timezone.now()
    set_change_reason(run, f"done: registered v{version.version}")
    run.save()
    audit_record(
        action="retraining.completed",
        object_type="retraining_run",
        object_id=run.pk,
        data={
            "model": run.model.name,
            "base_version": run.base_version.version,
            "candidate_version": version.version,
            "mlflow_run_id": mlflow_run_id,
            "labelled_rows": data.labelled_rows,
            "metrics": run.metrics,
        },
    )
    _timeline(
        run,
        f"Retraining run #{run.pk} registered candidate v{version.version} (MLflow run "
        f"{mlflow_run_id}). {_summary(run)}",
    )
    transaction.on_commit(
        lambda: retraining_finished.send(sender=RetrainingRun, run=run), robust=True
    )
    return run


def _summary(run: RetrainingRun) -> str:
    new, current = run.metrics.get("new", {}), run.metrics.get("current", {})
    return "New vs current: " + ", ".join(
        f"{name} {new.get(name)} vs {current.get(name)}" for name in new
    )


@transaction.atomic
def _fail(run_id: int, reason: str, *, labelled_rows: int | None = None) -> RetrainingRun:
    run = (
        RetrainingRun.objects.select_for_update(of=("self",)).select_related("model").get(pk=run_id)
    )
    if run.is_finished:
        return run
    run.status = RetrainingRun.Status.FAILED
    run.reason = reason[:5000]
    run.finished_at = timezone.now()
    if labelled_rows is not None:
        run.labelled_rows = labelled_rows
    set_change_reason(run, "failed")
    run.save(update_fields=["status", "reason", "finished_at", "labelled_rows"])
    audit_record(
        action="retraining.failed",
        object_type="retraining_run",
        object_id=run.pk,
        data={"model": run.model.name, "reason": run.reason[:500], "attempts": run.attempts},
    )
    _timeline(run, f"Retraining run #{run.pk} failed: {run.reason}", kind="retraining_failed")
    transaction.on_commit(
        lambda: retraining_finished.send(sender=RetrainingRun, run=run), robust=True
    )
    return run


@transaction.atomic
def retraining_promotion_link(*, run_id: int, promotion_request_id: int) -> RetrainingRun:
    """Record the promotion request reviews opened for the run's candidate."""
    run = RetrainingRun.objects.select_for_update(of=("self",)).get(pk=run_id)
    run.promotion_request_id = promotion_request_id
    set_change_reason(run, f"promotion request #{promotion_request_id} opened")
    run.save(update_fields=["promotion_request_id"])
    _timeline(
        run,
        f"Promotion request #{promotion_request_id} (canary) opened for the retrained "
        f"candidate of run #{run.pk}; it waits for the board.",
    )
    return run


@transaction.atomic
def retraining_abandon(*, run_id: int, reason: str) -> RetrainingRun:
    """A done run whose promotion request could not be opened: its candidate is rejected
    (a number once given stays, so rejected is what a half-made candidate becomes) and the
    run fails with `reason`."""
    from models_registry.locking import lock_version_for_change
    from models_registry.services import version_reject

    candidate_id = RetrainingRun.objects.values_list("candidate_version_id", flat=True).get(
        pk=run_id
    )
    if candidate_id is not None:
        lock_version_for_change(candidate_id)
    run = (
        RetrainingRun.objects.select_for_update(of=("self",)).select_related("model").get(pk=run_id)
    )
    if candidate_id is not None:
        version = ModelVersion.objects.get(pk=candidate_id)
        version_reject(version=version, reason=f"retraining run #{run.pk} abandoned: {reason}")
    run.status = RetrainingRun.Status.FAILED
    run.reason = f"The promotion request could not be opened: {reason}"[:5000]
    set_change_reason(run, "failed: no promotion request")
    run.save(update_fields=["status", "reason"])
    audit_record(
        action="retraining.failed",
        object_type="retraining_run",
        object_id=run.pk,
        data={"model": run.model.name, "reason": run.reason[:500], "rejected": candidate_id},
    )
    _timeline(run, f"Retraining run #{run.pk} failed: {run.reason}", kind="retraining_failed")
    return run
