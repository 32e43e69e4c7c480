"""What the board signed is what serves: every model file's SHA-256 is in the card and is
checked on every load; a changed file is refused, audited and opens an incident."""

from __future__ import annotations

import hashlib
import io
import shutil
from pathlib import Path
from urllib.parse import urlparse

import pytest

from governance.models import AuditEvent
from governance.services import audit_chain_verify
from models_registry import demo_model, mlflow_adapter
from models_registry import services as registry
from models_registry.cards import card_hash
from models_registry.models import ModelVersion, VersionAnalysis
from models_registry.serving.loader import forget_loaded
from monitoring.models import Incident
from tests.conftest import assert_json_error
from tests.models_registry.serving_data import PREDICT, ROW

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_serving_process")]

CARD = "/api/v1/models/churn-classifier/versions/1/card/"


def model_directory(version: ModelVersion) -> Path:
    """Where the local MLflow store keeps the version's logged model files."""
    model_id = version.run_facts["logged_model"]["model_uri"].removeprefix("models:/")
    location = mlflow_adapter.client().get_logged_model(model_id).artifact_location
    return Path(urlparse(location).path)


def test_the_card_carries_the_sha256_of_every_model_file(api, make_model, churn_run):
    make_model()
    created = api("ci").post(
        "/api/v1/models/churn-classifier/versions/",
        {"mlflow_run_id": churn_run["run_id"]},
        format="json",
    )
    assert created.status_code == 201
    card = api("board").get(CARD).json()
    directory = model_directory(ModelVersion.objects.get())
    on_disk = {
        path.relative_to(directory).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in directory.rglob("*")
        if path.is_file()
    }
    files = card["artifacts"]["model_files"]
    assert {"MLmodel", "model.skops"} <= set(files)
    assert {path: entry["sha256"] for path, entry in files.items()} == on_disk
    assert files["model.skops"]["size"] == (directory / "model.skops").stat().st_size
    assert "reports/evaluation.txt" in card["artifacts"]  # the run's own files stay listed
    assert card["training"]["model"]["format"]["executes_code"] is False
    # The signed hash covers the digests: it is the hash of this very content.
    assert ModelVersion.objects.get().card_hash == card_hash(card)
    markdown = api("board").get(CARD, {"format": "markdown"}).content.decode()
    assert files["model.skops"]["sha256"] in markdown


@pytest.fixture(scope="module")
def digest_run(mlflow_store):
    """A run of this module's own, trained and logged once; its files get tampered with."""
    data = demo_model.customers(rows=300, seed=11)
    trained = demo_model.train_churn_model(data, n_estimators=5, max_depth=2)
    run_id = mlflow_adapter.run_log_sklearn(
        model=trained.model,
        experiment="tests-digests",
        params={},
        metrics={},
        input_example=trained.train[demo_model.FEATURES].head(3),
    )
    return {"run_id": run_id, "data": data}


@pytest.fixture
def served(users, make_model, make_version, digest_run, settings, tmp_path):
    """The run registered and in production; its model files are restored afterwards."""
    settings.ROUTING_STATE_SECONDS = 0
    model = make_model(protected_attributes=["gender"])
    version = make_version(model, mlflow_run_id=digest_run["run_id"], metrics={})
    registry.deployment_promote(version=version, actor=users["ds"])
    directory = model_directory(version)
    backup = tmp_path / "model-files"
    shutil.copytree(directory, backup)
    yield {"version": version, "directory": directory, "data": digest_run["data"]}
    shutil.rmtree(directory)
    shutil.copytree(backup, directory)


def replace_with_another_model(directory: Path, data) -> None:
    """Swap model.skops for a valid skops dump of a different model, as an attacker would."""
    import skops.io

    other = demo_model.train_churn_model(data, n_estimators=3, max_depth=1).model
    (directory / "model.skops").write_bytes(skops.io.dumps(other))


TAMPERING = {
    "changed": replace_with_another_model,
    "added": lambda directory, data: (directory / "code.py").write_text("import os\n"),
    "missing": lambda directory, data: (directory / "MLmodel").unlink(),
}
EXPECTED = {"changed": "model.skops", "added": "code.py", "missing": "MLmodel"}


@pytest.mark.parametrize("kind", sorted(TAMPERING))
def test_a_tampered_model_is_refused_on_predict_and_opens_one_incident(api, served, kind):
    assert api("ci").post(PREDICT, {"features": ROW}, format="json").status_code == 200
    forget_loaded()  # the next call loads it again, as a new web process would
    TAMPERING[kind](served["directory"], served["data"])

    body = assert_json_error(api("ci").post(PREDICT, {"features": ROW}, format="json"), 409)
    assert f"{EXPECTED[kind]} ({kind})" in body["detail"]
    assert body["files"] == {EXPECTED[kind]: kind}
    incident = Incident.objects.get()
    assert incident.version_id == served["version"].pk
    assert incident.severity == Incident.Severity.CRITICAL
    assert incident.source == Incident.Source.ARTIFACT
    assert incident.details["files"] == {EXPECTED[kind]: kind}
    event = AuditEvent.objects.get(action="version.artifact_changed")
    assert event.data == {"files": {EXPECTED[kind]: kind}, "purpose": "serving"}
    assert audit_chain_verify() == []

    # Asked again: still refused, from memory, and still one incident.
    assert_json_error(api("ci").post(PREDICT, {"features": ROW}, format="json"), 409)
    assert Incident.objects.count() == 1
    assert AuditEvent.objects.filter(action="version.artifact_changed").count() == 1


