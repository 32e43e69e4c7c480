"""estimation_compute: NannyML's CBPE (figures recorded from nannyml 0.13.1), its documented
formulas, realized values beside the estimates, and the estimate near the realized value when
there is no concept drift."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from sklearn.isotonic import IsotonicRegression
from sklearn.metrics import roc_auc_score

from monitoring.checks.errors import CheckInputError
from monitoring.checks.estimation import estimation_compute

EXACT = {"rel": 1e-12, "abs": 1e-12}


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-x))


def draw(rng, n: int, shift: float, temperature: float, positive_share: float = 0.3):
    """Labels from a fixed P(y | x) (no concept drift); `shift` moves x (covariate shift);
    the model's score is the true probability sharpened or flattened by `temperature`."""
    x = rng.normal(shift, 1.0, n)
    logit = 1.5 * x + np.log(positive_share / (1 - positive_share))
    y = (rng.random(n) < sigmoid(logit)).astype(float)
    return sigmoid(logit / temperature), y


def nannyml_case(seed: int, temperature: float):
    rng = np.random.default_rng(seed)
    reference_scores, reference_labels = draw(rng, 5_000, 0.0, temperature)
    current_scores, current_labels = draw(rng, 8_000, 0.7, temperature)
    return (
        np.round(reference_scores, 6),
        reference_labels,
        np.round(current_scores, 6),
        current_labels,
    )


# nannyml 0.13.1 (numpy 2.4.6, scikit-learn 1.9.1) in a throwaway venv on nannyml_case(seed, t):
#   CBPE(y_pred_proba="p", y_pred="yp", y_true="y", problem_type="classification_binary",
#        metrics=["roc_auc", "accuracy"], chunk_number=1), yp = p >= 0.5,
#   fit on the reference, estimate on the current frame: needs_calibration, accuracy, roc_auc.
NANNYML = [
    (1, 0.5, True, 0.7271927305748082, 0.8042104206078686),
    (1, 1.0, False, 0.7346346946250001, 0.811434552058754),
    (1, 2.0, True, 0.7271886936381696, 0.8042027479491369),
    (2, 0.5, True, 0.7359527710132158, 0.8105771743187475),
    (2, 1.0, False, 0.734197867125, 0.8112645105817935),
    (2, 2.0, True, 0.7359519081654848, 0.810576239796909),
    (3, 0.5, True, 0.7456696484236464, 0.8262835094850748),
    (3, 1.0, False, 0.7340187083749999, 0.8105468338969958),
    (3, 2.0, True, 0.7456679641962046, 0.826280488125846),
]


@pytest.mark.parametrize(("seed", "temperature", "calibrated", "accuracy", "roc_auc"), NANNYML)
def test_estimates_equal_nannyml_cbpe(seed, temperature, calibrated, accuracy, roc_auc):
    reference_scores, reference_labels, current_scores, _ = nannyml_case(seed, temperature)

    result = estimation_compute(
        reference_scores=reference_scores,
        reference_labels=reference_labels,
        current_scores=current_scores,
    )

    assert result.calibration.applied is calibrated
    assert result.estimated["accuracy"] == pytest.approx(accuracy, **EXACT)
    assert result.estimated["roc_auc"] == pytest.approx(roc_auc, **EXACT)


def documented_roc_auc(p: np.ndarray) -> float:
    """performance_estimation.rst, steps 1-11: thresholds at each distinct score, expected
    confusion matrix at each, TPR and FPR, area by the trapezoidal rule from (0, 0)."""
    points = [(0.0, 0.0)]
    total_positive, total_negative = p.sum(), (1 - p).sum()
    for t in sorted(set(p), reverse=True):
        chosen = p >= t
        points.append(((1 - p[chosen]).sum() / total_negative, p[chosen].sum() / total_positive))
    return sum((x1 - x0) * (y0 + y1) / 2 for (x0, y0), (x1, y1) in itertools.pairwise(points))


def test_uncalibrated_estimates_follow_the_documented_formulas():
    # a reference the scores separate perfectly (ROC AUC > 0.999) is not calibrated
    reference = np.r_[np.linspace(0.01, 0.4, 50), np.linspace(0.6, 0.99, 50)]
    current = np.array([0.9, 0.8, 0.3, 0.1, 0.6, 0.45, 0.55])

    result = estimation_compute(
        reference_scores=reference, reference_labels=reference > 0.5, current_scores=current
    )

    assert result.calibration.applied is False
    assert "ROC AUC" in result.calibration.reason
    correct = np.where(current >= 0.5, current, 1 - current)
    assert result.estimated["accuracy"] == pytest.approx(correct.mean(), **EXACT)
    assert result.estimated["roc_auc"] == pytest.approx(documented_roc_auc(current), rel=1e-5)


