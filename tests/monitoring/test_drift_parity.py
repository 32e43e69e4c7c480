"""The drift engine against a real Evidently 0.7 DataDriftPreset report on the same frames.

Each scenario runs Evidently once (module scope); every tested column must have the same
method, statistic (1e-9 relative), threshold and verdict, and the data set the same drifted
count, share and dataset drift. No Django, no database.
"""

from __future__ import annotations

import json
import math
from functools import cache

import numpy as np
import pandas as pd
import pytest

from models_registry.inference_columns import DictionaryColumn
from monitoring.checks.drift import SUPPORTED_METHODS, drift_compute, infer_column_types

pytestmark = pytest.mark.filterwarnings("ignore")


def base_frames(
    n_ref: int, n_cur: int, *, drift: bool, seed: int = 7
) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    shift = 1.0 if drift else 0.0

    def frame(n: int, current: bool) -> pd.DataFrame:
        s = shift if current else 0.0
        cats = ["red", "green", "blue", "violet"] if current and drift else ["red", "green", "blue"]
        data = {
            "num": rng.normal(0.3 * s, 1 + 0.2 * s, n),
            "lowint": rng.integers(0, 4 + int(s), n),  # categorical: <= 10 distinct
            "wideint": rng.integers(0, 1000 + int(300 * s), n),  # numerical: many distinct
            "cat": rng.choice(cats, n, p=None),  # unseen category in a drifted current
            "binary": (rng.random(n) < 0.3 + 0.1 * s).astype(float),  # numerical, 2 values
            "flag": rng.random(n) < 0.5 + 0.05 * s,  # bool: categorical
            "const": np.ones(n),
            "union": rng.choice(
                [0.0, 1.0, 2.0, 4.0, 5.0, 6.0] if current else [0.0, 1.0, 2.0, 3.0], n
            ),
        }
        df = pd.DataFrame(data)
        # NaN and infinities: each side that has an infinity also has NaN (see test below)
        df.loc[::37, "num"] = np.nan
        df.loc[5::53, "num"] = np.inf
        df.loc[11::97, "num"] = -np.inf
        return df

    return frame(n_ref, False), frame(n_cur, True)


