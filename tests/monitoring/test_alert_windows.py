"""Alert rules wired to their sources: window measurements of live versions (periodic task
and command), a real drift check through check_completed, and racing evaluations."""

from __future__ import annotations

import threading
from datetime import timedelta
from io import StringIO
from typing import Any

import numpy as np
import pandas as pd
import pytest
from django.core.management import call_command
from django.db import connection
from django.test import TestCase
from django.utils import timezone

from governance.audit_context import Origin, acting_as
from governance.services import audit_chain_verify
from models_registry import services as registry
from monitoring.models import Alert, CheckRun, Incident
from monitoring.services import check_request
from monitoring.services.alerts import Action, alerts_evaluate_run, alerts_evaluate_window
from monitoring.tasks import alerts_evaluate_windows
from tests.conftest import is_postgres, skip_unless
from tests.monitoring.alert_helpers import configure, finished_run, served_calls, signals_sent
from tests.monitoring.check_helpers import log_window, upload_reference

ERROR_RULE = {"metric": "error_rate", "threshold": 0.1, "severity": "critical", "min_samples": 20}


@pytest.fixture
def live(users, make_model, make_version) -> dict[str, Any]:
    """v1 in production, v2 on canary."""
    model = make_model()
    v1, v2 = make_version(model), make_version(model)
    with acting_as(origin=Origin.SYSTEM):
        registry.deployment_promote(version=v1, actor=users["ds"])
        registry.deployment_start_canary(version=v2, actor=users["ds"], traffic=20)
    v1.refresh_from_db()
    v2.refresh_from_db()
    return {"model": model, "v1": v1, "v2": v2}


def run_task() -> dict[str, list[str]]:
    with TestCase.captureOnCommitCallbacks(execute=True):
        return alerts_evaluate_windows.delay().get()


def test_the_periodic_task_evaluates_window_rules_of_every_live_version(live):
    configure(
        live["model"],
        [ERROR_RULE, {"metric": "p95_latency_ms", "threshold": 500, "severity": "info"}],
    )
    served_calls(live["v1"], 40, errors=2)
    served_calls(live["v2"], 30, errors=9, latency_ms=800)
    served_calls(live["v2"], 30, errors=30, minutes_ago=120)  # outside the hour

    with signals_sent() as sent:
        results = run_task()

    name = live["model"].name
    assert results == {f"{name} v1": ["clean", "clean"], f"{name} v2": ["opened", "opened"]}
    errors = Alert.objects.get(metric="error_rate")
    assert (errors.version, errors.value, errors.check_run) == (live["v2"], 0.3, None)
    assert Alert.objects.get(metric="p95_latency_ms").value == 800
    assert Incident.objects.get().severity == "critical"  # the info alert joins none
    assert sorted(created for _, _, created in sent) == [True, True]


def test_too_few_calls_in_the_window_skip_a_window_rule(live):
    configure(live["model"], [ERROR_RULE])
    served_calls(live["v1"], 19, errors=19)

    [result] = alerts_evaluate_window(model=live["model"], version=live["v1"])

    assert result.action == Action.SKIPPED
    assert result.evaluation.reason == "19 rows, 20 needed"


def test_the_command_evaluates_windows_without_a_broker(live):
    configure(live["model"], [ERROR_RULE])
    served_calls(live["v1"], 25, errors=5)
    out = StringIO()

    with TestCase.captureOnCommitCallbacks(execute=True):
        call_command("alerts_evaluate_windows", stdout=out)

    alert = Alert.objects.get()
    assert (
        f"{live['model'].name} v1: opened (alert #{alert.pk}): error_rate = 0.2" in out.getvalue()
    )


def test_the_command_says_when_no_version_has_window_rules(live):
    configure(live["model"], [{"metric": "drift_share", "threshold": 0.3, "severity": "info"}])
    out = StringIO()

    call_command("alerts_evaluate_windows", stdout=out)

    assert out.getvalue().strip() == "No live version has window alert rules."


def test_a_canary_preset_compares_the_canary_with_production_on_one_window(live):
    """The shape of a canary gate: canary error rate minus production's, at most 0.01."""
    served_calls(live["v1"], 200, errors=2)
    served_calls(live["v2"], 60, errors=6)
    gate = {
        "metric": "error_rate",
        "threshold": 0.01,
        "comparison": ">",
        "severity": "critical",
        "relative": "difference",
        "min_samples": 50,
    }

    [result] = alerts_evaluate_window(
        model=live["model"], version=live["v2"], rules=[gate], baseline=live["v1"]
    )

    assert result.action == Action.OPENED
    assert result.evaluation.value == pytest.approx(0.09)
    assert result.evaluation.baseline == pytest.approx(0.01)
    assert result.alert.rule["relative"] == "difference"


