"""/api/v1/models/{name}/versions/: register, read, numbering, model card and regeneration."""

from __future__ import annotations

from typing import Any

import pytest

from governance.audit_context import Origin, acting_as
from models_registry import services as registry
from models_registry.cards import card_regenerate
from models_registry.models import ModelCardRevision, ModelVersion, RegisteredModel
from tests.conftest import assert_json_error

CHURN = "/api/v1/models/churn-classifier/"
VERSIONS = CHURN + "versions/"


@pytest.fixture
def model(make_model) -> Any:
    return make_model(description="Predicts churn", protected_attributes=["gender"])


def register_without_card(model: Any, actor: Any) -> ModelVersion:
    """Register a version whose card task has not run yet (its on-commit hook never fires)."""
    with acting_as(origin=Origin.SYSTEM):
        return registry.version_register(actor=actor, model=model, metrics={"auc": 0.5})


@pytest.fixture
def version(model, make_version) -> ModelVersion:
    """Version 1 with its card generated."""
    version = make_version(model, params={"depth": 6}, git_commit="abc1234")
    card_regenerate(version_id=version.pk, reason="registered")
    version.refresh_from_db()
    return version


# --- register -------------------------------------------------------------------------


def test_registering_a_version_returns_201_as_a_candidate(api, model):
    response = api("ci").post(
        VERSIONS,
        {
            "git_commit": "0123abcd",
            "metrics": {"auc": 0.91, "f1": 0.7},
            "params": {"depth": 6, "lr": 0.1, "kind": "gbm", "early": True},
            "artifact_uri": "s3://models/churn/1",
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["version"] == 1
    assert body["stage"] == "candidate"
    assert body["card_status"] in ("pending", "ready")
    assert body["metrics"] == {"auc": 0.91, "f1": 0.7}
    assert body["params"] == {"depth": 6, "lr": 0.1, "kind": "gbm", "early": True}
    assert body["artifact_uri"] == "s3://models/churn/1"
    assert body["git_commit"] == "0123abcd"
    assert body["registered_by"] == "ci-bot"
    assert ModelVersion.objects.get().registered_by.username == "ci-bot"


def test_an_empty_body_registers_a_version(api, model):
    response = api("ds").post(VERSIONS, {}, format="json")
    assert response.status_code == 201
    assert response.json()["version"] == 1


def test_version_numbers_count_one_two_three_per_model(api, model, make_model):
    make_model(name="fraud")
    numbers = [api("ds").post(VERSIONS, {}, format="json").json()["version"] for _ in range(3)]
    other = api("ds").post("/api/v1/models/fraud/versions/", {}, format="json").json()
    assert numbers == [1, 2, 3]
    assert other["version"] == 1
    assert sorted(model.versions.values_list("version", flat=True)) == [1, 2, 3]


def test_a_refused_registration_does_not_use_up_a_version_number(api, model):
    api("ds").post(VERSIONS, {}, format="json")
    api("ds").post(VERSIONS, {"metrics": {"auc": "high"}}, format="json")
    assert api("ds").post(VERSIONS, {}, format="json").json()["version"] == 2


def test_a_registered_versions_card_becomes_ready(api, model):
    api("ds").post(VERSIONS, {"metrics": {"auc": 0.9}}, format="json")
    body = api("ds").get(VERSIONS + "1/").json()
    assert body["card_status"] == "ready"
    assert len(body["card_hash"]) == 64


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"metrics": {"auc": "high"}}, "metrics"),
        ({"metrics": [0.9]}, "metrics"),
        ({"metrics": {"auc": "NaN"}}, "metrics"),
        ({"metrics": {"auc": "Infinity"}}, "metrics"),
        ({"params": {"layers": [1, 2]}}, "params"),
        ({"params": "depth=6"}, "params"),
        ({"git_commit": "not-a-commit"}, "git_commit"),
        ({"mlflow_run_id": "x" * 65}, "mlflow_run_id"),
        ({"artifact_uri": "s3://" + "x" * 600}, "artifact_uri"),
        ({"version": 7}, "version"),
        ({"stage": "production"}, "stage"),
    ],
    ids=[
        "metric-string",
        "metrics-list",
        "metric-nan",
        "metric-inf",
        "param-list",
        "params-string",
        "bad-commit",
        "long-run-id",
        "long-uri",
        "unknown-version",
        "unknown-stage",
    ],
)
def test_bad_version_input_is_a_400_naming_the_field_and_stores_nothing(api, model, payload, field):
    body = assert_json_error(api("ds").post(VERSIONS, payload, format="json"), 400)
    assert field in body
    assert ModelVersion.objects.count() == 0


