"""The canary preset's default gates, as data: rules of the engine (monitoring/rules/).

A canary is compared with production on one window. A `relative` rule compares the
canary's value with production's on that window (`difference`: canary - production;
`ratio`: canary / production); a rule without one compares the canary's own value. Every
key means what it means in monitoring/rules/definition.py: one definition of a rule, one
comparison (monitoring/rules/engine.py), no second copy of thresholds.

Pure data without imports, because monitoring/models.py takes the field default from here.
"""

from __future__ import annotations

DEFAULT_WINDOW_MINUTES = 60
DEFAULT_MIN_REQUESTS = 50
# The worst protected attribute's positive-rate gap (highest minus lowest group).
FAIRNESS_GAP = "demographic_parity_difference.*"
FAIRNESS_FAMILY = "demographic_parity_difference."


def canary_default_rules() -> list[dict]:
    """The gates every model has until a compliance officer edits them."""
    return [
        {
            "metric": "error_rate",
            "relative": "difference",
            "comparison": ">",
            "threshold": 0.01,
            "severity": "critical",
        },
        {
            "metric": "p95_latency_ms",
            "relative": "ratio",
            "comparison": ">",
            "threshold": 1.5,
            "severity": "critical",
        },
        {
            "metric": "accuracy",
            "relative": "difference",
            "comparison": "<",
            "threshold": -0.02,
            "severity": "critical",
            "min_samples": 30,
        },
        {
            "metric": FAIRNESS_GAP,
            "comparison": ">",
            "threshold": 0.1,
            "severity": "critical",
            "min_samples": 30,
        },
    ]


# The gate names an incident's `failed_gates` and the API have always used.
GATE_NAMES = {"error_rate": "error_rate", "p95_latency_ms": "latency", "accuracy": "quality"}


def gate_name(metric: str) -> str:
    """`fairness` for the positive-rate gaps, `latency`, `quality`, else the metric."""
    if metric.startswith(FAIRNESS_FAMILY):
        return "fairness"
    return GATE_NAMES.get(metric, metric)
