"""One row of features to what a fitted ColumnTransformer makes of it, without pandas.

scikit-learn's ColumnTransformer costs 1.5-4 ms on a one-row DataFrame (input validation,
pandas column selection, one call per part, hstack), while the arithmetic it does for
passthrough, scaled and one-hot columns takes microseconds. `row_encoder` reads the fitted
transformer's learned state into plain lookups when every part is one it knows, then checks
itself against scikit-learn on sample rows before anything uses it. Anything else (a part it
does not know, sparse or pandas output, a mismatch on any sample) gives None, and the caller
keeps scikit-learn.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

UNSEEN = "\x00unseen category"
NUMERIC_KINDS = ("integer", "number", "boolean")


class UnknownCategory(ValueError):
    """As scikit-learn's OneHotEncoder(handle_unknown="error") says of an unseen category."""


@dataclass(frozen=True)
class _Part:
    """One transformer's output block: its input columns and how each becomes numbers."""

    start: int
    columns: tuple[str, ...]
    kind: str  # passthrough | scale | onehot
    offset: tuple[float, ...] = ()
    factor: tuple[float, ...] = ()
    # onehot: per column, category -> output position within the block (None: all zeros)
    positions: tuple[dict[Any, int | None], ...] = ()
    ignore_unknown: bool = True


class RowEncoder:
    """Encodes one validated feature dict into the (1, n) float matrix the estimator takes."""

    def __init__(self, parts: list[_Part], width: int) -> None:
        self.parts = parts
        self.width = width

    def encode(self, features: dict[str, Any]) -> np.ndarray:
        out = np.zeros((1, self.width))
        row = out[0]
        for part in self.parts:
            if part.kind == "passthrough":
                for i, name in enumerate(part.columns):
                    row[part.start + i] = features[name]
            elif part.kind == "scale":
                for i, name in enumerate(part.columns):
                    row[part.start + i] = (features[name] - part.offset[i]) * part.factor[i]
            else:
                for name, positions in zip(part.columns, part.positions, strict=True):
                    value = features[name]
                    if value in positions:
                        position = positions[value]
                        if position is not None:
                            row[part.start + position] = 1.0
                    elif not part.ignore_unknown:
                        raise UnknownCategory(
                            f"Found unknown categories [{value!r}] in column {name!r} during "
                            "transform"
                        )
        return out


def _columns(transformer_columns: Any, names: list[str]) -> tuple[str, ...] | None:
    listed = np.atleast_1d(transformer_columns).tolist()
    if all(isinstance(c, str) for c in listed):
        return tuple(listed)
    if all(isinstance(c, int) and not isinstance(c, bool) for c in listed):
        return tuple(names[c] for c in listed)
    return None


def _onehot_part(encoder: Any, start: int, columns: tuple[str, ...]) -> _Part | None:
    if getattr(encoder, "_infrequent_enabled", False) or getattr(encoder, "sparse_output", False):
        return None
    if encoder.handle_unknown not in ("ignore", "error"):
        return None
    dropped = getattr(encoder, "drop_idx_", None)
    positions, offset = [], 0
    for index, categories in enumerate(encoder.categories_):
        drop = None if dropped is None else dropped[index]
        mapping: dict[Any, int | None] = {}
        for i, category in enumerate(categories.tolist()):
            if drop is not None and i == drop:
                mapping[category] = None
            else:
                mapping[category] = offset
                offset += 1
        positions.append(mapping)
    return _Part(
        start=start,
        columns=columns,
        kind="onehot",
        positions=tuple(positions),
        ignore_unknown=encoder.handle_unknown == "ignore",
    )


def _part(transformer: Any, start: int, stop: int, columns: tuple[str, ...]) -> _Part | None:
    from sklearn.preprocessing import (
        FunctionTransformer,
        MinMaxScaler,
        OneHotEncoder,
        StandardScaler,
    )

    width = len(columns)
    # A fitted ColumnTransformer holds "passthrough" as an identity FunctionTransformer.
    identity = type(transformer) is FunctionTransformer and transformer.func is None
    if transformer == "passthrough" or identity:
        return _Part(start, columns, "passthrough") if stop - start == width else None
    if isinstance(transformer, OneHotEncoder):
        return _onehot_part(transformer, start, columns)
    if isinstance(transformer, StandardScaler) and stop - start == width:
        mean = transformer.mean_ if transformer.with_mean else np.zeros(width)
        scale = transformer.scale_ if transformer.with_std else np.ones(width)
        return _Part(start, columns, "scale", tuple(mean.tolist()), tuple((1 / scale).tolist()))
    if isinstance(transformer, MinMaxScaler) and not transformer.clip and stop - start == width:
        # x * scale_ + min_  ==  (x - (-min_ / scale_)) * scale_
        scale, low = transformer.scale_, transformer.min_
        return _Part(start, columns, "scale", tuple((-low / scale).tolist()), tuple(scale.tolist()))
    return None


