"""Input checks shared by quality, fairness and estimation: floats, equal lengths, 0/1 labels."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from monitoring.checks.errors import CheckInputError


def float_column(values: Any, *, name: str) -> np.ndarray:
    """A 1-d float64 array of `values` (None becomes NaN); CheckInputError if it is not one."""
    try:
        array = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise CheckInputError(f"{name} must be numbers: {error}") from None
    if array.ndim != 1:
        raise CheckInputError(f"{name} must be one column, got shape {array.shape}")
    return array


def same_length(**columns: Sequence[Any] | np.ndarray) -> int:
    """The common length of `columns`; CheckInputError naming them if they differ."""
    lengths = {name: len(column) for name, column in columns.items()}
    if len(set(lengths.values())) > 1:
        raise CheckInputError(f"columns of unequal length: {lengths}")
    return next(iter(lengths.values()), 0)


def finite_scores(scores: np.ndarray, *, name: str) -> None:
    """Predictions are never NaN or infinite (ingest refuses them); a window that has one is bad."""
    bad = ~np.isfinite(scores)
    if bad.any():
        raise CheckInputError(f"{name} has {int(bad.sum())} values that are NaN or infinite")


def binary_labels(labels: np.ndarray, *, name: str) -> None:
    """Labels of a binary classifier are 0 or 1 (NaN means unlabelled and is allowed)."""
    bad = ~((labels == 0) | (labels == 1) | np.isnan(labels))
    if bad.any():
        examples = sorted({float(v) for v in labels[bad][:1000]})[:5]
        raise CheckInputError(
            f"{name} of a binary classifier must be 0 or 1: {int(bad.sum())} labels are not "
            f"(for example {', '.join(repr(v) for v in examples)})"
        )
