"""The computing half of a retraining run: data in, a refitted clone and its comparison out.

No database writes and no MLflow calls here; `execute.py` orders the steps and records
them. Every refusal is a `RetrainingRefused` whose message is the reason a person reads on
the run and on the incident's timeline.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd
from django.conf import settings

from models_registry.inference_columns import window_read
from models_registry.models import ModelVersion
from models_registry.reference_data import reference_frame
from models_registry.serving.features import FeatureSpec
from models_registry.serving.loader import PANDAS_DTYPES
from monitoring.checks.inputs import reference_latest, window_labels
from monitoring.checks.quality import BINARY, REGRESSION


class RetrainingRefused(Exception):
    """The run cannot go on; the message says why, for people."""

    def __init__(self, message: str, *, labelled_rows: int | None = None) -> None:
        super().__init__(message)
        self.labelled_rows = labelled_rows


@dataclass(frozen=True)
class _Span:
    """What `window_labels` reads of a run: the version and the window."""

    version: ModelVersion
    window_start: datetime
    window_end: datetime


@dataclass
class TrainingData:
    train_x: pd.DataFrame
    train_y: np.ndarray
    holdout_x: pd.DataFrame
    holdout_y: np.ndarray
    labelled_rows: int
    reference_rows: int


def _typed(frame: pd.DataFrame, spec: FeatureSpec) -> pd.DataFrame:
    """The spec's columns, rows with a missing value dropped, in the dtypes serving uses."""
    frame = frame[list(spec.names)].replace({None: np.nan}).dropna()
    return frame.astype({name: PANDAS_DTYPES[kind] for name, kind in spec.columns})


def _labels(values: np.ndarray, task: str) -> np.ndarray:
    if task != BINARY:
        return values.astype(np.float64)
    if not np.isin(values, (0.0, 1.0)).all():
        raise RetrainingRefused(
            "The ground truth holds labels other than 0 and 1; a binary classifier cannot be "
            "retrained on them."
        )
    return values.astype(np.int64)


def window_labelled(
    *, version: ModelVersion, spec: FeatureSpec, start: datetime, end: datetime, task: str
) -> tuple[pd.DataFrame, np.ndarray]:
    """The window's logged features of the rows that have ground truth, and those labels."""
    window = window_read(
        version=version, start=start, end=end, features=list(spec.names), attributes=[]
    )
    labels = window_labels(_Span(version, start, end), window)
    labelled = ~np.isnan(labels)
    frame = pd.DataFrame({name: window.features[name][labelled] for name in spec.names})
    frame["__label"] = labels[labelled]
    typed = _typed(frame, spec)
    return typed, _labels(frame.loc[typed.index, "__label"].to_numpy(), task)


def reference_labelled(
    *, version: ModelVersion, spec: FeatureSpec, task: str
) -> tuple[pd.DataFrame, np.ndarray]:
    """The version's reference data with its label column, or nothing when it has none."""
    dataset = reference_latest(version=version)
    empty = pd.DataFrame(columns=list(spec.names)), np.array([])
    if dataset is None or not dataset.label_column:
        return empty
    frame = reference_frame(dataset)
    if dataset.label_column not in frame or any(n not in frame for n in spec.names):
        return empty
    frame = frame[frame[dataset.label_column].notna()]
    typed = _typed(frame, spec)
    labels = frame.loc[typed.index, dataset.label_column].to_numpy(dtype=np.float64)
    return typed, _labels(labels, task)


