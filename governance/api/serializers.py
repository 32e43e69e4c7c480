"""Serializer helpers shared by every app's API."""

from __future__ import annotations

import math
from typing import Any

from rest_framework import serializers


class StrictInputSerializer(serializers.Serializer):
    """Rejects fields it does not know, so a typo in a CI script is a 400, not silence."""

    def to_internal_value(self, data: Any) -> Any:
        unknown = sorted(set(data) - set(self.fields)) if isinstance(data, dict) else []
        errors = {name: ["Unknown field."] for name in unknown}
        try:
            value = super().to_internal_value(data)
        except serializers.ValidationError as exc:
            if isinstance(exc.detail, dict):
                errors = {**exc.detail, **errors}
            elif not errors:
                raise
        if errors:
            raise serializers.ValidationError(errors)
        return value


class MetricsField(serializers.DictField):
    """A mapping of metric name to a finite number."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(child=serializers.FloatField(), **kwargs)

    def to_internal_value(self, data: Any) -> dict[str, float]:
        values = super().to_internal_value(data)
        bad = sorted(key for key, value in values.items() if not math.isfinite(value))
        if bad:
            raise serializers.ValidationError(f"Not a finite number: {', '.join(bad)}.")
        return values


class ParamsField(serializers.DictField):
    """A mapping of parameter name to a string, number, boolean or null (as MLflow logs them)."""

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        values = super().to_internal_value(data)
        bad = sorted(
            key
            for key, value in values.items()
            if not (value is None or isinstance(value, str | int | float | bool))
            or (isinstance(value, float) and not math.isfinite(value))
        )
        if bad:
            raise serializers.ValidationError(
                f"Parameters must be strings, numbers or booleans: {', '.join(bad)}."
            )
        return values
