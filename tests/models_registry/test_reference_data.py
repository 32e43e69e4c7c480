"""Reference data uploads and the analysis the card shows: real SHAP, real per-group metrics."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import recall_score

from models_registry.demo_model import FEATURES
from models_registry.model_loading import LoadPurpose, model_load
from models_registry.models import ModelVersion, ReferenceDataset, VersionAnalysis

pytestmark = pytest.mark.django_db

UPLOAD = "/api/v1/models/churn-classifier/versions/1/reference-data/"
CARD = "/api/v1/models/churn-classifier/versions/1/card/"


@pytest.fixture
def version_from_run(api, make_model, churn_run):
    make_model(risk_tier="medium", protected_attributes=["gender", "age_band"])
    response = api("ci").post(
        "/api/v1/models/churn-classifier/versions/",
        {"mlflow_run_id": churn_run["run_id"]},
        format="json",
    )
    assert response.status_code == 201
    return churn_run


def csv_file(frame: pd.DataFrame, name: str = "holdout.csv") -> io.BytesIO:
    handle = io.BytesIO(frame.to_csv(index=False).encode())
    handle.name = name
    return handle


def test_an_uploaded_csv_is_explained_with_shap_in_the_card(api, version_from_run):
    holdout = version_from_run["trained"].test
    response = api("ci").post(UPLOAD, {"file": csv_file(holdout)}, format="multipart")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["rows"] == len(holdout)
    assert body["feature_columns"] == FEATURES
    assert body["label_column"] == "label"
    assert body["protected_columns"] == ["gender", "age_band"]

    card = api("board").get(CARD).json()
    explain = card["explainability"]
    assert explain["status"] == "available"
    assert explain["method"] == "shap.TreeExplainer"
    assert set(explain["global_importance"]) == set(FEATURES)

    # Independently: TreeExplainer on the pipeline's classifier, one-hot columns summed back.
    import shap

    model = model_load(version=ModelVersion.objects.get(), purpose=LoadPurpose.ANALYSIS)
    sample = holdout.sample(explain["sample_rows"], random_state=0)
    transformed = model[:-1].transform(sample[FEATURES])
    values = shap.TreeExplainer(model[-1]).shap_values(transformed)
    names = model[:-1].get_feature_names_out()
    per_feature = {
        feature: np.abs(
            values[
                :, [i for i, n in enumerate(names) if n.split("__", 1)[1].startswith(feature)]
            ].sum(axis=1)
        ).mean()
        for feature in FEATURES
    }
    for feature, expected in per_feature.items():
        assert explain["global_importance"][feature] == pytest.approx(expected, abs=1e-6)


def test_per_group_metrics_match_a_direct_computation(api, version_from_run):
    holdout = version_from_run["trained"].test
    api("ci").post(UPLOAD, {"file": csv_file(holdout)}, format="multipart")
    card = api("board").get(CARD).json()
    model = model_load(version=ModelVersion.objects.get(), purpose=LoadPurpose.ANALYSIS)
    women = holdout[holdout.gender == "female"]
    predicted = (model.predict_proba(women[FEATURES])[:, 1] >= 0.5).astype(int)
    group = card["evaluation"]["per_group"]["gender"]["female"]
    assert group["count"] == len(women)
    assert group["recall"] == pytest.approx(recall_score(women.label, predicted), abs=1e-6)
    assert set(card["evaluation"]["per_group"]["age_band"]) == {"18-30", "31-50", "51+"}


def test_explanations_add_up_to_the_models_log_odds(api, version_from_run):
    from models_registry.explain import ModelExplainer

    holdout = version_from_run["trained"].test
    model = version_from_run["trained"].model
    explanation = ModelExplainer(model, FEATURES, holdout).explain(holdout.head(10))
    probabilities = model.predict_proba(holdout.head(10)[FEATURES])[:, 1]
    log_odds = np.log(probabilities / (1 - probabilities))
    assert explanation.base_value + explanation.values.sum(axis=1).to_numpy() == pytest.approx(
        log_odds, abs=1e-6
    )


def test_parquet_is_accepted(api, version_from_run):
    handle = io.BytesIO()
    version_from_run["trained"].test.to_parquet(handle)
    handle.seek(0)
    handle.name = "holdout.parquet"
    response = api("ci").post(UPLOAD, {"file": handle}, format="multipart")
    assert response.status_code == 201
    assert response.json()["format"] == "parquet"


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"file": "not a file"}, "file"),
        ({"label_column": "churned"}, "label_column"),
    ],
)
def test_bad_uploads_are_400_and_store_nothing(api, version_from_run, payload, field):
    holdout = version_from_run["trained"].test
    data = {"file": csv_file(holdout), **payload}
    response = api("ci").post(UPLOAD, data, format="multipart")
    assert response.status_code == 400
    assert field in response.json()
    assert ReferenceDataset.objects.count() == 0


def test_missing_feature_columns_are_named(api, version_from_run):
    holdout = version_from_run["trained"].test.drop(columns=["contract"])
    response = api("ci").post(UPLOAD, {"file": csv_file(holdout)}, format="multipart")
    assert response.status_code == 400
    assert "contract" in response.json()["detail"]
    assert ReferenceDataset.objects.count() == 0


def test_an_unreadable_file_is_a_400(api, version_from_run):
    garbage = io.BytesIO(b"PAR1 this is not parquet")
    garbage.name = "data.parquet"
    response = api("ci").post(UPLOAD, {"file": garbage}, format="multipart")
    assert response.status_code == 400
    assert "Parquet" in response.json()["detail"]


def test_board_members_cannot_upload(api, version_from_run):
    response = api("board").post(
        UPLOAD, {"file": csv_file(version_from_run["trained"].test)}, format="multipart"
    )
    assert response.status_code == 403
    assert api("board").get(UPLOAD).status_code == 200


def test_a_version_without_a_logged_model_says_why_it_is_not_explained(
    api, make_model, make_version
):
    model = make_model()
    make_version(model)
    frame = pd.DataFrame({"x": [1.0, 2.0, 3.0], "label": [0, 1, 0]})
    response = api("ci").post(UPLOAD, {"file": csv_file(frame)}, format="multipart")
    assert response.status_code == 201
    analysis = VersionAnalysis.objects.get()
    assert analysis.status == VersionAnalysis.Status.UNAVAILABLE
    card = api("board").get(CARD).json()
    assert card["explainability"] == {
        "status": "unavailable",
        "reason": "The version has no logged MLflow model to load.",
    }
