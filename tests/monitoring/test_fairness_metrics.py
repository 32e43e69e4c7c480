"""fairness_compute: group rates and differences equal fairlearn's on the rows each measure uses."""

from __future__ import annotations

import warnings

import fairlearn.metrics as flm
import numpy as np
import pytest

from monitoring.checks.errors import CheckInputError
from monitoring.checks.fairness import fairness_compute

EXACT = {"rel": 1e-12, "abs": 1e-12}


def window(
    seed: int, n: int, shares: dict[str, float], missing_share: float, positive_share: float
):
    rng = np.random.default_rng(seed)
    names = np.array(list(shares), dtype=object)
    group = rng.choice(names, size=n, p=np.array(list(shares.values())))
    bias = {name: 0.05 * i for i, name in enumerate(shares)}  # groups treated differently
    y = (rng.random(n) < positive_share).astype(float)
    score = rng.beta(2, 4, n) + 0.3 * y + np.array([bias[g] for g in group])
    group[rng.random(n) < missing_share] = None
    y[rng.random(n) < 0.3] = np.nan  # labels not in yet
    return y, score, group


def fairlearn_frame(y, predicted, group):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return flm.MetricFrame(
            metrics={
                "selection_rate": flm.selection_rate,
                "tpr": flm.true_positive_rate,
                "fpr": flm.false_positive_rate,
                "count": flm.count,
            },
            y_true=y,
            y_pred=predicted,
            sensitive_features=group,
        ).by_group


CASES = [
    (0, 4_000, {"f": 0.5, "m": 0.5}, 0.0, 0.3, 30),
    (1, 20_000, {"a": 0.6, "b": 0.3, "c": 0.09, "tiny": 0.01}, 0.05, 0.1, 30),  # unequal sizes
    (2, 3_000, {"x": 0.97, "y": 0.02, "z": 0.01}, 0.02, 0.05, 50),  # imbalanced, small groups
    (3, 20_000, {"north": 0.4, "south": 0.35, "east": 0.2, "west": 0.05}, 0.1, 0.4, 200),
]


@pytest.mark.parametrize(("seed", "n", "shares", "missing", "positive", "min_size"), CASES)
def test_group_rates_equal_fairlearns_metric_frame(seed, n, shares, missing, positive, min_size):
    y, score, group = window(seed, n, shares, missing, positive)
    predicted = (score >= 0.5).astype(int)
    has_value = np.array([g is not None for g in group])
    labelled = has_value & ~np.isnan(y)

    result = fairness_compute(
        y_true=y, y_score=score, threshold=0.5, attributes={"g": group}, min_group_size=min_size
    )

    groups = result.attributes["g"].groups
    # selection rate and count: every row with a value (fairlearn ignores y_true for them)
    everyone = fairlearn_frame(np.zeros(has_value.sum()), predicted[has_value], group[has_value])
    # TPR and FPR: the labelled rows among them
    with_labels = fairlearn_frame(y[labelled].astype(int), predicted[labelled], group[labelled])
    assert set(groups) == set(everyone.index)
    for name, measured in groups.items():
        assert measured["count"] == everyone.loc[name, "count"]
        assert measured["selection_rate"] == pytest.approx(
            everyone.loc[name, "selection_rate"], **EXACT
        )
        assert measured["labelled"] == with_labels.loc[name, "count"]
        assert measured["tpr"] == pytest.approx(with_labels.loc[name, "tpr"], **EXACT)
        assert measured["fpr"] == pytest.approx(with_labels.loc[name, "fpr"], **EXACT)
    assert result.attributes["g"].missing == int((~has_value).sum())


