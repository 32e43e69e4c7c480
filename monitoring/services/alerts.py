"""Alerts: rules evaluated after every check and on every window; people acknowledge and
silence them.

Over time, per (model, version, rule_key) (AlertRuleState):

- a breach adds to the streak of breaches; the rule *fires* once the streak reaches its
  `consecutive`: that opens an alert, or folds into the unresolved one (count + 1, latest
  value, last_seen, check_run). While an alert is unresolved every breach folds into it,
  whatever the streak (it is still the same trouble);
- a clean evaluation ends the streak of breaches; `clear_after` clean evaluations in a
  row resolve the unresolved alert (a silenced one too);
- a skipped evaluation (not measured, too few samples) changes no streak.

Silencing: until a time, with a reason. A silenced alert still folds breaches in and still
resolves itself, but sends no `alert_fired` and joins no incident. When its time has
passed it is open again: Alert.status_at (and the API's status filter) says so at once,
and the stored status is set back to open, audited as `alert.silence_expired`, at the
rule's next evaluation or by the periodic sweep (`alert_silences_expire`, run before every
periodic window evaluation), whichever comes first.

Concurrency: an evaluation locks its model's row first (level 1 of governance/locking.py),
then its rule states and alerts; two evaluations of one model take turns, so a breach seen
twice at once is one alert with count 2. Should an alert be created behind that lock (a
writer that does not take it), the unique constraint one_unresolved_alert_per_rule refuses
the second, and the breach is folded into the first.

Signals (monitoring/signals.py), on commit: `alert_fired(alert, created)` for every breach
of an open (not silenced) alert, `alert_resolved(alert)`, and `retraining_wanted(alert)`
when a new alert's rule has `action: retrain`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from django.conf import settings as django_settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from governance.history import set_change_reason
from governance.locking import retry_on_lock_conflict
from models_registry.locking import LIVE_STAGES, lock_model_for_change
from models_registry.models import ModelVersion, RegisteredModel
from monitoring.config import MonitoringSettings, monitoring_settings, settings_from_document
from monitoring.models import Alert, AlertRuleState, CheckRun, MonitoringConfig
from monitoring.rules import (
    WINDOW,
    Evaluation,
    Outcome,
    Rule,
    applies_to,
    rule_evaluate,
    run_values,
    window_values,
)
from monitoring.services.alert_actions import (
    alert_acknowledge,
    alert_silence,
    alert_silences_expire,
    alert_unsilence,
    audit_alert,
    expire_silence,
    silence_problems,
)
from monitoring.services.alert_incidents import alert_incident_link, alert_incident_note
from monitoring.signals import alert_fired, alert_resolved, retraining_wanted

__all__ = [  # the people's actions live in alert_actions.py; callers import them from here
    "Action",
    "RuleResult",
    "alert_acknowledge",
    "alert_silence",
    "alert_silences_expire",
    "alert_unsilence",
    "alerts_evaluate_run",
    "alerts_evaluate_window",
    "alerts_evaluate_windows",
    "rules_of",
    "silence_problems",
]

logger = logging.getLogger(__name__)


class Action(StrEnum):
    """What one evaluation did."""

    SKIPPED = "skipped"
    CLEAN = "clean"  # clean, and no alert to count it towards
    PENDING = "pending"  # a breach short of `consecutive`
    OPENED = "opened"
    REPEATED = "repeated"  # folded into the unresolved alert
    CLEANING = "cleaning"  # a clean evaluation counted towards `clear_after`
    RESOLVED = "resolved"


@dataclass(frozen=True)
class RuleResult:
    evaluation: Evaluation
    action: Action
    alert: Alert | None = None


def rules_of(settings: MonitoringSettings, kind: str) -> list[Rule]:
    """The config's rules on metrics that `kind` (a check kind or "window") produces."""
    rules = [Rule.from_dict(entry) for entry in settings.alerts]
    return [rule for rule in rules if applies_to(rule.metric, settings, kind)]


