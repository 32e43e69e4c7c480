"""Fairness of a binary classifier's window per protected attribute, as fairlearn computes it.

Per attribute and group: count, selection rate, true and false positive rates; across the
groups: demographic parity difference and ratio (fairlearn's `demographic_parity_difference`
/ `_ratio`, between groups) and equalized odds difference (`equalized_odds_difference`,
`agg="worst_case"`: the larger of the TPR gap and the FPR gap).

Which rows each measure uses:
- selection rate and demographic parity need only predictions: every row of the window whose
  attribute has a value (class = `y_score >= threshold`);
- TPR, FPR and equalized odds need ground truth: the labelled rows among those.
A row without a value for the attribute (None) belongs to no group: it is left out of that
attribute's measures and counted as `missing` (an "unknown" bucket is no protected group, and
comparing with it would judge the data collection, not the model).

Groups smaller than `min_group_size` are reported with their counts and rates but not judged:
they take no part in the differences, and `not_judged` names them. A group is judged for
demographic parity by its rows and for equalized odds by its labelled rows. A difference
needs two judged groups; otherwise it is None and `reasons` says why (fairlearn says 0.0 of
a single group, which would read as fair). Like fairlearn, a
group with labelled rows but no positive label has TPR 0.0 (no negative: FPR 0.0); `reasons`
names such groups. Computed with one factorization and a few counts per attribute
(tests/monitoring/test_fairness_metrics.py checks equality with fairlearn on the same rows).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from monitoring.checks._arrays import binary_labels, finite_scores, float_column, same_length
from monitoring.checks.errors import CheckInputError

DEFAULT_MIN_GROUP_SIZE = 30

ROWS_USED = {
    "selection_rate": "every row of the window with a value for the attribute",
    "demographic_parity": "those rows, in groups with at least min_group_size rows",
    "tpr_fpr": "the labelled rows among them (y_true not NaN)",
    "equalized_odds": "those rows, in groups with at least min_group_size labelled rows",
    "missing": "rows without a value for the attribute belong to no group and are left out",
}


@dataclass(frozen=True)
class AttributeFairness:
    """The groups of one attribute and the differences between the judged ones."""

    groups: dict[str, dict[str, Any]]
    demographic_parity_difference: float | None
    demographic_parity_ratio: float | None
    equalized_odds_difference: float | None
    missing: int
    not_judged: dict[str, list[str]]
    reasons: dict[str, str] = field(default_factory=dict)

    def as_results(self) -> dict[str, Any]:
        return {
            "groups": self.groups,
            "demographic_parity_difference": self.demographic_parity_difference,
            "demographic_parity_ratio": self.demographic_parity_ratio,
            "equalized_odds_difference": self.equalized_odds_difference,
            "missing": self.missing,
            "not_judged": self.not_judged,
            "reasons": self.reasons,
        }


@dataclass(frozen=True)
class FairnessResult:
    """Fairness of one window: per attribute, groups and differences."""

    rows: int
    labelled: int
    threshold: float
    min_group_size: int
    attributes: dict[str, AttributeFairness]

    def as_results(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "labelled": self.labelled,
            "threshold": self.threshold,
            "min_group_size": self.min_group_size,
            "rows_used": ROWS_USED,
            "attributes": {name: a.as_results() for name, a in self.attributes.items()},
        }

    def metrics(self) -> dict[str, float | None]:
        values: dict[str, float | None] = {"rows": float(self.rows)}
        for name, attribute in self.attributes.items():
            values[f"demographic_parity_difference.{name}"] = (
                attribute.demographic_parity_difference
            )
            values[f"demographic_parity_ratio.{name}"] = attribute.demographic_parity_ratio
            values[f"equalized_odds_difference.{name}"] = attribute.equalized_odds_difference
            for group, measured in attribute.groups.items():
                for measure in ("selection_rate", "tpr", "fpr"):
                    values[f"{measure}.{name}.{group}"] = measured[measure]
        return values


def fairness_compute(
    *,
    y_true: Any,
    y_score: Any,
    threshold: float,
    attributes: Mapping[str, Any],
    min_group_size: int = DEFAULT_MIN_GROUP_SIZE,
) -> FairnessResult:
    """Group rates and fairness differences of `y_score >= threshold` per attribute."""
    truth = float_column(y_true, name="y_true")
    scores = float_column(y_score, name="y_score")
    rows = same_length(
        y_true=truth, y_score=scores, **{f"attribute {k}": v for k, v in attributes.items()}
    )
    finite_scores(scores, name="y_score")
    binary_labels(truth, name="y_true")
    if min_group_size < 1:
        raise CheckInputError(f"min_group_size must be at least 1, not {min_group_size}")
    predicted = scores >= threshold
    labelled = ~np.isnan(truth)
    positive = truth == 1
    return FairnessResult(
        rows=rows,
        labelled=int(np.count_nonzero(labelled)),
        threshold=float(threshold),
        min_group_size=int(min_group_size),
        attributes={
            name: _attribute(values, predicted, labelled, positive, min_group_size)
            for name, values in attributes.items()
        },
    )


def _attribute(
    values: Any,
    predicted: np.ndarray,
    labelled: np.ndarray,
    positive: np.ndarray,
    min_group_size: int,
) -> AttributeFairness:
    import pandas as pd

    codes, uniques = pd.factorize(np.asarray(values, dtype=object), use_na_sentinel=True)
    names = [str(u) for u in uniques]
    k = len(names)
    has_value = codes >= 0

    def count(mask: np.ndarray) -> np.ndarray:
        return np.bincount(codes[mask & has_value], minlength=k)

    rows = count(has_value)
    selected = count(predicted)
    labelled_positive = count(labelled & positive)
    labelled_negative = count(labelled & ~positive)
    true_positive = count(labelled & positive & predicted)
    false_positive = count(labelled & ~positive & predicted)

    reasons: dict[str, str] = {}
    groups: dict[str, dict[str, Any]] = {}
    no_positive, no_negative = [], []
    for i in sorted(range(k), key=lambda j: names[j]):
        n_labelled = int(labelled_positive[i] + labelled_negative[i])
        tpr = fpr = None
        if n_labelled:
            tpr = float(true_positive[i] / labelled_positive[i]) if labelled_positive[i] else 0.0
            fpr = float(false_positive[i] / labelled_negative[i]) if labelled_negative[i] else 0.0
            if not labelled_positive[i]:
                no_positive.append(names[i])
            if not labelled_negative[i]:
                no_negative.append(names[i])
        groups[names[i]] = {
            "count": int(rows[i]),
            "labelled": n_labelled,
            "selection_rate": float(selected[i] / rows[i]),
            "tpr": tpr,
            "fpr": fpr,
        }
    if no_positive:
        reasons["tpr"] = f"no positive label in {', '.join(no_positive)}: TPR 0.0 as fairlearn"
    if no_negative:
        reasons["fpr"] = f"no negative label in {', '.join(no_negative)}: FPR 0.0 as fairlearn"

    parity = [g for g, m in groups.items() if m["count"] >= min_group_size]
    odds = [g for g, m in groups.items() if m["labelled"] >= min_group_size]
    dp_difference = dp_ratio = eo_difference = None
    if len(parity) >= 2:
        rates = [groups[g]["selection_rate"] for g in parity]
        dp_difference = max(rates) - min(rates)
        if max(rates) > 0:
            dp_ratio = min(rates) / max(rates)
        else:
            reasons["demographic_parity_ratio"] = "undefined: no judged group has a selection"
    else:
        reasons["demographic_parity_difference"] = reasons["demographic_parity_ratio"] = _too_few(
            parity, "rows", min_group_size
        )
    if len(odds) >= 2:
        tprs = [groups[g]["tpr"] for g in odds]
        fprs = [groups[g]["fpr"] for g in odds]
        eo_difference = max(max(tprs) - min(tprs), max(fprs) - min(fprs))
    else:
        reasons["equalized_odds_difference"] = _too_few(odds, "labelled rows", min_group_size)
    return AttributeFairness(
        groups=groups,
        demographic_parity_difference=dp_difference,
        demographic_parity_ratio=dp_ratio,
        equalized_odds_difference=eo_difference,
        missing=int(np.count_nonzero(~has_value)),
        not_judged={
            "demographic_parity": [g for g in groups if g not in parity],
            "equalized_odds": [g for g in groups if g not in odds],
        },
        reasons=reasons,
    )


def _too_few(judged: list[str], what: str, min_group_size: int) -> str:
    return (
        f"undefined: {len(judged)} group(s) with at least {min_group_size} {what}, "
        "a difference needs two"
    )
