"""predict and explain: input a model cannot take is a 400 naming the feature, never a 500.

Issue #8, hole 10: NUL or a lone surrogate in a feature's name or value, and numbers that do
not fit a float (10**400) or that the preprocessing would overflow (+-1e308).
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from governance.errors import InvalidInput
from models_registry.models import Prediction
from tests.conftest import assert_json_error
from tests.models_registry.serving_data import EXPLAIN, PREDICT, ROW

pytestmark = pytest.mark.django_db

NUL = "\x00"
SURROGATE = "\ud800"


def post_json(client: Any, url: str, body: Any) -> Any:
    return client.post(url, json.dumps(body), content_type="application/json")


@pytest.fixture
def served(users, make_model, make_version, churn_run, fresh_serving_process) -> Any:
    from models_registry import services as registry

    model = make_model(risk_tier="low", protected_attributes=["gender"])
    version = make_version(model, mlflow_run_id=churn_run["run_id"], metrics={})
    registry.deployment_promote(version=version, actor=users["ds"])
    return model


@pytest.mark.parametrize("url", [PREDICT, EXPLAIN], ids=["predict", "explain"])
@pytest.mark.parametrize(
    ("features", "named"),
    [
        ({**ROW, f"age{NUL}": 1}, "age"),
        ({**ROW, "contract": f"one-year{SURROGATE}"}, "features.contract"),
    ],
    ids=["nul-key", "surrogate-value"],
)
def test_nul_and_surrogates_in_features_are_a_400(api, served, url, features, named):
    response = post_json(api("ci"), url, {"features": features})
    assert named in assert_json_error(response, 400)["detail"]
    assert Prediction.objects.count() == 0


@pytest.mark.parametrize("url", [PREDICT, EXPLAIN], ids=["predict", "explain"])
@pytest.mark.parametrize(
    ("literal", "problem"),
    [("1" + "0" * 400, "out of range"), ("-1e308", "out of range"), ("1e308", "out of range")],
    ids=["10**400", "-1e308", "1e308"],
)
def test_numbers_a_model_cannot_take_are_a_400_naming_the_feature(
    api, served, url, literal, problem
):
    raw = json.dumps({"features": {**ROW, "monthly_charges": 0}}).replace(
        '"monthly_charges": 0', f'"monthly_charges": {literal}'
    )
    response = api("ci").post(url, raw, content_type="application/json")
    body = assert_json_error(response, 400)
    assert "monthly_charges" in body["detail"]
    assert problem in body["features"]["monthly_charges"]
    assert Prediction.objects.count() == 0


def test_the_feature_check_itself_refuses_numbers_beyond_a_float_or_an_int64():
    from models_registry.serving.features import INTEGER, NUMBER, FeatureSpec

    spec = FeatureSpec(columns=(("x", NUMBER), ("n", INTEGER)))
    with pytest.raises(InvalidInput) as refused:
        spec.validate({"x": 10**400, "n": 2**63})
    assert refused.value.extra["features"] == {
        "x": "out of range: at most 3.402823e+38 in magnitude",
        "n": "out of range: a 64-bit integer",
    }
