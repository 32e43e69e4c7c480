"""The OpenAPI schema of a monitoring config document (what monitoring/config.py reads).

Names a schema cannot check (a feature of the model, a metric of the config) are checked
by the service, which answers 400 naming the path.
"""

from __future__ import annotations

from monitoring.config_document import (
    ACTIONS,
    COMPARISONS,
    METRIC_TYPES,
    SEVERITIES,
    TASKS,
)
from monitoring.drift_methods import DRIFT_METHODS

NAME = {"type": "string", "minLength": 1, "maxLength": 200, "pattern": r"\S"}
COUNT = {"type": "integer", "minimum": 0, "maximum": 10_000_000}


def _object(properties: dict, required: tuple[str, ...] = ()) -> dict:
    schema = {"type": "object", "properties": properties, "additionalProperties": False}
    if required:
        schema["required"] = list(required)
    return schema


FEATURE_OVERRIDE = _object(
    {
        "name": NAME,
        "method": {"type": "string", "enum": list(DRIFT_METHODS)},
        "threshold": {"type": "number", "minimum": 0, "exclusiveMinimum": True},
    },
    ("name",),
)

DOCUMENT_SCHEMA = _object(
    {
        "task": {"type": "string", "enum": list(TASKS)},
        "threshold": {
            "type": "number",
            "minimum": 0,
            "exclusiveMinimum": True,
            "maximum": 1,
            "exclusiveMaximum": True,
        },
        "window": _object({"hours": {"type": "integer", "minimum": 1, "maximum": 24 * 366}}),
        "metrics": {
            "type": "array",
            "items": _object(
                {
                    "name": NAME,
                    "type": {"type": "string", "enum": list(METRIC_TYPES)},
                    "measure": {"type": "string"},
                    "attribute": NAME,
                    "feature": NAME,
                },
                ("name", "type"),
            ),
        },
        "drift": _object(
            {
                "features": {"type": "array", "items": {"oneOf": [NAME, FEATURE_OVERRIDE]}},
                "drift_share": {
                    "type": "number",
                    "minimum": 0,
                    "exclusiveMinimum": True,
                    "maximum": 1,
                },
            }
        ),
        "fairness": _object(
            {
                "attributes": {"type": "array", "items": NAME},
                "min_group_size": {"type": "integer", "minimum": 1, "maximum": 10_000_000},
            }
        ),
        "alerts": {
            "type": "array",
            "items": _object(
                {
                    "metric": NAME,
                    "threshold": {"type": "number"},
                    "severity": {"type": "string", "enum": list(SEVERITIES)},
                    "comparison": {"type": "string", "enum": list(COMPARISONS)},
                    "min_samples": COUNT,
                    "consecutive": {**COUNT, "minimum": 1},
                    "clear_after": {**COUNT, "minimum": 1},
                    "action": {"type": "string", "enum": list(ACTIONS)},
                },
                ("metric", "threshold", "severity"),
            ),
        },
    }
)