def alerts_evaluate_run(*, run: CheckRun, now: datetime | None = None) -> list[RuleResult]:
    """Evaluate the model's rules on the metrics of a finished check run."""
    if run.status != CheckRun.Status.DONE:
        return []
    settings = monitoring_settings(model=run.model)
    rules = rules_of(settings, run.kind)
    if not rules:
        return []
    values = run_values(run)
    evaluations = [rule_evaluate(rule, values, settings=settings) for rule in rules]
    return _record(
        model=run.model, version=run.version, evaluations=evaluations, check_run=run, now=now
    )


def alerts_evaluate_window(
    *,
    model: RegisteredModel,
    version: ModelVersion,
    start: datetime | None = None,
    end: datetime | None = None,
    rules: list[Rule | dict[str, Any]] | None = None,
    baseline: ModelVersion | None = None,
    served_only: bool = False,
    now: datetime | None = None,
) -> list[RuleResult]:
    """Evaluate rules on what `version` did in (start, end] (default: the last
    ALERTS_WINDOW_MINUTES): the config's window rules, or `rules` (a preset), relative
    ones against `baseline` measured on the same window.

    Every call counts, served here or logged through the ingest API (a model served
    elsewhere has only logged calls); a preset that compares slots, as a canary gate does,
    passes `served_only=True`."""
    settings = monitoring_settings(model=model)
    if rules is None:
        chosen = rules_of(settings, WINDOW)
    else:
        chosen = [rule if isinstance(rule, Rule) else Rule.from_dict(rule) for rule in rules]
    if not chosen:
        return []
    end = end or now or timezone.now()
    start = start or end - timedelta(minutes=django_settings.ALERTS_WINDOW_MINUTES)
    window = {"start": start, "end": end, "served_only": served_only}
    values = window_values(model=model, version=version, **window)
    base = window_values(model=model, version=baseline, **window) if baseline else None
    evaluations = [rule_evaluate(rule, values, settings=settings, baseline=base) for rule in chosen]
    return _record(model=model, version=version, evaluations=evaluations, check_run=None, now=now)


def alerts_evaluate_windows(*, now: datetime | None = None) -> dict[str, list[RuleResult]]:
    """The periodic evaluation: end expired silences, then evaluate the window rules of
    every model that has some, on its production and canary versions. One model's failure
    is logged and does not stop the others."""
    alert_silences_expire(now=now)
    results: dict[str, list[RuleResult]] = {}
    for config in MonitoringConfig.objects.select_related("model").order_by("model__name"):
        settings = settings_from_document(config.document, config.model)
        if not rules_of(settings, WINDOW):
            continue
        live = config.model.versions.filter(stage__in=LIVE_STAGES).order_by("version")
        for version in live:
            name = f"{config.model.name} v{version.version}"
            try:
                results[name] = alerts_evaluate_window(model=config.model, version=version, now=now)
            except Exception:  # one model's failure must not stop the others
                logger.exception("window alert rules of %s failed", name)
    return results


# --- recording an evaluation -----------------------------------------------------------


@retry_on_lock_conflict
@transaction.atomic
def _record(
    *,
    model: RegisteredModel,
    version: ModelVersion,
    evaluations: list[Evaluation],
    check_run: CheckRun | None,
    now: datetime | None,
) -> list[RuleResult]:
    now = now or timezone.now()
    lock_model_for_change(model.pk, live=False)
    return [_apply(model, version, ev, check_run, now) for ev in evaluations]


def _state(model: RegisteredModel, version: ModelVersion, rule: Rule) -> AlertRuleState:
    state, _ = AlertRuleState.objects.get_or_create(
        model=model, version=version, rule_key=rule.key, defaults={"metric": rule.metric}
    )
    return AlertRuleState.objects.select_for_update().get(pk=state.pk)


def _unresolved(model: RegisteredModel, version: ModelVersion, key: str) -> Alert | None:
    alert = (
        Alert.objects.select_for_update(of=("self",))
        .select_related("incident")
        .filter(model=model, version=version, rule_key=key)
        .exclude(status=Alert.Status.RESOLVED)
        .first()
    )
    if alert is not None:
        alert.model, alert.version = model, version
    return alert