def test_calibrated_estimates_use_isotonic_regression_fitted_on_the_reference():
    reference_scores, reference_labels, current_scores, _ = nannyml_case(4, 3.0)

    result = estimation_compute(
        reference_scores=reference_scores,
        reference_labels=reference_labels,
        current_scores=current_scores,
        threshold=0.4,
    )

    assert result.calibration.applied is True
    assert result.calibration.ece_calibrated < result.calibration.ece_raw
    p = IsotonicRegression(out_of_bounds="clip").fit(reference_scores, reference_labels)
    p = p.predict(current_scores)
    correct = np.where(current_scores >= 0.4, p, 1 - p)
    assert result.estimated["accuracy"] == pytest.approx(correct.mean(), rel=1e-12)
    assert result.as_results()["calibration"]["method"] == "isotonic"


def test_realized_values_are_shown_beside_the_estimates():
    reference_scores, reference_labels, current_scores, current_labels = nannyml_case(5, 2.0)
    current_labels[::3] = np.nan  # a third of the labels not in yet
    labelled = ~np.isnan(current_labels)

    result = estimation_compute(
        reference_scores=reference_scores,
        reference_labels=reference_labels,
        current_scores=current_scores,
        current_labels=current_labels,
    )

    truth, scores = current_labels[labelled], current_scores[labelled]
    assert result.labelled == int(labelled.sum())
    assert result.realized["accuracy"] == pytest.approx(np.mean((scores >= 0.5) == truth), **EXACT)
    assert result.realized["roc_auc"] == pytest.approx(roc_auc_score(truth, scores), **EXACT)
    comparison = result.as_results()["comparison"]
    assert comparison["accuracy"]["estimated"] == result.estimated["accuracy"]
    assert comparison["accuracy"]["realized"] == result.realized["accuracy"]
    assert comparison["roc_auc"]["difference"] == pytest.approx(
        result.realized["roc_auc"] - result.estimated["roc_auc"]
    )
    metrics = result.metrics()
    assert set(metrics) == {
        "estimated_accuracy", "estimated_roc_auc", "realized_accuracy", "realized_roc_auc",
        "labelled", "rows",
    }  # fmt: skip
    assert metrics["realized_accuracy"] == result.realized["accuracy"]


def test_without_labels_there_are_only_estimates():
    reference_scores, reference_labels, current_scores, _ = nannyml_case(6, 1.0)

    result = estimation_compute(
        reference_scores=reference_scores,
        reference_labels=reference_labels,
        current_scores=current_scores,
    )

    assert set(result.metrics()) == {"estimated_accuracy", "estimated_roc_auc", "rows"}
    assert result.as_results()["realized"] is None
    assert "no concept drift" in " ".join(result.as_results()["assumptions"])


def sampling_sd(correct_probability: np.ndarray) -> float:
    """Standard deviation of a realized accuracy whose rows are right with these probabilities."""
    return float(
        np.sqrt(np.sum(correct_probability * (1 - correct_probability))) / correct_probability.size
    )


def hanley_mcneil_sd(auc: float, positives: float, negatives: float) -> float:
    q1, q2 = auc / (2 - auc), 2 * auc * auc / (1 + auc)
    variance = (
        auc * (1 - auc) + (positives - 1) * (q1 - auc * auc) + (negatives - 1) * (q2 - auc * auc)
    )
    return float(np.sqrt(variance / (positives * negatives)))


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("temperature", [1.0, 2.0])
def test_without_concept_drift_the_estimate_is_within_four_standard_errors_of_the_realized(
    seed, temperature
):
    """The window's inputs shift (x moves by 0.7 sd) but P(y | x) does not. The realized value
    scatters around the true expected one by its sampling error in the window; the estimate
    errs by about as much again, because its calibration is learnt from as many reference
    labels. So the tolerance is 4 x sqrt(2) x the window's sampling error: for accuracy
    sqrt(sum c (1 - c)) / n with c each row's probability of being right, for ROC AUC
    Hanley & McNeil's. Measured when this test was written, over 30 seeds and both
    temperatures: the gaps in those units have a standard deviation of about 1.0 and the
    largest was 2.7, so 4 leaves room without hiding a biased estimate.
    """
    rng = np.random.default_rng(1000 + seed)
    reference_scores, reference_labels = draw(rng, 20_000, 0.0, temperature)
    current_scores, current_labels = draw(rng, 20_000, 0.7, temperature)

    result = estimation_compute(
        reference_scores=reference_scores,
        reference_labels=reference_labels,
        current_scores=current_scores,
        current_labels=current_labels,
    )

    true_p = sigmoid(np.log(current_scores / (1 - current_scores)) * temperature)
    correct = np.where(current_scores >= 0.5, true_p, 1 - true_p)
    accuracy_tolerance = 4 * np.sqrt(2) * sampling_sd(correct)
    estimated, realized = result.estimated, result.realized
    assert abs(realized["accuracy"] - estimated["accuracy"]) <= accuracy_tolerance
    auc_sd = hanley_mcneil_sd(estimated["roc_auc"], true_p.sum(), (1 - true_p).sum())
    assert abs(realized["roc_auc"] - estimated["roc_auc"]) <= 4 * np.sqrt(2) * auc_sd
    assert accuracy_tolerance < 0.02 and auc_sd < 0.005  # the test can fail: tolerances are tight


