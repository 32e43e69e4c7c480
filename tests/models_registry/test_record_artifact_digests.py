"""The upgrade path: `record_artifact_digests` records the files of versions registered
before digests existed, through card regeneration, so they serve again once signed."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command

from models_registry import services as registry
from models_registry.cards import card_regenerate
from models_registry.models import ModelCardRevision, ModelVersion
from tests.conftest import assert_json_error
from tests.models_registry.serving_data import PREDICT, ROW

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_serving_process")]


def as_before_digests(version: ModelVersion, **changes) -> None:
    """Legacy data: the version's run facts as registration stored them before digests."""
    facts = version.run_facts
    del facts["logged_model"]["files"]
    ModelVersion.objects.filter(pk=version.pk).update(run_facts=facts, **changes)
    card_regenerate(version_id=version.pk, reason="as cards were before digests")


def record(*args: str) -> tuple[list[str], str]:
    """The command's output lines, and its error ('' when it exits 0)."""
    out = io.StringIO()
    try:
        call_command("record_artifact_digests", *args, stdout=out)
    except CommandError as error:  # what makes manage.py exit 1
        return out.getvalue().splitlines(), str(error)
    return out.getvalue().splitlines(), ""


@pytest.fixture
def legacy(users, make_model, make_version, churn_run, settings):
    """churn-classifier v1 in production, registered before digests were recorded."""
    settings.ROUTING_STATE_SECONDS = 0
    version = make_version(make_model(), mlflow_run_id=churn_run["run_id"], metrics={})
    registry.deployment_promote(version=version, actor=users["ds"])
    as_before_digests(version)
    return version


def test_a_legacy_version_gets_its_digests_on_record_and_then_serves(api, legacy):
    assert_json_error(api("ci").post(PREDICT, {"features": ROW}, format="json"), 409)
    revisions = ModelCardRevision.objects.count()

    lines, error = record()
    assert error == ""
    version = ModelVersion.objects.get()
    files = version.run_facts["logged_model"]["files"]
    assert {"MLmodel", "model.skops"} <= set(files)
    assert lines == [f"churn-classifier v1: recorded {len(files)} file(s), card revision 3"]
    assert ModelCardRevision.objects.count() == revisions + 1  # pending sign-offs go stale
    assert version.history.first().history_origin == "command"
    assert api("ci").post(PREDICT, {"features": ROW}, format="json").status_code == 200
    assert record() == (["No version lacks recorded digests."], "")  # idempotent


def test_regenerating_a_deployed_legacy_card_does_not_make_todays_bytes_trusted(api, legacy):
    # Anyone who may regenerate a card could otherwise bless whatever MLflow holds now for a
    # version the board will never sign again: only the operator's command records them.
    response = api("ci").post(
        "/api/v1/models/churn-classifier/versions/1/card/regenerate/", {}, format="json"
    )
    assert response.status_code in (200, 202), response.content
    assert "files" not in ModelVersion.objects.get().run_facts["logged_model"]
    body = assert_json_error(api("ci").post(PREDICT, {"features": ROW}, format="json"), 409)
    assert "record_artifact_digests" in body["detail"]


def test_a_legacy_candidate_records_its_digests_when_its_card_is_regenerated(
    api, make_model, make_version, churn_run
):
    version = make_version(make_model(), mlflow_run_id=churn_run["run_id"], metrics={})
    as_before_digests(version)
    response = api("ci").post(
        "/api/v1/models/churn-classifier/versions/1/card/regenerate/", {}, format="json"
    )
    assert response.status_code in (200, 202), response.content
    assert "model.skops" in ModelVersion.objects.get().run_facts["logged_model"]["files"]


def test_a_dry_run_lists_them_and_changes_nothing(legacy):
    before = ModelVersion.objects.get().run_facts
    assert record("--dry-run") == (["churn-classifier v1: would be recorded (dry run)"], "")
    assert ModelVersion.objects.get().run_facts == before


def test_a_failing_version_is_reported_the_others_recorded_and_it_exits_1(
    make_model, make_version, churn_run, legacy
):
    other = make_version(make_model(name="fraud"), mlflow_run_id=churn_run["run_id"])
    as_before_digests(other, mlflow_run_id="run-that-is-gone")
    lines, error = record()
    assert error == "1 of 2 version(s) failed."
    assert lines[0].startswith("churn-classifier v1: recorded ")
    assert lines[1].startswith("fraud v1: failed: No MLflow run 'run-that-is-gone'")


def test_model_limits_it_to_one_model(make_model, make_version, churn_run, legacy):
    other = make_version(make_model(name="fraud"), mlflow_run_id=churn_run["run_id"])
    as_before_digests(other)
    listed = ["fraud v1: would be recorded (dry run)"]
    assert record("--model", "fraud", "--dry-run") == (listed, "")
    assert record("--model", "nope") == ([], "No registered model named 'nope'.")