@pytest.mark.parametrize(("seed", "n", "shares", "missing", "positive", "min_size"), CASES)
def test_differences_equal_fairlearns_on_the_judged_groups(
    seed, n, shares, missing, positive, min_size
):
    y, score, group = window(seed, n, shares, missing, positive)
    predicted = (score >= 0.5).astype(int)

    result = fairness_compute(
        y_true=y, y_score=score, threshold=0.5, attributes={"g": group}, min_group_size=min_size
    )

    attribute = result.attributes["g"]
    parity_rows = np.isin(group, [g for g, m in attribute.groups.items() if m["count"] >= min_size])
    odds_groups = [g for g, m in attribute.groups.items() if m["labelled"] >= min_size]
    odds_rows = np.isin(group, odds_groups) & ~np.isnan(y)
    assert attribute.not_judged["demographic_parity"] == [
        g for g in attribute.groups if g not in group[parity_rows]
    ]
    assert attribute.not_judged["equalized_odds"] == [
        g for g in attribute.groups if g not in odds_groups
    ]
    dp_args = (np.zeros(parity_rows.sum()), predicted[parity_rows])
    assert attribute.demographic_parity_difference == pytest.approx(
        flm.demographic_parity_difference(*dp_args, sensitive_features=group[parity_rows]), **EXACT
    )
    assert attribute.demographic_parity_ratio == pytest.approx(
        flm.demographic_parity_ratio(*dp_args, sensitive_features=group[parity_rows]), **EXACT
    )
    fairlearn_eo = flm.equalized_odds_difference(
        y[odds_rows].astype(int),
        predicted[odds_rows],
        sensitive_features=group[odds_rows],
        agg="worst_case",
    )
    if len(odds_groups) >= 2:
        assert attribute.equalized_odds_difference == pytest.approx(fairlearn_eo, **EXACT)
    else:  # fairlearn says 0.0 of a single group; we say it cannot be judged
        assert fairlearn_eo == 0.0
        assert attribute.equalized_odds_difference is None
        assert "a difference needs two" in attribute.reasons["equalized_odds_difference"]


def test_small_groups_are_reported_but_not_judged():
    y, score, group = window(4, 2_000, {"big": 0.5, "large": 0.49, "small": 0.01}, 0.0, 0.3)

    result = fairness_compute(y_true=y, y_score=score, threshold=0.5, attributes={"g": group})

    attribute = result.attributes["g"]
    small = attribute.groups["small"]
    assert 0 < small["count"] < 30
    assert small["selection_rate"] is not None
    assert attribute.not_judged == {"demographic_parity": ["small"], "equalized_odds": ["small"]}
    rates = [attribute.groups[g]["selection_rate"] for g in ("big", "large")]
    assert attribute.demographic_parity_difference == pytest.approx(max(rates) - min(rates))
    assert result.as_results()["min_group_size"] == 30


def test_a_group_judged_for_parity_may_lack_the_labels_to_be_judged_for_equalized_odds():
    group = np.array(["a"] * 40 + ["b"] * 40, dtype=object)
    y = np.r_[np.tile([0.0, 1.0], 20), np.tile([0.0, 1.0], 5), np.full(30, np.nan)]
    score = np.linspace(0, 1, 80)

    result = fairness_compute(y_true=y, y_score=score, threshold=0.5, attributes={"g": group})

    attribute = result.attributes["g"]
    assert attribute.groups["b"]["labelled"] == 10
    assert attribute.not_judged == {"demographic_parity": [], "equalized_odds": ["b"]}
    assert attribute.demographic_parity_difference is not None
    assert attribute.equalized_odds_difference is None
    assert attribute.reasons["equalized_odds_difference"] == (
        "undefined: 1 group(s) with at least 30 labelled rows, a difference needs two"
    )


def test_missing_values_are_their_own_count_and_in_no_group():
    group = np.array(["f", None, "m", None, "f", "m"], dtype=object)
    y = np.array([1, 0, 1, 1, 0, 0.0])
    score = np.array([0.9, 0.9, 0.2, 0.9, 0.1, 0.8])

    result = fairness_compute(
        y_true=y, y_score=score, threshold=0.5, attributes={"g": group}, min_group_size=1
    )

    attribute = result.attributes["g"]
    assert set(attribute.groups) == {"f", "m"}
    assert attribute.missing == 2
    assert attribute.groups["f"] == {
        "count": 2, "labelled": 2, "selection_rate": 0.5, "tpr": 1.0, "fpr": 0.0,
    }  # fmt: skip
    assert attribute.groups["m"] == {
        "count": 2, "labelled": 2, "selection_rate": 0.5, "tpr": 0.0, "fpr": 1.0,
    }  # fmt: skip
    assert attribute.equalized_odds_difference == 1.0
    assert "missing" in result.as_results()["rows_used"]


