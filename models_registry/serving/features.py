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
    if not math.isfinite(value):
        return None, "must be a finite number"
    if kind == INTEGER:
        if isinstance(value, float) and not value.is_integer():
            return None, "expected an integer"
        return int(value), ""
    return float(value), ""