def _compile(preprocess: Any, kinds: dict[str, str]) -> RowEncoder | None:
    from sklearn.compose import ColumnTransformer

    names = list(kinds)

    if not isinstance(preprocess, ColumnTransformer) or preprocess.sparse_output_:
        return None
    if getattr(preprocess, "_sklearn_output_config", {}).get("transform") not in (None, "default"):
        return None
    parts, width = [], 0
    for name, transformer, transformer_columns in preprocess.transformers_:
        block = preprocess.output_indices_[name]
        width = max(width, block.stop)
        if transformer == "drop" or block.stop == block.start:
            continue
        columns = _columns(transformer_columns, names)
        if columns is None or any(c not in names for c in columns):
            return None
        part = _part(transformer, block.start, block.stop, columns)
        if part is None or (
            part.kind != "onehot" and any(kinds[c] not in NUMERIC_KINDS for c in columns)
        ):
            return None
        parts.append(part)
    return RowEncoder(parts, width)


def _sample_rows(encoder: RowEncoder, kinds: dict[str, str]) -> list[dict[str, Any]]:
    """Rows that visit every known category, an unseen one, and several numbers."""
    categories: dict[str, list[Any]] = {}
    for part in encoder.parts:
        for name, positions in zip(part.columns, part.positions, strict=False):
            categories[name] = list(positions)
    count = max((len(c) for c in categories.values()), default=0) + 2
    rows = []
    for i in range(count):
        row: dict[str, Any] = {}
        for name, kind in kinds.items():
            known = categories.get(name)
            if known is not None:
                row[name] = known[i] if i < len(known) else UNSEEN
            elif kind == "integer":
                row[name] = 3 * i - 2
            elif kind == "boolean":
                row[name] = bool(i % 2)
            elif kind == "number":
                row[name] = 1.75 * i - 2.5
            else:
                row[name] = f"value {i}"
        rows.append(row)
    return rows


def row_encoder(
    model: Any,
    kinds: dict[str, str],
    frame_of: Callable[[dict[str, Any]], Any],
    extra_rows: Iterable[dict[str, Any]] = (),
) -> RowEncoder | None:
    """A checked fast path for `model[:-1].transform` on one row, or None.

    `model` is a fitted two-step Pipeline (ColumnTransformer, estimator); `kinds` maps each
    input feature to its kind; `frame_of` builds the one-row DataFrame scikit-learn gets.
    """
    steps = getattr(model, "steps", None)
    if not steps or len(steps) != 2 or hasattr(steps[-1][1], "feature_names_in_"):
        return None  # an estimator fitted on named columns would warn on every array
    preprocess = steps[0][1]
    encoder = _compile(preprocess, kinds)
    if encoder is None:
        return None
    for row in [*_sample_rows(encoder, kinds), *extra_rows]:
        try:
            expected = preprocess.transform(frame_of(row))
        except ValueError:
            try:
                encoder.encode(row)
            except UnknownCategory:
                continue
            return None
        try:
            got = encoder.encode(row)
        except (UnknownCategory, TypeError, KeyError):
            return None
        if getattr(expected, "shape", None) != got.shape or not np.allclose(
            np.asarray(expected, dtype=float), got, rtol=1e-12, atol=1e-12
        ):
            return None
    return encoder


def strict_categories(model: Any, names: list[str]) -> dict[str, frozenset[Any]]:
    """Per input feature, the categories a one-hot step refuses to go beyond.

    A fitted OneHotEncoder(handle_unknown="error") inside the pipeline's ColumnTransformer
    raises on any other value. Knowing them up front turns such a call into a 400 that
    names the feature, instead of a model failure.
    """
    from sklearn.compose import ColumnTransformer
    from sklearn.preprocessing import OneHotEncoder

    steps = getattr(model, "steps", None)
    preprocess = steps[0][1] if steps else None
    if not isinstance(preprocess, ColumnTransformer):
        return {}
    known: dict[str, frozenset[Any]] = {}
    for _, transformer, transformer_columns in preprocess.transformers_:
        if not isinstance(transformer, OneHotEncoder) or transformer.handle_unknown != "error":
            continue
        columns = _columns(transformer_columns, names)
        if columns is None:
            continue
        for name, categories in zip(columns, transformer.categories_, strict=True):
            known[name] = frozenset(categories.tolist())
    return known
