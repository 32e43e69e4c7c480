"""The drift methods a monitoring config may name: the ones the drift engine computes.

One table, the engine's (`monitoring/checks/stattests.py::SUPPORTED_METHODS`, read from
Evidently 0.7's stat tests): a config can never name a method the check would refuse. A
p-value method flags drift when the p-value is below its threshold; a distance method when
the distance reaches it.
"""

from __future__ import annotations

from monitoring.checks.stattests import (
    CATEGORICAL,
    NUMERICAL,
    SUPPORTED_METHODS,
    MethodInfo,
)

P_VALUE, DISTANCE = "p_value", "distance"

DRIFT_METHODS: dict[str, MethodInfo] = SUPPORTED_METHODS

__all__ = ["CATEGORICAL", "DISTANCE", "DRIFT_METHODS", "NUMERICAL", "P_VALUE", "MethodInfo"]
