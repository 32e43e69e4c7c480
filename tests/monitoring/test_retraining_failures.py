"""Every way a retraining run fails: a clear reason on the run and the incident's timeline,
and nothing half-made left (no registered version, no promotion request, no MLflow run
that looks like a candidate)."""

from __future__ import annotations

import socket
from datetime import timedelta
from typing import Any

import numpy as np
import pytest
from django.test import TestCase, override_settings
from django.utils import timezone

from governance.services import user_set_roles
from models_registry import demo_model, mlflow_adapter
from models_registry.models import ModelVersion
from monitoring.alert_models import Alert
from monitoring.models import Incident, IncidentEvent, RetrainingRun
from monitoring.retraining import retraining_abandon
from monitoring.signals import retraining_wanted
from reviews.models import PromotionRequest
from tests.monitoring.retraining_data import (
    churn_in_production,
    drifted_traffic,
    execute_again,
    run_retraining,
)

pytestmark = pytest.mark.django_db


def retraining_runs_in_mlflow(run: RetrainingRun, *, deleted: bool = False) -> list[Any]:
    """Live (or deleted) MLflow runs that `run` logged (the store is shared by the session,
    so they are told apart by the run's tag and start time)."""
    from mlflow.entities import ViewType

    client = mlflow_adapter.client()
    experiment = client.get_experiment_by_name(f"retraining-{run.model.name}")
    if experiment is None:
        return []
    since = int(run.queued_at.timestamp() * 1000)
    return client.search_runs(
        [experiment.experiment_id],
        filter_string=f"tags.`governance.retraining_run` = '{run.pk}' "
        f"and attributes.start_time >= {since}",
        run_view_type=ViewType.DELETED_ONLY if deleted else ViewType.ACTIVE_ONLY,
    )


def assert_nothing_half_made(run: RetrainingRun, versions: int = 1) -> None:
    assert run.status == RetrainingRun.Status.FAILED
    assert run.candidate_version is None
    assert run.promotion_request_id is None
    assert run.model.versions.count() == versions
    assert not PromotionRequest.objects.exists()
    assert not retraining_runs_in_mlflow(run)


def incident_for(version: ModelVersion) -> Incident:
    return Incident.objects.create(
        model=version.model,
        version=version,
        severity=Incident.Severity.WARNING,
        source=Incident.Source.DRIFT,
        title="Drift",
        description="inputs moved",
    )


def timeline(incident: Incident) -> list[str]:
    return list(
        IncidentEvent.objects.filter(incident=incident, kind__startswith="retraining")
        .order_by("id")
        .values_list("message", flat=True)
    )


@pytest.fixture
def production(users, make_model, make_version, churn_run) -> ModelVersion:
    trained = churn_run["trained"]
    return churn_in_production(users, make_model, make_version, churn_run["run_id"], trained.train)


@override_settings(RETRAINING_MIN_LABELS=200)
def test_too_few_labels_fail_with_the_count_and_nothing_registered(
    users, production, churn_run
) -> None:
    drifted_traffic(production, churn_run["trained"].model, rows=150, labelled=120)
    incident = incident_for(production)

    run = run_retraining(users["ds"], production.model, incident_id=incident.pk)

    assert "Too few labels" in run.reason
    assert "120 labelled records" in run.reason and "at least 200" in run.reason
    assert run.labelled_rows == 120
    assert_nothing_half_made(run)
    assert run.reason in timeline(incident)[-1]


def test_a_model_that_cannot_be_cloned_fails_and_nothing_is_registered(
    users, make_model, make_version, mlflow_store
) -> None:
    # Logged with skops and loadable (a dict of arrays), but not an estimator.
    run_id = mlflow_adapter.run_log_sklearn(
        model={"weights": np.array([0.2, 0.8])},
        experiment="tests-unclonable",
        params={},
        metrics={},
        input_example=demo_model.customers(rows=5)[demo_model.FEATURES],
    )
    version = churn_in_production(users, make_model, make_version, run_id, None)
    incident = incident_for(version)

    run = run_retraining(users["ds"], version.model, incident_id=incident.pk)

    assert run.reason.startswith("The production model cannot be cloned (dict)")
    assert_nothing_half_made(run)
    assert "cannot be cloned" in timeline(incident)[-1]


def test_a_pickled_model_is_never_loaded_for_retraining(
    users, make_model, make_version, settings, churn_run
) -> None:
    settings.ALLOW_UNSAFE_MODEL_FORMATS = True
    trained = churn_run["trained"]
    run_id = mlflow_adapter.run_log_sklearn(
        model=trained.model,
        experiment="tests-pickle",
        params=trained.params,
        metrics=trained.metrics,
        input_example=trained.train[demo_model.FEATURES].head(5),
        serialization_format="cloudpickle",
    )
    version = churn_in_production(users, make_model, make_version, run_id, trained.train)

    run = run_retraining(users["ds"], version.model)

    assert "cannot be cloned" in run.reason and "runs the model author's code" in run.reason
    assert_nothing_half_made(run)


