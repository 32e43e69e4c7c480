"""Canary gates as rules of the engine: edited in the admin, validated by the service,
evaluated by the engine (custom gates too), and the data migration that turned every
model's old gate columns, and their history, into rules."""

from __future__ import annotations

import importlib
from types import SimpleNamespace
from typing import Any

import pytest
import yaml
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from governance.errors import InvalidInput, NotAllowed
from governance.models import AuditEvent
from monitoring.canary_defaults import canary_default_rules
from monitoring.models import CanaryGates, Incident
from monitoring.services import (
    Action,
    canary_decide,
    canary_decide_all,
    canary_gates_problems,
    canary_gates_save,
)
from tests.monitoring import test_canary
from tests.monitoring.test_canary import check, label, log_calls

deployed = test_canary.deployed  # v1 in production, v2 on canary at 20%; gender protected


@pytest.fixture
def superuser(db: Any) -> Any:
    return get_user_model().objects.create_superuser("root", "root@example.com", "pw-for-tests-1")


def client_for(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def gates_form(rules: Any = None, **values: Any) -> dict[str, Any]:
    text = (
        rules
        if isinstance(rules, str)
        else yaml.safe_dump(canary_default_rules() if rules is None else rules)
    )
    return {"window_minutes": 30, "min_requests": 100, "rules_source": text, **values}


STRICT_LATENCY = [
    {"metric": "p95_latency_ms", "relative": "ratio", "comparison": ">", "threshold": 1.2},
    {"metric": "error_rate", "relative": "difference", "threshold": 0.0, "comparison": ">"},
]


# --- the admin ---------------------------------------------------------------------------


def test_the_add_form_starts_from_the_default_gates(superuser):
    response = client_for(superuser).get(reverse("admin:monitoring_canarygates_add"))

    form = response.context["adminform"].form
    assert yaml.safe_load(form["rules_source"].initial) == canary_default_rules()


def test_a_superuser_sets_a_models_gates_as_rules(deployed, superuser):
    response = client_for(superuser).post(
        reverse("admin:monitoring_canarygates_add"),
        gates_form(STRICT_LATENCY, model=deployed["model"].pk),
    )

    assert response.status_code == 302, response.content
    gates = CanaryGates.objects.get(model=deployed["model"])
    assert (gates.window_minutes, gates.min_requests) == (30, 100)
    # Stored as written, with the severity filled in.
    assert gates.rules == [
        {
            "metric": "p95_latency_ms",
            "relative": "ratio",
            "comparison": ">",
            "threshold": 1.2,
            "severity": "critical",
        },
        {
            "metric": "error_rate",
            "relative": "difference",
            "comparison": ">",
            "threshold": 0.0,
            "severity": "critical",
        },
    ]
    assert gates.history.get().history_change_reason == "created in admin"
    audit = AuditEvent.objects.get(action="canary_gates.created")
    assert audit.object_id == "churn-classifier"
    assert audit.data["rules"] == gates.rules
    listing = client_for(superuser).get(reverse("admin:monitoring_canarygates_changelist"))
    assert "p95_latency_ms / baseline &gt; 1.2" in listing.content.decode()


def test_an_edit_is_recorded_with_what_changed_and_what_was_before(deployed, users):
    gates = CanaryGates.objects.create(model=deployed["model"])
    url = reverse("admin:monitoring_canarygates_change", args=[gates.pk])

    response = client_for(users["compliance"]).post(
        url, gates_form(STRICT_LATENCY, window_minutes=60, min_requests=50)
    )

    assert response.status_code == 302, response.content
    gates.refresh_from_db()
    assert [rule["metric"] for rule in gates.rules] == ["p95_latency_ms", "error_rate"]
    assert gates.history.order_by("history_id").last().history_change_reason == (
        "edited in admin: rules"
    )
    audit = AuditEvent.objects.get(action="canary_gates.edited")
    assert audit.data["previous"]["rules"] == canary_default_rules()
    assert audit.actor == users["compliance"]


@pytest.mark.parametrize(
    ("rules", "field", "message"),
    [
        ("- metric: [unclosed", "rules_source", "Not valid YAML"),
        ([], "rules_source", "at least one rule"),
        ("metric: error_rate", "rules_source", "must be a list"),
        ([{"metric": "drift_share", "threshold": 0.3}], "rules_source", "not 'drift_share'"),
        ([{"metric": "error_rate", "threshold": "high"}], "rules_source", "must be a number"),
        (
            [{"metric": "error_rate", "threshold": 0.1, "consecutive": 3}],
            "rules_source",
            "one window",
        ),
        (
            [{"metric": "error_rate", "threshold": 0.1, "relative": "sum"}],
            "rules_source",
            "relative",
        ),
        (
            [{"metric": "error_rate", "threshold": 0.1, "severity": "loud"}],
            "rules_source",
            "severity",
        ),
        (None, "window_minutes", "between"),
    ],
)
def test_bad_gates_are_refused_and_nothing_is_stored(deployed, superuser, rules, field, message):
    values = {"window_minutes": 0} if field == "window_minutes" else {}
    response = client_for(superuser).post(
        reverse("admin:monitoring_canarygates_add"),
        gates_form(rules, model=deployed["model"].pk, **values),
    )

    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert message in " ".join(errors.get(field, [])), errors
    assert not CanaryGates.objects.exists()
    assert not AuditEvent.objects.filter(action__startswith="canary_gates").exists()


def test_only_compliance_officers_edit_gates(deployed, users):
    gates = CanaryGates(model=deployed["model"], rules=STRICT_LATENCY)

    with pytest.raises(NotAllowed):
        canary_gates_save(actor=users["ds"], gates=gates)
    with pytest.raises(NotAllowed):
        canary_gates_save(actor=users["board"], gates=gates)

    assert not CanaryGates.objects.exists()
    response = client_for(users["ds"]).get(reverse("admin:monitoring_canarygates_add"))
    assert response.status_code == 302  # not staff: to the admin's login
    assert response["Location"].startswith(reverse("admin:login"))


def test_the_service_refuses_what_the_form_refuses(deployed, users):
    gates = CanaryGates(model=deployed["model"], rules=[{"metric": "f1", "threshold": 0.5}])

    with pytest.raises(InvalidInput) as refused:
        canary_gates_save(actor=users["compliance"], gates=gates)

    assert "not 'f1'" in refused.value.extra["rules"][0]
    assert not CanaryGates.objects.exists()


# --- what the engine makes of them ---------------------------------------------------------


def test_a_gate_relative_to_productions_own_fairness(deployed, users):
    """Production already treats the groups unequally; the gate asks only that the canary is
    not worse by more than 0.1, so a gap of 0.5 against production's 0.45 passes, where the
    default absolute gate (0.1) would stop it."""
    rules = [
        {
            "metric": "demographic_parity_difference.gender",
            "relative": "difference",
            "comparison": ">",
            "threshold": 0.1,
        }
    ]
    canary_gates_save(
        actor=users["compliance"], gates=CanaryGates(model=deployed["model"], rules=rules)
    )

    def unequal(share_of_m: float):
        # F always positive; M positive for the first share_of_m of every 20 calls.
        return lambda i: 0.9 if i % 2 or (i // 2) % 20 < share_of_m * 20 else 0.1

    gender = {"features": lambda i: {"gender": "F" if i % 2 else "M"}}
    log_calls(deployed["v1"], 400, prediction=unequal(0.55), **gender)
    log_calls(deployed["v2"], 80, prediction=unequal(0.5), **gender)

    outcome = canary_decide(model=deployed["model"])

    assert outcome.action == Action.PROMOTED, outcome.message
    (fairness,) = outcome.evaluation.as_dict()["checks"]
    assert fairness["gate"] == "fairness"
    assert fairness["measured"] == pytest.approx(0.5)
    assert fairness["baseline"] == pytest.approx(0.45)
    assert fairness["value"] == pytest.approx(0.05)


def test_a_custom_gate_stops_the_canary_with_its_severity(deployed, users):
    rules = [
        {"metric": "p95_latency_ms", "relative": "ratio", "comparison": ">", "threshold": 1.2},
        {"metric": "error_rate", "threshold": 0.5, "comparison": ">=", "severity": "warning"},
    ]
    canary_gates_save(
        actor=users["compliance"], gates=CanaryGates(model=deployed["model"], rules=rules)
    )
    log_calls(deployed["v1"], 200, latency_ms=100.0)
    log_calls(deployed["v2"], 60, latency_ms=130.0)

    outcome = canary_decide(model=deployed["model"])

    assert outcome.action == Action.STOPPED
    assert outcome.evaluation.failed_gates == ["latency"]
    assert outcome.incident.severity == Incident.Severity.CRITICAL
    assert check(outcome.evaluation.as_dict(), "error_rate")["status"] == "passed"


def test_a_canary_failing_only_a_warning_gate_opens_a_warning_incident(deployed, users):
    rules = [
        {"metric": "prediction_volume", "comparison": "<", "threshold": 100, "severity": "warning"}
    ]
    canary_gates_save(
        actor=users["compliance"], gates=CanaryGates(model=deployed["model"], rules=rules)
    )
    log_calls(deployed["v1"], 200)
    log_calls(deployed["v2"], 60)

    outcome = canary_decide(model=deployed["model"])

    assert outcome.action == Action.STOPPED
    assert outcome.evaluation.failed_gates == ["prediction_volume"]
    assert outcome.incident.severity == Incident.Severity.WARNING


def test_gates_that_cannot_be_read_leave_the_canary_where_it_is(deployed):
    # Written past the service (a shell, a bad restore): the canary is neither promoted on
    # gates nobody can read nor stopped; the run reports an error.
    CanaryGates.objects.create(model=deployed["model"], rules=[{"metric": "error_rate"}])
    log_calls(deployed["v1"], 200)
    log_calls(deployed["v2"], 60)

    (outcome,) = canary_decide_all()

    assert outcome.action == Action.ERROR
    assert "threshold must be a number" in outcome.message
    deployed["v2"].refresh_from_db()
    assert deployed["v2"].stage == "canary"
    assert not Incident.objects.exists()


def test_quality_gate_with_its_own_sample_size(deployed, users):
    rules = [
        {
            "metric": "accuracy",
            "relative": "difference",
            "comparison": "<",
            "threshold": -0.05,
            "min_samples": 10,
        }
    ]
    canary_gates_save(
        actor=users["compliance"], gates=CanaryGates(model=deployed["model"], rules=rules)
    )
    production = log_calls(deployed["v1"], 200, prediction=0.9)
    canary = log_calls(deployed["v2"], 60, prediction=lambda i: 0.9 if i % 4 else 0.1)
    label(deployed["model"], production[:10], 1.0)
    label(deployed["model"], canary[:12], 1.0)

    outcome = canary_decide(model=deployed["model"])

    assert outcome.action == Action.STOPPED
    (quality,) = outcome.evaluation.as_dict()["checks"]
    assert quality["measured"] == pytest.approx(0.75)
    assert quality["value"] == pytest.approx(-0.25)


# --- the data migration --------------------------------------------------------------------
# Its RunPython steps are run here over rows of the old shape. Migrating the test database
# back to 0009 and forward again would unapply and reapply every later migration of every
# app that depends on it (minutes of the suite, growing with each migration); the schema
# steps around them are Django's own AddField and RemoveField.

MIGRATION = importlib.import_module("monitoring.migrations.0010_canary_gates_as_rules")
OLD_DEFAULTS = {
    "window_minutes": 60,
    "min_requests": 50,
    "max_error_rate_increase": 0.01,
    "max_latency_ratio": 1.5,
    "max_quality_drop": 0.02,
    "max_fairness_gap": 0.1,
    "min_labelled": 30,
}


class OldRow(SimpleNamespace):
    saved: list[str] | None = None

    def save(self, update_fields: list[str] | None = None) -> None:
        self.saved = update_fields


class OldApps:
    """What the migration asks of `apps`: the two models' rows."""

    def __init__(self, gates: list[OldRow], history: list[OldRow]) -> None:
        self.rows = {"CanaryGates": gates, "HistoricalCanaryGates": history}

    def get_model(self, app: str, name: str) -> Any:
        assert app == "monitoring"
        rows = self.rows[name]
        manager = SimpleNamespace(all=lambda: SimpleNamespace(iterator=lambda: iter(rows)))
        return SimpleNamespace(objects=manager)


def test_the_migration_keeps_every_models_gates_and_their_history():
    tuned = OldRow(
        **{
            **OLD_DEFAULTS,
            "max_error_rate_increase": 0.03,
            "max_latency_ratio": 1.25,
            "max_quality_drop": 0.05,
            "max_fairness_gap": 0.2,
            "min_labelled": 80,
        }
    )
    default = OldRow(**OLD_DEFAULTS)
    history = OldRow(**{**OLD_DEFAULTS, "max_latency_ratio": 2.0})

    MIGRATION.forwards(OldApps([tuned, default], [history]), None)

    assert tuned.rules == [
        {
            "metric": "error_rate",
            "relative": "difference",
            "comparison": ">",
            "threshold": 0.03,
            "severity": "critical",
        },
        {
            "metric": "p95_latency_ms",
            "relative": "ratio",
            "comparison": ">",
            "threshold": 1.25,
            "severity": "critical",
        },
        {
            "metric": "accuracy",
            "relative": "difference",
            "comparison": "<",
            "threshold": -0.05,
            "severity": "critical",
            "min_samples": 80,
        },
        {
            "metric": "demographic_parity_difference.*",
            "comparison": ">",
            "threshold": 0.2,
            "severity": "critical",
            "min_samples": 80,
        },
    ]
    assert tuned.saved == ["rules"]
    # A model left at the old defaults gets today's defaults: nothing moved for it.
    assert default.rules == canary_default_rules()
    assert history.rules[1]["threshold"] == 2.0 and history.saved == ["rules"]
    # What it wrote is what the engine and the service take.
    assert (
        canary_gates_problems({"window_minutes": 60, "min_requests": 50, "rules": tuned.rules})
        == {}
    )


def test_the_migration_can_be_undone():
    rules = canary_default_rules()
    rules[1]["threshold"] = 3.0
    rules[2]["threshold"] = -0.04
    rules[2]["min_samples"] = 12
    rules.append({"metric": "prediction_volume", "comparison": "<", "threshold": 5})
    # The columns as re-added before the step runs; -1 shows which ones it wrote.
    unwritten = {name: -1 for name in OLD_DEFAULTS}
    row, untouched = OldRow(**unwritten, rules=rules), OldRow(**unwritten, rules=[])

    MIGRATION.backwards(OldApps([row], [untouched]), None)

    assert (row.max_latency_ratio, row.max_quality_drop, row.min_labelled) == (3.0, 0.04, 12)
    assert (row.max_error_rate_increase, row.max_fairness_gap) == (0.01, 0.1)
    assert (row.window_minutes, row.min_requests) == (-1, -1)  # kept by the schema step
    # Rules of no old shape write no column (they keep the re-added column's default).
    assert untouched.max_latency_ratio == -1 and untouched.saved is None


def test_the_migration_adds_rules_before_it_fills_them_and_drops_the_columns_after():
    kinds = [type(operation).__name__ for operation in MIGRATION.Migration.operations]

    assert kinds == ["AddField", "AddField", "RunPython", *["RemoveField"] * 10]
    assert MIGRATION.Migration.operations[2].reversible