def test_with_concept_drift_the_estimate_misses_which_is_why_it_is_an_assumption():
    rng = np.random.default_rng(7)
    reference_scores, reference_labels = draw(rng, 20_000, 0.0, 1.0)
    current_scores, _ = draw(rng, 20_000, 0.0, 1.0)
    flipped = (rng.random(current_scores.size) < 1 - current_scores).astype(
        float
    )  # P(y|x) inverted

    result = estimation_compute(
        reference_scores=reference_scores,
        reference_labels=reference_labels,
        current_scores=current_scores,
        current_labels=flipped,
    )

    assert result.realized["accuracy"] < result.estimated["accuracy"] - 0.2


def test_a_reference_with_one_class_is_not_calibrated_and_says_why():
    result = estimation_compute(
        reference_scores=[0.2, 0.4, 0.6], reference_labels=[1, 1, 1], current_scores=[0.7, 0.2]
    )

    assert result.calibration.applied is False
    assert result.calibration.reason == "the reference data has one class only"
    assert result.estimated["accuracy"] == pytest.approx((0.7 + 0.8) / 2)


def test_a_reference_too_small_to_test_calibration_is_used_as_it_is():
    result = estimation_compute(
        reference_scores=[0.2, 0.7, 0.6, 0.3, 0.4],
        reference_labels=[0, 1, 0, 1, 1],
        current_scores=[0.9, 0.1],
    )

    assert result.calibration.applied is False
    assert "too small to test calibration" in result.calibration.reason
    assert result.estimated["accuracy"] == pytest.approx(0.9)


def test_unlabelled_reference_rows_are_left_out():
    reference_scores, reference_labels, current_scores, _ = nannyml_case(1, 0.5)
    with_gaps = np.r_[reference_labels, [np.nan] * 100]

    result = estimation_compute(
        reference_scores=np.r_[reference_scores, [0.5] * 100],
        reference_labels=with_gaps,
        current_scores=current_scores,
    )

    assert result.reference_rows == reference_scores.size
    assert result.estimated["accuracy"] == pytest.approx(NANNYML[0][3], **EXACT)


def test_an_empty_window_and_a_window_without_labels_answer_with_reasons():
    reference = {"reference_scores": [0.1, 0.9] * 20, "reference_labels": [0, 1] * 20}

    empty = estimation_compute(current_scores=[], **reference)
    unlabelled = estimation_compute(current_scores=[0.3], current_labels=[np.nan], **reference)
    one_class = estimation_compute(current_scores=[0.3, 0.6], current_labels=[1, 1], **reference)

    assert empty.estimated == {"accuracy": None, "roc_auc": None}
    assert empty.reasons["estimated_accuracy"] == "the window has no rows"
    assert unlabelled.realized == {"accuracy": None, "roc_auc": None}
    assert "no prediction in the window has ground truth" in unlabelled.reasons["realized"]
    assert "realized_accuracy" not in unlabelled.metrics()
    assert one_class.realized["accuracy"] == 0.5
    assert one_class.realized["roc_auc"] is None
    assert "one class" in one_class.reasons["realized_roc_auc"]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"reference_labels": [np.nan, np.nan]}, "no labelled rows"),
        ({"reference_labels": [0, 3]}, "must be 0 or 1"),
        ({"reference_scores": [0.1, 1.2]}, "probabilities in \\[0, 1\\]"),
        ({"current_scores": [-0.1]}, "probabilities in \\[0, 1\\]"),
        ({"current_labels": [0.0, 1.0]}, "unequal length"),
        ({"current_labels": [7.0]}, "must be 0 or 1"),
        ({"reference_labels": [0]}, "unequal length"),
    ],
)
def test_data_that_cannot_be_estimated_fails_with_a_message(kwargs, message):
    arguments = {
        "reference_scores": [0.2, 0.8],
        "reference_labels": [0, 1],
        "current_scores": [0.5],
    }
    with pytest.raises(CheckInputError, match=message):
        estimation_compute(**{**arguments, **kwargs})


def test_a_repeat_on_the_same_reference_takes_the_calibration_decided_before():
    """Daily checks calibrate on the same reference: decided once per process, same result."""
    from monitoring.checks import estimation

    reference_scores, reference_labels, current_scores, _ = nannyml_case(4, 0.5)
    estimation._calibrations.clear()
    first = estimation_compute(
        reference_scores=reference_scores,
        reference_labels=reference_labels,
        current_scores=current_scores,
    )
    fitted = [pair[1] for pair in estimation._calibrations.values()]
    second = estimation_compute(
        reference_scores=reference_scores,
        reference_labels=reference_labels,
        current_scores=current_scores[::-1],
    )
    assert len(fitted) == 1 and fitted[0] is not None  # calibrated, and kept
    assert [pair[1] for pair in estimation._calibrations.values()] == fitted
    assert second.estimated == pytest.approx(first.estimated, **EXACT)
    other_labels = reference_labels.copy()
    other_labels[:10] = 1 - other_labels[:10]
    estimation_compute(
        reference_scores=reference_scores,
        reference_labels=other_labels,
        current_scores=current_scores,
    )
    assert len(estimation._calibrations) == 2  # another reference: decided anew
