"""Model cards built from real MLflow runs: content, formats, revisions, staleness, diff."""

from __future__ import annotations

from importlib import metadata
from pathlib import Path

import markdown
import pytest
import yaml

from models_registry import mlflow_adapter
from models_registry.demo_model import FEATURES
from models_registry.models import ModelCardRevision, ModelVersion
from reviews.models import PromotionRequest

pytestmark = pytest.mark.django_db


def versions_url(name: str = "churn-classifier") -> str:
    return f"/api/v1/models/{name}/versions/"


def card_url(version: int = 1, name: str = "churn-classifier") -> str:
    return f"/api/v1/models/{name}/versions/{version}/card/"


@pytest.fixture
def registered(api, make_model, churn_run):
    """churn-classifier v1 registered through the API from the session's MLflow run."""
    make_model(risk_tier="medium", protected_attributes=["gender", "age_band"])
    response = api("ci").post(versions_url(), {"mlflow_run_id": churn_run["run_id"]}, format="json")
    assert response.status_code == 201, response.content
    # The card task ran when the request's transaction committed: read the version again.
    return api("ci").get(versions_url() + "1/").json()


def test_registering_from_a_run_reads_its_params_metrics_and_commit(registered, churn_run):
    trained = churn_run["trained"]
    assert registered["metrics"] == {**trained.metrics, "train_loss": 0.47}
    assert registered["params"] == {key: str(value) for key, value in trained.params.items()}
    assert registered["git_commit"] == "0123abcd" * 5
    assert registered["card_status"] == "ready"
    assert registered["mlflow_run_id"] == churn_run["run_id"]


def test_declared_metrics_win_over_the_runs(api, make_model, churn_run):
    make_model()
    response = api("ci").post(
        versions_url(),
        {"mlflow_run_id": churn_run["run_id"], "metrics": {"auc": 0.5, "extra": 1.0}},
        format="json",
    )
    assert response.status_code == 201
    assert response.json()["metrics"]["auc"] == 0.5
    assert response.json()["metrics"]["extra"] == 1.0
    assert response.json()["metrics"]["f1"] == churn_run["trained"].metrics["f1"]
    assert response.json()["metrics"]["train_loss"] == 0.47


def test_the_card_holds_what_the_run_says(api, registered, churn_run):
    response = api("board").get(card_url())
    assert response.status_code == 200
    card = response.json()
    run = mlflow_adapter.client().get_run(churn_run["run_id"])
    assert card["model_name"] == "churn-classifier"
    assert card["run_id"] == churn_run["run_id"]
    assert card["parameters"] == run.data.params
    assert card["metrics"] == run.data.metrics
    assert "reports/evaluation.txt" in card["artifacts"]
    assert card["metadata"]["owner"] == "dana"
    assert card["metadata"]["created"].startswith(mlflow_adapter._iso(run.info.start_time)[:19])
    assert card["metadata"]["updated"] >= card["metadata"]["created"]
    training = card["training"]
    assert training["mlflow_run"]["status"] == "FINISHED"
    assert training["mlflow_run"]["tags"] == {"team": "retention"}
    assert [p["value"] for p in training["metric_history"]["train_loss"]] == [0.61, 0.52, 0.47]
    assert "sklearn" in training["model"]["flavors"]
    assert [column["name"] for column in training["model"]["signature"]["inputs"]] == FEATURES
    assert len(training["model"]["input_example"]) == 5
    assert card["explainability"]["status"] == "unavailable"
    assert response["ETag"] == f'"{registered["card_hash"]}"'


def test_the_card_comes_as_yaml_and_markdown(api, registered):
    as_json = api("board").get(card_url()).json()
    as_yaml = api("board").get(card_url(), {"format": "yaml"})
    assert as_yaml.status_code == 200
    assert as_yaml["Content-Type"].startswith("application/yaml")
    parsed = yaml.safe_load(as_yaml.content)
    assert parsed == as_json
    assert list(parsed)[:7] == [
        "model_name",
        "version",
        "run_id",
        "parameters",
        "metrics",
        "artifacts",
        "metadata",
    ]
    as_markdown = api("board").get(card_url(), {"format": "markdown"})
    assert as_markdown["Content-Type"].startswith("text/markdown")
    html = markdown.markdown(as_markdown.content.decode(), extensions=["tables"])
    assert "<h1>Model card: churn-classifier v1</h1>" in html
    assert "<table>" in html and "<td>auc</td>" in html


def test_an_unknown_card_format_is_a_400(api, registered):
    response = api("board").get(card_url(), {"format": "pdf"})
    assert response.status_code == 400
    assert "format" in response.json()


def test_an_unchanged_regeneration_adds_no_revision(api, registered):
    response = api("ci").post(card_url() + "regenerate/")
    assert response.status_code == 200
    assert response.json()["changed"] is False
    assert ModelCardRevision.objects.count() == 1


@pytest.fixture
def bare_run(mlflow_store):
    """A run of its own (no model logged), so a test may add metrics to it."""
    client = mlflow_adapter.client()
    experiment = client.get_experiment_by_name("tests") or client.get_experiment(
        client.create_experiment("tests")
    )
    run = client.create_run(experiment.experiment_id)
    client.log_param(run.info.run_id, "max_depth", "3")
    client.log_metric(run.info.run_id, "auc", 0.8)
    client.set_terminated(run.info.run_id)
    return run.info.run_id


