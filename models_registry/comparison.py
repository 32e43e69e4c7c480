"""A candidate beside production: what a reviewer asks before signing.

Metrics with their deltas, per-group metrics with theirs (from each version's latest
analysis on reference data), SHAP importance side by side, and the parameters that changed.
Each delta says in words whether it is better or worse (never by colour alone); a metric
whose direction we do not know (a count, a positive rate) is only "up" or "down".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from models_registry.models import ModelVersion, VersionAnalysis

LOWER_IS_BETTER = frozenset({"mae", "rmse", "mse", "log_loss", "loss", "brier", "error_rate"})
NEUTRAL = frozenset({"count", "positive_rate"})
GROUP_METRICS = ("auc", "accuracy", "recall", "precision", "positive_rate", "mae", "rmse")
SAME = 1e-9


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


@dataclass(frozen=True)
class Row:
    """One quantity of both versions."""

    name: str
    baseline: Any
    candidate: Any
    label: str = ""  # what the page calls it, when not its name

    @property
    def shown(self) -> str:
        return self.label or self.name

    @property
    def delta(self) -> float | None:
        old, new = _number(self.baseline), _number(self.candidate)
        return None if old is None or new is None else new - old

    @property
    def delta_text(self) -> str:
        return "" if self.delta is None else f"{self.delta:+.4f}"

    @property
    def trend(self) -> str:
        """ "better", "worse", "same", "up", "down" or "" (not comparable)."""
        delta = self.delta
        if delta is None:
            return ""
        if abs(delta) < SAME:
            return "same"
        if self.name in NEUTRAL:
            return "up" if delta > 0 else "down"
        improved = delta < 0 if self.name in LOWER_IS_BETTER else delta > 0
        return "better" if improved else "worse"


@dataclass
class GroupRows:
    attribute: str
    group: str
    rows: list[Row]


@dataclass
class Comparison:
    candidate: ModelVersion
    baseline: ModelVersion
    metrics: list[Row] = field(default_factory=list)
    groups: list[GroupRows] = field(default_factory=list)
    importance: list[Row] = field(default_factory=list)
    changed_params: list[Row] = field(default_factory=list)
    unchanged_params: int = 0
    analysed: bool = False  # both versions have an analysis on reference data


def _latest_analysis(version: ModelVersion) -> VersionAnalysis | None:
    done = [a for a in version.analyses.all() if a.status == VersionAnalysis.Status.DONE]
    return max(done, key=lambda a: (a.computed_at, a.pk), default=None)


def _rows(old: dict[str, Any], new: dict[str, Any], names: list[str] | None = None) -> list[Row]:
    names = names if names is not None else sorted(set(old) | set(new))
    return [Row(name, old.get(name), new.get(name)) for name in names]


def _group_rows(old: dict[str, Any], new: dict[str, Any]) -> list[GroupRows]:
    found = []
    for attribute in sorted(set(old) | set(new)):
        old_groups, new_groups = old.get(attribute, {}), new.get(attribute, {})
        for group in sorted(set(old_groups) | set(new_groups)):
            before, after = old_groups.get(group, {}), new_groups.get(group, {})
            names = [name for name in GROUP_METRICS if name in before or name in after]
            found.append(GroupRows(attribute, group, _rows(before, after, names)))
    return found


def _importance_rows(old: dict[str, Any], new: dict[str, Any]) -> list[Row]:
    """Features by the candidate's importance, largest first (then the baseline's)."""

    def weight(name: str) -> tuple[float, float]:
        return (-(_number(new.get(name)) or 0.0), -(_number(old.get(name)) or 0.0))

    return _rows(old, new, sorted(set(old) | set(new), key=weight))


def version_compare(
    candidate: ModelVersion, baseline: ModelVersion | None = None
) -> Comparison | None:
    """`candidate` beside `baseline` (by default its model's production version); None when
    there is nothing to compare with (no production version, or it is the candidate)."""
    if baseline is None:
        baseline = next(
            (v for v in candidate.model.versions.all() if v.stage == ModelVersion.Stage.PRODUCTION),
            None,
        )
    if baseline is None or baseline.pk == candidate.pk:
        return None
    comparison = Comparison(candidate=candidate, baseline=baseline)
    comparison.metrics = _rows(baseline.metrics or {}, candidate.metrics or {})
    params = _rows(baseline.params or {}, candidate.params or {})
    comparison.changed_params = [row for row in params if row.baseline != row.candidate]
    comparison.unchanged_params = len(params) - len(comparison.changed_params)
    old, new = _latest_analysis(baseline), _latest_analysis(candidate)
    if old is not None and new is not None:
        comparison.analysed = True
        comparison.groups = _group_rows(old.group_metrics, new.group_metrics)
        comparison.importance = _importance_rows(old.global_importance, new.global_importance)
        comparison.metrics += [
            Row(row.name, row.baseline, row.candidate, label=f"{row.name} on reference data")
            for row in _rows(old.overall_metrics, new.overall_metrics)
            if row.name != "count"
        ]
    return comparison