def test_a_group_without_positive_labels_has_tpr_zero_as_fairlearn_and_says_so():
    group = np.array(["a"] * 4 + ["b"] * 4, dtype=object)
    y = np.array([0, 0, 0, 0, 1, 0, 1, 0.0])
    score = np.array([0.9, 0.1, 0.2, 0.3, 0.9, 0.1, 0.2, 0.8])

    result = fairness_compute(
        y_true=y, y_score=score, threshold=0.5, attributes={"g": group}, min_group_size=1
    )

    frame = fairlearn_frame(y.astype(int), (score >= 0.5).astype(int), group)
    attribute = result.attributes["g"]
    assert attribute.groups["a"]["tpr"] == frame.loc["a", "tpr"] == 0.0
    assert "no positive label in a" in attribute.reasons["tpr"]


def test_groups_without_any_label_have_no_rates_that_need_labels():
    group = np.array(["a", "a", "b", "b"], dtype=object)

    result = fairness_compute(
        y_true=[np.nan] * 4, y_score=[0.9, 0.1, 0.9, 0.9], threshold=0.5,
        attributes={"g": group}, min_group_size=1,
    )  # fmt: skip

    attribute = result.attributes["g"]
    assert attribute.groups["a"]["tpr"] is None and attribute.groups["a"]["fpr"] is None
    assert attribute.demographic_parity_difference == 0.5
    assert attribute.demographic_parity_ratio == 0.5
    assert attribute.equalized_odds_difference is None


def test_no_selection_in_any_group_leaves_the_ratio_undefined():
    group = np.array(["a", "b"] * 5, dtype=object)

    result = fairness_compute(
        y_true=[0.0] * 10,
        y_score=[0.1] * 10,
        threshold=0.5,
        attributes={"g": group},
        min_group_size=1,
    )

    attribute = result.attributes["g"]
    assert attribute.demographic_parity_difference == 0.0
    assert attribute.demographic_parity_ratio is None
    assert "no judged group has a selection" in attribute.reasons["demographic_parity_ratio"]


def test_an_attribute_nobody_has_answers_with_reasons():
    result = fairness_compute(
        y_true=[1.0, 0.0], y_score=[0.9, 0.1], threshold=0.5, attributes={"g": [None, None]}
    )

    attribute = result.attributes["g"]
    assert attribute.groups == {}
    assert attribute.missing == 2
    assert attribute.demographic_parity_difference is None
    assert "a difference needs two" in attribute.reasons["demographic_parity_difference"]


def test_metrics_are_named_measure_attribute_group():
    group = np.array(["f", "m"] * 20, dtype=object)
    region = np.array(["n"] * 20 + ["s"] * 20, dtype=object)
    y = np.tile([0.0, 1.0, 1.0, 0.0], 10)

    result = fairness_compute(
        y_true=y, y_score=np.linspace(0, 1, 40), threshold=0.5,
        attributes={"gender": group, "region": region}, min_group_size=10,
    )  # fmt: skip

    metrics = result.metrics()
    assert metrics["rows"] == 40
    for attribute, groups in (("gender", ("f", "m")), ("region", ("n", "s"))):
        for measure in ("demographic_parity_difference", "demographic_parity_ratio",
                        "equalized_odds_difference"):  # fmt: skip
            assert metrics[f"{measure}.{attribute}"] is not None
        for group_name in groups:
            for measure in ("selection_rate", "tpr", "fpr"):
                assert f"{measure}.{attribute}.{group_name}" in metrics
    assert metrics["selection_rate.region.n"] == 0.0
    assert metrics["demographic_parity_difference.region"] == 1.0
    results = result.as_results()
    assert set(results["attributes"]["gender"]) >= {
        "groups", "demographic_parity_difference", "demographic_parity_ratio",
        "equalized_odds_difference",
    }  # fmt: skip


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"y_true": [2.0], "y_score": [0.5], "attributes": {}}, "must be 0 or 1"),
        ({"y_true": [1.0], "y_score": [0.5], "attributes": {"g": ["a", "b"]}}, "unequal length"),
        ({"y_true": [1.0], "y_score": [np.inf], "attributes": {}}, "NaN or infinite"),
        (
            {"y_true": [1.0], "y_score": [1], "attributes": {}, "min_group_size": 0},
            "min_group_size",
        ),
    ],
)
def test_data_that_cannot_be_checked_fails_with_a_message(kwargs, message):
    with pytest.raises(CheckInputError, match=message):
        fairness_compute(threshold=0.5, **kwargs)
