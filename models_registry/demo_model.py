"""A synthetic customer data set and a real churn classifier trained on it.

The demo and the tests use it: no data or model is ever downloaded. Numeric and
categorical features, plus protected attributes (gender, age band) that are not inputs of
the model but are kept beside them for per-group evaluation.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

NUMERIC = ["tenure_months", "monthly_charges", "support_calls", "age"]
CATEGORICAL = ["contract", "payment_method"]
FEATURES = NUMERIC + CATEGORICAL
PROTECTED = ["gender", "age_band"]
LABEL = "label"


def customers(rows: int = 2000, *, seed: int = 7, shift: float = 0.0) -> pd.DataFrame:
    """Synthetic subscribers with a churn label; `shift` > 0 drifts charges and calls up."""
    rng = np.random.default_rng(seed)
    age = rng.integers(18, 80, rows)
    frame = pd.DataFrame(
        {
            "tenure_months": rng.integers(0, 72, rows),
            "monthly_charges": np.round(rng.normal(70 + 15 * shift, 20, rows).clip(18, 150), 2),
            "support_calls": rng.poisson(1.5 + shift, rows),
            "age": age,
            "contract": rng.choice(
                ["month-to-month", "one-year", "two-year"], rows, p=[0.55, 0.25, 0.2]
            ),
            "payment_method": rng.choice(
                ["card", "bank-transfer", "check"], rows, p=[0.5, 0.3, 0.2]
            ),
            "gender": rng.choice(["female", "male"], rows),
            "age_band": pd.cut(age, [0, 30, 50, 120], labels=["18-30", "31-50", "51+"]).astype(str),
        }
    )
    logit = (
        -1.0
        - 0.045 * frame.tenure_months
        + 0.025 * (frame.monthly_charges - 70)
        + 0.35 * frame.support_calls
        + frame.contract.map({"month-to-month": 1.2, "one-year": -0.3, "two-year": -1.4})
        + 0.3 * (frame.payment_method == "check")
    )
    frame[LABEL] = (rng.random(rows) < 1 / (1 + np.exp(-logit))).astype(int)
    return frame


@dataclass
class TrainedChurnModel:
    model: Any
    params: dict[str, Any]
    metrics: dict[str, float]
    train: pd.DataFrame
    test: pd.DataFrame


def train_churn_model(
    data: pd.DataFrame | None = None,
    *,
    n_estimators: int = 100,
    max_depth: int = 3,
    learning_rate: float = 0.1,
    seed: int = 7,
) -> TrainedChurnModel:
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import GradientBoostingClassifier
    from sklearn.metrics import accuracy_score, f1_score, roc_auc_score
    from sklearn.model_selection import train_test_split
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder

    data = customers(seed=seed) if data is None else data
    train, test = train_test_split(data, test_size=0.25, random_state=seed, stratify=data[LABEL])
    params = {"n_estimators": n_estimators, "max_depth": max_depth, "learning_rate": learning_rate}
    model = Pipeline(
        [
            (
                "features",
                ColumnTransformer(
                    [
                        ("num", "passthrough", NUMERIC),
                        (
                            "cat",
                            OneHotEncoder(handle_unknown="ignore", sparse_output=False),
                            CATEGORICAL,
                        ),
                    ]
                ),
            ),
            ("classifier", GradientBoostingClassifier(random_state=seed, **params)),
        ]
    ).fit(train[FEATURES], train[LABEL])
    scores = model.predict_proba(test[FEATURES])[:, 1]
    predicted = (scores >= 0.5).astype(int)
    metrics = {
        "auc": round(float(roc_auc_score(test[LABEL], scores)), 4),
        "accuracy": round(float(accuracy_score(test[LABEL], predicted)), 4),
        "f1": round(float(f1_score(test[LABEL], predicted)), 4),
    }
    return TrainedChurnModel(model=model, params=params, metrics=metrics, train=train, test=test)
