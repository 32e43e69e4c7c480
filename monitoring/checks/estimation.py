"""Estimated accuracy and ROC AUC of a binary classifier before its labels arrive (CBPE).

NannyML's confidence-based performance estimation (nannyml.performance_estimation.
confidence_based, 0.13): if its scores are calibrated probabilities, a prediction of class 1
with score p is right with probability p, and one of class 0 with probability 1 - p, so the
expected confusion matrix, and any metric of it, follows from the scores alone.

1. Calibration is decided on the reference data, as `nannyml.calibration.needs_calibration`
   decides it: no calibration if the reference has one class or its ROC AUC exceeds 0.999;
   otherwise ten stratified shuffle splits (test size 0.1, random_state 42) fit an isotonic
   regression on each train part and calibrate its test part; if the expected calibration
   error (ten equal-count bins over the pooled test parts) is lower calibrated than raw, an
   isotonic regression fitted on the whole reference calibrates the window's scores.
2. Estimated accuracy: the mean over the window of p (predicted class 1) or 1 - p (class 0),
   p the calibrated score, the class `raw score >= threshold` (`estimate_accuracy`).
3. Estimated ROC AUC: rows ordered by raw score, descending; expected true positives are
   the running sum of p, false positives of 1 - p (rounded to 5 decimals as NannyML does);
   the trapezoidal area under the resulting curve (`estimate_roc_auc`).
4. Realized values, when labels are given: accuracy and ROC AUC of the raw scores on the
   labelled rows of the window (NannyML computes realized values on uncalibrated scores too).

Assumptions (NannyML's): the calibrated reference scores are probabilities of the window's
rows, i.e. no concept drift (P(y | x) as in the reference; a shift of the inputs alone is
fine), no shift to regions of the input the reference did not cover, and a window large
enough (the estimate is an expectation; the realized value scatters around it by about
sqrt(sum p(1 - p)) / n). tests/monitoring/test_estimation.py compares with these formulas
and checks the estimate against the realized value on seeded data without concept drift.
"""

from __future__ import annotations

import hashlib
import itertools
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from monitoring.checks._arrays import binary_labels, finite_scores, float_column, same_length
from monitoring.checks.errors import CheckInputError
from monitoring.checks.quality import roc_auc

ECE_BINS = 10
CALIBRATION_SPLITS = 10
CALIBRATION_TEST_SIZE = 0.1
CALIBRATION_SEED = 42
SEPARABLE_AUC = 0.999

ASSUMPTIONS = [
    "scores are calibrated probabilities once calibrated on the reference data",
    "no concept drift: P(label | inputs) is what it was in the reference data",
    "no shift of the inputs into regions the reference data does not cover",
]


@dataclass(frozen=True)
class Calibration:
    """Whether the window's scores were calibrated, and the evidence for it."""

    applied: bool
    reason: str
    ece_raw: float | None = None
    ece_calibrated: float | None = None

    def as_results(self) -> dict[str, Any]:
        return {
            "applied": self.applied,
            "method": "isotonic" if self.applied else None,
            "reason": self.reason,
            "ece_raw": self.ece_raw,
            "ece_calibrated": self.ece_calibrated,
        }


@dataclass(frozen=True)
class EstimationResult:
    """Estimated (and, with labels, realized) accuracy and ROC AUC of one window."""

    rows: int
    reference_rows: int
    labelled: int
    threshold: float
    calibration: Calibration
    estimated: dict[str, float | None]
    realized: dict[str, float | None] | None
    reasons: dict[str, str] = field(default_factory=dict)

    def as_results(self) -> dict[str, Any]:
        comparison = None
        if self.realized is not None:
            comparison = {
                name: {
                    "estimated": estimate,
                    "realized": self.realized[name],
                    "difference": (
                        None
                        if estimate is None or self.realized[name] is None
                        else self.realized[name] - estimate
                    ),
                }
                for name, estimate in self.estimated.items()
            }
        return {
            "method": "CBPE (NannyML confidence-based performance estimation)",
            "rows": self.rows,
            "reference_rows": self.reference_rows,
            "labelled": self.labelled,
            "threshold": self.threshold,
            "calibration": self.calibration.as_results(),
            "estimated": dict(self.estimated),
            "realized": None if self.realized is None else dict(self.realized),
            "comparison": comparison,
            "reasons": dict(self.reasons),
            "assumptions": ASSUMPTIONS,
        }

    def metrics(self) -> dict[str, float | None]:
        values: dict[str, float | None] = {
            "estimated_accuracy": self.estimated["accuracy"],
            "estimated_roc_auc": self.estimated["roc_auc"],
            "rows": float(self.rows),
        }
        if self.realized is not None and self.labelled:
            values["realized_accuracy"] = self.realized["accuracy"]
            values["realized_roc_auc"] = self.realized["roc_auc"]
            values["labelled"] = float(self.labelled)
        return values


