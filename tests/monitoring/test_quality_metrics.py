"""quality_compute: every metric equals scikit-learn's on the labelled rows; edge cases say why."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from sklearn import metrics as skm

from monitoring.checks.errors import CheckInputError
from monitoring.checks.quality import quality_compute

EXACT = {"rel": 1e-12, "abs": 1e-12}


def binary_window(seed: int, n: int, positive_share: float, unlabelled_share: float, decimals: int):
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < positive_share).astype(float)
    score = np.clip(rng.beta(2, 5, n) + 0.35 * y, 0, 1)
    if decimals:
        score = np.round(score, decimals)  # ties, as a model with few leaves gives
    y[rng.random(n) < unlabelled_share] = np.nan
    return y, score


def sklearn_binary(y: np.ndarray, score: np.ndarray, threshold: float) -> dict[str, float]:
    labelled = ~np.isnan(y)
    truth, s = y[labelled].astype(int), score[labelled]
    predicted = (s >= threshold).astype(int)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return {
            "accuracy": skm.accuracy_score(truth, predicted),
            "precision": skm.precision_score(truth, predicted),
            "recall": skm.recall_score(truth, predicted),
            "f1": skm.f1_score(truth, predicted),
            "roc_auc": skm.roc_auc_score(truth, s),
            "log_loss": skm.log_loss(truth, s),
        }


@pytest.mark.parametrize(
    ("seed", "n", "positive_share", "unlabelled_share", "decimals", "threshold"),
    [
        (0, 5_000, 0.5, 0.0, 0, 0.5),
        (1, 20_000, 0.03, 0.4, 0, 0.5),  # imbalanced, many rows without labels yet
        (2, 20_000, 0.97, 0.1, 2, 0.3),  # imbalanced the other way, ties, another threshold
        (3, 50, 0.2, 0.5, 1, 0.5),  # small, heavy ties
        (4, 100_000, 0.1, 0.25, 3, 0.7),
    ],
)
def test_binary_metrics_equal_scikit_learn_on_the_labelled_rows(
    seed, n, positive_share, unlabelled_share, decimals, threshold
):
    y, score = binary_window(seed, n, positive_share, unlabelled_share, decimals)

    result = quality_compute(
        task="binary_classification", y_true=y, y_score=score, threshold=threshold
    )

    for name, expected in sklearn_binary(y, score, threshold).items():
        assert result.values[name] == pytest.approx(expected, **EXACT), name
    labelled = int((~np.isnan(y)).sum())
    assert result.labelled == labelled
    assert result.rows == n
    assert result.values["positive_rate"] == pytest.approx(np.mean(score >= threshold), **EXACT)
    assert result.as_results()["labelled"] == labelled
    assert result.as_results()["unlabelled"] == n - labelled
    assert result.metrics()["labelled"] == labelled
    assert result.reasons == {}


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_regression_metrics_equal_scikit_learn_on_the_labelled_rows(seed):
    rng = np.random.default_rng(seed)
    y = rng.lognormal(3, 1, 30_000)
    prediction = y * rng.normal(1, 0.2, y.size) + rng.normal(0, 5, y.size)
    y[rng.random(y.size) < 0.3] = np.nan
    labelled = ~np.isnan(y)

    result = quality_compute(task="regression", y_true=y, y_score=prediction)

    truth, p = y[labelled], prediction[labelled]
    assert result.values["mae"] == pytest.approx(skm.mean_absolute_error(truth, p), **EXACT)
    assert result.values["rmse"] == pytest.approx(skm.root_mean_squared_error(truth, p), **EXACT)
    assert result.values["r2"] == pytest.approx(skm.r2_score(truth, p), **EXACT)
    assert result.labelled == int(labelled.sum())
    assert set(result.metrics()) == {"mae", "rmse", "r2", "labelled", "rows"}


def test_metrics_are_named_as_the_contract_says():
    y, score = binary_window(5, 1_000, 0.3, 0.2, 0)

    metrics = quality_compute(task="binary_classification", y_true=y, y_score=score).metrics()

    assert set(metrics) == {
        "accuracy", "precision", "recall", "f1", "roc_auc", "log_loss", "positive_rate",
        "labelled", "rows",
    }  # fmt: skip


def test_a_window_without_labels_reports_none_with_a_reason_and_still_a_positive_rate():
    score = np.array([0.2, 0.7, 0.9, 0.4])

    result = quality_compute(task="binary_classification", y_true=[np.nan] * 4, y_score=score)

    assert result.labelled == 0
    assert result.values["positive_rate"] == 0.5
    for name in ("accuracy", "precision", "recall", "f1", "roc_auc", "log_loss"):
        assert result.values[name] is None
        assert "no prediction in the window has ground truth" in result.reasons[name]
    regression = quality_compute(task="regression", y_true=[None, None], y_score=[1.0, 2.0])
    assert regression.values == {"mae": None, "rmse": None, "r2": None}
    assert regression.labelled == 0


def test_an_empty_window_answers_without_crashing():
    result = quality_compute(task="binary_classification", y_true=[], y_score=[])

    assert result.rows == result.labelled == 0
    assert result.values["positive_rate"] is None
    assert result.reasons["positive_rate"] == "the window has no predictions"


def test_one_class_only_leaves_roc_auc_undefined_and_log_loss_as_sklearn_with_both_labels():
    y = np.ones(10)
    score = np.linspace(0.3, 0.95, 10)

    result = quality_compute(task="binary_classification", y_true=y, y_score=score)

    assert result.values["roc_auc"] is None
    assert result.reasons["roc_auc"] == "undefined: every labelled row is of class 1"
    assert result.values["log_loss"] == pytest.approx(
        skm.log_loss(y, score, labels=[0, 1]), **EXACT
    )
    assert "labels=[0, 1]" in result.reasons["log_loss"]
    assert result.values["accuracy"] == pytest.approx(skm.accuracy_score(y, score >= 0.5))


def test_no_positive_prediction_follows_sklearns_zero_division_default_and_says_so():
    y = np.array([0, 1, 0, 1, 0.0])
    score = np.array([0.1, 0.2, 0.3, 0.4, 0.45])

    result = quality_compute(task="binary_classification", y_true=y, y_score=score)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # UndefinedMetricWarning is what we put in reasons
        assert result.values["precision"] == skm.precision_score(y, score >= 0.5) == 0.0
        assert result.values["f1"] == skm.f1_score(y, score >= 0.5) == 0.0
    assert "no prediction is positive" in result.reasons["precision"]
    assert "zero_division" in result.reasons["precision"]


def test_no_positive_label_gives_recall_zero_as_sklearn_and_says_so():
    y = np.zeros(4)
    score = np.array([0.1, 0.6, 0.3, 0.8])

    result = quality_compute(task="binary_classification", y_true=y, y_score=score)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert result.values["recall"] == skm.recall_score(y, score >= 0.5) == 0.0
    assert "no label is 1" in result.reasons["recall"]
    assert result.values["precision"] == 0.0 and "precision" not in result.reasons


def test_labels_that_are_not_0_or_1_fail_the_check_with_a_message():
    with pytest.raises(
        CheckInputError, match=r"must be 0 or 1: 2 labels are not \(for example 0.5, 2.0\)"
    ):
        quality_compute(
            task="binary_classification", y_true=[0, 1, 2, 0.5, np.nan], y_score=[0.1] * 5
        )


def test_scores_outside_0_1_leave_log_loss_undefined_but_not_the_ranking_metrics():
    y = np.array([0, 1, 0, 1.0])
    score = np.array([-0.5, 1.5, 0.2, 0.9])

    result = quality_compute(task="binary_classification", y_true=y, y_score=score)

    assert result.values["log_loss"] is None
    assert "not probabilities" in result.reasons["log_loss"]
    with pytest.raises(ValueError):
        skm.log_loss(y, score)  # scikit-learn refuses them too
    assert result.values["roc_auc"] == skm.roc_auc_score(y, score) == 1.0
    assert result.values["accuracy"] == 1.0


def test_constant_labels_in_regression_follow_sklearns_r2_convention():
    y = np.full(5, 3.0)

    perfect = quality_compute(task="regression", y_true=y, y_score=y)
    off = quality_compute(task="regression", y_true=y, y_score=y + 1)

    assert perfect.values["r2"] == skm.r2_score(y, y) == 1.0
    assert off.values["r2"] == skm.r2_score(y, y + 1) == 0.0
    assert "every label is the same" in off.reasons["r2"]


def test_one_labelled_row_leaves_r2_undefined():
    result = quality_compute(task="regression", y_true=[2.0, np.nan], y_score=[1.0, 5.0])

    assert result.values["mae"] == 1.0
    assert result.values["r2"] is None
    assert "fewer than two" in result.reasons["r2"]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"task": "multiclass", "y_true": [1], "y_score": [1]}, "task must be one of"),
        ({"task": "regression", "y_true": [1, 2], "y_score": [1]}, "unequal length"),
        ({"task": "regression", "y_true": [1], "y_score": [np.nan]}, "NaN or infinite"),
        ({"task": "regression", "y_true": [np.inf], "y_score": [1]}, "infinite"),
        ({"task": "regression", "y_true": ["a"], "y_score": [1]}, "must be numbers"),
    ],
)
def test_data_that_cannot_be_checked_fails_with_a_message(kwargs, message):
    with pytest.raises(CheckInputError, match=message):
        quality_compute(**kwargs)
