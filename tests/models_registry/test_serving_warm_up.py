"""A web process loads what it may serve next, so a rollback never waits for MLflow."""

from __future__ import annotations

import pytest

from models_registry import services as registry
from models_registry.models import ModelVersion
from models_registry.serving import loader
from models_registry.serving.routing import live_state
from models_registry.serving.warm import serving_warm_up, versions_to_keep_warm, warm
from tests.models_registry.serving_data import PREDICT, ROW

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_serving_process")]


@pytest.fixture
def loads(monkeypatch) -> list[int]:
    """The version ids this process loads from MLflow, in order."""
    seen: list[int] = []
    original = loader._load
    monkeypatch.setattr(loader, "_load", lambda vid: seen.append(vid) or original(vid))
    return seen


@pytest.fixture
def three_versions(users, make_model, make_version, churn_run) -> list[ModelVersion]:
    """v1 was production, v2 replaced it, v3 is on canary."""
    model = make_model(risk_tier="low")
    versions = [
        make_version(model, mlflow_run_id=churn_run["run_id"], metrics={}) for _ in range(3)
    ]
    registry.deployment_promote(version=versions[0], actor=users["ds"])
    registry.deployment_promote(version=versions[1], actor=users["ds"])
    registry.deployment_start_canary(version=versions[2], actor=users["ds"], traffic=10)
    return versions


def test_a_starting_process_loads_production_canary_and_the_rollback_target(three_versions, loads):
    v1, v2, v3 = three_versions
    assert set(serving_warm_up()) == {v1.pk, v2.pk, v3.pk}
    assert sorted(loads) == sorted([v1.pk, v2.pk, v3.pk])
    assert all(loader.loaded_version(v.pk)._explainer is not None for v in three_versions)


def test_after_warm_up_a_rollback_is_served_without_loading_anything(
    api, users, three_versions, loads, settings
):
    settings.ROUTING_STATE_SECONDS = 0
    serving_warm_up()
    loads.clear()
    assert api("ci").post(PREDICT, {"features": ROW}, format="json").json()["version"] in (2, 3)
    registry.deployment_rollback(
        model=three_versions[0].model, actor=users["compliance"], reason="drift"
    )
    answer = api("ci").post(PREDICT, {"features": ROW}, format="json").json()
    assert answer["version"] == 1 and answer["stage"] == "production"
    assert loads == []  # v1 was already in memory


def test_versions_that_cannot_load_are_skipped_and_the_rest_still_load(
    three_versions, loads, caplog
):
    v1, v2, v3 = three_versions
    ModelVersion.objects.filter(pk=v1.pk).update(run_facts={})  # served elsewhere: no model
    facts = v3.run_facts
    facts["logged_model"]["model_uri"] = "models:/m-does-not-exist"
    ModelVersion.objects.filter(pk=v3.pk).update(run_facts=facts)  # its artifact is gone
    with caplog.at_level("INFO", logger="models_registry.serving.warm"):
        assert warm([v1.pk, v2.pk, v3.pk]) == [v2.pk]
    by_version = {r.args[0]: r for r in caplog.records}
    assert by_version[v1.pk].levelname == "INFO" and by_version[v1.pk].exc_info is None
    assert by_version[v3.pk].levelname == "WARNING" and by_version[v3.pk].exc_info


def test_routing_asks_for_a_background_warm_up_when_live_versions_change(
    users, three_versions, settings, monkeypatch
):
    from models_registry.serving import warm as warm_module

    asked: list[int] = []
    monkeypatch.setattr(warm_module, "warm_in_background", asked.append)
    settings.ROUTING_STATE_SECONDS = 0
    model = three_versions[0].model
    live_state(model.name)
    assert asked == [model.pk]  # first sight in this process
    live_state(model.name)
    assert asked == [model.pk]  # nothing changed
    registry.deployment_rollback(model=model, actor=users["compliance"], reason="drift")
    live_state(model.name)
    assert asked == [model.pk, model.pk]
    # after the rollback: v1 in production, no canary; v1 replaced nothing, so no target
    assert versions_to_keep_warm(model.pk) == [three_versions[0].pk]


def with_logged_model(version: ModelVersion, change) -> None:
    """Edit the version's recorded logged model in the database (legacy or tampered data)."""
    facts = version.run_facts
    change(facts["logged_model"])
    ModelVersion.objects.filter(pk=version.pk).update(run_facts=facts)


def test_versions_refused_for_safety_are_warnings_with_their_reason(three_versions, caplog):
    v1, v2, v3 = three_versions
    with_logged_model(v1, lambda logged: logged.pop("files"))  # registered before digests
    with_logged_model(
        v2, lambda logged: logged["files"]["model.skops"].update(sha256="0" * 64)
    )  # the files no longer match what was signed
    with_logged_model(v3, lambda logged: logged["format"].update(executes_code=True))
    with caplog.at_level("INFO", logger="models_registry.serving.warm"):
        assert warm([v1.pk, v2.pk, v3.pk]) == []
    by_version = {r.args[0]: r for r in caplog.records}
    assert all(by_version[v.pk].levelname == "WARNING" for v in three_versions)
    assert all(by_version[v.pk].exc_info is None for v in three_versions)
    assert "record_artifact_digests" in by_version[v1.pk].getMessage()
    assert "model.skops (changed)" in by_version[v2.pk].getMessage()
    assert "runs the model author's code" in by_version[v3.pk].getMessage()
