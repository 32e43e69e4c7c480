"""The rule engine and the alerts it keeps: fire, fold, wait for consecutive breaches, skip
small samples, resolve itself, silence, acknowledge, incidents and retraining."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import TestCase
from django.utils import timezone

from governance.errors import Conflict, InvalidInput, NotAllowed, NotFound
from governance.models import AuditEvent
from monitoring.models import Alert, AlertRuleState, Incident, IncidentEvent
from monitoring.rules import (
    MetricValues,
    Outcome,
    Rule,
    RuleError,
    compare,
    rule_evaluate,
    rule_key,
)
from monitoring.services import alerts as alert_services
from monitoring.services.alerts import (
    Action,
    alert_acknowledge,
    alert_silence,
    alert_silences_expire,
    alert_unsilence,
)
from tests.monitoring.alert_helpers import configure, evaluate, finished_run, signals_sent

DRIFT_RULE = {"metric": "drift_share", "threshold": 0.3, "severity": "warning"}


@pytest.fixture
def version(make_model, make_version) -> Any:
    return make_version(make_model(protected_attributes=["gender"]))


def audit_actions(alert: Alert) -> list[str]:
    events = AuditEvent.objects.filter(object_type="alert", object_id=str(alert.pk))
    return list(events.order_by("id").values_list("action", flat=True))


# --- the engine ---------------------------------------------------------------------------


def test_a_rule_key_is_the_same_with_or_without_defaults_and_changes_with_the_rule():
    written = {"metric": "drift_share", "threshold": 0.3, "severity": "warning"}
    full = {
        **written,
        "comparison": ">=",
        "min_samples": 0,
        "consecutive": 1,
        "clear_after": 3,
        "action": "notify",
    }

    assert rule_key(written) == rule_key(full) == Rule.from_dict(full).key
    assert len(rule_key(written)) == 64 and int(rule_key(written), 16) >= 0
    assert rule_key({**written, "threshold": 0.31}) != rule_key(written)
    assert rule_key({**written, "relative": "difference"}) != rule_key(written)


def test_a_preset_rule_that_makes_no_sense_is_refused_naming_its_problems():
    with pytest.raises(RuleError, match=r"comparison must be one of .* relative must be one of"):
        Rule.from_dict({**DRIFT_RULE, "comparison": "~", "relative": "sideways"})
    with pytest.raises(RuleError, match="unknown key 'treshold'"):
        Rule.from_dict({**DRIFT_RULE, "treshold": 1})


def test_comparisons_count_a_value_at_the_threshold_whatever_the_rounding():
    assert compare(0.1 + 0.2, ">=", 0.3) and not compare(0.1 + 0.2, ">", 0.3)
    assert compare(0.3, "<=", 0.1 + 0.2) and not compare(0.3, "<", 0.1 + 0.2)
    assert compare(0.29, "<", 0.3) and compare(0.31, ">", 0.3)


def test_lower_is_worse_metrics_default_to_firing_below_the_threshold():
    rule = Rule.from_dict({"metric": "f1", "threshold": 0.7, "severity": "info"})
    values = MetricValues(kind="quality", values={"f1": 0.65}, rows=500, labelled=200, source="t")

    assert rule.comparison == "<"
    assert rule_evaluate(rule, values).outcome == Outcome.BREACH


def test_a_relative_rule_compares_with_the_baseline_and_skips_without_one():
    """The canary's kind of rule: canary minus production error rate, at most 0.01."""
    rule = Rule.from_dict(
        {
            "metric": "error_rate",
            "threshold": 0.01,
            "comparison": ">",
            "severity": "critical",
            "relative": "difference",
            "min_samples": 50,
        }
    )
    ratio = Rule.from_dict({**rule.as_dict(), "metric": "p95_latency_ms", "relative": "ratio"})
    canary = MetricValues(
        kind="window",
        values={"error_rate": 0.05, "p95_latency_ms": 300.0},
        rows=60,
        labelled=0,
        source="canary",
    )
    production = MetricValues(
        kind="window",
        values={"error_rate": 0.02, "p95_latency_ms": 0.0},
        rows=240,
        labelled=0,
        source="production",
    )

    breach = rule_evaluate(rule, canary, baseline=production)
    assert breach.outcome == Outcome.BREACH
    assert breach.value == pytest.approx(0.03) and breach.baseline == 0.02
    assert breach.measured == 0.05
    assert rule_evaluate(rule, canary).outcome == Outcome.SKIPPED
    zero = rule_evaluate(ratio, canary, baseline=production)
    assert (zero.outcome, zero.reason) == (Outcome.SKIPPED, "baseline p95_latency_ms is 0")
    few = MetricValues(kind="window", values={"error_rate": 0.5}, rows=49, labelled=0, source="")
    skipped = rule_evaluate(rule, few, baseline=production)
    assert (skipped.outcome, skipped.reason) == (Outcome.SKIPPED, "49 rows, 50 needed")


