"""The serving fast path for one row's preprocessing equals scikit-learn's, or is not used."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import GradientBoostingClassifier, RandomForestRegressor
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import MinMaxScaler, OneHotEncoder, StandardScaler

from models_registry.demo_model import CATEGORICAL, FEATURES, LABEL, NUMERIC, customers
from models_registry.serving.row_encoder import UnknownCategory, row_encoder, strict_categories

KINDS = {
    "tenure_months": "integer",
    "monthly_charges": "number",
    "support_calls": "integer",
    "age": "integer",
    "contract": "string",
    "payment_method": "string",
}
DTYPES = {"integer": "int64", "number": "float64", "string": "object"}


def frame_of(row: dict) -> pd.DataFrame:
    return pd.DataFrame({name: pd.Series([row[name]], dtype=DTYPES[KINDS[name]]) for name in KINDS})


def rows(data: pd.DataFrame) -> list[dict]:
    return [
        {name: (value.item() if hasattr(value, "item") else value) for name, value in row.items()}
        for row in data[FEATURES].to_dict("records")
    ]


@pytest.fixture(scope="module")
def data() -> pd.DataFrame:
    return customers(rows=400, seed=3)


def fit(preprocess: ColumnTransformer, data: pd.DataFrame, estimator=None) -> Pipeline:
    estimator = estimator or GradientBoostingClassifier(n_estimators=10, random_state=0)
    return Pipeline([("features", preprocess), ("model", estimator)]).fit(
        data[FEATURES], data[LABEL]
    )


def assert_same_as_sklearn(model: Pipeline, encoder, data: pd.DataFrame) -> None:
    for row in rows(data.head(150)):
        expected = model[:-1].transform(frame_of(row))
        np.testing.assert_array_equal(encoder.encode(row), expected)
        assert model[-1].predict_proba(encoder.encode(row))[0, 1] == pytest.approx(
            model.predict_proba(frame_of(row))[0, 1], abs=0
        )


def test_the_demo_pipeline_gets_an_encoder_equal_to_its_column_transformer(data):
    model = fit(
        ColumnTransformer(
            [
                ("num", "passthrough", NUMERIC),
                ("cat", OneHotEncoder(handle_unknown="ignore", sparse_output=False), CATEGORICAL),
            ]
        ),
        data,
    )
    encoder = row_encoder(model, KINDS, frame_of)
    assert encoder is not None
    assert_same_as_sklearn(model, encoder, data)
    assert strict_categories(model, list(KINDS)) == {}  # handle_unknown="ignore" takes anything
    unseen = {**rows(data.head(1))[0], "contract": "ten-year"}
    np.testing.assert_array_equal(encoder.encode(unseen), model[:-1].transform(frame_of(unseen)))


def test_scalers_dropped_categories_and_a_remainder_are_encoded_alike(data):
    model = fit(
        ColumnTransformer(
            [
                ("scaled", StandardScaler(), ["monthly_charges", "age"]),
                ("ranged", MinMaxScaler(), ["tenure_months"]),
                (
                    "cat",
                    OneHotEncoder(drop="first", handle_unknown="error", sparse_output=False),
                    CATEGORICAL,
                ),
            ],
            remainder="passthrough",  # support_calls, by position
        ),
        data,
    )
    encoder = row_encoder(model, KINDS, frame_of)
    assert encoder is not None
    for row in rows(data.head(150)):
        np.testing.assert_allclose(
            encoder.encode(row), model[:-1].transform(frame_of(row)), rtol=1e-12, atol=1e-12
        )
    unseen = {**rows(data.head(1))[0], "payment_method": "cash"}
    with pytest.raises(ValueError, match="unknown categories"):
        model[:-1].transform(frame_of(unseen))
    with pytest.raises(UnknownCategory, match="payment_method"):
        encoder.encode(unseen)
    assert strict_categories(model, list(KINDS)) == {
        "contract": {"month-to-month", "one-year", "two-year"},
        "payment_method": {"card", "bank-transfer", "check"},
    }


@pytest.mark.parametrize(
    "preprocess",
    [
        ColumnTransformer([("num", SimpleImputer(), NUMERIC)], remainder="drop"),
        ColumnTransformer(
            [("cat", OneHotEncoder(sparse_output=True), CATEGORICAL)], remainder="passthrough"
        ),
        ColumnTransformer(
            [("cat", OneHotEncoder(sparse_output=False, min_frequency=50), CATEGORICAL)],
            remainder="passthrough",
        ),
    ],
    ids=["unknown part", "sparse output", "infrequent categories"],
)
def test_what_it_does_not_know_stays_with_scikit_learn(data, preprocess):
    assert row_encoder(fit(preprocess, data), KINDS, frame_of) is None


def test_a_transformer_that_does_not_do_what_its_type_says_fails_the_self_check(data):
    class ShiftedScaler(StandardScaler):
        def transform(self, X, copy=None):
            return super().transform(X, copy=copy) + 1e-6

    model = fit(ColumnTransformer([("scaled", ShiftedScaler(), NUMERIC)], remainder="drop"), data)
    assert row_encoder(model, KINDS, frame_of) is None


def test_only_a_two_step_pipeline_of_a_column_transformer_qualifies(data):
    tree = RandomForestRegressor(n_estimators=5, random_state=0).fit(
        data[NUMERIC], data["monthly_charges"]
    )
    assert row_encoder(tree, KINDS, frame_of) is None
    scaler = Pipeline(
        [("scale", StandardScaler()), ("tree", RandomForestRegressor(n_estimators=5))]
    )
    assert row_encoder(scaler.fit(data[NUMERIC], data[LABEL]), KINDS, frame_of) is None
