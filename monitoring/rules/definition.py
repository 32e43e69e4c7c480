"""What a rule is: a metric, a comparison with a threshold, and how breaches count.

The monitoring config's `alerts:` entries (validated by monitoring/config_document.py) are
rules; so is any preset a caller builds (the canary's, for instance), which may also compare
the metric *relative to a baseline* (the same metric of another version on the same window):
`relative: difference` compares value - baseline, `relative: ratio` value / baseline.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from governance.audit.hashing import canonical_json, sha256_hex
from monitoring.config_document import (
    ACTIONS,
    ALERT_KEYS,
    COMPARISONS,
    DEFAULT_CLEAR_AFTER,
    SEVERITIES,
    metric_direction,
)

RELATIVE = ("difference", "ratio")
RULE_KEYS = (*ALERT_KEYS, "relative")  # a config's rule, and what presets add


class RuleError(ValueError):
    """A rule given in code (a preset) that the engine cannot evaluate; says what is wrong."""


@dataclass(frozen=True)
class Rule:
    """One rule, normalized: every key has its value (defaults filled in)."""

    metric: str
    threshold: float
    severity: str
    comparison: str
    min_samples: int = 0
    consecutive: int = 1
    clear_after: int = DEFAULT_CLEAR_AFTER
    action: str = "notify"
    relative: str | None = None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Rule:
        """A rule from a config's validated `alerts:` entry or a preset's dict."""
        unknown = sorted(set(data) - set(RULE_KEYS))
        problems = [f"unknown key {key!r}" for key in unknown]
        metric = data.get("metric")
        if not isinstance(metric, str) or not metric:
            problems.append("metric must be a name")
        threshold = data.get("threshold")
        if isinstance(threshold, bool) or not isinstance(threshold, int | float):
            problems.append("threshold must be a number")
        if data.get("severity") not in SEVERITIES:
            problems.append(f"severity must be one of {', '.join(SEVERITIES)}")
        comparison = data.get("comparison") or default_comparison(str(metric))
        if comparison not in COMPARISONS:
            problems.append(f"comparison must be one of {', '.join(COMPARISONS)}")
        counts = {}
        for key, low, default in (
            ("min_samples", 0, 0),
            ("consecutive", 1, 1),
            ("clear_after", 1, DEFAULT_CLEAR_AFTER),
        ):
            value = data.get(key, default)
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                problems.append(f"{key} must be an integer of at least {low}")
            counts[key] = value
        action = data.get("action", "notify")
        if action not in ACTIONS:
            problems.append(f"action must be one of {', '.join(ACTIONS)}")
        relative = data.get("relative")
        if relative is not None and relative not in RELATIVE:
            problems.append(f"relative must be one of {', '.join(RELATIVE)}")
        if problems:
            raise RuleError(f"Rule {dict(data)!r}: {'; '.join(problems)}.")
        return cls(
            metric=metric,
            threshold=float(threshold),
            severity=data["severity"],
            comparison=comparison,
            action=action,
            relative=relative,
            **counts,
        )

    def as_dict(self) -> dict[str, Any]:
        """The definition as stored on an alert; `relative` only when the rule has one."""
        data = asdict(self)
        if self.relative is None:
            del data["relative"]
        return data

    @property
    def key(self) -> str:
        return rule_key(self)

    def describe(self) -> str:
        """`drift_share >= 0.3`, `error_rate - baseline > 0.01`."""
        subject = self.metric
        if self.relative == "difference":
            subject = f"{self.metric} - baseline"
        elif self.relative == "ratio":
            subject = f"{self.metric} / baseline"
        return f"{subject} {self.comparison} {self.threshold:g}"


def default_comparison(metric: str) -> str:
    """As the config defaults it: below the threshold when lower is worse, else reaching it."""
    return "<" if metric_direction(metric) == "lower_is_worse" else ">="


def rule_key(rule: Rule | Mapping[str, Any]) -> str:
    """SHA-256 (hex) of the rule's normalized definition: the same rule, written with or
    without its defaults, has the same key; any changed part makes it another rule."""
    normalized = rule if isinstance(rule, Rule) else Rule.from_dict(rule)
    return sha256_hex(canonical_json(normalized.as_dict()))
