"""Evidently's drift methods by name: default threshold, what the statistic is, column types.

The one table the monitoring config validates `drift.features[*].method` against (read from
Evidently 0.7's `evidently/legacy/calculations/stattests/`). A p-value method flags drift
when the p-value is below its threshold; a distance method when the distance reaches it.
The drift engine's SUPPORTED_METHODS (monitoring/checks/drift.py) is the subset it computes.
"""

from __future__ import annotations

from dataclasses import dataclass

P_VALUE, DISTANCE = "p_value", "distance"
NUMERICAL, CATEGORICAL, TEXT = "numerical", "categorical", "text"


@dataclass(frozen=True)
class DriftMethod:
    name: str
    statistic: str  # P_VALUE | DISTANCE
    default_threshold: float
    column_types: frozenset[str]


def _method(name: str, statistic: str, threshold: float, *types: str) -> DriftMethod:
    return DriftMethod(name, statistic, threshold, frozenset(types))


DRIFT_METHODS: dict[str, DriftMethod] = {
    m.name: m
    for m in [
        _method("ks", P_VALUE, 0.05, NUMERICAL),
        _method("chisquare", P_VALUE, 0.05, CATEGORICAL),
        _method("z", P_VALUE, 0.05, CATEGORICAL),
        _method("wasserstein", DISTANCE, 0.1, NUMERICAL),
        _method("jensenshannon", DISTANCE, 0.1, NUMERICAL, CATEGORICAL),
        _method("psi", DISTANCE, 0.1, NUMERICAL, CATEGORICAL),
        _method("kl_div", DISTANCE, 0.1, NUMERICAL, CATEGORICAL),
        _method("hellinger", DISTANCE, 0.1, NUMERICAL, CATEGORICAL),
        _method("TVD", P_VALUE, 0.1, CATEGORICAL),
        _method("anderson", P_VALUE, 0.1, NUMERICAL),
        _method("cramer_von_mises", P_VALUE, 0.1, NUMERICAL),
        _method("ed", DISTANCE, 0.1, NUMERICAL),
        _method("es", P_VALUE, 0.05, NUMERICAL),
        _method("fisher_exact", P_VALUE, 0.1, CATEGORICAL),
        _method("g_test", P_VALUE, 0.1, CATEGORICAL),
        _method("mannw", P_VALUE, 0.05, NUMERICAL),
        _method("t_test", P_VALUE, 0.05, NUMERICAL),
        _method("empirical_mmd", P_VALUE, 0.1, NUMERICAL),
    ]
}