def estimation_compute(
    *,
    reference_scores: Any,
    reference_labels: Any,
    current_scores: Any,
    threshold: float = 0.5,
    current_labels: Any = None,
) -> EstimationResult:
    """CBPE estimates for `current_scores`, calibrated on the labelled reference rows."""
    reference = float_column(reference_scores, name="reference_scores")
    reference_truth = float_column(reference_labels, name="reference_labels")
    same_length(reference_scores=reference, reference_labels=reference_truth)
    current = float_column(current_scores, name="current_scores")
    for name, scores in (("reference_scores", reference), ("current_scores", current)):
        finite_scores(scores, name=name)
        _probabilities(scores, name=name)
    binary_labels(reference_truth, name="reference_labels")
    labelled_reference = ~np.isnan(reference_truth)
    reference, reference_truth = reference[labelled_reference], reference_truth[labelled_reference]
    if reference.size == 0:
        raise CheckInputError("the reference data has no labelled rows to calibrate the scores on")

    calibration, calibrator = calibration_for(reference_truth, reference)
    probability = current if calibrator is None else calibrator.predict(current)
    predicted = current >= threshold
    reasons: dict[str, str] = {}
    estimated: dict[str, float | None] = {"accuracy": None, "roc_auc": None}
    if current.size:
        estimated["accuracy"] = estimate_accuracy(predicted, probability)
        estimated["roc_auc"] = estimate_roc_auc(probability, current)
        if estimated["roc_auc"] is None:
            reasons["estimated_roc_auc"] = "undefined: the calibrated scores expect one class only"
    else:
        reasons["estimated_accuracy"] = reasons["estimated_roc_auc"] = "the window has no rows"

    realized, labelled = None, 0
    if current_labels is not None:
        realized, labelled = _realized(current_labels, current, predicted, reasons)
    return EstimationResult(
        rows=int(current.size),
        reference_rows=int(reference.size),
        labelled=labelled,
        threshold=float(threshold),
        calibration=calibration,
        estimated=estimated,
        realized=realized,
        reasons=reasons,
    )


def estimate_accuracy(predicted: np.ndarray, probability: np.ndarray) -> float:
    """NannyML's estimate_accuracy: (expected TP + expected TN) / n."""
    expected_tp = np.sum(np.where(predicted, probability, 0))
    expected_tn = np.sum(np.where(~predicted, 1 - probability, 0))
    return float((expected_tp + expected_tn) / predicted.size)


def estimate_roc_auc(probability: np.ndarray, raw: np.ndarray) -> float | None:
    """NannyML's estimate_roc_auc: the expected ROC curve over the raw scores' order."""
    order = np.argsort(raw)[::-1]
    ordered = probability[order]
    tps = np.cumsum(ordered)
    fps = 1 + np.arange(ordered.size) - tps
    tps = np.round(np.r_[0, tps], 5)
    fps = np.round(np.r_[0, fps], 5)
    if tps[-1] <= 0 or fps[-1] <= 0:
        return None
    return float(np.trapezoid(tps / tps[-1], fps / fps[-1]))


def expected_calibration_error(truth: np.ndarray, probability: np.ndarray) -> float:
    """NannyML's ECE: equal-count bins over the sorted scores, weighted |mean p - mean y|."""
    order = probability.argsort()
    probability, truth = probability[order], truth[order]
    terms = [
        (right - left)
        / probability.size
        * abs(np.mean(probability[left:right]) - np.mean(truth[left:right]))
        for left, right in _bin_edges(probability.size, ECE_BINS)
    ]
    return float(np.sum(terms))


