"""The rule engine: one definition of a rule, one comparison, for alerts and presets.

- definition.py: Rule (a config `alerts:` entry or a preset), `rule_key`.
- values.py: where a metric's value comes from (a check run, a window measurement).
- engine.py: `rule_evaluate` -> breach, clean or skipped.

The state over time (consecutive breaches, alerts, auto-resolve) is in
monitoring/services/alerts.py.
"""

from monitoring.rules.definition import RELATIVE, Rule, RuleError, rule_key
from monitoring.rules.engine import TOLERANCE, Evaluation, Outcome, compare, rule_evaluate
from monitoring.rules.values import (
    WINDOW,
    MetricValues,
    applies_to,
    metric_target,
    metric_value,
    rule_kind,
    run_values,
    slot_values,
    window_values,
    with_flags,
)

__all__ = [
    "RELATIVE",
    "TOLERANCE",
    "WINDOW",
    "Evaluation",
    "MetricValues",
    "Outcome",
    "Rule",
    "RuleError",
    "applies_to",
    "compare",
    "metric_target",
    "metric_value",
    "rule_evaluate",
    "rule_key",
    "rule_kind",
    "run_values",
    "slot_values",
    "window_values",
    "with_flags",
]