def _apply(
    model: RegisteredModel,
    version: ModelVersion,
    ev: Evaluation,
    check_run: CheckRun | None,
    now: datetime,
) -> RuleResult:
    state = _state(model, version, ev.rule)
    alert = _unresolved(model, version, ev.key)
    if alert is not None and alert.status_at(now) != alert.status:
        expire_silence(alert)
    state.last_outcome, state.last_value = ev.outcome, ev.value
    state.last_reason, state.evaluated_at = ev.reason[:500], now
    if ev.outcome == Outcome.SKIPPED:
        state.save()
        return RuleResult(ev, Action.SKIPPED, alert)
    if ev.outcome == Outcome.BREACH:
        state.breaches, state.cleans = state.breaches + 1, 0
        state.save()
        if alert is None and state.breaches < ev.rule.consecutive:
            return RuleResult(ev, Action.PENDING)
        return _fire(model, version, ev, alert, check_run, now)
    state.breaches, state.cleans = 0, state.cleans + 1
    state.save()
    if alert is None:
        return RuleResult(ev, Action.CLEAN)
    return _count_clean(alert, ev, now)


def _create(
    model: RegisteredModel,
    version: ModelVersion,
    ev: Evaluation,
    check_run: CheckRun | None,
    now: datetime,
) -> tuple[Alert, bool]:
    """A new alert; or, when another one was created first, that one (to fold into)."""
    alert = Alert(
        model=model,
        version=version,
        rule_key=ev.key,
        rule=ev.rule.as_dict(),
        metric=ev.rule.metric,
        value=ev.value,
        threshold=ev.rule.threshold,
        comparison=ev.rule.comparison,
        severity=ev.rule.severity,
        first_seen=now,
        last_seen=now,
        check_run=check_run,
    )
    set_change_reason(alert, "opened")
    try:
        with transaction.atomic():
            alert.save()
    except IntegrityError:
        existing = _unresolved(model, version, ev.key)
        if existing is None:
            raise
        return existing, False
    return alert, True


def _fire(
    model: RegisteredModel,
    version: ModelVersion,
    ev: Evaluation,
    alert: Alert | None,
    check_run: CheckRun | None,
    now: datetime,
) -> RuleResult:
    created = False
    if alert is None:
        alert, created = _create(model, version, ev, check_run, now)
    if created:
        audit_alert(alert, "opened", value=ev.value, threshold=alert.threshold, reason=ev.reason)
    else:
        alert.count += 1
        alert.value, alert.last_seen, alert.check_run = ev.value, now, check_run
        alert.clean_evaluations = 0
        set_change_reason(alert, f"breached again ({alert.count} breaches)")
        alert.save()
        audit_alert(alert, "repeated", value=ev.value, count=alert.count, reason=ev.reason)
    if alert.status == Alert.Status.OPEN:
        alert_incident_link(alert=alert)
        transaction.on_commit(_sender(alert_fired, alert=alert, created=created), robust=True)
        if created and ev.rule.action == "retrain":
            transaction.on_commit(_sender(retraining_wanted, alert=alert), robust=True)
    return RuleResult(ev, Action.OPENED if created else Action.REPEATED, alert)


def _sender(signal: Any, **kwargs: Any) -> Any:
    return lambda: signal.send(sender=Alert, **kwargs)


def _count_clean(alert: Alert, ev: Evaluation, now: datetime) -> RuleResult:
    alert.clean_evaluations += 1
    needed = ev.rule.clear_after
    if alert.clean_evaluations < needed:
        set_change_reason(alert, f"clean evaluation {alert.clean_evaluations} of {needed}")
        alert.save(update_fields=["clean_evaluations"])
        audit_alert(alert, "clean", clean_evaluations=alert.clean_evaluations, clear_after=needed)
        return RuleResult(ev, Action.CLEANING, alert)
    alert.status, alert.resolved_at = Alert.Status.RESOLVED, now
    set_change_reason(alert, f"resolved after {needed} clean evaluations")
    alert.save(update_fields=["clean_evaluations", "status", "resolved_at"])
    audit_alert(alert, "resolved", clean_evaluations=alert.clean_evaluations, reason=ev.reason)
    alert_incident_note(
        alert=alert,
        kind="alert_resolved",
        message=f"Alert #{alert.pk} resolved itself after {needed} clean evaluations "
        f"({ev.reason}).",
    )
    transaction.on_commit(_sender(alert_resolved, alert=alert), robust=True)
    return RuleResult(ev, Action.RESOLVED, alert)