def test_a_relative_accuracy_rule_needs_labels_on_both_versions():
    """The canary's quality gate: canary accuracy at most 0.02 below production's, with
    30 labelled calls on each."""
    rule = Rule.from_dict(
        {
            "metric": "accuracy",
            "threshold": -0.02,
            "comparison": "<",
            "severity": "critical",
            "relative": "difference",
            "min_samples": 30,
        }
    )

    def window(accuracy: float, labelled: int) -> MetricValues:
        return MetricValues(
            kind="window", values={"accuracy": accuracy}, rows=500, labelled=labelled, source=""
        )

    dropped = rule_evaluate(rule, window(0.80, 40), baseline=window(0.90, 40))
    unlabelled = rule_evaluate(rule, window(0.80, 40), baseline=window(0.90, 10))
    steady = rule_evaluate(rule, window(0.89, 40), baseline=window(0.90, 40))

    assert dropped.outcome == Outcome.BREACH and dropped.value == pytest.approx(-0.1)
    assert unlabelled.outcome == Outcome.SKIPPED
    assert unlabelled.reason == "baseline: 10 labelled rows, 30 needed"
    assert steady.outcome == Outcome.CLEAN


# --- alerts from check runs -----------------------------------------------------------------


def test_a_breach_opens_an_alert_and_a_repeat_folds_into_it(version):
    configure(version.model, [DRIFT_RULE])
    first = finished_run(version, drift_share=0.4)
    second = finished_run(version, drift_share=0.6)

    with signals_sent() as sent:
        [opened] = evaluate(first)
        [repeated] = evaluate(second)

    assert (opened.action, repeated.action) == (Action.OPENED, Action.REPEATED)
    alert = Alert.objects.get()
    assert alert.pk == opened.alert.pk == repeated.alert.pk
    assert (alert.status, alert.count, alert.value) == ("open", 2, 0.6)
    assert alert.check_run == second and alert.first_seen <= alert.last_seen
    assert (alert.metric, alert.threshold, alert.comparison) == ("drift_share", 0.3, ">=")
    assert alert.rule_key == rule_key(DRIFT_RULE) and alert.rule["severity"] == "warning"
    assert [(name, created) for name, _, created in sent] == [("fired", True), ("fired", False)]
    assert audit_actions(alert) == ["alert.opened", "alert.incident_linked", "alert.repeated"]
    reasons = list(
        alert.history.order_by("history_id").values_list("history_change_reason", flat=True)
    )
    assert reasons[0] == "opened" and reasons[-1] == "breached again (2 breaches)"


def test_a_rule_with_consecutive_fires_only_after_that_many_breaches_in_a_row(version):
    configure(version.model, [{**DRIFT_RULE, "consecutive": 3}])

    actions = [
        evaluate(finished_run(version, drift_share=share))[0].action
        for share in (0.5, 0.5, 0.1, 0.5, 0.5, 0.5)
    ]

    assert actions == [
        Action.PENDING,
        Action.PENDING,
        Action.CLEAN,  # the streak starts again
        Action.PENDING,
        Action.PENDING,
        Action.OPENED,
    ]
    assert Alert.objects.get().count == 1


def test_too_few_rows_skip_the_rule_without_breaking_or_ending_a_streak(version):
    configure(version.model, [{**DRIFT_RULE, "consecutive": 2, "min_samples": 100}])

    breach = evaluate(finished_run(version, rows=500, drift_share=0.9))[0]
    small = evaluate(finished_run(version, rows=40, drift_share=0.9))[0]
    state = AlertRuleState.objects.get()
    assert (breach.action, small.action) == (Action.PENDING, Action.SKIPPED)
    assert small.evaluation.reason == "40 rows, 100 needed"
    assert (state.breaches, state.last_outcome) == (1, "skipped")

    assert evaluate(finished_run(version, rows=500, drift_share=0.9))[0].action == Action.OPENED


