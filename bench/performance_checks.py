"""Quality, fairness and estimation on a window of N rows: ours against the libraries they match.

Quality: `quality_compute` against the six scikit-learn calls it equals. Fairness:
`fairness_compute` against fairlearn's MetricFrame (selection rate, TPR, FPR, count) plus
`demographic_parity_difference`/`_ratio` and `equalized_odds_difference`, two attributes.
Estimation: `estimation_compute` (CBPE) against one `np.sort` of the window, the floor of
any ROC AUC (NannyML is not a dependency, so it is not the baseline here). Each is run
`--repeats` times, interleaved; the medians and ours/baseline are printed. About a minute at
the default size (fairlearn's part is most of it). Pure computation, no database.

    .venv/bin/python bench/performance_checks.py [--rows 1000000] [--reference-rows 100000]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from monitoring.checks.estimation import estimation_compute
from monitoring.checks.fairness import fairness_compute
from monitoring.checks.quality import quality_compute


def window(rows: int, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = (rng.random(rows) < 0.2).astype(float)
    score = np.clip(rng.beta(2, 5, rows) + 0.3 * y, 0, 1)
    y[rng.random(rows) < 0.2] = np.nan
    gender = rng.choice(np.array(["f", "m", "x"], dtype=object), rows, p=[0.49, 0.49, 0.02])
    gender[rng.random(rows) < 0.01] = None
    region = rng.choice(np.array(["north", "south", "east", "west"], dtype=object), rows)
    return {"y": y, "score": score, "gender": gender, "region": region}


def sklearn_quality(data: dict[str, np.ndarray]) -> None:
    from sklearn import metrics

    labelled = ~np.isnan(data["y"])
    y, s = data["y"][labelled], data["score"][labelled]
    predicted = s >= 0.5
    metrics.accuracy_score(y, predicted)
    metrics.precision_score(y, predicted)
    metrics.recall_score(y, predicted)
    metrics.f1_score(y, predicted)
    metrics.roc_auc_score(y, s)
    metrics.log_loss(y, s)


def fairlearn_fairness(data: dict[str, np.ndarray]) -> None:
    import fairlearn.metrics as flm

    predicted = (data["score"] >= 0.5).astype(int)
    labelled = ~np.isnan(data["y"])
    for name in ("gender", "region"):
        values = data[name]
        has = np.array([v is not None for v in values])
        rows, with_labels = has, has & labelled
        flm.MetricFrame(
            metrics={"selection_rate": flm.selection_rate, "count": flm.count},
            y_true=np.zeros(rows.sum()),
            y_pred=predicted[rows],
            sensitive_features=values[rows],
        )
        flm.MetricFrame(
            metrics={"tpr": flm.true_positive_rate, "fpr": flm.false_positive_rate},
            y_true=data["y"][with_labels].astype(int),
            y_pred=predicted[with_labels],
            sensitive_features=values[with_labels],
        )
        flm.demographic_parity_difference(
            np.zeros(rows.sum()), predicted[rows], sensitive_features=values[rows]
        )
        flm.demographic_parity_ratio(
            np.zeros(rows.sum()), predicted[rows], sensitive_features=values[rows]
        )
        flm.equalized_odds_difference(
            data["y"][with_labels].astype(int),
            predicted[with_labels],
            sensitive_features=values[with_labels],
        )


def timed(function: Callable[[], object]) -> float:
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--reference-rows", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=3)
    options = parser.parse_args()
    warnings.simplefilter("ignore")
    data = window(options.rows)
    reference = window(options.reference_rows, seed=1)
    reference_labels = np.nan_to_num(reference["y"], nan=0.0)

    pairs = {
        "quality": (
            lambda: quality_compute(
                task="binary_classification", y_true=data["y"], y_score=data["score"]
            ),
            lambda: sklearn_quality(data),
            "scikit-learn",
        ),
        "fairness": (
            lambda: fairness_compute(
                y_true=data["y"],
                y_score=data["score"],
                threshold=0.5,
                attributes={"gender": data["gender"], "region": data["region"]},
            ),
            lambda: fairlearn_fairness(data),
            "fairlearn",
        ),
        "estimation": (
            lambda: estimation_compute(
                reference_scores=reference["score"],
                reference_labels=reference_labels,
                current_scores=data["score"],
                current_labels=data["y"],
            ),
            lambda: np.sort(data["score"]),
            "one np.sort",
        ),
    }
    print(f"window {options.rows:,} rows, reference {options.reference_rows:,} rows")
    for name, (ours, baseline, label) in pairs.items():
        ours_times, base_times = [], []
        for _ in range(options.repeats):
            ours_times.append(timed(ours))
            base_times.append(timed(baseline))
        mine, theirs = statistics.median(ours_times), statistics.median(base_times)
        print(
            f"{name:<11} ours {mine:7.3f} s   {label:<13} {theirs:7.3f} s   "
            f"ours/baseline {mine / theirs:6.3f}"
        )


if __name__ == "__main__":
    main()