def _bin_edges(length: int, bins: int) -> list[tuple[int, int]]:
    if length <= 2 * bins:
        bins = length // 2
        if bins < 2:
            raise CheckInputError(f"{length} rows cannot be split into two calibration bins")
    edges = np.asarray(range(0, length + 1, length // bins))
    edges[-1] = length
    return [(int(a), int(b)) for a, b in itertools.pairwise(edges)]


# Calibrations this process decided, by a digest of the reference's labels and scores: the
# daily checks of a version calibrate on the same reference every time (ten isotonic fits
# each), so a repeat takes the one decided before. Fitted isotonic regressions only predict.
CALIBRATIONS_KEPT = 16
_calibrations: OrderedDict[str, tuple[Calibration, Any]] = OrderedDict()
_calibrations_lock = threading.Lock()


def calibration_for(truth: np.ndarray, scores: np.ndarray) -> tuple[Calibration, Any]:
    """`_calibration` of these labels and scores, decided once per process."""
    digest = hashlib.sha256()
    for array in (truth, scores):
        digest.update(np.ascontiguousarray(array, dtype=np.float64).tobytes())
        digest.update(b"|")
    key = digest.hexdigest()
    with _calibrations_lock:
        found = _calibrations.get(key)
        if found is not None:
            _calibrations.move_to_end(key)
            return found
    found = _calibration(truth, scores)
    with _calibrations_lock:
        _calibrations[key] = found
        while len(_calibrations) > CALIBRATIONS_KEPT:
            _calibrations.popitem(last=False)
    return found


def _calibration(truth: np.ndarray, scores: np.ndarray) -> tuple[Calibration, Any]:
    from sklearn.isotonic import IsotonicRegression
    from sklearn.model_selection import StratifiedShuffleSplit

    auc = roc_auc(truth == 1, scores)
    if auc is None:
        return Calibration(False, "the reference data has one class only"), None
    if auc > SEPARABLE_AUC:
        return Calibration(False, f"reference ROC AUC {auc:.4f} > {SEPARABLE_AUC}"), None

    def isotonic() -> IsotonicRegression:
        return IsotonicRegression(out_of_bounds="clip", increasing=True)

    splits = StratifiedShuffleSplit(
        n_splits=CALIBRATION_SPLITS, test_size=CALIBRATION_TEST_SIZE, random_state=CALIBRATION_SEED
    )
    tests, raw, calibrated = [], [], []
    try:
        for train, test in splits.split(scores, truth):
            fitted = isotonic().fit(scores[train], truth[train])
            tests.append(truth[test])
            raw.append(scores[test])
            calibrated.append(fitted.predict(scores[test]))
        pooled_truth = np.concatenate(tests)
        ece_raw = expected_calibration_error(pooled_truth, np.concatenate(raw))
        ece_calibrated = expected_calibration_error(pooled_truth, np.concatenate(calibrated))
    except (ValueError, CheckInputError) as error:
        reason = f"the reference data is too small to test calibration on ({error})"
        return Calibration(False, reason), None
    if ece_raw > ece_calibrated:
        reason = "isotonic calibration lowers the expected calibration error on held-out rows"
        return Calibration(True, reason, ece_raw, ece_calibrated), isotonic().fit(scores, truth)
    reason = "the scores are as well calibrated as isotonic regression would make them"
    return Calibration(False, reason, ece_raw, ece_calibrated), None


def _realized(
    current_labels: Any, current: np.ndarray, predicted: np.ndarray, reasons: dict[str, str]
) -> tuple[dict[str, float | None], int]:
    truth = float_column(current_labels, name="current_labels")
    same_length(current_scores=current, current_labels=truth)
    binary_labels(truth, name="current_labels")
    labelled = ~np.isnan(truth)
    n = int(np.count_nonzero(labelled))
    realized: dict[str, float | None] = {"accuracy": None, "roc_auc": None}
    if n == 0:
        reasons["realized"] = "no prediction in the window has ground truth yet"
        return realized, 0
    positive = truth[labelled] == 1
    realized["accuracy"] = float(np.count_nonzero(predicted[labelled] == positive) / n)
    realized["roc_auc"] = roc_auc(positive, current[labelled])
    if realized["roc_auc"] is None:
        reasons["realized_roc_auc"] = "undefined: every labelled row is of one class"
    return realized, n


def _probabilities(scores: np.ndarray, *, name: str) -> None:
    if scores.size and (scores.min() < 0 or scores.max() > 1):
        raise CheckInputError(
            f"{name} must be probabilities in [0, 1] for performance estimation "
            f"(min {float(scores.min())!r}, max {float(scores.max())!r})"
        )