def test_quality_rules_count_labelled_rows_for_min_samples(version):
    configure(
        version.model, [{"metric": "f1", "threshold": 0.8, "severity": "info", "min_samples": 30}]
    )

    few = evaluate(finished_run(version, "quality", rows=1000, labelled=12, f1=0.5))[0]
    enough = evaluate(finished_run(version, "quality", rows=1000, labelled=300, f1=0.5))[0]

    assert few.action == Action.SKIPPED and few.evaluation.reason == "12 labelled rows, 30 needed"
    assert enough.action == Action.OPENED


def test_an_unmeasured_metric_and_another_kind_of_check_leave_the_rule_alone(version):
    configure(
        version.model, [DRIFT_RULE, {"metric": "roc_auc", "threshold": 0.7, "severity": "info"}]
    )

    drift = evaluate(finished_run(version, drift_share=None))
    quality = evaluate(finished_run(version, "quality", labelled=50, roc_auc=None))

    assert [r.action for r in drift] == [Action.SKIPPED]  # only the drift rule applies
    assert drift[0].evaluation.reason == "drift_share not measured"
    assert [(r.evaluation.rule.metric, r.action) for r in quality] == [("roc_auc", Action.SKIPPED)]
    assert not Alert.objects.exists()


def test_config_metric_names_and_fairness_families_are_evaluated(version):
    configure(
        version.model,
        [
            {"metric": "churn_rate", "threshold": 0.05, "severity": "info"},
            {"metric": "gap", "threshold": 0.1, "severity": "info"},
            {"metric": "demographic_parity_difference.*", "threshold": 0.2, "severity": "info"},
        ],
        metrics=[
            {"name": "churn_rate", "type": "binary_classification", "measure": "positive_rate"},
            {"name": "gap", "type": "fairness", "attribute": "gender"},
        ],
    )
    quality = finished_run(version, "quality", labelled=100, positive_rate=0.08)
    fairness = finished_run(
        version,
        "fairness",
        **{"demographic_parity_difference.gender": 0.15, "demographic_parity_difference.age": 0.25},
    )

    [churn] = evaluate(quality)
    gap, family = evaluate(fairness)

    assert (churn.action, churn.evaluation.value) == (Action.OPENED, 0.08)
    assert (gap.action, gap.evaluation.value) == (Action.OPENED, 0.15)
    assert (family.action, family.evaluation.value) == (Action.OPENED, 0.25)  # the worst


def test_clean_evaluations_resolve_the_alert_and_a_new_breach_opens_another(version):
    configure(version.model, [{**DRIFT_RULE, "clear_after": 2}])
    evaluate(finished_run(version, drift_share=0.5))

    with signals_sent() as sent:
        cleaning = evaluate(finished_run(version, drift_share=0.1))[0]
        evaluate(finished_run(version, drift_share=0.5))  # a breach: the clean count restarts
        evaluate(finished_run(version, drift_share=0.1))
        resolved = evaluate(finished_run(version, drift_share=0.1))[0]

    alert = Alert.objects.get()
    assert (cleaning.action, resolved.action) == (Action.CLEANING, Action.RESOLVED)
    assert (alert.status, alert.count, alert.clean_evaluations) == ("resolved", 2, 2)
    assert alert.resolved_at is not None
    assert [name for name, _, _ in sent] == ["fired", "resolved"]
    assert audit_actions(alert)[-1] == "alert.resolved"

    again = evaluate(finished_run(version, drift_share=0.5))[0]
    assert again.action == Action.OPENED and again.alert.pk != alert.pk
    assert Alert.objects.count() == 2


def test_a_changed_rule_is_a_new_rule(version):
    configure(version.model, [DRIFT_RULE])
    evaluate(finished_run(version, drift_share=0.5))
    configure(version.model, [{**DRIFT_RULE, "threshold": 0.4}])

    assert evaluate(finished_run(version, drift_share=0.5))[0].action == Action.OPENED
    assert Alert.objects.filter(status="open").count() == 2


