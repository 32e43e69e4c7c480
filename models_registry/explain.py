"""SHAP explanations in the model's own feature space.

`ModelExplainer` wraps a loaded model: TreeExplainer for tree models (also as the last step
of a scikit-learn Pipeline, with one-hot columns summed back to the feature they came
from), a model-agnostic explainer over a background sample for anything else. The card's
global importance and, later, the serving endpoint's per-request values both use it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

BACKGROUND_ROWS = 100


def _positive_class(values: Any, expected: Any) -> tuple[np.ndarray, float]:
    """SHAP values and base value for the positive class of a binary classifier."""
    array = np.asarray(values)
    base = np.asarray(expected, dtype=float).reshape(-1)
    if isinstance(values, list):  # older style: one array per class
        array, base = np.asarray(values[-1]), base[-1:]
    if array.ndim == 3:  # (rows, features, classes)
        array, base = array[:, :, -1], base[-1:]
    return array, float(base[-1])


def _output_groups(preprocess: Any, features: list[str]) -> list[str] | None:
    """Which input feature each transformed column came from, if it can be told."""
    from sklearn.compose import ColumnTransformer
    from sklearn.preprocessing import OneHotEncoder

    if not isinstance(preprocess, ColumnTransformer):
        return None
    total = max((block.stop for block in preprocess.output_indices_.values()), default=0)
    owners: list[str | None] = [None] * total
    for name, transformer, columns in preprocess.transformers_:
        block = preprocess.output_indices_[name]
        if block.stop == block.start:  # dropped columns
            continue
        cols = [
            features[c] if isinstance(c, int | np.integer) else c for c in np.atleast_1d(columns)
        ]
        if isinstance(transformer, OneHotEncoder):
            sizes = [len(categories) for categories in transformer.categories_]
            dropped = getattr(transformer, "drop_idx_", None)
            if dropped is not None:
                sizes = [size - (d is not None) for size, d in zip(sizes, dropped, strict=True)]
            expanded = [col for col, size in zip(cols, sizes, strict=True) for _ in range(size)]
        elif block.stop - block.start == len(cols):
            expanded = cols
        else:
            return None
        owners[block.start : block.stop] = expanded
    return None if any(o is None for o in owners) else owners  # type: ignore[return-value]


@dataclass
class Explanation:
    base_value: float
    values: pd.DataFrame  # one column per input feature


class ModelExplainer:
    """Explains predictions of one loaded model on frames with the given feature columns."""

    def __init__(self, model: Any, features: list[str], background: pd.DataFrame) -> None:
        import shap

        self.model = model
        self.features = list(features)
        self.groups: list[str] | None = None
        self.transform = None
        estimator = model
        if hasattr(model, "steps") and len(model.steps) > 1:
            preprocess = model[:-1]
            last = model.steps[-1][1]
            groups = (
                _output_groups(model.steps[-2][1], self.features) if len(model.steps) == 2 else None
            )
            if groups is not None and self._is_tree(last):
                self.transform, self.groups, estimator = preprocess.transform, groups, last
        self.estimator = estimator
        if self.groups is not None:  # input feature -> the transformed columns it became
            self._columns_of = [
                np.array([i for i, owner in enumerate(self.groups) if owner == feature], dtype=int)
                for feature in self.features
            ]
        if self._is_tree(estimator) and (self.transform is not None or estimator is model):
            self.explainer = shap.TreeExplainer(estimator)
            self.method = "shap.TreeExplainer"
            # Tree classifiers are explained in their raw margin: log-odds for binary ones.
            self.output_space = "log_odds" if hasattr(estimator, "predict_proba") else "prediction"
        else:
            sample = background[self.features].sample(
                min(BACKGROUND_ROWS, len(background)), random_state=0
            )
            self.explainer = shap.Explainer(self._predict, sample, algorithm="permutation", seed=0)
            self.method = "shap.PermutationExplainer"
            self.output_space = "probability" if hasattr(model, "predict_proba") else "prediction"

    @staticmethod
    def _is_tree(estimator: Any) -> bool:
        name = type(estimator).__name__
        return any(
            key in name for key in ("Tree", "Forest", "GradientBoosting", "XGB", "LGBM", "CatBoost")
        )

    def _predict(self, frame: Any) -> np.ndarray:
        data = (
            frame if isinstance(frame, pd.DataFrame) else pd.DataFrame(frame, columns=self.features)
        )
        if hasattr(self.model, "predict_proba"):
            return self.model.predict_proba(data)[:, -1]
        return self.model.predict(data)

    @property
    def explains_transformed(self) -> bool:
        """A tree at the end of a pipeline: callers may transform once and reuse the matrix."""
        return self.method == "shap.TreeExplainer" and self.transform is not None

    def explain_row(self, matrix: np.ndarray) -> tuple[float, np.ndarray]:
        """Base value and SHAP value per input feature of one transformed row, no pandas."""
        values, base = _positive_class(
            self.explainer.shap_values(matrix), self.explainer.expected_value
        )
        return base, np.array([values[0, columns].sum() for columns in self._columns_of])

    def explain_transformed(self, matrix: Any) -> Explanation:
        """Explain rows the pipeline's preprocessing already turned into model columns."""
        values, base = _positive_class(
            self.explainer.shap_values(matrix), self.explainer.expected_value
        )
        summed = np.column_stack([values[:, columns].sum(axis=1) for columns in self._columns_of])
        return Explanation(base_value=base, values=pd.DataFrame(summed, columns=self.features))

    def explain(self, frame: pd.DataFrame) -> Explanation:
        data = frame[self.features]
        if self.explains_transformed:
            return self.explain_transformed(self.transform(data))
        if self.method == "shap.TreeExplainer":
            values, base = _positive_class(
                self.explainer.shap_values(data), self.explainer.expected_value
            )
            return Explanation(base_value=base, values=pd.DataFrame(values, columns=self.features))
        explained = self.explainer(data)
        base = float(np.asarray(explained.base_values).reshape(-1)[0])
        return Explanation(
            base_value=base, values=pd.DataFrame(explained.values, columns=self.features)
        )

    def global_importance(self, frame: pd.DataFrame) -> dict[str, float]:
        """Mean absolute SHAP value per feature, largest first."""
        values = self.explain(frame).values.abs().mean()
        ordered = values.sort_values(ascending=False)
        return {str(name): round(float(value), 6) for name, value in ordered.items()}
