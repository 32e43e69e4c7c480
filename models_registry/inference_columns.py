"""The logged inputs of one version over a time window, column by column.

INTERIM (runner branch): a simple implementation of the storage engineer's interface that
reads Prediction rows through the ORM and parses their JSON per row. It is correct but slow
on large windows; the columnar implementation on the `columns` branch replaces this module
at merge, with the same `Window` and `window_read`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np

from models_registry.models import ModelVersion, Prediction
from models_registry.serving.features import BOOLEAN, INTEGER, NUMBER

DTYPES = {NUMBER: np.float64, INTEGER: np.int64, BOOLEAN: np.bool_}


@dataclass(frozen=True)
class Window:
    rows: int
    request_id: np.ndarray
    occurred_at: np.ndarray
    prediction: np.ndarray
    features: dict[str, np.ndarray]
    attributes: dict[str, np.ndarray]


def _column(values: list, kind: str) -> np.ndarray:
    dtype = DTYPES.get(kind)
    if dtype is None:
        return np.array([None if v is None else str(v) for v in values], dtype=object)
    if dtype is np.int64 and any(v is None for v in values):
        return np.array([np.nan if v is None else v for v in values], dtype=np.float64)
    if dtype is np.float64:
        return np.array([np.nan if v is None else v for v in values], dtype=np.float64)
    return np.array(values, dtype=dtype)


def window_read(
    *,
    version: ModelVersion,
    start: datetime,
    end: datetime,
    features: list[str] | None = None,
    attributes: list[str] | None = None,
) -> Window:
    """Answered calls and logged records of `version` with start < occurred_at <= end."""
    from models_registry.serving.loader import feature_spec

    spec = dict(feature_spec(version).columns) if features is None or features else {}
    names = list(spec) if features is None else features
    rows = list(
        Prediction.objects.filter(
            version=version,
            occurred_at__gt=start,
            occurred_at__lte=end,
            error="",
            prediction__isnull=False,
            erased_at__isnull=True,
        )
        .order_by("occurred_at", "id")
        .values_list("request_id", "occurred_at", "prediction", "features", "attributes")
    )
    if attributes is None:
        attributes = sorted({key for row in rows for key in (row[4] or {})})
    return Window(
        rows=len(rows),
        request_id=np.array([row[0] for row in rows], dtype=object),
        occurred_at=np.array([row[1].replace(tzinfo=None) for row in rows], dtype="datetime64[us]"),
        prediction=np.array([row[2] for row in rows], dtype=np.float64),
        features={
            name: _column([(row[3] or {}).get(name) for row in rows], spec.get(name, ""))
            for name in names
        },
        attributes={
            name: np.array(
                [None if (row[4] or {}).get(name) is None else str(row[4][name]) for row in rows],
                dtype=object,
            )
            for name in attributes
        },
    )