def test_registering_a_version_of_an_unknown_model_is_a_404(api):
    assert_json_error(api("ds").post("/api/v1/models/nope/versions/", {}, format="json"), 404)
    assert ModelVersion.objects.count() == 0


@pytest.mark.parametrize("who", ["validator", "board", "compliance", "outsider"])
def test_roles_without_register_get_403_and_no_version(api, model, who):
    assert_json_error(api(who).post(VERSIONS, {}, format="json"), 403)
    assert ModelVersion.objects.count() == 0


def test_anonymous_version_calls_get_401(api, version):
    anonymous = api(None)
    assert_json_error(anonymous.post(VERSIONS, {}, format="json"), 401)
    assert_json_error(anonymous.get(VERSIONS), 401)
    assert_json_error(anonymous.get(VERSIONS + "1/"), 401)
    assert_json_error(anonymous.get(VERSIONS + "1/card/"), 401)
    assert_json_error(anonymous.post(VERSIONS + "1/card/regenerate/"), 401)
    assert ModelVersion.objects.count() == 1


# --- read -----------------------------------------------------------------------------


def test_a_version_shows_the_contract_fields(api, version):
    body = api("validator").get(VERSIONS + "1/").json()
    assert body["version"] == 1
    assert body["stage"] == "candidate"
    assert body["metrics"] == {"auc": 0.91}
    assert body["params"] == {"depth": 6}
    assert body["mlflow_run_id"] == ""
    assert body["card_status"] == "ready"
    assert body["card_hash"] == version.card_hash


def test_the_version_list_is_newest_first_and_paginated(api, model, make_version):
    for _ in range(3):
        make_version(model)
    body = api("ds").get(VERSIONS).json()
    assert body["count"] == 3
    assert [v["version"] for v in body["results"]] == [3, 2, 1]


def test_an_unknown_version_is_a_404_naming_it(api, version):
    body = assert_json_error(api("ds").get(VERSIONS + "9/"), 404)
    assert "9" in body["detail"]


def test_a_version_of_an_unknown_model_is_a_404(api, version):
    body = assert_json_error(api("ds").get("/api/v1/models/nope/versions/1/"), 404)
    assert "nope" in body["detail"]
    assert_json_error(api("ds").get("/api/v1/models/nope/versions/"), 404)


# --- card -----------------------------------------------------------------------------


def card_revision(response: Any) -> int:
    """The revision a card response shows (header X-Card-Revision)."""
    return int(response["X-Card-Revision"])


def test_the_card_describes_the_version_and_carries_its_hash(api, version):
    response = api("board").get(VERSIONS + "1/card/")
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("application/json")
    assert card_revision(response) == 1
    assert response["ETag"] == f'"{version.card_hash}"'
    details = response.json()["model_details"]
    assert details["name"] == "churn-classifier"
    assert details["version"] == 1
    assert details["description"] == "Predicts churn"
    assert details["protected_attributes"] == ["gender"]
    assert "0.91" in response.content.decode()


