"""What a version accepts as input, and the check of one call's features against it."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from governance.errors import InvalidInput

# MLflow signature types and pandas dtypes, reduced to what a JSON value can be.
INTEGER, NUMBER, STRING, BOOLEAN = "integer", "number", "string", "boolean"
SIGNATURE_TYPES = {
    "long": INTEGER,
    "integer": INTEGER,
    "double": NUMBER,
    "float": NUMBER,
    "string": STRING,
    "boolean": BOOLEAN,
    "datetime": STRING,
    "binary": STRING,
}

# The largest magnitude a number feature may have. Tree models (scikit-learn's among them)
# take their input as float32, and a finite float64 beyond it (1e308) becomes infinity there:
# the model would raise on input the caller could have been told about.
NUMBER_MAX = 3.4028234663852886e38  # numpy.finfo(numpy.float32).max
# An integer feature becomes an int64 column before the model sees it.
INTEGER_RANGE = (-(2**63), 2**63 - 1)


def kind_of_dtype(dtype: str) -> str:
    if dtype.startswith(("int", "uint")):
        return INTEGER
    if dtype.startswith("float"):
        return NUMBER
    if dtype == "bool":
        return BOOLEAN
    return STRING


@dataclass(frozen=True)
class FeatureSpec:
    """Ordered feature names and the kind of value each takes."""

    columns: tuple[tuple[str, str], ...]

    @property
    def names(self) -> list[str]:
        return [name for name, _ in self.columns]

    def validate(self, features: Any) -> dict[str, Any]:
        """The features as the model takes them, or InvalidInput naming every bad one."""
        if not isinstance(features, dict):
            raise InvalidInput(
                "features must be an object of feature name to value.",
                extra={"features": ["Expected an object."]},
            )
        errors: dict[str, str] = {}
        clean: dict[str, Any] = {}
        for name, kind in self.columns:
            if name not in features:
                errors[name] = "missing"
                continue
            value, problem = _coerce(features[name], kind)
            if problem:
                errors[name] = problem
            else:
                clean[name] = value
        for name in features:
            if name not in clean and name not in errors:
                errors[str(name)] = "unknown feature"
        if errors:
            raise invalid_features(errors)
        return clean


def invalid_features(errors: dict[str, str]) -> InvalidInput:
    """The 400 that names every bad feature and what is wrong with it."""
    listed = ", ".join(f"{name} ({problem})" for name, problem in sorted(errors.items()))
    return InvalidInput(f"Invalid features: {listed}.", extra={"features": errors})


def _coerce(value: Any, kind: str) -> tuple[Any, str]:
    if kind == BOOLEAN:
        return (value, "") if isinstance(value, bool) else (None, "expected true or false")
    if kind == STRING:
        return (value, "") if isinstance(value, str) else (None, "expected a string")
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None, "expected a number"
    if isinstance(value, float) and not math.isfinite(value):
        return None, "must be a finite number"
    if not -NUMBER_MAX <= value <= NUMBER_MAX:
        return None, f"out of range: at most {NUMBER_MAX:.7g} in magnitude"
    if kind == INTEGER:
        if isinstance(value, float) and not value.is_integer():
            return None, "expected an integer"
        if not INTEGER_RANGE[0] <= int(value) <= INTEGER_RANGE[1]:
            return None, "out of range: a 64-bit integer"
        return int(value), ""
    return float(value), ""
