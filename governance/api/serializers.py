"""Serializer helpers shared by every app's API."""

from __future__ import annotations

import math
from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from governance.text import REQUIRED, too_long


def json_type_problem(field: serializers.Field, value: Any) -> str | None:
    """Why `value` is not the JSON type `field` documents, or None.

    DRF coerces on input (1 -> "1", "2.5" -> 2.5, "true" -> True); a JSON API that
    publishes a schema takes the types it publishes, so a wrong type is a 400.
    """
    if value is None:
        return None  # allow_null decides
    if isinstance(field, serializers.BooleanField):
        return None if isinstance(value, bool) else "Must be a boolean."
    if isinstance(field, serializers.IntegerField):
        ok = isinstance(value, int) and not isinstance(value, bool)
        return None if ok else "Must be an integer."
    if isinstance(field, serializers.FloatField):
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        return None if ok else "Must be a number."
    if isinstance(field, serializers.CharField | serializers.ChoiceField) and not isinstance(
        field, serializers.FileField
    ):
        return None if isinstance(value, str) else "Must be a string."
    if isinstance(field, serializers.ListField):
        if not isinstance(value, list):
            return "Must be a list."
        problems = (json_type_problem(field.child, item) for item in value)
        return next((f"Item {i}: {p}" for i, p in enumerate(problems) if p), None)
    if isinstance(field, serializers.DictField):
        if not isinstance(value, dict):
            return "Must be an object."
        problems = ((key, json_type_problem(field.child, item)) for key, item in value.items())
        return next((f"{key}: {p}" for key, p in problems if p), None)
    return None


class StrictInputSerializer(serializers.Serializer):
    """Rejects fields it does not know, so a typo in a CI script is a 400, not silence;
    and values of another JSON type than the field's (see json_type_problem).

    `required_when_patched = True` on a subclass that a PATCH view reads whole (not as a
    partial update): the schema then keeps its required fields (governance/api/schema.py).
    """

    required_when_patched = False

    def to_internal_value(self, data: Any) -> Any:
        unknown = sorted(set(data) - set(self.fields)) if isinstance(data, dict) else []
        errors: dict[str, Any] = {name: ["Unknown field."] for name in unknown}
        if isinstance(data, dict):
            for name, field in self.fields.items():
                problem = json_type_problem(field, data.get(name)) if name in data else None
                if problem and not field.read_only:
                    errors[name] = [problem]
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


def text_field(*, limit: int, required: bool = True, **kwargs: Any) -> serializers.CharField:
    """A string of free text, stripped, at most `limit` characters; required unless said
    (then it may be left out or empty). The messages are governance.text's."""
    if not required:
        kwargs.setdefault("default", "")
    return serializers.CharField(
        max_length=limit,
        required=required,
        allow_blank=not required,
        trim_whitespace=True,
        error_messages={"blank": REQUIRED, "required": REQUIRED, "max_length": too_long(limit)},
        **kwargs,
    )


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


@extend_schema_field(
    {
        "type": "object",
        "additionalProperties": {
            "anyOf": [{"type": "string"}, {"type": "number"}, {"type": "boolean"}],
            "nullable": True,
        },
    }
)
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