def test_a_new_process_refusing_it_again_adds_to_the_open_incident(api, served):
    replace_with_another_model(served["directory"], served["data"])
    assert_json_error(api("ci").post(PREDICT, {"features": ROW}, format="json"), 409)
    forget_loaded()  # another web process
    assert_json_error(api("ci").post(PREDICT, {"features": ROW}, format="json"), 409)
    incident = Incident.objects.get()
    assert [event.kind for event in incident.timeline.all()] == ["opened", "refused_again"]


def test_a_tampered_model_is_not_analysed(api, served):
    replace_with_another_model(served["directory"], served["data"])
    holdout = served["data"].head(100)
    upload = io.BytesIO(holdout.to_csv(index=False).encode())
    upload.name = "holdout.csv"
    response = api("ci").post(
        CARD.replace("card/", "reference-data/"), {"file": upload}, format="multipart"
    )
    assert response.status_code == 201, response.content
    analysis = VersionAnalysis.objects.get()
    assert analysis.status == VersionAnalysis.Status.UNAVAILABLE
    assert "model.skops (changed)" in analysis.detail
    assert Incident.objects.get().details["purpose"] == "analysis"


def test_regenerating_the_card_keeps_the_digests_recorded_at_registration(api, served):
    recorded = api("board").get(CARD).json()["artifacts"]["model_files"]
    replace_with_another_model(served["directory"], served["data"])
    assert api("ci").post(CARD + "regenerate/").status_code == 200
    assert api("board").get(CARD).json()["artifacts"]["model_files"] == recorded
    assert_json_error(api("ci").post(PREDICT, {"features": ROW}, format="json"), 409)


# A version registered before digests existed: test_record_artifact_digests.py.


def test_a_run_whose_model_files_cannot_be_read_is_a_400_and_stores_nothing(
    api, make_model, digest_run
):
    data = digest_run["data"]
    run_id = mlflow_adapter.run_log_sklearn(
        model=demo_model.train_churn_model(data, n_estimators=3, max_depth=1).model,
        experiment="tests-digests",
        params={},
        metrics={},
        input_example=data[demo_model.FEATURES].head(3),
    )
    model_id = mlflow_adapter.client().get_run(run_id).outputs.model_outputs[-1].model_id
    location = mlflow_adapter.client().get_logged_model(model_id).artifact_location
    (Path(urlparse(location).path) / "MLmodel").unlink()  # the model cannot be read
    make_model()
    ci = api("ci")  # minting its token is on the audit chain too
    audit_before = AuditEvent.objects.count()

    response = ci.post(
        "/api/v1/models/churn-classifier/versions/", {"mlflow_run_id": run_id}, format="json"
    )
    body = assert_json_error(response, 400)
    assert "could not be read" in body["detail"] and "FileNotFoundError" in body["detail"]
    assert body["mlflow_run_id"] == [body["detail"]]
    assert ModelVersion.objects.count() == 0
    assert AuditEvent.objects.count() == audit_before


def test_regenerating_never_needs_the_recorded_files_to_be_readable(api, served):
    recorded = api("board").get(CARD).json()["artifacts"]["model_files"]
    (served["directory"] / "MLmodel").unlink()
    assert api("ci").post(CARD + "regenerate/").status_code == 200
    assert api("board").get(CARD).json()["artifacts"]["model_files"] == recorded


def test_a_legacy_version_whose_files_cannot_be_read_is_not_regenerated_as_if_fine(api, served):
    version = served["version"]
    facts = version.run_facts
    del facts["logged_model"]["files"]
    # A legacy candidate: regenerating its card records its files (a deployed one's only
    # the operator's command records, test_record_artifact_digests.py).
    ModelVersion.objects.filter(pk=version.pk).update(run_facts=facts, stage="candidate")
    (served["directory"] / "MLmodel").unlink()
    body = assert_json_error(api("ci").post(CARD + "regenerate/"), 409)
    assert "cannot be recorded" in body["detail"] and "FileNotFoundError" in body["detail"]
    assert "files" not in ModelVersion.objects.get().run_facts["logged_model"]


def test_a_symbolic_link_in_a_model_is_never_trusted_even_if_recorded(tmp_path):
    from models_registry.model_artifact import digest_mismatches, file_digests

    (tmp_path / "MLmodel").write_text("flavors: {}")
    (tmp_path / "model.skops").symlink_to("/etc/hostname")
    recorded = file_digests(tmp_path)  # registration saw the same link
    assert digest_mismatches(recorded, file_digests(tmp_path)) == {"model.skops": "a symbolic link"}
