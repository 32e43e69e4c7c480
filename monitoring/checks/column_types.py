"""Column typing as Evidently 0.7 does it (`evidently/core/datasets.py::infer_column_type`).

Evidently infers the types of a report's columns from the *current* data set (the report's
data definition is the current data's), and the type decides the stat test as much as the
sizes do: floats are numerical; integers with at most 10 distinct values categorical, more
numerical; strings whose distinct values exceed half their non-missing values are text
(Evidently tests those with a domain classifier, not a stat test); other strings, booleans
and pandas categories are categorical; datetimes are datetime; the rest is unknown, which
DataDriftPreset leaves out.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from models_registry.inference_columns import DictionaryColumn

NUMERICAL = "numerical"
CATEGORICAL = "categorical"
TEXT = "text"
DATETIME = "datetime"
LIST = "list"
UNKNOWN = "unknown"

INTEGER_CARDINALITY_LIMIT = 10


def dtype_name(values: np.ndarray | pd.Series | DictionaryColumn) -> str:
    if isinstance(values, DictionaryColumn):
        return "object"  # Evidently's frame holds these strings as objects
    return values.dtype.name


def as_array(values: np.ndarray | pd.Series | DictionaryColumn) -> np.ndarray:
    """A column as a numpy array: pandas strings and categories become objects (None for NA),
    and so do the window's dictionary-coded strings."""
    if isinstance(values, DictionaryColumn):
        return values.to_objects()
    if isinstance(values, pd.Series):
        if dtype_name(values) in ("string", "str", "category"):
            return values.astype(object).where(values.notna(), None).to_numpy()
        return values.to_numpy()
    return np.asarray(values)


def column_type(
    values: np.ndarray | pd.Series, *, distinct: int | None = None, count: int | None = None
) -> str:
    """Evidently's type of one column (give `distinct`/`count` of non-missing values if known)."""
    name = dtype_name(values)
    if name.startswith("float"):
        return NUMERICAL
    if name.startswith("int"):
        if distinct is None:
            distinct = int(pd.Series(values).nunique())
        return CATEGORICAL if distinct <= INTEGER_CARDINALITY_LIMIT else NUMERICAL
    if name in ("string", "str"):
        return _text_or_categorical(values, distinct, count)
    if name == "object":
        array = as_array(values)
        present = array[~pd.isna(array)] if array.size else array
        if present.size == 0:
            return UNKNOWN
        if isinstance(present[0], str) and isinstance(present[-1], str):
            return _text_or_categorical(array, distinct, count)
        if isinstance(present[0], (list, tuple)) and isinstance(present[-1], (list, tuple)):
            return LIST
        return UNKNOWN
    if name in ("bool", "category"):
        return CATEGORICAL
    if name.startswith("datetime"):
        return DATETIME
    return UNKNOWN


def _text_or_categorical(values, distinct: int | None, count: int | None) -> str:
    if distinct is None or count is None:
        series = pd.Series(as_array(values))
        distinct, count = int(series.nunique()), int(series.count())
    return TEXT if distinct > count * 0.5 else CATEGORICAL


def infer_column_types(
    reference: Mapping[str, np.ndarray | pd.Series], current: Mapping[str, np.ndarray | pd.Series]
) -> dict[str, str]:
    """Each column's Evidently type (numerical, categorical, text, datetime, list, unknown).

    Read from the current data, as Evidently's Report does; `reference` is accepted so the
    callers need not know that, and columns only in the reference are typed from it.
    """
    names = list(current) + [name for name in reference if name not in current]
    return {
        name: column_type(current[name] if name in current else reference[name]) for name in names
    }
