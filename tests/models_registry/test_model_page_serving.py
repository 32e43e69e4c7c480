"""The model page says where production is served: here (a logged model whose files the
board signed), or elsewhere (no logged model, so predict answers 409 and the application
logs its predictions), so nobody learns it from a 409."""

from __future__ import annotations

import pytest

from models_registry import services as registry
from tests.models_registry.serving_data import PREDICT, ROW

pytestmark = pytest.mark.django_db


def serving_line(client, name: str) -> str:
    page = client.get(f"/models/{name}/").content.decode()
    return page.split('id="serving">', 1)[1].split("</dd>", 1)[0]


def test_a_model_served_elsewhere_says_predict_answers_409(
    client, users, api, make_model, make_version
):
    model = make_model(name="churn-classifier")
    version = make_version(model)  # metrics only, no MLflow run: nothing to load here
    registry.deployment_promote(version=version, actor=users["ds"])
    client.force_login(users["board"])

    line = serving_line(client, model.name)

    assert "elsewhere: v1 has no logged MLflow model" in line
    assert "/api/v1/models/churn-classifier/predictions/" in line
    assert api("ci").post(PREDICT, {"features": ROW}, format="json").status_code == 409


@pytest.mark.usefixtures("fresh_serving_process")
def test_a_model_with_a_logged_model_is_served_here(
    client, users, api, make_model, make_version, churn_run
):
    model = make_model(name="churn-classifier")
    version = make_version(model, mlflow_run_id=churn_run["run_id"], metrics={})
    registry.deployment_promote(version=version, actor=users["ds"])
    client.force_login(users["board"])

    assert serving_line(client, model.name).startswith("here: ")
    assert api("ci").post(PREDICT, {"features": ROW}, format="json").status_code == 200


def test_a_model_without_production_shows_no_serving(client, users, make_model):
    make_model(name="churn-classifier")
    client.force_login(users["board"])
    assert serving_line(client, "churn-classifier") == "—"