def training_data(
    *, version: ModelVersion, spec: FeatureSpec, start: datetime, end: datetime, task: str
) -> TrainingData:
    """The labelled window split into train and hold-out; the reference rows join the train
    side. The hold-out comes from the window only: the traffic the model serves now is what
    the new and the current model are compared on."""
    from sklearn.model_selection import train_test_split

    window_x, window_y = window_labelled(
        version=version, spec=spec, start=start, end=end, task=task
    )
    needed = settings.RETRAINING_MIN_LABELS
    if len(window_y) < needed:
        raise RetrainingRefused(
            f"Too few labels: the window holds {len(window_y)} labelled records with every "
            f"feature, and retraining needs at least {needed} (RETRAINING_MIN_LABELS). Send "
            "ground truth for more predictions or widen the window.",
            labelled_rows=len(window_y),
        )
    reference_x, reference_y = reference_labelled(version=version, spec=spec, task=task)
    stratify = None
    if task == BINARY:
        _, counts = np.unique(window_y, return_counts=True)
        if len(counts) == 2 and counts.min() >= 2:
            stratify = window_y
    train_x, holdout_x, train_y, holdout_y = train_test_split(
        window_x,
        window_y,
        test_size=settings.RETRAINING_HOLDOUT_SHARE,
        random_state=0,
        stratify=stratify,
    )
    if len(reference_y):
        train_x = pd.concat([train_x, reference_x], ignore_index=True)
        train_y = np.concatenate([train_y, reference_y.astype(train_y.dtype)])
    return TrainingData(
        train_x=train_x.reset_index(drop=True),
        train_y=train_y,
        holdout_x=holdout_x.reset_index(drop=True),
        holdout_y=holdout_y,
        labelled_rows=len(window_y),
        reference_rows=len(reference_y),
    )


def cloned(estimator: Any) -> Any:
    """An unfitted copy of `estimator` with the same parameters (pipelines included)."""
    from sklearn.base import clone

    try:
        return clone(estimator)
    except (TypeError, RuntimeError, AttributeError) as error:
        raise RetrainingRefused(
            f"The production model cannot be cloned ({type(estimator).__name__}): {error}"
        ) from error


def _finite(value: float) -> float | None:
    return round(float(value), 6) if math.isfinite(float(value)) else None


def evaluate(estimator: Any, x: pd.DataFrame, y: np.ndarray, *, task: str, threshold: float):
    """accuracy, roc_auc, f1 (binary classification) or mae, rmse, r2 (regression)."""
    from sklearn import metrics

    if task == BINARY:
        if hasattr(estimator, "predict_proba"):
            scores = estimator.predict_proba(x)[:, 1]
        else:
            scores = np.asarray(estimator.predict(x), dtype=np.float64)
        predicted = (scores >= threshold).astype(int)
        both = len(np.unique(y)) == 2
        return {
            "accuracy": _finite(metrics.accuracy_score(y, predicted)),
            "roc_auc": _finite(metrics.roc_auc_score(y, scores)) if both else None,
            "f1": _finite(metrics.f1_score(y, predicted, zero_division=0)),
        }
    if task == REGRESSION:
        predicted = np.asarray(estimator.predict(x), dtype=np.float64)
        return {
            "mae": _finite(metrics.mean_absolute_error(y, predicted)),
            "rmse": _finite(math.sqrt(metrics.mean_squared_error(y, predicted))),
            "r2": _finite(metrics.r2_score(y, predicted)) if len(y) > 1 else None,
        }
    raise RetrainingRefused(f"Retraining knows no task '{task}'.")


@dataclass
class Retrained:
    model: Any
    data: TrainingData
    new: dict[str, float | None]
    current: dict[str, float | None]


def retrain(
    *,
    estimator: Any,
    model: Any,
    version: ModelVersion,
    spec: FeatureSpec,
    start: datetime,
    end: datetime,
    task: str,
    threshold: float,
) -> Retrained:
    """Fit `model` (an unfitted clone of `estimator`) on the train split, and measure new
    and current on the same hold-out."""
    data = training_data(version=version, spec=spec, start=start, end=end, task=task)
    if task == BINARY and len(np.unique(data.train_y)) < 2:
        raise RetrainingRefused("Every labelled training record has the same label.")
    try:
        model.fit(data.train_x, data.train_y)
    except (ValueError, TypeError) as error:
        raise RetrainingRefused(f"The clone could not be fitted: {error}") from error
    return Retrained(
        model=model,
        data=data,
        new=evaluate(model, data.holdout_x, data.holdout_y, task=task, threshold=threshold),
        current=evaluate(estimator, data.holdout_x, data.holdout_y, task=task, threshold=threshold),
    )