def test_a_new_metric_adds_a_revision_and_makes_pending_approvals_stale(api, make_model, bare_run):
    make_model(risk_tier="medium")
    assert (
        api("ci").post(versions_url(), {"mlflow_run_id": bare_run}, format="json").status_code
        == 201
    )
    created = api("ci").post(
        "/api/v1/models/churn-classifier/versions/1/promotion-requests/",
        {"justification": "better", "strategy": "direct"},
        format="json",
    )
    request_id = created.json()["id"]
    signed = api("validator").post(
        f"/api/v1/promotion-requests/{request_id}/sign-offs/",
        {"decision": "approve"},
        format="json",
    )
    assert signed.status_code == 201
    # Someone logs a late evaluation metric to the run; the card is regenerated from it.
    mlflow_adapter.client().log_metric(bare_run, "calibration_error", 0.031)
    response = api("ci").post(card_url() + "regenerate/")
    assert response.status_code == 200
    assert response.json()["changed"] is True
    assert response.json()["revision"] == 2
    request = api("ci").get(f"/api/v1/promotion-requests/{request_id}/").json()
    assert request["sign_offs"][0]["stale"] is True
    assert request["policy"]["valid_approvals"] == 0
    assert request["status"] == "pending"
    assert api("ci").post(f"/api/v1/promotion-requests/{request_id}/execute/").status_code == 409
    assert api("board").get(card_url()).json()["metrics"]["calibration_error"] == 0.031


def test_the_diff_names_what_changed_between_revisions(api, registered, users):
    api("ds").patch(
        "/api/v1/models/churn-classifier/versions/1/",
        {"limitations": "Not for business accounts."},
        format="json",
    )
    response = api("board").get(card_url() + "diff/", {"from": 1, "to": 2})
    assert response.status_code == 200
    changes = {change["path"]: change for change in response.json()["changes"]}
    assert changes["limitations"] == {
        "path": "limitations",
        "kind": "changed",
        "old": "",
        "new": "Not for business accounts.",
    }
    assert api("board").get(card_url() + "diff/", {"from": 1, "to": 9}).status_code == 404
    assert api("board").get(card_url() + "diff/", {"from": "x"}).status_code == 400


def test_revisions_are_listed_newest_first(api, registered):
    api("ds").patch(
        "/api/v1/models/churn-classifier/versions/1/", {"limitations": "x"}, format="json"
    )
    revisions = api("board").get(card_url() + "revisions/").json()
    assert [r["revision"] for r in revisions] == [2, 1]
    assert revisions[0]["card_hash"] == ModelVersion.objects.get().card_hash


def test_a_past_revision_can_be_read(api, registered):
    api("ds").patch(
        "/api/v1/models/churn-classifier/versions/1/", {"limitations": "x"}, format="json"
    )
    old = api("board").get(card_url(), {"revision": 1})
    assert old.status_code == 200
    assert old.json()["limitations"] == ""
    assert old["X-Card-Revision"] == "1"


def test_an_unknown_run_is_a_400_and_stores_nothing(api, make_model, mlflow_store):
    make_model()
    response = api("ci").post(versions_url(), {"mlflow_run_id": "0" * 32}, format="json")
    assert response.status_code == 400
    assert "mlflow_run_id" in response.json()
    assert ModelVersion.objects.count() == 0


def test_an_unreachable_tracking_server_is_a_503_and_stores_nothing(api, make_model, settings):
    settings.MLFLOW_TRACKING_URI = "http://127.0.0.1:9"  # nothing listens on the discard port
    make_model()
    response = api("ci").post(versions_url(), {"mlflow_run_id": "a" * 32}, format="json")
    assert response.status_code == 503
    assert "did not answer" in response.json()["detail"]
    assert ModelVersion.objects.count() == 0


def test_executing_a_request_records_the_approvals_in_the_card(api, registered):
    created = (
        api("ci")
        .post(
            "/api/v1/models/churn-classifier/versions/1/promotion-requests/",
            {"justification": "ok"},
            format="json",
        )
        .json()
    )
    for signer in ("validator", "board"):
        api(signer).post(
            f"/api/v1/promotion-requests/{created['id']}/sign-offs/",
            {"decision": "approve", "comment": f"{signer} ok"},
            format="json",
        )
    assert api("ci").post(f"/api/v1/promotion-requests/{created['id']}/execute/").status_code == 200
    card = api("board").get(card_url()).json()
    assert card["approvals"][0]["status"] == PromotionRequest.Status.EXECUTED
    assert {s["signer"] for s in card["approvals"][0]["sign_offs"]} == {"vera", "bella"}
    # The executed request's own sign-offs were bound to the card before it changed.
    signed = {s["card_hash"] for s in card["approvals"][0]["sign_offs"]}
    assert signed == {registered["card_hash"]}


def test_a_logged_model_records_what_loading_it_needs_pinned(churn_run):
    import mlflow

    path = mlflow.artifacts.download_artifacts(
        run_id=churn_run["run_id"], artifact_path="model/requirements.txt"
    )
    recorded = Path(path).read_text().split()

    for package in ("scikit-learn", "numpy", "scipy", "pandas", "skops"):
        assert f"{package}=={metadata.version(package)}" in recorded
    # Not what the process logging it had loaded besides.
    assert not [line for line in recorded if line.startswith(("pytest", "rich"))]
