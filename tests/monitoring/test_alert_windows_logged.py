"""Window alert rules count what a version did, served here or logged from outside; the
canary's measurement (slot_measure's default) still counts served calls only."""

from __future__ import annotations

import itertools
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone

from governance.audit_context import Origin, acting_as
from models_registry import services as registry
from monitoring.models import Alert, GroundTruth, Incident
from monitoring.rules import window_values
from monitoring.services.alerts import Action, alerts_evaluate_window
from monitoring.windows import slot_measure, window_rows
from tests.conftest import is_postgres, skip_unless
from tests.monitoring.alert_helpers import configure, served_calls
from tests.monitoring.check_helpers import log_window

_batches = itertools.count()
VOLUME_DROP = {"metric": "prediction_volume", "threshold": 50, "comparison": "<"}
ERROR_RULE = {"metric": "error_rate", "threshold": 0.1, "severity": "critical"}
LATENCY_RULE = {"metric": "p95_latency_ms", "threshold": 500, "severity": "warning"}


@pytest.fixture
def production(users, make_model, make_version) -> Any:
    """v1 of a model served elsewhere: in production here, its calls logged through ingest."""
    version = make_version(make_model())
    with acting_as(origin=Origin.SYSTEM):
        registry.deployment_promote(version=version, actor=users["ds"])
    version.refresh_from_db()
    return version


def logged_calls(version: Any, count: int, *, prediction: float = 0.8) -> list[str]:
    rows = [{"features": {"tenure": 3}, "prediction": prediction}] * count
    return log_window(version, rows, minutes_ago=10, prefix=f"logged-{next(_batches)}")


def window(version: Any) -> dict[str, Any]:
    end = timezone.now()
    return {
        "model": version.model,
        "version": version,
        "start": end - timedelta(hours=1),
        "end": end,
    }


def test_a_window_rule_fires_on_a_model_that_only_logs(production):
    configure(production.model, [{**VOLUME_DROP, "severity": "warning"}])
    logged_calls(production, 30)

    [result] = alerts_evaluate_window(model=production.model, version=production)

    assert result.action == Action.OPENED
    assert result.alert.value == 30.0
    assert Incident.objects.get().severity == "warning"


def test_enough_logged_calls_keep_the_volume_rule_clean(production):
    configure(production.model, [{**VOLUME_DROP, "severity": "warning"}])
    logged_calls(production, 60)

    [result] = alerts_evaluate_window(model=production.model, version=production)

    assert result.action == Action.CLEAN
    assert not Alert.objects.exists()


def test_logged_calls_have_no_error_rate_or_latency_and_those_rules_skip(production):
    configure(production.model, [{**ERROR_RULE, "min_samples": 20}, LATENCY_RULE])
    logged_calls(production, 40)

    errors, latency = alerts_evaluate_window(model=production.model, version=production)

    assert (errors.action, errors.evaluation.reason) == (Action.SKIPPED, "error_rate not measured")
    assert (latency.action, latency.evaluation.reason) == (
        Action.SKIPPED,
        "p95_latency_ms not measured",
    )
    values = window_values(**window(production), served_only=False).values
    assert values["prediction_volume"] == 40.0
    assert values["error_rate"] is None and values["p95_latency_ms"] is None


def test_served_and_logged_calls_count_together_errors_only_among_served(production):
    served_calls(production, 20, errors=4, latency_ms=300.0)
    logged_calls(production, 80)

    measured = slot_measure(**window(production), served_only=False)

    assert measured.requests == 100
    assert measured.errors == 4
    assert measured.error_rate == pytest.approx(0.2)  # 4 of the 20 that could fail here
    assert measured.p95_latency_ms == pytest.approx(300.0)  # the timed calls only


def test_logged_calls_with_ground_truth_give_the_window_its_accuracy(production):
    ids = logged_calls(production, 10, prediction=0.9)
    GroundTruth.objects.bulk_create(
        GroundTruth(model=production.model, request_id=request_id, label=1 if i < 7 else 0)
        for i, request_id in enumerate(ids)
    )

    values = window_values(**window(production), served_only=False)

    assert values.labelled == 10
    assert values.values["accuracy"] == pytest.approx(0.7)


def test_the_canary_measurement_still_counts_served_calls_only(production):
    served_calls(production, 10, errors=1)
    logged_calls(production, 50)

    canary_view = slot_measure(**window(production))
    values = window_values(**window(production))

    assert (canary_view.requests, canary_view.errors) == (10, 1)
    assert canary_view.error_rate == pytest.approx(0.1)
    assert values.values["prediction_volume"] == 10.0
    assert window_rows(**window(production)).count() == 10
    assert window_rows(**window(production), served_only=False).count() == 60


def test_a_preset_may_ask_for_served_calls_only(production):
    logged_calls(production, 30)
    rule = {**VOLUME_DROP, "severity": "info"}

    [everything] = alerts_evaluate_window(model=production.model, version=production, rules=[rule])
    [served] = alerts_evaluate_window(
        model=production.model, version=production, rules=[rule], served_only=True
    )

    assert everything.evaluation.value == 30.0
    assert served.evaluation.value == 0.0


@pytest.mark.postgres
@pytest.mark.parametrize("served_only", [True, False])
def test_the_window_query_can_use_the_version_time_index(production, served_only):
    """The planner picks a sequential scan for a test-sized table; with that ruled out, the
    window's rows come from prediction_version_time (for logged calls too)."""
    skip_unless(is_postgres(), "EXPLAIN of the index needs PostgreSQL (set DATABASE_URL)")
    logged_calls(production, 20)
    rows = window_rows(**window(production), served_only=served_only)
    sql, params = rows.values("pk").query.sql_with_params()

    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(f"EXPLAIN {sql}", params)
        plan = "\n".join(line for (line,) in cursor.fetchall())

    assert "prediction_version_time" in plan, plan
