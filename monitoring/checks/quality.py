"""Quality of a window against its ground truth, as scikit-learn computes each metric.

Binary classification: accuracy, precision, recall, f1, roc_auc and log_loss on the labelled
rows (the class is `y_score >= threshold`, log loss and ROC AUC use the score itself), and
positive_rate, the share of predicted positives over every row of the window (it needs no
label). Regression: mae, rmse and r2 on the labelled rows. A row whose `y_true` is NaN has no
ground truth yet: it is left out of the labelled metrics and counted. Every value equals
scikit-learn's on the same rows (tests/monitoring/test_quality_metrics.py); they are computed
here with counts and one sort, because scikit-learn's input validation alone costs several
times the arithmetic on a million rows.

A metric that is undefined on the rows is None and `reasons` says why; a metric that
scikit-learn defines by convention (precision with no predicted positive is 0.0, its
`zero_division` default) keeps that value and `reasons` says so too.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from monitoring.checks._arrays import binary_labels, finite_scores, float_column, same_length
from monitoring.checks.errors import CheckInputError

BINARY = "binary_classification"
REGRESSION = "regression"
TASKS = (BINARY, REGRESSION)

BINARY_METRICS = ("accuracy", "precision", "recall", "f1", "roc_auc", "log_loss", "positive_rate")
REGRESSION_METRICS = ("mae", "rmse", "r2")

NO_LABELS = "no prediction in the window has ground truth yet"


@dataclass(frozen=True)
class QualityResult:
    """The metrics of one window; `values` holds None for a metric that is undefined on it."""

    task: str
    rows: int
    labelled: int
    threshold: float | None
    values: dict[str, float | None]
    reasons: dict[str, str] = field(default_factory=dict)

    def as_results(self) -> dict[str, Any]:
        rows_used = {"labelled": "rows with ground truth (y_true not NaN)"}
        if self.task == BINARY:
            rows_used["positive_rate"] = "every row of the window (needs no label)"
        return {
            "task": self.task,
            "rows": self.rows,
            "labelled": self.labelled,
            "unlabelled": self.rows - self.labelled,
            "threshold": self.threshold,
            "metrics": dict(self.values),
            "reasons": dict(self.reasons),
            "rows_used": rows_used,
        }

    def metrics(self) -> dict[str, float | None]:
        return {**self.values, "labelled": float(self.labelled), "rows": float(self.rows)}


def quality_compute(
    *, task: str, y_true: Any, y_score: Any, threshold: float = 0.5
) -> QualityResult:
    """Quality metrics of `y_score` against `y_true` (NaN: not labelled yet) for `task`."""
    if task not in TASKS:
        raise CheckInputError(f"task must be one of {', '.join(TASKS)}, not {task!r}")
    truth = float_column(y_true, name="y_true")
    scores = float_column(y_score, name="y_score")
    rows = same_length(y_true=truth, y_score=scores)
    finite_scores(scores, name="y_score")
    labelled = ~np.isnan(truth)
    if task == BINARY:
        binary_labels(truth, name="y_true")
        return _binary(truth, scores, labelled, rows=rows, threshold=float(threshold))
    if np.isinf(truth).any():
        raise CheckInputError("y_true has infinite values")
    return _regression(truth[labelled], scores[labelled], rows=rows)


def _binary(
    truth: np.ndarray, scores: np.ndarray, labelled: np.ndarray, *, rows: int, threshold: float
) -> QualityResult:
    values: dict[str, float | None] = dict.fromkeys(BINARY_METRICS)
    reasons: dict[str, str] = {}
    if rows:
        values["positive_rate"] = float(np.count_nonzero(scores >= threshold) / rows)
    else:
        reasons["positive_rate"] = "the window has no predictions"
    positive = truth[labelled] == 1
    score = scores[labelled]
    n = int(positive.size)
    if n == 0:
        reasons.update(dict.fromkeys(BINARY_METRICS[:-1], NO_LABELS))
        return QualityResult(BINARY, rows, 0, threshold, values, reasons)

    predicted = score >= threshold
    tp = int(np.count_nonzero(predicted & positive))
    predicted_positive = int(np.count_nonzero(predicted))
    actual_positive = int(np.count_nonzero(positive))
    fp = predicted_positive - tp
    fn = actual_positive - tp
    tn = n - tp - fp - fn
    values["accuracy"] = (tp + tn) / n
    values["precision"] = _zero_division(
        tp, predicted_positive, "precision", "no prediction is positive", reasons
    )
    values["recall"] = _zero_division(tp, actual_positive, "recall", "no label is 1", reasons)
    values["f1"] = _zero_division(
        2 * tp,
        predicted_positive + actual_positive,
        "f1",
        "no positive label or prediction",
        reasons,
    )
    values["roc_auc"] = roc_auc(positive, score)
    if values["roc_auc"] is None:
        only = "1" if actual_positive else "0"
        reasons["roc_auc"] = f"undefined: every labelled row is of class {only}"
    if score.min() < 0 or score.max() > 1:
        reasons["log_loss"] = (
            "undefined: scores outside [0, 1] are not probabilities "
            f"(min {float(score.min())!r}, max {float(score.max())!r})"
        )
    else:
        values["log_loss"] = log_loss(positive, score)
        if actual_positive in (0, n):
            reasons["log_loss"] = "one class only: computed as scikit-learn's with labels=[0, 1]"
    return QualityResult(BINARY, rows, n, threshold, values, reasons)


def _zero_division(
    numerator: int, denominator: int, name: str, why: str, reasons: dict[str, str]
) -> float:
    if denominator == 0:
        reasons[name] = f"{why}: 0.0, scikit-learn's zero_division default"
        return 0.0
    return numerator / denominator


def roc_auc(positive: np.ndarray, score: np.ndarray) -> float | None:
    """Area under the ROC curve (ties count half), or None when one class is missing.

    The Mann-Whitney form with mid-ranks, kept in integers until the one division: twice the
    rank sum of the positives minus its minimum, over twice the number of pairs.
    scikit-learn integrates the curve with the trapezoidal rule; both are the same area.
    """
    n = int(positive.size)
    n_positive = int(np.count_nonzero(positive))
    n_negative = n - n_positive
    if n_positive == 0 or n_negative == 0:
        return None
    order = np.argsort(score)
    sorted_score = score[order]
    sorted_positive = positive[order]
    starts = np.flatnonzero(np.r_[True, sorted_score[1:] != sorted_score[:-1]])
    if starts.size == n:
        twice_rank_sum = int(2 * np.sum(np.flatnonzero(sorted_positive) + 1, dtype=np.int64))
    else:
        ends = np.r_[starts[1:], n]
        positives = np.add.reduceat(sorted_positive.astype(np.int64), starts)
        twice_rank_sum = int(np.dot(positives, starts + 1 + ends))
    return (twice_rank_sum - n_positive * (n_positive + 1)) / (2 * n_positive * n_negative)


def log_loss(positive: np.ndarray, probability: np.ndarray) -> float:
    """scikit-learn's log loss: each class's probability clipped to [eps, 1 - eps], mean of -log."""
    eps = np.finfo(np.float64).eps
    chosen = np.where(positive, probability, 1 - probability)
    return float(np.mean(-np.log(np.clip(chosen, eps, 1 - eps))))


def _regression(truth: np.ndarray, prediction: np.ndarray, *, rows: int) -> QualityResult:
    values: dict[str, float | None] = dict.fromkeys(REGRESSION_METRICS)
    reasons: dict[str, str] = {}
    n = int(truth.size)
    if n == 0:
        reasons.update(dict.fromkeys(REGRESSION_METRICS, NO_LABELS))
        return QualityResult(REGRESSION, rows, 0, None, values, reasons)
    error = prediction - truth
    values["mae"] = float(np.mean(np.abs(error)))
    squared = float(np.sum(error * error))
    values["rmse"] = float(np.sqrt(squared / n))
    if n < 2:
        reasons["r2"] = "undefined with fewer than two labelled rows"
    else:
        centred = truth - np.mean(truth)
        total = float(np.sum(centred * centred))
        if total == 0:
            values["r2"] = 1.0 if squared == 0 else 0.0
            reasons["r2"] = (
                "every label is the same: scikit-learn's convention "
                "(1.0 for a perfect prediction, else 0.0)"
            )
        else:
            values["r2"] = 1 - squared / total
    return QualityResult(REGRESSION, rows, n, None, values, reasons)
