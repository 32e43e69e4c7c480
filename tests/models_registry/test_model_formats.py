"""Registering a version never runs its author's code: unsafe model formats are refused.

Each model here is real (logged to MLflow with its own code) and writes a marker file when
deserialized; the marker must never appear, whatever the answer.
"""

from __future__ import annotations

import io

import pytest

from governance.models import AuditEvent
from models_registry import services as registry
from models_registry.model_loading import LoadPurpose, UnsafeModelFormat, model_load
from models_registry.models import ModelVersion, VersionAnalysis
from tests.conftest import assert_json_error
from tests.models_registry import unsafe_models

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_serving_process")]

VERSIONS = "/api/v1/models/churn-classifier/versions/"
PREDICT = "/api/v1/models/churn-classifier/predict/"


@pytest.fixture
def marker(tmp_path):
    return tmp_path / "author-code-ran"


@pytest.fixture(params=["python_model", "cloudpickle", "pickle", "skops_trusting_itself"])
def unsafe_run(request, mlflow_store, marker) -> str:
    """One real run per unsafe kind; logging may load it once, so the marker starts absent."""
    if request.param == "python_model":
        run_id = unsafe_models.log_python_model(marker)
    elif request.param == "skops_trusting_itself":
        run_id = unsafe_models.log_skops_trusting_its_own_type(marker)
    else:
        run_id = unsafe_models.log_pickled_sklearn(marker, request.param)
    marker.unlink(missing_ok=True)
    return run_id


def test_registering_a_model_that_runs_code_on_load_is_a_400_and_stores_nothing(
    api, make_model, unsafe_run, marker
):
    make_model()
    ci = api("ci")  # minting its token is on the audit chain too
    audit_before = AuditEvent.objects.count()
    response = ci.post(VERSIONS, {"mlflow_run_id": unsafe_run}, format="json")
    body = assert_json_error(response, 400)
    assert "refused" in body["detail"] and "skops" in body["detail"]
    assert body["mlflow_run_id"]
    assert ModelVersion.objects.count() == 0
    assert AuditEvent.objects.count() == audit_before
    assert not marker.exists()


def test_the_refusal_names_the_format(api, make_model, mlflow_store, marker):
    make_model()
    run_id = unsafe_models.log_pickled_sklearn(marker, "cloudpickle")
    detail = api("ci").post(VERSIONS, {"mlflow_run_id": run_id}, format="json").json()["detail"]
    assert "sklearn flavor, cloudpickle format" in detail


def csv_upload() -> io.BytesIO:
    frame, labels = unsafe_models.training_frame()
    handle = io.BytesIO(frame.assign(label=labels).to_csv(index=False).encode())
    handle.name = "reference.csv"
    return handle


@pytest.fixture
def opted_in(settings):
    settings.ALLOW_UNSAFE_MODEL_FORMATS = True


def test_opted_in_a_python_model_registers_but_is_not_analysed_in_the_web_process(
    api, make_model, mlflow_store, marker, opted_in
):
    make_model()
    run_id = unsafe_models.log_python_model(marker)
    marker.unlink(missing_ok=True)
    created = api("ci").post(VERSIONS, {"mlflow_run_id": run_id}, format="json")
    assert created.status_code == 201, created.content
    version = ModelVersion.objects.get()
    assert version.run_facts["logged_model"]["format"]["executes_code"] is True
    card = api("board").get(VERSIONS + "1/card/").json()
    assert card["training"]["model"]["format"]["serialization"] == "python_model"

    uploaded = api("ci").post(
        VERSIONS + "1/reference-data/", {"file": csv_upload()}, format="multipart"
    )
    assert uploaded.status_code == 201, uploaded.content
    analysis = VersionAnalysis.objects.get()
    assert analysis.status == VersionAnalysis.Status.UNAVAILABLE
    assert "only by a Celery worker" in analysis.detail
    assert "untrusted-models" in analysis.detail
    assert not marker.exists()


def test_opted_in_an_unapproved_version_is_never_served(
    api, users, make_model, make_version, mlflow_store, marker, opted_in, settings
):
    settings.ROUTING_STATE_SECONDS = 0
    model = make_model()
    run_id = unsafe_models.log_python_model(marker)
    marker.unlink(missing_ok=True)
    version = make_version(model, mlflow_run_id=run_id, metrics={})
    with pytest.raises(UnsafeModelFormat, match="not been approved"):
        model_load(version=version, purpose=LoadPurpose.SERVING)
    assert_json_error(
        api("ci").post(PREDICT, {"features": {"x1": 0.7, "x2": 0.1}}, format="json"), 409
    )
    assert not marker.exists()

    registry.deployment_promote(version=version, actor=users["ds"])
    answer = api("ci").post(PREDICT, {"features": {"x1": 0.7, "x2": 0.1}}, format="json")
    assert answer.status_code == 200, answer.content
    assert answer.json()["prediction"] == 0.25
    assert marker.exists()  # the deployment opted in, and the version was approved


def test_without_the_setting_even_a_deployed_unsafe_version_is_not_loaded(
    api, users, make_model, make_version, mlflow_store, marker, settings
):
    settings.ALLOW_UNSAFE_MODEL_FORMATS = True
    model = make_model()
    run_id = unsafe_models.log_pickled_sklearn(marker, "pickle")
    marker.unlink(missing_ok=True)
    version = make_version(model, mlflow_run_id=run_id, metrics={})
    registry.deployment_promote(version=version, actor=users["ds"])
    settings.ALLOW_UNSAFE_MODEL_FORMATS = False  # the deployment opted out again
    body = assert_json_error(
        api("ci").post(PREDICT, {"features": {"x1": 0.7, "x2": 0.1}}, format="json"), 409
    )
    assert "runs the model author's code" in body["detail"]
    assert not marker.exists()


def test_a_skops_model_loads_with_our_trusted_list_only(api, make_model, churn_run):
    make_model()
    assert (
        api("ci").post(VERSIONS, {"mlflow_run_id": churn_run["run_id"]}, format="json").status_code
        == 201
    )
    version = ModelVersion.objects.get()
    facts = version.run_facts["logged_model"]
    assert facts["format"] == {
        "flavor": "sklearn",
        "serialization": "skops",
        "model_file": "model.skops",
        "executes_code": False,
        "untrusted_types": [],
    }
    model = model_load(version=version, purpose=LoadPurpose.ANALYSIS)
    frame = churn_run["trained"].test.head(5)
    expected = churn_run["trained"].model.predict_proba(frame[model.feature_names_in_])
    assert (model.predict_proba(frame[model.feature_names_in_]) == expected).all()