def test_a_concurrently_created_alert_is_folded_into_not_duplicated(version, monkeypatch):
    """The unique constraint refuses a second unresolved alert; the breach folds instead."""
    configure(version.model, [DRIFT_RULE])
    evaluate(finished_run(version, drift_share=0.5))
    real = alert_services._unresolved
    calls = []

    def first_look_misses(*args: Any) -> Any:  # as if the other alert were not yet visible
        calls.append(args)
        return None if len(calls) == 1 else real(*args)

    monkeypatch.setattr(alert_services, "_unresolved", first_look_misses)
    result = evaluate(finished_run(version, drift_share=0.7))[0]

    assert result.action == Action.REPEATED
    alert = Alert.objects.get()
    assert (alert.count, alert.value) == (2, 0.7)


# --- silencing and acknowledging ------------------------------------------------------------


def open_alert(version: Any, users: dict[str, Any], **rule: Any) -> Alert:
    configure(version.model, [{**DRIFT_RULE, **rule}])
    return evaluate(finished_run(version, drift_share=0.5))[0].alert


def test_a_silenced_alert_counts_breaches_quietly_until_its_time_passes(version, users):
    alert = open_alert(version, users)
    until = timezone.now() + timedelta(hours=2)

    alert_silence(actor=users["board"], alert_id=alert.pk, until=until, reason="known migration")
    with signals_sent() as quiet:
        assert evaluate(finished_run(version, drift_share=0.6))[0].action == Action.REPEATED
    alert.refresh_from_db()
    assert (alert.status, alert.count, alert.silenced_by) == ("silenced", 2, users["board"])
    assert alert.silence_reason == "known migration" and alert.silenced_until == until
    assert quiet == []

    later = until + timedelta(minutes=1)
    assert alert.status_at(later) == "open"
    with signals_sent() as loud:
        evaluate(finished_run(version, drift_share=0.7), now=later)
    alert.refresh_from_db()
    assert (alert.status, alert.count) == ("open", 3)
    assert [(name, created) for name, _, created in loud] == [("fired", False)]
    assert audit_actions(alert) == [
        "alert.opened",
        "alert.incident_linked",
        "alert.silenced",
        "alert.repeated",
        "alert.silence_expired",
        "alert.repeated",
    ]


def test_the_sweep_stores_expired_silences_as_open(version, users):
    alert = open_alert(version, users)
    until = timezone.now() + timedelta(minutes=10)
    alert_silence(actor=users["ds"], alert_id=alert.pk, until=until, reason="deploying")

    assert alert_silences_expire() == 0
    assert alert_silences_expire(now=until + timedelta(seconds=1)) == 1
    alert.refresh_from_db()
    assert alert.status == "open"
    assert audit_actions(alert)[-1] == "alert.silence_expired"


def test_silencing_needs_a_future_time_with_a_zone_and_a_reason(version, users):
    alert = open_alert(version, users)
    now = timezone.now()

    for until, reason, field in (
        (now - timedelta(minutes=1), "x", "until"),
        (now.replace(tzinfo=None) + timedelta(hours=1), "x", "until"),
        (now + timedelta(days=400), "x", "until"),
        (now + timedelta(hours=1), "  ", "reason"),
    ):
        with pytest.raises(InvalidInput) as refused:
            alert_silence(actor=users["ds"], alert_id=alert.pk, until=until, reason=reason)
        assert list(refused.value.extra) == [field]
    alert.refresh_from_db()
    assert alert.status == "open" and alert.silenced_until is None


def test_unsilencing_opens_it_again_and_only_a_silenced_alert(version, users):
    alert = open_alert(version, users)
    with pytest.raises(Conflict):
        alert_unsilence(actor=users["ds"], alert_id=alert.pk)
    alert_silence(
        actor=users["ds"], alert_id=alert.pk, until=timezone.now() + timedelta(hours=1), reason="r"
    )

    alert = alert_unsilence(actor=users["compliance"], alert_id=alert.pk, comment="over")

    assert alert.status == "open" and alert.silenced_until <= timezone.now()
    assert audit_actions(alert)[-1] == "alert.unsilenced"


def test_acknowledging_is_recorded_once_by_a_role_that_manages_alerts(version, users):
    alert = open_alert(version, users)

    with pytest.raises(NotAllowed):
        alert_acknowledge(actor=users["validator"], alert_id=alert.pk)
    with pytest.raises(NotFound):
        alert_acknowledge(actor=users["ds"], alert_id=alert.pk + 100)
    alert = alert_acknowledge(actor=users["ds"], alert_id=alert.pk, comment="looking")
    assert alert.acknowledged_by == users["ds"] and alert.acknowledged_at is not None
    with pytest.raises(Conflict, match="was acknowledged by dana"):
        alert_acknowledge(actor=users["board"], alert_id=alert.pk)
    event = AuditEvent.objects.filter(action="alert.acknowledged").get()
    assert event.data["comment"] == "looking" and event.actor == users["ds"]