def scenario_frames(name: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    if name.startswith("small"):
        return base_frames(800, 3000, drift=True)
    if name == "tvd_no_drift":
        return base_frames(400, 500, drift=False, seed=11)
    if name.startswith("large_no_drift"):
        return base_frames(3000, 3000, drift=False)
    if name == "cut_after_nan":
        # 1,005 reference rows; 10 NaN in num leave 995: num takes the small-reference tests
        ref, cur = base_frames(1005, 2500, drift=True, seed=3)
        ref["num"] = np.random.default_rng(1).normal(size=1005)
        ref.loc[:9, "num"] = np.nan
        return ref, cur
    if name == "typed_by_current":
        rng = np.random.default_rng(5)
        ref = pd.DataFrame({"code": rng.integers(0, 15, 2000), "x": rng.normal(size=2000)})
        cur = pd.DataFrame({"code": rng.integers(0, 8, 2500), "x": rng.normal(0.2, size=2500)})
        return ref, cur
    if name == "text":
        ref, cur = base_frames(1500, 2000, drift=True)
        ref["comment"] = [f"customer wrote note {i} about plan {i % 7}" for i in range(len(ref))]
        cur["comment"] = [f"customer asked question {i} on bill {i % 5}" for i in range(len(cur))]
        return ref, cur
    if name.startswith("equal"):
        ref, cur = base_frames(3000, 3000, drift=True)
        cur["flag"] = np.random.default_rng(9).random(3000) < 0.55
        return ref, cur
    return base_frames(3000, 4000, drift=True)


SCENARIOS: dict[str, dict[str, tuple[str | None, float | None]]] = {
    "small_defaults": {},
    "large_defaults": {},
    "large_no_drift": {},
    "cut_after_nan": {},
    "typed_by_current": {},
    "text": {},
    "large_thresholds": {"num": (None, 0.5), "cat": (None, 0.3), "lowint": (None, 0.01)},
    "large_overrides_a": {
        "num": ("psi", None),
        "wideint": ("kl_div", None),
        "lowint": ("hellinger", None),
        "cat": ("chisquare", 0.01),
        "const": ("jensenshannon", None),
        "union": ("hellinger", 0.2),
    },
    "large_overrides_b": {
        "num": ("hellinger", None),
        "wideint": ("ks", 0.01),
        "lowint": ("psi", 0.05),
        "cat": ("chisquare", None),
        "flag": ("z", None),
        "binary": ("wasserstein", 0.05),
    },
    "large_overrides_c": {
        "num": ("anderson", None),
        "wideint": ("cramer_von_mises", None),
        "lowint": ("jensenshannon", 0.05),
        "cat": ("psi", 0.2),
        "binary": ("mannw", None),
        "union": ("t_test", None),
        "const": ("ed", None),
    },
    "tvd_no_drift": {
        "num": ("psi", None),
        "wideint": ("kl_div", None),
        "lowint": ("chisquare", 0.2),
        "cat": ("TVD", None),
        "flag": ("hellinger", None),
        "union": ("ed", 0.05),
        "binary": ("ks", None),
    },
    "small_overrides": {
        "num": ("wasserstein", None),
        "lowint": ("jensenshannon", None),
        "cat": ("kl_div", None),
        "wideint": ("psi", None),
        "union": ("cramer_von_mises", None),
        "flag": ("TVD", None),
    },
    "equal_sizes": {
        "num": ("es", None),
        "lowint": ("g_test", None),
        "cat": ("g_test", None),
        "flag": ("fisher_exact", None),
        "wideint": ("mannw", None),
    },
}


@cache
def evidently_run(name: str) -> dict:
    """Evidently's per-column results and data-set verdict for one scenario (once per run)."""
    from evidently import Report
    from evidently.presets import DataDriftPreset

    ref, cur = scenario_frames(name)
    overrides = SCENARIOS[name]
    methods = {column: method for column, (method, _) in overrides.items() if method}
    thresholds = {
        column: threshold for column, (_, threshold) in overrides.items() if threshold is not None
    }
    preset = DataDriftPreset(
        per_column_method=methods or None, per_column_threshold=thresholds or None
    )
    snapshot = Report([preset], include_tests=True).run(current_data=cur, reference_data=ref).dict()
    columns, dataset = {}, {}
    verdicts = {}
    for test in snapshot["tests"]:
        params = test["metric_config"]["params"]
        status = str(test["status"]).rsplit(".", 1)[-1]
        if params["type"].endswith("ValueDrift"):
            verdicts[params["column"]] = status == "FAIL"
        else:
            dataset["dataset_drift"] = status == "FAIL"
    for metric in snapshot["metrics"]:
        config = metric["config"]
        if config["type"].endswith("ValueDrift"):
            columns[config["column"]] = {
                "method": config["method"],
                "statistic": metric["value"],
                "threshold": config["threshold"],
                "drifted": verdicts[config["column"]],
            }
        else:
            dataset["count"] = metric["value"]["count"]
            dataset["share"] = metric["value"]["share"]
    return {"columns": columns, "dataset": dataset}


def as_codes(values) -> DictionaryColumn:
    """A string column as the column store hands it to a drift check (window_read codes)."""
    codes, uniques = pd.factorize(np.asarray(values, dtype=object))
    return DictionaryColumn(codes.astype(np.int32), np.asarray(uniques, dtype=object))


def ours(name: str, *, codes: bool = False):
    ref, cur = scenario_frames(name)
    current = {column: cur[column] for column in cur.columns}
    if codes:
        current = {
            column: as_codes(values) if values.dtype == object else values.to_numpy()
            for column, values in current.items()
        }
    return drift_compute(
        reference=ref, current=current, columns=list(cur.columns), overrides=SCENARIOS[name]
    )


NAME_BY_DISPLAY = {info.display_name: name for name, info in SUPPORTED_METHODS.items()}


@pytest.mark.parametrize("codes", [False, True], ids=["objects", "codes"])
@pytest.mark.parametrize("name", list(SCENARIOS))
def test_every_column_has_evidently_method_statistic_threshold_and_verdict(name, codes):
    expected = evidently_run(name)["columns"]
    result = ours(name, codes=codes)
    tested = set(result.features)
    assert tested == {column for column in expected if column != "comment"}
    for column, feature in result.features.items():
        theirs = expected[column]
        assert NAME_BY_DISPLAY.get(theirs["method"], theirs["method"]) == feature.method, column
        assert feature.threshold == theirs["threshold"], column
        assert math.isclose(feature.statistic, theirs["statistic"], rel_tol=1e-9, abs_tol=0.0), (
            column,
            feature.method,
            feature.statistic,
            theirs["statistic"],
        )
        assert feature.drifted == theirs["drifted"], (column, feature.method)


@pytest.mark.parametrize("name", [name for name in SCENARIOS if name != "text"])
def test_dataset_drift_and_drift_share_equal_evidently(name):
    expected = evidently_run(name)["dataset"]
    result = ours(name)
    assert result.number_of_drifted_columns == expected["count"]
    assert result.drift_share == pytest.approx(expected["share"], rel=1e-12)
    assert result.dataset_drift == expected["dataset_drift"]


def test_a_text_column_is_reported_untested_and_left_out_of_the_share():
    evidently = evidently_run("text")
    result = ours("text")
    assert (
        "text" in result.untested["comment"] and "domain classifier" in result.untested["comment"]
    )
    assert "comment" not in result.features
    # Evidently counts its text verdict in the share; without it the counts agree
    text_drifted = 1 if evidently["columns"]["comment"]["drifted"] else 0
    assert result.number_of_drifted_columns == evidently["dataset"]["count"] - text_drifted
    assert result.number_of_columns == len(evidently["columns"]) - 1


def test_scenarios_reach_the_cases_they_are_named_for():
    small, large, cut = ours("small_defaults"), ours("large_defaults"), ours("cut_after_nan")
    assert {name: f.method for name, f in small.features.items()} == {
        "num": "ks",
        "lowint": "chisquare",
        "wideint": "ks",
        "cat": "chisquare",
        "binary": "z",
        "flag": "z",
        "const": "z",
        "union": "ks",
    }
    assert {name: f.method for name, f in large.features.items()} == {
        "num": "wasserstein",
        "lowint": "jensenshannon",
        "wideint": "wasserstein",
        "cat": "jensenshannon",
        "binary": "jensenshannon",
        "flag": "jensenshannon",
        "const": "jensenshannon",
        "union": "wasserstein",  # 4 distinct in the reference, 7 with the current's
    }
    assert large.features["num"].reference_rows < 3000  # NaN and infinities dropped
    assert cut.features["num"].method == "ks" and cut.features["num"].reference_rows == 995
    assert cut.features["wideint"].method == "wasserstein"
    assert ours("typed_by_current").features["code"].column_type == "categorical"
    no_drift = ours("tvd_no_drift").features
    assert (
        0.0 < no_drift["lowint"].statistic < 1.0 and 0.0 < no_drift["cat"].statistic < 1.0
    )  # TVD p-values


def test_column_types_are_evidentlys_data_definition():
    from evidently import Dataset

    for name in ("large_defaults", "text", "typed_by_current"):
        ref, cur = scenario_frames(name)
        definition = Dataset.from_pandas(cur).data_definition
        theirs = {column: "numerical" for column in definition.numerical_columns or []}
        theirs.update({column: "categorical" for column in definition.categorical_columns or []})
        theirs.update({column: "text" for column in definition.text_columns or []})
        assert infer_column_types(ref, cur) == theirs


def test_supported_methods_are_evidentlys_registered_tests():
    from evidently.legacy.calculations.stattests.registry import _registered_stat_tests

    for name, info in SUPPORTED_METHODS.items():
        stat_test = next(iter(_registered_stat_tests[name].values()))
        assert stat_test.display_name == info.display_name
        assert stat_test.default_threshold == info.default_threshold
        evidently_types = {
            {"num": "numerical", "cat": "categorical"}[t.value]
            for t in stat_test.allowed_feature_types
        }
        assert evidently_types == set(info.column_types)


def test_results_are_json_with_a_picture_and_named_metrics():
    result = ours("large_defaults")
    results = json.loads(json.dumps(result.as_results(), allow_nan=False))
    assert set(results) == {
        "dataset_drift",
        "drift_share",
        "drift_share_threshold",
        "number_of_columns",
        "number_of_drifted_columns",
        "features",
        "untested",
    }
    num = results["features"]["num"]
    assert num["picture"]["kind"] == "histogram" and len(num["picture"]["edges"]) == 21
    assert sum(num["picture"]["reference"]) == pytest.approx(1.0)
    cat = results["features"]["cat"]["picture"]
    assert cat["kind"] == "bars" and "violet" in cat["categories"]
    assert sum(cat["current"]) == pytest.approx(1.0)
    metrics = result.metrics()
    assert metrics["rows"] == 4000.0
    assert metrics["drift.num"] == result.features["num"].statistic
    assert metrics["drift.cat.drifted"] == 1.0
    assert metrics["dataset_drift"] == (1.0 if result.dataset_drift else 0.0)


def test_columns_it_cannot_test_are_untested_with_the_reason():
    ref = {
        "empty": np.full(2000, np.nan),
        "cat": np.array(["a", "b"] * 1000, dtype=object),
        "x": np.ones(2000),
    }
    cur = {
        "empty": np.full(10, np.nan),
        "cat": np.array(["a", "b"] * 5, dtype=object),
        "x": np.ones(10),
    }
    result = drift_compute(
        reference=ref,
        current=cur,
        columns=["empty", "cat", "x", "missing"],
        overrides={"cat": ("ks", None)},
    )
    assert result.untested["empty"] == "no finite value in the reference data"
    assert result.untested["cat"] == "method ks does not apply to categorical columns"
    assert result.untested["missing"] == "missing from the current window"
    assert list(result.features) == ["x"]
    with pytest.raises(ValueError, match="unknown drift method 'nope'"):
        drift_compute(reference=ref, current=cur, columns=["x"], overrides={"x": ("nope", None)})


def test_the_window_arrays_of_the_column_store_are_accepted():
    rng = np.random.default_rng(0)
    ref = {
        "f": rng.normal(size=1500),
        "i": rng.integers(0, 3, 1500),
        "b": rng.random(1500) < 0.5,
        "s": rng.choice(np.array(["x", "y"], dtype=object), 1500),
    }
    cur = {name: values[::-1].copy() for name, values in ref.items()}
    result = drift_compute(reference=ref, current=cur, columns=list(ref))
    assert not result.dataset_drift and result.number_of_drifted_columns == 0
    assert {name: f.column_type for name, f in result.features.items()} == {
        "f": "numerical",
        "i": "categorical",
        "b": "categorical",
        "s": "categorical",
    }


def test_strings_as_dictionary_codes_give_the_results_of_the_same_strings_as_objects():
    """Missing values, unseen and unused categories, text, all missing, empty: the same."""
    rng = np.random.default_rng(4)
    words = np.array(["a", "b", "c", "d", "nan", ""], dtype=object)
    ref = {
        "s": rng.choice(words[:4], 3000),
        "gone": rng.choice(words, 3000),  # some reference values never in the current
        "text": np.array([f"note {i}" for i in range(3000)], dtype=object),
        "missing": rng.choice(words[:3], 3000),
        "empty": rng.choice(words[:3], 3000),
        "small": rng.choice(words[:3], 500),
        "mixed": rng.choice(np.array(["a", "b", 1.0, np.inf], dtype=object), 3000),
    }
    ref["s"][::13] = None
    ref["gone"][::17] = np.nan
    cur_values = {
        "s": rng.choice(words, 4000),  # unseen "nan", "" and "d" in the current
        "gone": rng.choice(words[:2], 4000),
        "text": np.array([f"text {i % 3000}" for i in range(4000)], dtype=object),
        "missing": np.full(4000, None, dtype=object),
        "empty": np.array([], dtype=object),
        "small": rng.choice(words[1:4], 600),
        "mixed": rng.choice(words[:2], 4000),
    }
    cur_values["s"][::7] = None
    codes = {name: as_codes(values) for name, values in cur_values.items()}
    # a dictionary with entries no row uses, out of first-seen order
    s = codes["s"]
    order = np.arange(s.values.size)[::-1]
    codes["s"] = DictionaryColumn(
        np.where(s.codes >= 0, order[s.codes], -1).astype(np.int32),
        np.concatenate([s.values[::-1], np.array(["unused"], dtype=object)]),
    )
    assert all(codes["s"].to_objects() == np.where(cur_values["s"] == None, None, cur_values["s"]))  # noqa: E711
    overrides = {"small": ("TVD", None), "gone": ("chisquare", None)}
    expected = drift_compute(
        reference=ref, current=cur_values, columns=list(ref), overrides=overrides
    )
    result = drift_compute(reference=ref, current=codes, columns=list(ref), overrides=overrides)
    assert json.dumps(result.as_results(), sort_keys=True) == json.dumps(
        expected.as_results(), sort_keys=True
    )
    assert set(result.features) == {"s", "gone", "small", "mixed"}
    assert set(result.untested) == {"text", "missing", "empty"}


def test_threads_give_the_results_of_one_thread():
    ref, cur = scenario_frames("large_overrides_b")
    one = drift_compute(reference=ref, current=cur, columns=list(cur.columns))
    two = drift_compute(reference=ref, current=cur, columns=list(cur.columns), threads=2)
    assert one.as_results() == two.as_results()
