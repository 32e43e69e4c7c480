"""Canary gates: wait, promote, or stop with an incident naming the failed gates."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable
from datetime import timedelta
from io import StringIO
from typing import Any

import numpy as np
import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import timezone

from governance.audit_context import Origin, acting_as
from governance.models import AuditEvent
from governance.services import audit_chain_verify
from models_registry import services as registry
from models_registry.models import DeploymentEvent, ModelVersion, Prediction, RegisteredModel
from monitoring.canary import CheckStatus, Verdict
from monitoring.canary_defaults import canary_default_rules
from monitoring.models import CanaryGates, GroundTruth, Incident
from monitoring.services import Action, canary_decide, canary_decide_all, canary_decisions
from monitoring.tasks import canary_evaluate_all
from monitoring.windows import slot_measure
from tests.conftest import assert_json_error, is_postgres, skip_unless

_request_numbers = itertools.count()


def log_calls(
    version: ModelVersion,
    count: int,
    *,
    minutes_ago: float = 5,
    errors: int = 0,
    latency_ms: float | Callable[[int], float] | None = 100.0,
    prediction: float | Callable[[int], float] = 0.8,
    features: dict[str, Any] | Callable[[int], dict[str, Any]] | None = None,
    attributes: Callable[[int], dict[str, Any]] | None = None,
    source: str = Prediction.Source.SERVED,
) -> list[str]:
    """`count` answered calls of `version`, `minutes_ago` minutes ago; the first `errors` failed."""
    slot = (
        Prediction.Slot.CANARY
        if version.stage == ModelVersion.Stage.CANARY
        else Prediction.Slot.PRODUCTION
    )
    at = timezone.now() - timedelta(minutes=minutes_ago)
    rows = [
        Prediction(
            model=version.model,
            version=version,
            request_id=f"req-{next(_request_numbers)}",
            source=source,
            slot=slot,
            occurred_at=at,
            features=(features(i) if callable(features) else features) or {"tenure": 3},
            attributes=attributes(i) if attributes else {},
            prediction=None
            if i < errors
            else (prediction(i) if callable(prediction) else prediction),
            latency_ms=latency_ms(i) if callable(latency_ms) else latency_ms,
            error="model raised ValueError" if i < errors else "",
        )
        for i in range(count)
    ]
    Prediction.objects.bulk_create(rows)
    return [row.request_id for row in rows]


def label(model: RegisteredModel, request_ids: list[str], labels: float | list[float]) -> None:
    values = labels if isinstance(labels, list) else [labels] * len(request_ids)
    GroundTruth.objects.bulk_create(
        GroundTruth(model=model, request_id=rid, label=value)
        for rid, value in zip(request_ids, values, strict=True)
    )


@pytest.fixture
def deployed(users, make_model, make_version) -> dict[str, Any]:
    """v1 in production, v2 on canary at 20%; gender is a protected attribute."""
    model = make_model(protected_attributes=["gender"])
    v1, v2 = make_version(model), make_version(model)
    registry.deployment_promote(version=v1, actor=users["ds"])
    registry.deployment_start_canary(version=v2, actor=users["ds"], traffic=20)
    v1.refresh_from_db()
    v2.refresh_from_db()
    return {"model": model, "v1": v1, "v2": v2}


def healthy_traffic(deployed: dict[str, Any], canary_calls: int = 60) -> None:
    log_calls(deployed["v1"], 4 * canary_calls)
    log_calls(deployed["v2"], canary_calls)


def stage(version: ModelVersion) -> str:
    version.refresh_from_db()
    return version.stage


def events(model: RegisteredModel, kind: str) -> list[DeploymentEvent]:
    return list(DeploymentEvent.objects.filter(model=model, kind=kind))


def assert_untouched(deployed: dict[str, Any]) -> None:
    assert stage(deployed["v2"]) == ModelVersion.Stage.CANARY
    assert stage(deployed["v1"]) == ModelVersion.Stage.PRODUCTION
    deployed["model"].refresh_from_db()
    assert deployed["model"].canary_traffic == 20
    assert not Incident.objects.exists()
    assert not events(deployed["model"], DeploymentEvent.Kind.CANARY_PROMOTED)
    assert not events(deployed["model"], DeploymentEvent.Kind.CANARY_STOPPED)


def assert_stopped_with_incident(deployed: dict[str, Any], *gates: str) -> Incident:
    model, v1, v2 = deployed["model"], deployed["v1"], deployed["v2"]
    assert stage(v2) == ModelVersion.Stage.ARCHIVED
    assert stage(v1) == ModelVersion.Stage.PRODUCTION
    model.refresh_from_db()
    assert model.canary_traffic == 0
    (stopped,) = events(model, DeploymentEvent.Kind.CANARY_STOPPED)
    assert stopped.version == v2
    assert stopped.actor is None
    assert stopped.reference == "canary-evaluation"
    assert not events(model, DeploymentEvent.Kind.CANARY_PROMOTED)
    incident = Incident.objects.get()
    assert incident.model == model
    assert incident.version == v2
    assert incident.severity == Incident.Severity.CRITICAL
    assert incident.source == Incident.Source.CANARY
    assert incident.status == Incident.Status.OPEN
    assert incident.title == f"Canary v2 rolled back: {', '.join(gates)}"
    assert incident.details["failed_gates"] == list(gates)
    assert incident.details["verdict"] == "fail"
    # Committed for real (not in a test transaction), the stop also goes on the timeline.
    kinds = [e.kind for e in incident.timeline.all()]
    assert kinds in (["opened"], ["opened", "deployment"]), kinds
    return incident


def check(incident_or_evaluation: Any, gate: str) -> dict[str, Any]:
    checks = (
        incident_or_evaluation.details["checks"]
        if isinstance(incident_or_evaluation, Incident)
        else incident_or_evaluation["checks"]
    )
    return next(c for c in checks if c["gate"] == gate)


# --- wait -----------------------------------------------------------------------------


def test_a_canary_with_too_few_calls_waits_and_nothing_moves(deployed):
    log_calls(deployed["v1"], 200)
    log_calls(deployed["v2"], 49, errors=49)

    outcome = canary_decide(model=deployed["model"])

    assert outcome.action == Action.WAITING
    assert outcome.evaluation.verdict == Verdict.WAIT
    assert "49 canary calls in the window, 50 needed" in outcome.message
    assert_untouched(deployed)


def test_a_canary_waits_while_production_served_nothing_in_the_window(deployed):
    log_calls(deployed["v2"], 60)

    outcome = canary_decide(model=deployed["model"])

    assert outcome.action == Action.WAITING
    assert "production served no calls" in outcome.message
    assert_untouched(deployed)


def test_calls_outside_the_window_are_ignored(deployed):
    log_calls(deployed["v1"], 200, minutes_ago=61)
    log_calls(deployed["v2"], 200, minutes_ago=61, errors=200)
    log_calls(deployed["v1"], 40)
    log_calls(deployed["v2"], 10)

    outcome = canary_decide(model=deployed["model"])

    assert outcome.action == Action.WAITING
    assert outcome.evaluation.canary_slot.requests == 10
    assert outcome.evaluation.production_slot.requests == 40
    assert_untouched(deployed)


def test_calls_logged_from_outside_do_not_count(deployed):
    log_calls(deployed["v1"], 200)
    log_calls(deployed["v2"], 200, errors=100, source=Prediction.Source.LOGGED)

    outcome = canary_decide(model=deployed["model"])

    assert outcome.action == Action.WAITING
    assert outcome.evaluation.canary_slot.requests == 0


def test_the_model_gates_replace_the_defaults(deployed):
    CanaryGates.objects.create(model=deployed["model"], min_requests=10, window_minutes=10)
    log_calls(deployed["v1"], 100, minutes_ago=20, errors=100)
    log_calls(deployed["v2"], 100, minutes_ago=20, errors=100)
    log_calls(deployed["v1"], 40)
    log_calls(deployed["v2"], 10)

    outcome = canary_decide(model=deployed["model"])

    assert outcome.action == Action.PROMOTED
    assert outcome.evaluation.canary_slot.requests == 10
    assert outcome.evaluation.as_dict()["gates"]["configured"] is True


# --- pass -----------------------------------------------------------------------------


def test_a_canary_that_passes_its_gates_is_promoted(deployed):
    model, v1, v2 = deployed["model"], deployed["v1"], deployed["v2"]
    healthy_traffic(deployed)

    outcome = canary_decide(model=model)

    assert outcome.action == Action.PROMOTED
    assert stage(v2) == ModelVersion.Stage.PRODUCTION
    assert stage(v1) == ModelVersion.Stage.ARCHIVED
    model.refresh_from_db()
    assert model.canary_traffic == 0
    (promoted,) = events(model, DeploymentEvent.Kind.CANARY_PROMOTED)
    assert promoted.version == v2
    assert promoted.previous_version == v1
    assert promoted.actor is None
    assert promoted.reference == "canary-evaluation"
    assert promoted.reason.startswith("canary passed its gates: error_rate passed")
    assert not Incident.objects.exists()
    passed = AuditEvent.objects.get(action="canary.passed")
    assert passed.object_id == model.name
    assert passed.data["canary"]["requests"] == 60
    assert passed.data["production"]["requests"] == 240


def test_an_error_rate_increase_at_the_threshold_passes(deployed):
    rules = canary_default_rules()
    rules[0]["threshold"] = 0.05
    CanaryGates.objects.create(model=deployed["model"], rules=rules)
    log_calls(deployed["v1"], 100)
    log_calls(deployed["v2"], 100, errors=5)

    outcome = canary_decide(model=deployed["model"])

    assert outcome.action == Action.PROMOTED
    assert check(outcome.evaluation.as_dict(), "error_rate")["value"] == pytest.approx(0.05)


def test_quality_is_not_measured_without_enough_labels(deployed):
    model = deployed["model"]
    production = log_calls(deployed["v1"], 200, prediction=0.9)
    canary = log_calls(deployed["v2"], 60, prediction=0.1)
    label(model, production[:100], 1.0)
    label(model, canary[:29], 1.0)

    outcome = canary_decide(model=model)

    assert outcome.action == Action.PROMOTED
    body = outcome.evaluation.as_dict()
    assert check(body, "quality")["status"] == CheckStatus.NOT_MEASURED
    assert check(body, "quality")["detail"] == "canary: 29 labelled rows, 30 needed"
    assert body["canary"]["labelled"] == 29


def test_production_without_enough_labels_leaves_quality_unmeasured(deployed):
    model = deployed["model"]
    production = log_calls(deployed["v1"], 200, prediction=0.9)
    canary = log_calls(deployed["v2"], 60, prediction=0.1)
    label(model, production[:12], 1.0)
    label(model, canary, 1.0)

    outcome = canary_decide(model=model)

    assert outcome.action == Action.PROMOTED
    quality = check(outcome.evaluation.as_dict(), "quality")
    assert quality["detail"] == "production: 12 labelled rows, 30 needed"


def test_fairness_needs_calls_not_labels(deployed):
    """Positive rates are the model's answers: a canary that says yes to every woman and no
    to every man fails its fairness gate before any label arrives."""
    log_calls(deployed["v1"], 200, prediction=0.9)
    log_calls(
        deployed["v2"],
        60,
        prediction=lambda i: 0.9 if i % 2 else 0.1,
        features=lambda i: {"gender": "F" if i % 2 else "M"},
    )

    canary_decide(model=deployed["model"])

    incident = assert_stopped_with_incident(deployed, "fairness")
    assert check(incident, "quality")["detail"] == "no labelled canary calls in the window"
    fairness = check(incident, "fairness")
    assert fairness["value"] == 1.0
    assert fairness["metric"] == "demographic_parity_difference.*"


def test_fairness_is_not_measured_when_no_protected_attribute_is_in_the_features(deployed):
    model = deployed["model"]
    production = log_calls(deployed["v1"], 200)
    canary = log_calls(deployed["v2"], 60, prediction=lambda i: 0.9 if i % 2 else 0.1)
    label(model, production, 1.0)
    label(model, canary, [1.0 if i % 2 else 0.0 for i in range(60)])

    outcome = canary_decide(model=model)

    assert outcome.action == Action.PROMOTED, outcome.message
    fairness = check(outcome.evaluation.as_dict(), "fairness")
    assert fairness["status"] == CheckStatus.NOT_MEASURED
    assert "no protected attribute (gender)" in fairness["detail"]
    assert check(outcome.evaluation.as_dict(), "quality")["status"] == CheckStatus.PASSED


def test_groups_coded_as_numbers_are_compared_too(deployed):
    model = deployed["model"]
    log_calls(deployed["v1"], 200)
    canary = log_calls(
        deployed["v2"],
        60,
        prediction=lambda i: 0.9 if i % 2 else 0.1,
        features=lambda i: {"gender": i % 2},
    )
    label(model, canary[:30], 1.0)

    outcome = canary_decide(model=model)

    assert outcome.action == Action.STOPPED
    (rates,) = outcome.evaluation.as_dict()["fairness"]
    assert rates["groups"] == {
        "0": {"calls": 30, "positive_rate": 0.0},
        "1": {"calls": 30, "positive_rate": 1.0},
    }


def test_fairness_is_not_measured_for_predictions_that_are_not_probabilities(deployed):
    model = deployed["model"]
    log_calls(deployed["v1"], 200, prediction=120.0)
    canary = log_calls(
        deployed["v2"],
        60,
        prediction=lambda i: 300.0 if i % 2 else 10.0,
        features=lambda i: {"gender": "F" if i % 2 else "M"},
    )
    label(model, canary, 150.0)

    outcome = canary_decide(model=model)

    assert outcome.action == Action.PROMOTED
    fairness = check(outcome.evaluation.as_dict(), "fairness")
    assert fairness["status"] == CheckStatus.NOT_MEASURED
    assert "not probabilities" in fairness["detail"]


def test_fairness_is_not_measured_for_a_model_without_protected_attributes(
    users, make_model, make_version
):
    model = make_model(name="fraud-detector")
    v1, v2 = make_version(model), make_version(model)
    registry.deployment_promote(version=v1, actor=users["ds"])
    registry.deployment_start_canary(version=v2, actor=users["ds"], traffic=20)
    v1.refresh_from_db()
    v2.refresh_from_db()
    log_calls(v1, 200)
    canary = log_calls(v2, 60, features=lambda i: {"gender": "F" if i % 2 else "M"})
    label(model, canary, 1.0)

    outcome = canary_decide(model=model)

    fairness = check(outcome.evaluation.as_dict(), "fairness")
    assert fairness["detail"] == "the model has no protected attributes"
    assert outcome.action == Action.PROMOTED


def test_quality_is_not_measured_for_labels_that_are_not_binary(deployed):
    model = deployed["model"]
    production = log_calls(deployed["v1"], 200, prediction=0.9)
    canary = log_calls(deployed["v2"], 60, prediction=0.1)
    label(model, production, 3.5)
    label(model, canary, 7.0)

    outcome = canary_decide(model=model)

    assert outcome.action == Action.PROMOTED
    quality = check(outcome.evaluation.as_dict(), "quality")
    assert quality["status"] == CheckStatus.NOT_MEASURED
    assert quality["detail"] == "labels are not binary (0 or 1)"


def test_the_p95_latency_matches_numpy(deployed):
    rng = np.random.default_rng(7)
    latencies = rng.gamma(2.0, 40.0, size=257).tolist()
    log_calls(deployed["v2"], 257, latency_ms=lambda i: latencies[i])
    log_calls(deployed["v2"], 5, latency_ms=None)
    now = timezone.now()

    measured = slot_measure(
        model=deployed["model"],
        version=deployed["v2"],
        start=now - timedelta(hours=1),
        end=now,
    )

    assert measured.requests == 262
    assert measured.p95_latency_ms == pytest.approx(float(np.percentile(latencies, 95)))


# --- fail -----------------------------------------------------------------------------


def test_a_canary_with_more_errors_is_stopped_and_an_incident_opened(deployed):
    log_calls(deployed["v1"], 200, errors=2)
    log_calls(deployed["v2"], 60, errors=6)

    outcome = canary_decide(model=deployed["model"])

    assert outcome.action == Action.STOPPED
    incident = assert_stopped_with_incident(deployed, "error_rate")
    assert outcome.incident == incident
    assert "error rate 10.00% on the canary vs 1.00% on production" in incident.description
    assert "(+9.00 points; fails when > +1.00 points)" in incident.description
    assert check(incident, "error_rate")["status"] == "failed"
    assert check(incident, "error_rate")["value"] == pytest.approx(0.09)
    assert incident.details["canary"]["errors"] == 6
    assert AuditEvent.objects.filter(action="incident.opened", object_id=str(incident.pk)).exists()
    assert AuditEvent.objects.filter(action="canary.failed").exists()


def test_a_slower_canary_is_stopped(deployed):
    log_calls(deployed["v1"], 200, latency_ms=100.0)
    log_calls(deployed["v2"], 60, latency_ms=lambda i: 160.0 if i % 10 else 400.0)

    canary_decide(model=deployed["model"])

    incident = assert_stopped_with_incident(deployed, "latency")
    latency = check(incident, "latency")
    assert latency["value"] > 1.5
    assert latency["threshold"] == 1.5
    assert latency["relative"] == "ratio"
    assert latency["baseline"] == 100.0
    assert "fails when > x1.5" in incident.description


def test_a_less_accurate_canary_is_stopped(deployed):
    model = deployed["model"]
    production = log_calls(deployed["v1"], 200, prediction=0.9)
    canary = log_calls(deployed["v2"], 60, prediction=lambda i: 0.9 if i % 5 else 0.2)
    label(model, production[:60], 1.0)
    label(model, canary, 1.0)

    canary_decide(model=model)

    incident = assert_stopped_with_incident(deployed, "quality")
    quality = check(incident, "quality")
    # canary minus production, against -max drop
    assert quality["value"] == pytest.approx(-0.2)
    assert quality["threshold"] == -0.02
    assert (quality["measured"], quality["baseline"]) == (pytest.approx(0.8), 1.0)
    assert incident.details["canary"]["accuracy"] == pytest.approx(0.8)
    assert incident.details["production"]["accuracy"] == pytest.approx(1.0)
    assert "accuracy 0.8 on the canary vs 1 on production (-0.2; fails when < -0.02)" in (
        incident.description
    )


def test_a_canary_unfair_between_protected_groups_is_stopped(deployed):
    model = deployed["model"]
    log_calls(deployed["v1"], 200)
    canary = log_calls(
        deployed["v2"],
        60,
        prediction=lambda i: 0.9 if i % 2 else (0.9 if i % 4 == 0 else 0.2),
        features=lambda i: {"tenure": i, "gender": "F" if i % 2 else "M"},
    )
    label(model, canary[:30], 1.0)

    canary_decide(model=model)

    incident = assert_stopped_with_incident(deployed, "fairness")
    (rates,) = incident.details["fairness"]
    assert rates["attribute"] == "gender"
    assert rates["groups"]["F"] == {"calls": 30, "positive_rate": 1.0}
    assert rates["groups"]["M"]["positive_rate"] == pytest.approx(0.5)
    assert rates["gap"] == pytest.approx(0.5)
    assert "between gender F (1.000) and M (0.500)" in incident.description
    assert check(incident, "fairness")["value"] == pytest.approx(0.5)


def test_groups_are_read_from_the_attributes_a_call_carries(deployed):
    """predict takes protected attributes beside the features (the model never sees them):
    the gate compares the groups they name."""
    model = deployed["model"]
    log_calls(deployed["v1"], 200)
    canary = log_calls(
        deployed["v2"],
        60,
        prediction=lambda i: 0.9 if i % 2 else 0.2,
        attributes=lambda i: {"gender": "F" if i % 2 else "M"},
    )
    label(model, canary[:30], 1.0)

    canary_decide(model=model)

    incident = assert_stopped_with_incident(deployed, "fairness")
    (rates,) = incident.details["fairness"]
    assert rates["groups"] == {
        "F": {"calls": 30, "positive_rate": 1.0},
        "M": {"calls": 30, "positive_rate": 0.0},
    }


def test_every_failed_gate_is_named(deployed):
    log_calls(deployed["v1"], 200, latency_ms=100.0)
    log_calls(deployed["v2"], 60, errors=30, latency_ms=900.0)

    canary_decide(model=deployed["model"])

    incident = assert_stopped_with_incident(deployed, "error_rate", "latency")
    assert check(incident, "quality")["status"] == "not_measured"


# --- idempotence and concurrency -------------------------------------------------------


def test_a_second_run_does_nothing(deployed):
    log_calls(deployed["v1"], 200)
    log_calls(deployed["v2"], 60, errors=60)
    canary_decide(model=deployed["model"])
    audit_events = AuditEvent.objects.count()

    outcome = canary_decide(model=deployed["model"])

    assert outcome.action == Action.NO_CANARY
    assert Incident.objects.count() == 1
    assert len(events(deployed["model"], DeploymentEvent.Kind.CANARY_STOPPED)) == 1
    assert AuditEvent.objects.count() == audit_events


def test_it_does_nothing_when_the_canary_changed_while_it_was_measured(deployed, monkeypatch):
    log_calls(deployed["v1"], 200)
    log_calls(deployed["v2"], 60, errors=60)
    measure = canary_decisions.canary_evaluate

    def measure_then_someone_stops_the_canary(**kwargs: Any) -> Any:
        evaluation = measure(**kwargs)
        registry.deployment_stop_canary(model=deployed["model"], reason="stopped by hand")
        return evaluation

    monkeypatch.setattr(canary_decisions, "canary_evaluate", measure_then_someone_stops_the_canary)

    outcome = canary_decide(model=deployed["model"])

    assert outcome.action == Action.SUPERSEDED
    assert not Incident.objects.exists()
    assert len(events(deployed["model"], DeploymentEvent.Kind.CANARY_STOPPED)) == 1


def test_one_failing_model_does_not_stop_the_others(deployed, users, make_model, make_version):
    other = make_model(name="fraud-detector")
    o1, o2 = make_version(other), make_version(other)
    registry.deployment_promote(version=o1, actor=users["ds"])
    registry.deployment_start_canary(version=o2, actor=users["ds"], traffic=20)
    o1.refresh_from_db()
    o2.refresh_from_db()
    healthy_traffic({"v1": o1, "v2": o2})
    real = canary_decisions.canary_decide

    def broken_for_churn(*, model: RegisteredModel, now: Any = None) -> Any:
        if model.name == "churn-classifier":
            raise RuntimeError("database hiccup")
        return real(model=model, now=now)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(canary_decisions, "canary_decide", broken_for_churn)
        outcomes = canary_decide_all()

    assert [(o.model, o.action) for o in outcomes] == [
        ("churn-classifier", Action.ERROR),
        ("fraud-detector", Action.PROMOTED),
    ]
    assert stage(o2) == ModelVersion.Stage.PRODUCTION


# --- task and command ------------------------------------------------------------------


def test_the_task_decides_every_canary_as_a_task(deployed):
    healthy_traffic(deployed)

    result = canary_evaluate_all.delay().get()

    assert result == {"churn-classifier": "promoted"}
    audit = AuditEvent.objects.get(action="deployment.canary_promoted")
    assert audit.origin == "task"
    assert audit.actor is None


def test_the_command_prints_each_verdict(deployed):
    log_calls(deployed["v1"], 200)
    log_calls(deployed["v2"], 60, errors=60)
    out = StringIO()

    call_command("evaluate_canaries", stdout=out)

    incident = Incident.objects.get()
    text = out.getvalue()
    assert (
        f"churn-classifier: canary v2 failed error_rate; stopped, incident #{incident.pk}" in text
    )
    assert "  error_rate: failed (error rate 100.00% on the canary" in text
    assert AuditEvent.objects.get(action="incident.opened").origin == "command"


def test_the_command_reports_a_waiting_canary_and_a_model_without_one(deployed, make_model):
    make_model(name="fraud-detector")
    out = StringIO()

    call_command("evaluate_canaries", stdout=out)
    call_command("evaluate_canaries", "--model", "fraud-detector", stdout=out)

    lines = out.getvalue().splitlines()
    assert lines == [
        "churn-classifier: canary v2 waiting: 0 canary calls in the window, 50 needed",
        "fraud-detector: no canary.",
    ]
    assert_untouched(deployed)


def test_the_command_for_one_model_leaves_the_others_alone(
    deployed, users, make_model, make_version
):
    other = make_model(name="fraud-detector")
    o1, o2 = make_version(other), make_version(other)
    registry.deployment_promote(version=o1, actor=users["ds"])
    registry.deployment_start_canary(version=o2, actor=users["ds"], traffic=20)
    o1.refresh_from_db()
    o2.refresh_from_db()
    healthy_traffic(deployed)
    healthy_traffic({"v1": o1, "v2": o2})
    out = StringIO()

    call_command("evaluate_canaries", "--model", "fraud-detector", stdout=out)

    assert out.getvalue().startswith("fraud-detector: canary v2 passed its gates; promoted")
    assert stage(o2) == ModelVersion.Stage.PRODUCTION
    assert stage(deployed["v2"]) == ModelVersion.Stage.CANARY


def test_the_command_refuses_an_unknown_model(db):
    with pytest.raises(CommandError, match="No model named 'nope'"):
        call_command("evaluate_canaries", "--model", "nope", stdout=StringIO())


def test_the_command_fails_when_an_evaluation_failed(deployed, monkeypatch):
    def broken(**kwargs: Any) -> Any:
        raise RuntimeError("database hiccup")

    monkeypatch.setattr(canary_decisions, "canary_decide", broken)
    out = StringIO()

    with pytest.raises(CommandError, match="Evaluation failed for: churn-classifier"):
        call_command("evaluate_canaries", stdout=out)
    assert "churn-classifier: RuntimeError('database hiccup')" in out.getvalue()


# --- API: the current evaluation, without acting -------------------------------------------

CANARY = "/api/v1/models/churn-classifier/canary/"


def test_the_canary_endpoint_shows_the_evaluation_without_acting(api, deployed):
    log_calls(deployed["v1"], 200)
    log_calls(deployed["v2"], 60, errors=60)

    response = api("board").get(CANARY)

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["verdict"] == "fail"
    assert body["failed_gates"] == ["error_rate"]
    assert body["canary_version"] == 2
    assert body["production_version"] == 1
    assert body["canary_traffic"] == 20
    assert body["canary"]["requests"] == 60
    assert body["canary"]["error_rate"] == 1.0
    assert body["production"]["error_rate"] == 0.0
    assert body["gates"] == {
        "configured": False,
        "window_minutes": 60,
        "min_requests": 50,
        "rules": canary_default_rules(),
    }
    assert [c["gate"] for c in body["checks"]] == ["error_rate", "latency", "quality", "fairness"]
    assert_untouched(deployed)


def test_the_canary_endpoint_says_wait(api, deployed):
    body = api("ci").get(CANARY).json()

    assert body["verdict"] == "wait"
    assert body["checks"] == []
    assert body["summary"] == "0 canary calls in the window, 50 needed"


def test_the_canary_endpoint_is_409_without_a_canary(api, deployed):
    healthy_traffic(deployed)
    canary_decide(model=deployed["model"])

    body = assert_json_error(api("ci").get(CANARY), 409)

    assert body["production_version"] == 2


def test_the_canary_endpoint_is_404_for_an_unknown_model_and_401_anonymous(api, deployed):
    assert_json_error(api("ci").get("/api/v1/models/nope/canary/"), 404)
    assert_json_error(api(None).get(CANARY), 401)
    assert_json_error(api("outsider").get(CANARY), 403)


# --- concurrency (PostgreSQL row locks) ----------------------------------------------------


def decide_concurrently(model: RegisteredModel, runs: int) -> list[Any]:
    """`runs` threads, each with its own connection, call canary_decide at the same moment."""
    barrier = threading.Barrier(runs)
    results: list[Any] = [None] * runs

    def body(index: int) -> None:
        try:
            fresh = RegisteredModel.objects.get(pk=model.pk)  # opens this thread's connection
            barrier.wait(timeout=60)
            with acting_as(origin=Origin.TASK):
                results[index] = canary_decide(model=fresh).action
        except BaseException as exc:
            results[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=body, args=(i,), daemon=True) for i in range(runs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not [t for t in threads if t.is_alive()], "threads still running (deadlock?)"
    return results


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_runs_promote_a_passing_canary_once(deployed):
    skip_unless(is_postgres(), "row-lock races need PostgreSQL (set DATABASE_URL)")
    healthy_traffic(deployed)

    actions = decide_concurrently(deployed["model"], 8)

    assert actions.count(Action.PROMOTED) == 1, actions
    assert set(actions) <= {Action.PROMOTED, Action.SUPERSEDED, Action.NO_CANARY}, actions
    assert len(events(deployed["model"], DeploymentEvent.Kind.CANARY_PROMOTED)) == 1
    assert stage(deployed["v2"]) == ModelVersion.Stage.PRODUCTION
    assert audit_chain_verify() == []


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_runs_stop_a_failing_canary_once_with_one_incident(deployed):
    skip_unless(is_postgres(), "row-lock races need PostgreSQL (set DATABASE_URL)")
    log_calls(deployed["v1"], 200)
    log_calls(deployed["v2"], 60, errors=60)

    actions = decide_concurrently(deployed["model"], 8)

    assert actions.count(Action.STOPPED) == 1, actions
    assert set(actions) <= {Action.STOPPED, Action.SUPERSEDED, Action.NO_CANARY}, actions
    incident = assert_stopped_with_incident(deployed, "error_rate")
    (stop,) = incident.timeline.filter(kind="deployment")  # the one stop, on its timeline
    (stopped,) = events(deployed["model"], DeploymentEvent.Kind.CANARY_STOPPED)
    assert stop.data["deployment_event"] == stopped.pk
    assert stop.data["deployment_kind"] == DeploymentEvent.Kind.CANARY_STOPPED
    assert audit_chain_verify() == []


def test_a_group_of_a_few_calls_does_not_decide_fairness(deployed):
    model = deployed["model"]
    production = log_calls(deployed["v1"], 200, prediction=0.9)
    # 55 calls from women, all predicted positive; 5 from men, all negative: a 100-point gap
    # that rests on five calls.
    canary = log_calls(
        deployed["v2"],
        60,
        prediction=lambda i: 0.1 if i < 5 else 0.9,
        features=lambda i: {"gender": "M" if i < 5 else "F"},
    )
    label(model, production, 1.0)
    label(model, canary, [0.0 if i < 5 else 1.0 for i in range(60)])

    outcome = canary_decide(model=model)

    assert outcome.action == Action.PROMOTED, outcome.message
    assert check(outcome.evaluation.as_dict(), "fairness")["status"] == CheckStatus.NOT_MEASURED
