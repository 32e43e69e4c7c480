"""Canary gates: per model, edited by compliance officers (in the admin).

The gates are rules of the engine (monitoring/rules/), so they are validated by the same
Rule.from_dict as the monitoring config's `alerts:`; what is canary-only is checked here:
the metrics a window measures, and that a gate decides on one window (no `consecutive`,
`clear_after` or `action`).
"""

from __future__ import annotations

import math
from typing import Any

from django.db import transaction

from governance.errors import InvalidInput, NotAllowed
from governance.history import set_change_reason
from governance.roles import Capability, user_can
from governance.services import audit_record
from monitoring.canary import GATE_FIELDS
from monitoring.canary_defaults import FAIRNESS_FAMILY
from monitoring.config_document import WINDOW_METRICS
from monitoring.models import CanaryGates
from monitoring.rules import Rule, RuleError

LIMITS: dict[str, tuple[int, int]] = {
    "window_minutes": (1, 7 * 24 * 60),
    "min_requests": (1, 10_000_000),
}
MAX_RULES = 50
# What a window of served calls measures (monitoring/canary.py: window_values and the
# positive-rate gaps per protected attribute, `.*` for the worst one).
CANARY_METRICS = (*WINDOW_METRICS, "accuracy")
ONE_WINDOW_KEYS = ("consecutive", "clear_after", "action")


def canary_metric_known(metric: str) -> bool:
    return metric in CANARY_METRICS or (
        metric.startswith(FAIRNESS_FAMILY) and len(metric) > len(FAIRNESS_FAMILY)
    )


def canary_rules_problems(rules: Any) -> list[str]:
    """What is wrong with a list of gates, one sentence per problem (empty: valid)."""
    if not isinstance(rules, list) or not rules:
        return ["The gates must be a list of at least one rule."]
    if len(rules) > MAX_RULES:
        return [f"At most {MAX_RULES} gates."]
    problems = []
    for number, data in enumerate(rules, start=1):
        if not isinstance(data, dict):
            problems.append(f"Gate {number}: expected a mapping (metric, threshold, ...).")
            continue
        fixed = [key for key in ONE_WINDOW_KEYS if key in data]
        if fixed:
            problems.append(
                f"Gate {number}: a canary gate decides on one window; "
                f"{', '.join(fixed)} do not apply."
            )
            continue
        try:
            rule = Rule.from_dict({"severity": "critical", **data})
        except RuleError as exc:
            problems.append(f"Gate {number}: {exc}")
            continue
        if not math.isfinite(rule.threshold):
            problems.append(f"Gate {number}: the threshold must be a finite number.")
        if not canary_metric_known(rule.metric):
            known = ", ".join((*CANARY_METRICS, f"{FAIRNESS_FAMILY}<attribute> or .*"))
            problems.append(f"Gate {number}: a window measures {known}, not {rule.metric!r}.")
    return problems


def canary_rules_normalize(rules: list[dict]) -> list[dict]:
    """Each gate as it is stored: what was written, with severity and comparison filled."""
    normalized = []
    for data in rules:
        rule = Rule.from_dict({"severity": "critical", **data})
        stored = {"metric": rule.metric}
        if rule.relative:
            stored["relative"] = rule.relative
        stored |= {"comparison": rule.comparison, "threshold": rule.threshold}
        stored["severity"] = rule.severity
        if rule.min_samples:
            stored["min_samples"] = rule.min_samples
        normalized.append(stored)
    return normalized


def canary_gates_problems(values: dict[str, Any]) -> dict[str, list[str]]:
    """Field -> errors (the admin form shows them beside the fields)."""
    problems: dict[str, list[str]] = {}
    for name, (low, high) in LIMITS.items():
        value = values.get(name)
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            problems[name] = [f"A whole number between {low:g} and {high:g}."]
    if rule_problems := canary_rules_problems(values.get("rules")):
        problems["rules"] = rule_problems
    return problems


@transaction.atomic
def canary_gates_save(*, actor: Any, gates: CanaryGates, origin_label: str = "") -> bool:
    """Store a model's edited gates; False if nothing changed."""
    if not user_can(actor, Capability.USE_ADMIN) and not getattr(actor, "is_superuser", False):
        raise NotAllowed("Only compliance officers edit canary gates.")
    problems = canary_gates_problems({name: getattr(gates, name) for name in GATE_FIELDS})
    if problems:
        raise InvalidInput("The canary gates are not valid.", extra=problems)
    gates.rules = canary_rules_normalize(gates.rules)
    before = CanaryGates.objects.filter(pk=gates.pk).values(*GATE_FIELDS).first()
    changed = [f for f in GATE_FIELDS if before is None or before[f] != getattr(gates, f)]
    if not changed:
        return False
    where = f" in {origin_label}" if origin_label else ""
    reason = (f"edited{where}: " + ", ".join(changed)) if before else f"created{where}"
    set_change_reason(gates, reason[:100])
    gates.save()
    audit_record(
        action="canary_gates.edited" if before else "canary_gates.created",
        object_type="model",
        object_id=gates.model.name,
        data={**{f: getattr(gates, f) for f in GATE_FIELDS}, "previous": before},
        actor=actor,
    )
    return True