def test_a_resolved_alert_cannot_be_acknowledged_or_silenced(version, users):
    alert = open_alert(version, users, clear_after=1)
    evaluate(finished_run(version, drift_share=0.0))

    with pytest.raises(Conflict):
        alert_acknowledge(actor=users["ds"], alert_id=alert.pk)
    with pytest.raises(Conflict):
        alert_silence(
            actor=users["ds"],
            alert_id=alert.pk,
            until=timezone.now() + timedelta(hours=1),
            reason="r",
        )


def test_silencing_and_unsilencing_need_manage_alerts(version, users):
    alert = open_alert(version, users)
    until = timezone.now() + timedelta(hours=1)

    for who in ("validator", "ci", "outsider"):
        with pytest.raises(NotAllowed):
            alert_silence(actor=users[who], alert_id=alert.pk, until=until, reason="r")
        with pytest.raises(NotAllowed):
            alert_unsilence(actor=users[who], alert_id=alert.pk)


# --- incidents and retraining ---------------------------------------------------------------


def test_a_warning_alert_opens_an_incident_a_critical_one_joins_and_raises_it(version, users):
    configure(
        version.model,
        [
            DRIFT_RULE,
            {"metric": "drift.tenure", "threshold": 0.1, "severity": "critical"},
            {"metric": "rows", "threshold": 100, "severity": "info", "comparison": "<"},
        ],
    )

    drift_share, tenure, rows = evaluate(
        finished_run(version, rows=50, drift_share=0.5, **{"drift.tenure": 0.4})
    )

    incident = Incident.objects.get()
    # Opened by the warning alert, raised to critical by the critical one that joined it.
    assert (incident.source, incident.severity, incident.version) == ("alert", "critical", version)
    assert drift_share.alert.incident == tenure.alert.incident == incident
    assert rows.action == Action.OPENED and rows.alert.incident is None  # info: no incident
    kinds = list(IncidentEvent.objects.filter(incident=incident).values_list("kind", flat=True))
    assert kinds == ["opened", "alert", "severity_raised"]
    assert incident.details["alert"] == drift_share.alert.pk
    assert AuditEvent.objects.filter(action="incident.alert_joined").count() == 1

    alert_acknowledge(actor=users["ds"], alert_id=tenure.alert.pk, comment="on it")
    last = IncidentEvent.objects.filter(incident=incident).last()
    assert (last.kind, last.message, last.actor) == ("alert_acknowledged", "on it", users["ds"])


def test_an_alert_of_a_version_with_a_resolved_incident_opens_a_new_one(version, users):
    configure(version.model, [{**DRIFT_RULE, "clear_after": 1}])
    evaluate(finished_run(version, drift_share=0.5))
    first = Incident.objects.get()
    first.status = "resolved"
    first.save()

    evaluate(finished_run(version, drift_share=0.0))  # resolves the alert
    evaluate(finished_run(version, drift_share=0.5))  # a new alert

    assert Incident.objects.count() == 2
    assert Alert.objects.get(status="open").incident != first


def test_a_retrain_rule_asks_for_retraining_once_per_new_alert(version):
    configure(version.model, [{**DRIFT_RULE, "action": "retrain"}])

    with signals_sent() as sent:
        evaluate(finished_run(version, drift_share=0.5))
        evaluate(finished_run(version, drift_share=0.5))

    retrain = [alert for name, alert, _ in sent if name == "retrain"]
    assert len(retrain) == 1 and retrain[0] == Alert.objects.get()


def test_nothing_is_sent_when_the_evaluation_rolls_back(version):
    configure(version.model, [{**DRIFT_RULE, "action": "retrain"}])
    run = finished_run(version, drift_share=0.5)

    with signals_sent() as sent, TestCase.captureOnCommitCallbacks(execute=False):
        alert_services.alerts_evaluate_run(run=run)

    assert sent == []  # the test's transaction never commits
    assert Alert.objects.count() == 1