def test_the_card_is_also_served_as_yaml_and_markdown(api, version):
    as_yaml = api("ds").get(VERSIONS + "1/card/", {"format": "yaml"})
    assert as_yaml.status_code == 200
    assert as_yaml["Content-Type"].startswith("application/yaml")
    assert "churn-classifier" in as_yaml.content.decode()
    as_markdown = api("ds").get(VERSIONS + "1/card/", {"format": "markdown"})
    assert as_markdown.status_code == 200
    assert as_markdown["Content-Type"].startswith("text/markdown")
    assert "churn-classifier" in as_markdown.content.decode()


def test_an_unknown_card_format_is_a_400(api, version):
    assert "format" in assert_json_error(api("ds").get(VERSIONS + "1/card/?format=pdf"), 400)


def test_the_card_of_a_version_still_generating_is_a_409(api, users, model):
    register_without_card(model, users["ds"])
    assert_json_error(api("ds").get(VERSIONS + "1/card/"), 409)


def test_the_card_of_an_unknown_version_is_a_404(api, version):
    assert_json_error(api("ds").get(VERSIONS + "2/card/"), 404)
    assert_json_error(api("ds").post(VERSIONS + "2/card/regenerate/"), 404)


def test_regenerating_an_unchanged_card_adds_no_revision(api, version):
    response = api("ds").post(VERSIONS + "1/card/regenerate/")
    assert response.status_code == 200, response.content
    assert response.json()["revision"] == 1
    assert response.json()["changed"] is False
    assert ModelCardRevision.objects.filter(model_version=version).count() == 1
    version_before = version.card_hash
    version.refresh_from_db()
    assert version.card_hash == version_before


def test_regenerating_a_pending_card_builds_it(api, users, model):
    pending = register_without_card(model, users["ds"])
    assert pending.card_status == "pending"
    response = api("ci").post(VERSIONS + "1/card/regenerate/")
    assert response.status_code == 200
    pending.refresh_from_db()
    assert pending.card_status == "ready"
    assert pending.card_revisions.count() == 1


def test_a_model_edit_via_patch_adds_a_card_revision_with_a_new_hash(api, version):
    edited = api("ds").patch(CHURN, {"intended_use": "retention offers"}, format="json")
    assert edited.status_code == 200
    old_hash = version.card_hash
    version.refresh_from_db()
    assert version.card_hash != old_hash
    assert version.card_revisions.count() == 2
    card = api("ds").get(VERSIONS + "1/card/")
    assert card_revision(card) == 2
    assert card["ETag"] == f'"{version.card_hash}"'
    assert card.json()["model_details"]["intended_use"] == "retention offers"
    again = api("ds").post(VERSIONS + "1/card/regenerate/")
    assert (again.json()["changed"], again.json()["revision"]) == (False, 2)
    assert version.card_revisions.count() == 2


def test_regenerating_picks_up_facts_changed_behind_the_services_back(api, version):
    RegisteredModel.objects.filter(pk=version.model_id).update(intended_use="retention offers")
    response = api("ds").post(VERSIONS + "1/card/regenerate/")
    assert response.status_code == 200
    assert (response.json()["changed"], response.json()["revision"]) == (True, 2)
    old_hash = version.card_hash
    version.refresh_from_db()
    assert version.card_hash != old_hash
    assert response.json()["card_hash"] == version.card_hash


@pytest.mark.parametrize("who", ["validator", "board", "compliance", "outsider"])
def test_roles_without_register_may_not_regenerate_a_card(api, version, who):
    assert_json_error(api(who).post(VERSIONS + "1/card/regenerate/"), 403)


def test_card_revisions_of_other_versions_are_not_touched_by_a_regeneration(
    api, version, make_version
):
    second = make_version(version.model)
    card_regenerate(version_id=second.pk)
    RegisteredModel.objects.filter(pk=version.model_id).update(description="changed")
    api("ds").post(VERSIONS + "2/card/regenerate/")
    assert version.card_revisions.count() == 1
    assert second.card_revisions.count() == 2