def test_the_sweep_in_the_task_ends_expired_silences(live, users):
    configure(live["model"], [ERROR_RULE])
    served_calls(live["v1"], 25, errors=5)
    [result] = alerts_evaluate_window(model=live["model"], version=live["v1"])
    alert = result.alert
    alert.status, alert.silenced_until = "silenced", timezone.now() - timedelta(seconds=1)
    alert.save()

    run_task()

    alert.refresh_from_db()
    assert (alert.status, alert.count) == ("open", 2)


def test_a_real_drift_check_fires_its_rule_through_check_completed(users, make_model, make_version):
    version = make_version(make_model())
    configure(
        version.model,
        [{"metric": "drift_share", "threshold": 0.5, "severity": "warning", "min_samples": 100}],
    )
    rng = np.random.default_rng(7)
    upload_reference(
        users["ds"],
        version,
        pd.DataFrame({"tenure": rng.normal(10, 2, 2000), "spend": rng.normal(50, 5, 2000)}),
    )
    log_window(
        version,
        [
            {"features": {"tenure": float(t), "spend": float(s)}, "prediction": 0.5}
            for t, s in zip(rng.normal(16, 2, 300), rng.normal(50, 5, 300), strict=True)
        ],
    )

    with signals_sent() as sent, TestCase.captureOnCommitCallbacks(execute=True):
        run = check_request(actor=users["ds"], model=version.model, version=1, kind="drift")

    run.refresh_from_db()
    assert run.status == CheckRun.Status.DONE, run.error
    alert = Alert.objects.get()
    assert (alert.metric, alert.value, alert.check_run) == ("drift_share", 0.5, run)
    assert alert.incident.source == "alert" and alert.incident.version == version
    assert [(name, created) for name, _, created in sent] == [("fired", True)]


# --- races (PostgreSQL row locks) -----------------------------------------------------------


def evaluate_concurrently(run: CheckRun, threads: int) -> list[Any]:
    barrier = threading.Barrier(threads)
    results: list[Any] = [None] * threads

    def body(index: int) -> None:
        try:
            fresh = CheckRun.objects.select_related("model", "version").get(pk=run.pk)
            barrier.wait(timeout=60)
            with acting_as(origin=Origin.TASK):
                results[index] = [r.action for r in alerts_evaluate_run(run=fresh)]
        except BaseException as exc:
            results[index] = exc
        finally:
            connection.close()

    workers = [threading.Thread(target=body, args=(i,), daemon=True) for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
    assert not [w for w in workers if w.is_alive()], "threads still running (deadlock?)"
    return results


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_evaluations_racing_on_one_breach_leave_one_alert_and_one_incident(
    make_model, make_version
):
    skip_unless(is_postgres(), "row-lock races need PostgreSQL (set DATABASE_URL)")
    version = make_version(make_model())
    configure(
        version.model,
        [
            {"metric": "drift_share", "threshold": 0.3, "severity": "warning"},
            {"metric": "drift.tenure", "threshold": 0.1, "severity": "critical"},
        ],
    )
    run = finished_run(version, drift_share=0.5, **{"drift.tenure": 0.4})

    results = evaluate_concurrently(run, 6)

    assert not [r for r in results if isinstance(r, BaseException)], results
    assert sorted(map(tuple, results)) == [(Action.OPENED,) * 2] + [(Action.REPEATED,) * 2] * 5
    assert sorted(Alert.objects.values_list("metric", "count")) == [
        ("drift.tenure", 6),
        ("drift_share", 6),
    ]
    assert Incident.objects.count() == 1
    assert audit_chain_verify() == []


def test_a_failing_rule_evaluation_is_logged_and_other_listeners_still_hear(
    make_model, make_version, monkeypatch, caplog
):
    from monitoring import receivers
    from monitoring.signals import check_completed

    run = finished_run(make_version(make_model()), drift_share=0.5)
    heard = []

    def broken(**kwargs: Any) -> None:
        raise RuntimeError("rule engine down")

    def listener(sender: Any, run: Any, **kwargs: Any) -> None:
        heard.append(run.pk)

    monkeypatch.setattr(receivers, "alerts_evaluate_run", broken)
    check_completed.connect(listener)
    try:
        check_completed.send(sender=CheckRun, run=run)
    finally:
        check_completed.disconnect(listener)

    assert heard == [run.pk]
    assert f"alert rules of check run {run.pk} failed" in caplog.text