def closed_port() -> int:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        return listener.getsockname()[1]


@override_settings(RETRAINING_MIN_LABELS=200)
def test_an_unreachable_tracking_server_fails_cleanly(
    users, production, churn_run, settings
) -> None:
    drifted_traffic(production, churn_run["trained"].model, rows=220, labelled=210)
    incident = incident_for(production)
    store = settings.MLFLOW_TRACKING_URI
    settings.MLFLOW_TRACKING_URI = f"http://127.0.0.1:{closed_port()}"
    try:
        run = run_retraining(users["ds"], production.model, incident_id=incident.pk)
    finally:
        settings.MLFLOW_TRACKING_URI = store

    assert run.reason.startswith("The MLflow tracking server at http://127.0.0.1:")
    assert "did not answer" in run.reason
    assert_nothing_half_made(run)
    assert "did not answer" in timeline(incident)[-1]


@override_settings(RETRAINING_MIN_LABELS=200, RETRAINING_USERNAME="retraining-no-register")
def test_a_candidate_that_cannot_be_registered_leaves_no_mlflow_run(
    users, production, churn_run
) -> None:
    # An account without the register capability: the logged run is dropped again.
    user_set_roles(username="retraining-no-register", roles=["validator"])
    drifted_traffic(production, churn_run["trained"].model, rows=220, labelled=210)

    run = run_retraining(users["ds"], production.model)

    assert run.reason.startswith("The candidate could not be registered")
    assert_nothing_half_made(run)
    assert len(retraining_runs_in_mlflow(run, deleted=True)) == 1


def test_a_rule_that_wants_retraining_queues_a_run_linked_to_its_alert(users, production) -> None:
    incident = incident_for(production)
    now = timezone.now()
    alert = Alert.objects.create(
        model=production.model,
        version=production,
        rule_key="drift-share",
        rule={"metric": "drift_share", "action": "retrain"},
        metric="drift_share",
        value=0.8,
        threshold=0.5,
        comparison="gt",
        severity=Alert.Severity.WARNING,
        first_seen=now,
        last_seen=now,
        incident=incident,
    )
    with (
        override_settings(RETRAINING_MIN_LABELS=10**6),
        TestCase.captureOnCommitCallbacks(execute=True),
    ):
        retraining_wanted.send(sender=Alert, alert=alert)
        # Fired again while its run is queued: a refusal the receiver logs, not an error.
        retraining_wanted.send(sender=Alert, alert=alert)
    run = RetrainingRun.objects.get()
    assert run.trigger == RetrainingRun.Trigger.RULE
    assert run.requested_by is None
    assert (run.alert, run.incident) == (alert, incident)
    assert run.status == RetrainingRun.Status.FAILED and "Too few labels" in run.reason


def test_a_run_whose_request_cannot_be_opened_rejects_its_candidate(
    users, make_version, production
) -> None:
    candidate = make_version(production.model)
    run = RetrainingRun.objects.create(
        model=production.model,
        base_version=production,
        window_start=timezone.now(),
        window_end=timezone.now(),
        status=RetrainingRun.Status.DONE,
        candidate_version=candidate,
    )

    retraining_abandon(run_id=run.pk, reason="the board's policy is missing")

    run.refresh_from_db()
    candidate.refresh_from_db()
    assert run.status == RetrainingRun.Status.FAILED
    assert "the board's policy is missing" in run.reason
    assert candidate.stage == ModelVersion.Stage.REJECTED


@override_settings(RETRAINING_MIN_LABELS=10**6, RETRAINING_MAX_ATTEMPTS=3)
def test_a_run_whose_worker_died_is_started_again_until_the_attempts_run_out(
    production,
) -> None:
    stuck = RetrainingRun.objects.create(
        model=production.model,
        base_version=production,
        window_start=timezone.now() - timedelta(hours=1),
        window_end=timezone.now(),
        status=RetrainingRun.Status.RUNNING,
        attempts=1,
    )
    again = execute_again(stuck)
    assert again.attempts == 2
    assert "Too few labels" in again.reason  # it ran again, to its own end

    stuck.status, stuck.attempts = RetrainingRun.Status.RUNNING, 3
    stuck.save()
    last = execute_again(stuck)
    assert last.status == RetrainingRun.Status.FAILED
    assert last.attempts == 3
    assert "started 3 times" in last.reason


def test_the_task_is_routed_to_the_retraining_queue() -> None:
    from governance.celery import app

    route = app.amqp.router.route({}, "monitoring.retraining_execute")
    assert route["queue"].name == "retraining"
    assert app.tasks["monitoring.retraining_execute"].acks_late
