"""predict and explain: real model from a real MLflow run, real SHAP, every call recorded."""

from __future__ import annotations

import time
import uuid

import numpy as np
import pytest
from django.core.cache import cache

from governance.models import AuditEvent
from governance.services import audit_chain_verify, tokens_revoke
from models_registry import services as registry
from models_registry.demo_model import FEATURES
from models_registry.models import Prediction
from models_registry.serving.routing import bucket
from tests.conftest import assert_json_error, make_user
from tests.models_registry.serving_data import EXPLAIN, PREDICT, ROW

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_serving_process")]


@pytest.fixture
def served(users, make_model, make_version, churn_run):
    """churn-classifier with v1 (from the real run) in production."""
    model = make_model(risk_tier="low", protected_attributes=["gender"])
    version = make_version(model, mlflow_run_id=churn_run["run_id"], metrics={})
    registry.deployment_promote(version=version, actor=users["ds"])
    return {"model": model, "version": version, "sklearn": churn_run["trained"].model}


def frame(row: dict) -> object:
    import pandas as pd

    return pd.DataFrame([row])[FEATURES]


def test_predict_answers_with_the_production_model_and_records_the_call(api, users, served):
    response = api("ci").post(PREDICT, {"features": ROW}, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    expected = served["sklearn"].predict_proba(frame(ROW))[0, 1]
    assert body["prediction"] == pytest.approx(expected, abs=1e-12)
    assert body["version"] == 1
    assert body["stage"] == "production"
    uuid.UUID(body["request_id"])
    record = Prediction.objects.get(request_id=body["request_id"])
    assert record.actor == users["ci"]
    assert record.features == ROW
    assert record.prediction == pytest.approx(expected, abs=1e-12)
    assert record.slot == "production" and record.source == "served"
    assert record.latency_ms > 0 and record.explanation is None


def test_explain_returns_the_same_shap_values_as_tree_explainer(api, served):
    import shap

    response = api("ci").post(EXPLAIN, {"features": ROW}, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    pipeline = served["sklearn"]
    transformed = pipeline[:-1].transform(frame(ROW))
    explainer = shap.TreeExplainer(pipeline[-1])
    values = explainer.shap_values(transformed)[0]
    names = pipeline[:-1].get_feature_names_out()
    for feature in FEATURES:
        columns = [i for i, n in enumerate(names) if n.split("__", 1)[1].startswith(feature)]
        assert body["shap"][feature] == pytest.approx(values[columns].sum(), abs=1e-9)
    assert body["base_value"] == pytest.approx(float(np.ravel(explainer.expected_value)[0]))
    assert body["explainer"] == "shap.TreeExplainer" and body["output_space"] == "log_odds"
    log_odds = np.log(body["prediction"] / (1 - body["prediction"]))
    assert body["base_value"] + sum(body["shap"].values()) == pytest.approx(log_odds, abs=1e-9)
    record = Prediction.objects.get(request_id=body["request_id"])
    assert record.explanation == {"base_value": body["base_value"], "shap": body["shap"]}


def test_the_row_encoder_answers_exactly_as_scikit_learn_does(api, served):
    from models_registry.serving.loader import loaded_version

    rows = [ROW, {**ROW, "contract": "ten-year", "age": 71}, {**ROW, "tenure_months": 0}]
    fast = [api("ci").post(EXPLAIN, {"features": r}, format="json").json() for r in rows]
    loaded = loaded_version(served["version"].pk)
    assert loaded.encoder is not None  # the demo pipeline takes the fast path
    loaded.encoder = None
    cache.clear()
    slow = [api("ci").post(EXPLAIN, {"features": r}, format="json").json() for r in rows]
    for a, b in zip(fast, slow, strict=True):
        assert a["prediction"] == b["prediction"]
        assert a["base_value"] == b["base_value"]
        assert a["shap"] == pytest.approx(b["shap"], abs=1e-12)


def test_identical_inputs_hit_the_explanation_cache(api, served, monkeypatch):
    from models_registry.serving.loader import LoadedVersion

    calls = []
    original = LoadedVersion.predict_and_explain
    monkeypatch.setattr(
        LoadedVersion, "predict_and_explain", lambda self, f: calls.append(1) or original(self, f)
    )
    first = api("ci").post(EXPLAIN, {"features": ROW}, format="json").json()
    second = api("ci").post(EXPLAIN, {"features": ROW}, format="json").json()
    third = (
        api("ci").post(EXPLAIN, {"features": {**ROW, "tenure_months": 60}}, format="json").json()
    )
    assert len(calls) == 2  # the repeat was served from the cache
    assert first["shap"] == second["shap"] and first["request_id"] != second["request_id"]
    assert third["shap"] != first["shap"]
    assert Prediction.objects.count() == 3  # cached or not, every call is on record


@pytest.mark.parametrize(
    ("features", "named"),
    [
        ({k: v for k, v in ROW.items() if k != "age"}, {"age": "missing"}),
        ({**ROW, "colour": "red"}, {"colour": "unknown feature"}),
        ({**ROW, "age": "33"}, {"age": "expected a number"}),
        ({**ROW, "tenure_months": 3.5}, {"tenure_months": "expected an integer"}),
        ({**ROW, "contract": 2}, {"contract": "expected a string"}),
        ({**ROW, "support_calls": True}, {"support_calls": "expected a number"}),
    ],
)
def test_bad_features_are_400_naming_them_and_nothing_is_recorded(api, served, features, named):
    body = assert_json_error(api("ci").post(PREDICT, {"features": features}, format="json"), 400)
    assert body["features"] == named
    assert Prediction.objects.count() == 0


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity"])
def test_non_finite_numbers_are_400_naming_the_feature(api, served, literal):
    raw = (
        '{"features": {"tenure_months": 3, "monthly_charges": LITERAL, "support_calls": 4, '
        '"age": 33, "contract": "one-year", "payment_method": "card"}}'
    ).replace("LITERAL", literal)
    response = api("ci").post(PREDICT, raw, content_type="application/json")
    body = assert_json_error(response, 400)
    assert body["features"] == {"monthly_charges": "must be a finite number"}
    assert Prediction.objects.count() == 0


@pytest.mark.parametrize(
    "payload", [{"features": [1, 2]}, {"rows": [ROW]}, {"features": ROW, "extra": 1}, [ROW]]
)
def test_a_malformed_body_is_400(api, served, payload):
    assert_json_error(api("ci").post(PREDICT, payload, format="json"), 400)
    assert Prediction.objects.count() == 0


def test_an_unknown_model_is_404(api, served):
    assert_json_error(
        api("ci").post("/api/v1/models/nope/predict/", {"features": ROW}, format="json"), 404
    )


def test_a_model_without_production_version_is_409(api, make_model, make_version):
    make_version(make_model(name="fresh"))
    response = api("ci").post("/api/v1/models/fresh/explain/", {"features": ROW}, format="json")
    assert "no production version" in assert_json_error(response, 409)["detail"]


def test_a_production_version_without_a_logged_model_is_409(api, users, make_model, make_version):
    version = make_version(make_model(name="metrics-only"))
    registry.deployment_promote(version=version, actor=users["ds"])
    response = api("ci").post(
        "/api/v1/models/metrics-only/predict/", {"features": ROW}, format="json"
    )
    assert "no logged MLflow model" in assert_json_error(response, 409)["detail"]


def test_anonymous_callers_get_401_and_role_less_users_403(api, served):
    assert api(None).post(PREDICT, {"features": ROW}, format="json").status_code == 401
    assert api("outsider").post(PREDICT, {"features": ROW}, format="json").status_code == 403
    assert Prediction.objects.count() == 0


def test_a_service_account_may_only_call_the_model(client, served):
    from rest_framework.test import APIClient

    from governance.services import user_token

    service = make_user("checkout-app", "service")
    app = APIClient()
    app.credentials(HTTP_AUTHORIZATION=f"Token {user_token(user=service)}")
    assert app.post(PREDICT, {"features": ROW}, format="json").status_code == 200
    assert app.get("/api/v1/models/").status_code == 403


def test_every_batch_of_records_is_chained_into_the_audit_trail(api, served):
    for age in (30, 31, 32):
        api("ci").post(PREDICT, {"features": {**ROW, "age": age}}, format="json")
    events = AuditEvent.objects.filter(action="predictions.recorded")
    assert events.count() == 3
    assert all(event.data["count"] == 1 for event in events)
    assert audit_chain_verify() == []


@pytest.fixture
def with_canary(users, served, make_version, churn_run):
    canary = make_version(served["model"], mlflow_run_id=churn_run["run_id"], metrics={})
    registry.deployment_start_canary(version=canary, actor=users["ds"], traffic=30)
    return canary


def test_canary_traffic_share_follows_the_routing_keys(api, with_canary):
    keys = [f"customer-{i}" for i in range(400)]
    expected = {key: bucket("churn-classifier", key) < 30 for key in keys}
    share = sum(expected.values()) / len(keys)
    assert 0.25 <= share <= 0.35  # the hash spreads callers evenly
    client = api("ci")
    for key in keys[:60]:
        body = client.post(PREDICT, {"features": ROW}, format="json", HTTP_X_ROUTING_KEY=key).json()
        assert (body["stage"] == "canary") == expected[key], key
        assert body["version"] == (2 if expected[key] else 1)
    assert Prediction.objects.filter(slot="canary").count() == sum(
        expected[key] for key in keys[:60]
    )


def test_a_caller_sticks_to_its_version(api, with_canary):
    client = api("ci")
    stages = {
        client.post(PREDICT, {"features": ROW}, format="json", HTTP_X_ROUTING_KEY="k-7").json()[
            "stage"
        ]
        for _ in range(10)
    }
    assert len(stages) == 1
    default = {
        client.post(PREDICT, {"features": ROW}, format="json").json()["stage"] for _ in range(5)
    }
    assert len(default) == 1  # without a key, the caller's identity is the key


def test_a_rollback_reaches_routing_within_the_state_bound(
    api, users, served, make_version, churn_run, settings
):
    import time

    settings.ROUTING_STATE_SECONDS = 0.2
    second = make_version(served["model"], mlflow_run_id=churn_run["run_id"], metrics={})
    registry.deployment_promote(version=second, actor=users["ds"])
    assert api("ci").post(PREDICT, {"features": ROW}, format="json").json()["version"] == 2
    registry.deployment_rollback(model=served["model"], actor=users["compliance"], reason="bad")
    time.sleep(0.25)
    assert api("ci").post(PREDICT, {"features": ROW}, format="json").json()["version"] == 1


def test_the_rollback_button_needs_a_reason_and_the_role(
    client, users, served, make_version, churn_run
):
    second = make_version(served["model"], mlflow_run_id=churn_run["run_id"], metrics={})
    registry.deployment_promote(version=second, actor=users["ds"])
    client.force_login(users["validator"])
    page = client.post("/models/churn-classifier/rollback/", {"reason": "x"}, follow=True)
    assert "do not allow you to roll back" in page.content.decode()
    client.force_login(users["board"])
    page = client.post("/models/churn-classifier/rollback/", {"reason": ""}, follow=True)
    assert "Say why" in page.content.decode()
    page = client.post(
        "/models/churn-classifier/rollback/", {"reason": "fairness gap"}, follow=True
    )
    assert "Rolled back" in page.content.decode()
    served["version"].refresh_from_db()
    assert served["version"].stage == "production"


@pytest.mark.parametrize(
    ("revoke", "status"),
    [
        (lambda user: tokens_revoke(tokens=user.api_tokens.all(), reason="test"), 401),
        (lambda user: type(user).objects.filter(pk=user.pk).update(is_active=False), 401),
        (lambda user: user.groups.clear(), 403),
    ],
    ids=["token revoked", "user deactivated", "roles removed"],
)
def test_a_revoked_caller_is_refused_everywhere_within_the_serving_auth_bound(
    api, users, served, settings, revoke, status
):
    settings.SERVING_AUTH_SECONDS = 0.3
    client = api("ci")
    assert client.post(PREDICT, {"features": ROW}, format="json").status_code == 200
    revoke(users["ci"])
    assert client.get("/api/v1/models/").status_code == status  # governance reads afresh
    # predict may trust what it read for up to SERVING_AUTH_SECONDS, not longer
    time.sleep(0.35)
    assert_json_error(client.post(PREDICT, {"features": ROW}, format="json"), status)
    assert Prediction.objects.count() == 1


def test_with_the_serving_auth_bound_at_zero_revocation_is_immediate(api, users, served, settings):
    settings.SERVING_AUTH_SECONDS = 0
    client = api("ci")
    assert client.post(PREDICT, {"features": ROW}, format="json").status_code == 200
    tokens_revoke(tokens=users["ci"].api_tokens.all(), reason="test")
    assert_json_error(client.post(PREDICT, {"features": ROW}, format="json"), 401)


def test_serving_writes_a_tokens_last_use_once_not_per_call(api, users, served, settings):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    settings.SERVING_AUTH_SECONDS = 0  # the worst case: the token is read on every call
    client = api("ci")
    with CaptureQueriesContext(connection) as queries:
        for age in range(30, 40):
            response = client.post(PREDICT, {"features": {**ROW, "age": age}}, format="json")
            assert response.status_code == 200
    touches = [q for q in queries if q["sql"].startswith("UPDATE") and "apitoken" in q["sql"]]
    assert len(touches) == 1
    assert users["ci"].api_tokens.get().last_used_at is not None


def test_an_expired_token_is_refused_on_predict(api, users, served, settings):
    from datetime import timedelta

    from django.utils import timezone

    settings.SERVING_AUTH_SECONDS = 0
    client = api("ci")
    users["ci"].api_tokens.update(expires_at=timezone.now() - timedelta(seconds=1))
    body = assert_json_error(client.post(PREDICT, {"features": ROW}, format="json"), 401)
    assert body["detail"] == "Token expired."


def test_a_category_the_model_refuses_is_a_400_naming_it_and_stores_nothing(
    api, users, make_model, make_version, mlflow_store
):
    """A pipeline whose OneHotEncoder errors on unseen values: the call is refused up front."""
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import GradientBoostingClassifier
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder

    from models_registry import demo_model, mlflow_adapter

    data = demo_model.customers(rows=400, seed=5)
    strict = Pipeline(
        [
            (
                "features",
                ColumnTransformer(
                    [
                        ("num", "passthrough", demo_model.NUMERIC),
                        ("cat", OneHotEncoder(sparse_output=False), demo_model.CATEGORICAL),
                    ]
                ),
            ),
            ("classifier", GradientBoostingClassifier(n_estimators=10, random_state=0)),
        ]
    ).fit(data[FEATURES], data[demo_model.LABEL])
    run_id = mlflow_adapter.run_log_sklearn(
        model=strict,
        experiment="tests-strict",
        params={},
        metrics={},
        input_example=data[FEATURES].head(3),
    )
    model = make_model(risk_tier="low")
    version = make_version(model, mlflow_run_id=run_id, metrics={})
    registry.deployment_promote(version=version, actor=users["ds"])

    bad = {**ROW, "contract": "ten-year"}
    body = assert_json_error(api("ci").post(EXPLAIN, {"features": bad}, format="json"), 400)
    assert set(body["features"]) == {"contract"}
    assert "ten-year" in body["features"]["contract"]
    assert "month-to-month" in body["features"]["contract"]  # says what it knows
    assert Prediction.objects.count() == 0
    good = api("ci").post(EXPLAIN, {"features": ROW}, format="json")
    assert good.status_code == 200, good.content
    assert good.json()["prediction"] == pytest.approx(
        strict.predict_proba(frame(ROW))[0, 1], abs=1e-12
    )


@pytest.mark.parametrize("url", [PREDICT, EXPLAIN])
def test_predict_and_explain_store_the_calls_attributes_and_the_log_verifies(api, served, url):
    from models_registry.serving.inference_log_verify import inference_log_verify

    attributes = {"gender": "f", "age_band": "30-39", "vip": True, "score": 2.5}
    response = api("ci").post(url, {"features": ROW, "attributes": attributes}, format="json")
    assert response.status_code == 200, response.content
    record = Prediction.objects.get(request_id=response.json()["request_id"])
    assert record.attributes == attributes
    plain = api("ci").post(url, {"features": ROW}, format="json").json()
    assert Prediction.objects.get(request_id=plain["request_id"]).attributes == {}
    assert inference_log_verify().intact


@pytest.mark.parametrize(
    ("attributes", "named"),
    [
        ({"gender": ["f"]}, {"gender": "expected a string, a number or true/false"}),
        ({"region": "x" * 201}, {"region": "at most 200 characters"}),
        ("female", ["expected an object"]),
        ({f"a{i}": i for i in range(21)}, ["at most 20 attributes"]),
    ],
)
def test_bad_attributes_are_a_400_naming_them_and_nothing_is_recorded(
    api, served, attributes, named
):
    response = api("ci").post(PREDICT, {"features": ROW, "attributes": attributes}, format="json")
    assert assert_json_error(response, 400)["attributes"] == named
    assert not Prediction.objects.exists()
