"""Data drift of a window against the reference, with Evidently 0.7 DataDriftPreset's verdicts.

`drift_compute` types each column as Evidently does (`column_types.py`: from the current
data), drops NaN and infinities from both sides, picks Evidently's default test for the
type, the reference size and the distinct values of both sides together (or the override
of the monitoring config), and runs it (`stattests.py`). The dataset drifts when the share
of drifted columns is at least `drift_share`.

What Evidently does that this does not:
- text columns (mostly-unique strings) are tested by Evidently with a domain classifier;
  here they are listed under `untested` with the reason and left out of the drift share
  (Evidently counts them in it);
- columns Evidently cannot test (unknown or datetime types, no finite value on a side, a
  method that does not apply to the type or refuses the data) are `untested` too, where
  Evidently's report fails or leaves them out;
- infinities: Evidently's per-column ValueDrift always drops them with NaN, but its
  DriftedColumnsCount (the drift share) drops them only from a side that also holds a NaN,
  and its report then fails (histogram bins of an infinite range) or counts a NaN score.
  Here they are always dropped, as ValueDrift does; the parity tests put a NaN beside
  every infinity so that both of Evidently's paths agree.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from models_registry.inference_columns import DictionaryColumn
from monitoring.checks import column_types
from monitoring.checks.column_types import CATEGORICAL, NUMERICAL, TEXT, infer_column_types
from monitoring.checks.stattests import (
    SUPPORTED_METHODS,
    MethodInfo,
    Prepared,
    default_method,
    method_run,
    sorted_histogram,
)

__all__ = [
    "SUPPORTED_METHODS",
    "DriftResult",
    "FeatureDrift",
    "MethodInfo",
    "drift_compute",
    "infer_column_types",
]

PICTURE_BINS = 20
PICTURE_CATEGORIES = 10


@dataclass(frozen=True)
class FeatureDrift:
    method: str
    statistic: float
    threshold: float
    drifted: bool
    column_type: str
    reference_rows: int
    current_rows: int
    picture: dict

    def as_results(self) -> dict:
        return {
            "method": self.method,
            "statistic": _finite_or_none(self.statistic),
            "threshold": self.threshold,
            "drifted": self.drifted,
            "column_type": self.column_type,
            "reference_rows": self.reference_rows,
            "current_rows": self.current_rows,
            "picture": self.picture,
        }


@dataclass(frozen=True)
class DriftResult:
    features: dict[str, FeatureDrift]
    untested: dict[str, str]
    drift_share_threshold: float
    rows: int
    reference_rows: int = 0

    @property
    def number_of_columns(self) -> int:
        return len(self.features)

    @property
    def number_of_drifted_columns(self) -> int:
        return sum(1 for feature in self.features.values() if feature.drifted)

    @property
    def drift_share(self) -> float:
        if not self.features:
            return 0.0
        return self.number_of_drifted_columns / self.number_of_columns

    @property
    def dataset_drift(self) -> bool:
        return bool(self.features) and self.drift_share >= self.drift_share_threshold

    def as_results(self) -> dict:
        return {
            "dataset_drift": self.dataset_drift,
            "drift_share": self.drift_share,
            "drift_share_threshold": self.drift_share_threshold,
            "number_of_columns": self.number_of_columns,
            "number_of_drifted_columns": self.number_of_drifted_columns,
            "features": {name: feature.as_results() for name, feature in self.features.items()},
            "untested": dict(self.untested),
        }

    def metrics(self) -> dict[str, float | None]:
        values: dict[str, float | None] = {
            "drift_share": self.drift_share,
            "dataset_drift": 1.0 if self.dataset_drift else 0.0,
            "rows": float(self.rows),
        }
        for name, feature in self.features.items():
            values[f"drift.{name}"] = _finite_or_none(feature.statistic)
            values[f"drift.{name}.drifted"] = 1.0 if feature.drifted else 0.0
        return values


def _finite_or_none(value: float) -> float | None:
    return float(value) if value is not None and np.isfinite(value) else None


def drift_compute(
    *,
    reference: Mapping[str, np.ndarray | pd.Series],
    current: Mapping[str, np.ndarray | pd.Series],
    columns: list[str],
    overrides: Mapping[str, tuple[str | None, float | None]] | None = None,
    drift_share: float = 0.5,
    threads: int = 1,
) -> DriftResult:
    """Drift per column and for the data set, as Evidently's DataDriftPreset decides it.

    `threads` > 1: columns are computed that many at a time (numpy's sorts, searches and
    counts release the GIL); the results do not depend on it.
    """
    overrides = overrides or {}
    for name, (method, _threshold) in overrides.items():
        if method is not None and method not in SUPPORTED_METHODS:
            raise ValueError(f"unknown drift method {method!r} for {name!r}")
    features: dict[str, FeatureDrift] = {}
    untested: dict[str, str] = {}
    rows = 0
    reference_rows = 0
    present = []
    for name in columns:
        if name not in current or name not in reference:
            untested[name] = "missing from the " + (
                "current window" if name not in current else "reference data"
            )
            continue
        rows = max(rows, len(current[name]))
        reference_rows = max(reference_rows, len(reference[name]))
        present.append(name)

    def one(name: str) -> FeatureDrift | str:
        prepared = _prepare(reference[name], current[name])
        if isinstance(prepared, str):
            return prepared
        method, threshold = overrides.get(name, (None, None))
        return _feature_drift(prepared, method, threshold)

    if threads > 1 and len(present) > 1:
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(max_workers=min(threads, len(present))) as pool:
            outcomes = list(pool.map(one, present))
    else:
        outcomes = [one(name) for name in present]
    for name, outcome in zip(present, outcomes, strict=True):
        if isinstance(outcome, str):
            untested[name] = outcome
        else:
            features[name] = outcome
    order = {name: i for i, name in enumerate(columns)}
    return DriftResult(
        features=features,
        untested=dict(sorted(untested.items(), key=lambda item: order[item[0]])),
        drift_share_threshold=drift_share,
        rows=rows,
        reference_rows=reference_rows,
    )


def _feature_drift(
    prepared: Prepared, method: str | None, threshold: float | None
) -> FeatureDrift | str:
    name = method or default_method(prepared)
    info = SUPPORTED_METHODS[name]
    if method is not None and prepared.column_type not in info.column_types:
        return f"method {name} does not apply to {prepared.column_type} columns"
    actual_threshold = info.default_threshold if threshold is None else float(threshold)
    try:
        statistic = float(method_run(name, prepared))
    except ValueError as error:
        return f"{name} cannot run on this column: {error}"
    return FeatureDrift(
        method=name,
        statistic=statistic,
        threshold=actual_threshold,
        drifted=info.drifted(statistic, actual_threshold),
        column_type=prepared.column_type,
        reference_rows=prepared.n_ref,
        current_rows=prepared.n_cur,
        picture=_picture(prepared),
    )


# --- preparing a column: type, NaN and infinities out, sorted or counted once ---


def _prepare(
    ref_values: np.ndarray | pd.Series | DictionaryColumn,
    cur_values: np.ndarray | pd.Series | DictionaryColumn,
) -> Prepared | str:
    if isinstance(ref_values, DictionaryColumn):
        ref_values = ref_values.to_objects()  # the reference is small; typed by the current
    if isinstance(cur_values, DictionaryColumn):
        if (cur_values.codes >= 0).any():
            return _prepare_dictionary(column_types.as_array(ref_values), cur_values)
        cur_values = cur_values.to_objects()  # empty or all missing: the general path says so
    cur_name = column_types.dtype_name(cur_values)
    ref = column_types.as_array(ref_values)
    cur = column_types.as_array(cur_values)
    if cur_name.startswith("float"):
        kind = NUMERICAL
    elif cur_name.startswith("int") or cur_name in ("bool", "category"):
        kind = None  # decided by the counts below (integers) or categorical
    elif cur_name in ("object", "string", "str"):
        kind = column_types.column_type(cur_values) if cur.size == 0 else None
        if cur.size and cur_name == "object":
            first, last = _first_present(cur), _first_present(cur[::-1])
            if first is None or not (isinstance(first, str) and isinstance(last, str)):
                return _not_tested(cur_values)
    else:
        return _not_tested(cur_values)
    if kind == NUMERICAL:
        return _prepare_numerical(ref, cur)
    categorical = _prepare_categorical(ref, cur)
    if isinstance(categorical, str):
        return categorical
    cur_distinct, cur_count = categorical.cur_distinct, categorical.n_cur
    if cur_name.startswith("int"):
        if cur_distinct > column_types.INTEGER_CARDINALITY_LIMIT:
            return _prepare_numerical(ref, cur)
        return categorical
    if cur_name in ("bool", "category"):
        return categorical
    if cur_distinct > cur_count * 0.5:
        return _TEXT_UNTESTED
    return categorical


_TEXT_UNTESTED = (
    f"{TEXT} column (more than half of its values distinct): Evidently tests text with a "
    "domain classifier, not a stat test; not computed here"
)


def _first_present(values: np.ndarray) -> object:
    for value in values:
        if value is not None and not (isinstance(value, float) and np.isnan(value)):
            return value
    return None


def _not_tested(values: np.ndarray | pd.Series) -> str:
    return (
        f"{column_types.column_type(values)} column: Evidently's DataDriftPreset does not test it"
    )


def _finite(values: np.ndarray) -> np.ndarray:
    if values.dtype.kind == "f":
        keep = np.isfinite(values)
        return values if keep.all() else values[keep]
    return values


def _prepare_numerical(ref: np.ndarray, cur: np.ndarray) -> Prepared | str:
    for side, values in (("reference", ref), ("current", cur)):
        if values.dtype.kind not in "fiub":
            return f"{NUMERICAL} column with non-numerical values in the {side} data"
    ref = np.sort(_finite(ref))
    cur = np.sort(_finite(cur))
    if ref.size == 0 or cur.size == 0:
        return "no finite value in the " + ("reference data" if ref.size == 0 else "current window")
    return Prepared(NUMERICAL, ref, cur)


def _prepare_categorical(ref: np.ndarray, cur: np.ndarray) -> Prepared | str:
    if ref.dtype.kind in "iub" and cur.dtype.kind in "iub":
        keys, ref_codes, cur_codes = _integer_codes(ref, cur)
    else:
        pooled = np.concatenate((ref.astype(object, copy=False), cur.astype(object, copy=False)))
        codes, keys = pd.factorize(pooled)
        keys = np.asarray(keys, dtype=object)
        ref_codes, cur_codes = codes[: ref.size], codes[ref.size :]
        if (codes < 0).any():
            ref_codes, cur_codes = ref_codes[ref_codes >= 0], cur_codes[cur_codes >= 0]
        if keys.size and any(isinstance(key, float) and not np.isfinite(key) for key in keys):
            # Evidently replaces infinities by NaN and drops them, as pandas drops NaN
            finite = np.array(
                [not (isinstance(key, float) and not np.isfinite(key)) for key in keys]
            )
            ref_codes, cur_codes = ref_codes[finite[ref_codes]], cur_codes[finite[cur_codes]]
    if ref_codes.size == 0 or cur_codes.size == 0:
        return "no value in the " + ("reference data" if ref_codes.size == 0 else "current window")
    ref_counts = np.bincount(ref_codes, minlength=keys.size)
    cur_counts = np.bincount(cur_codes, minlength=keys.size)
    present = (ref_counts > 0) | (cur_counts > 0)
    if not present.all():
        remap = np.cumsum(present) - 1
        keys, ref_counts, cur_counts = keys[present], ref_counts[present], cur_counts[present]
        ref_codes, cur_codes = remap[ref_codes], remap[cur_codes]
    return Prepared(
        CATEGORICAL,
        ref_codes,
        cur_codes,
        categorical_keys=keys,
        _counts=(keys, ref_counts, cur_counts),
    )


def _prepare_dictionary(ref: np.ndarray, cur: DictionaryColumn) -> Prepared | str:
    """A string column of the window as dictionary codes (at least one value present).

    The same as `_prepare` on the column's object array (Evidently's object column of
    str): the keys are those `pd.factorize` of reference then current gives, in the same
    order (first met in the reference, then in the current window), and the counts are
    counted on the codes (`np.bincount`), never on Python strings.
    """
    dictionary = np.asarray(cur.values, dtype=object)
    counts = np.bincount(cur.codes + 1, minlength=dictionary.size + 1)
    nulls, counts = int(counts[0]), counts[1:]
    used = np.flatnonzero(counts)
    # the used dictionary entries in the order of their first row (as factorize meets them)
    first = np.full(dictionary.size + 1, cur.codes.size, dtype=np.int64)
    first[cur.codes[::-1] + 1] = np.arange(cur.codes.size - 1, -1, -1)
    used = used[np.argsort(first[used + 1], kind="stable")]
    if ref.dtype.kind in "OSU" or ref.size == 0:
        ref_codes, ref_uniques = pd.factorize(ref.astype(object, copy=False))
    else:
        ref_codes, ref_uniques = pd.factorize(ref.astype(object))
    ref_uniques = np.asarray(ref_uniques, dtype=object)
    # one index over both: the reference's distinct values, then the current's new ones
    key_codes, keys = pd.factorize(np.concatenate((ref_uniques, dictionary[used])))
    keys = np.asarray(keys, dtype=object)
    if ref_codes.size and (ref_codes < 0).any():
        ref_codes = ref_codes[ref_codes >= 0]
    ref_codes = key_codes[: ref_uniques.size][ref_codes]
    lookup = np.full(dictionary.size + 1, -1, dtype=np.intp)
    lookup[used + 1] = key_codes[ref_uniques.size :]
    cur_codes = lookup[cur.codes + 1]
    if nulls:
        cur_codes = cur_codes[cur_codes >= 0]
    if keys.size and any(isinstance(key, float) and not np.isfinite(key) for key in keys):
        # Evidently replaces infinities by NaN and drops them (the reference's may hold some)
        finite = np.array([not (isinstance(key, float) and not np.isfinite(key)) for key in keys])
        ref_codes = ref_codes[finite[ref_codes]]
    if ref_codes.size == 0:
        return "no value in the reference data"
    ref_counts = np.bincount(ref_codes, minlength=keys.size)
    cur_counts = np.zeros(keys.size, dtype=np.int64)
    np.add.at(cur_counts, key_codes[ref_uniques.size :], counts[used])
    present = (ref_counts > 0) | (cur_counts > 0)
    if not present.all():
        remap = np.cumsum(present) - 1
        keys, ref_counts, cur_counts = keys[present], ref_counts[present], cur_counts[present]
        ref_codes, cur_codes = remap[ref_codes], remap[cur_codes]
    if np.count_nonzero(cur_counts) > cur_codes.size * 0.5:
        return _TEXT_UNTESTED
    return Prepared(
        CATEGORICAL,
        ref_codes,
        cur_codes,
        categorical_keys=keys,
        _counts=(keys, ref_counts, cur_counts),
    )


def _integer_codes(ref: np.ndarray, cur: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    if ref.dtype.kind == "b" and cur.dtype.kind == "b":
        return np.array([False, True]), ref.astype(np.intp), cur.astype(np.intp)
    if ref.dtype.kind == "b" or cur.dtype.kind == "b":
        ref, cur = ref.astype(np.int64), cur.astype(np.int64)
    low = min(int(ref.min()), int(cur.min())) if ref.size and cur.size else 0
    high = max(int(ref.max()), int(cur.max())) if ref.size and cur.size else 0
    if high - low <= 4 * (ref.size + cur.size) and high - low < 10_000_000:
        dtype = np.result_type(ref.dtype, cur.dtype)
        keys = np.arange(low, high + 1, dtype=dtype)
        return keys, (ref - low).astype(np.intp), (cur - low).astype(np.intp)
    keys, inverse = np.unique(np.concatenate((ref, cur)), return_inverse=True)
    return keys, inverse[: ref.size], inverse[ref.size :]


# --- the small picture a page draws: shares of reference and current ---


def _picture(prepared: Prepared) -> dict:
    if prepared.column_type == NUMERICAL:
        low = float(min(prepared.ref[0], prepared.cur[0]))
        high = float(max(prepared.ref[-1], prepared.cur[-1]))
        edges = (
            np.linspace(low, high, PICTURE_BINS + 1)
            if high > low
            else np.array([low - 0.5, low + 0.5])
        )
        return {
            "kind": "histogram",
            "edges": [float(edge) for edge in edges],
            "reference": (sorted_histogram(prepared.ref, edges) / prepared.n_ref).tolist(),
            "current": (sorted_histogram(prepared.cur, edges) / prepared.n_cur).tolist(),
        }
    keys, ref_counts, cur_counts = prepared.counts
    ref_shares = ref_counts / prepared.n_ref
    cur_shares = cur_counts / prepared.n_cur
    top = np.argsort(-(ref_shares + cur_shares), kind="stable")[:PICTURE_CATEGORIES]
    picture = {
        "kind": "bars",
        "categories": [str(keys[i]) for i in top],
        "reference": [float(ref_shares[i]) for i in top],
        "current": [float(cur_shares[i]) for i in top],
    }
    if keys.size > top.size:
        picture["categories"].append("other")
        picture["reference"].append(float(max(0.0, 1.0 - sum(picture["reference"]))))
        picture["current"].append(float(max(0.0, 1.0 - sum(picture["current"]))))
    return picture
