"""At most one production version per model: the database forbids a second, promotions keep one."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import IntegrityError, transaction

from governance.errors import Conflict
from models_registry import services as registry
from models_registry.models import DeploymentEvent, ModelVersion


@pytest.fixture
def model(make_model) -> Any:
    return make_model()


def stages(model: Any) -> dict[int, str]:
    return dict(ModelVersion.objects.filter(model=model).values_list("version", "stage"))


def production_of(model: Any) -> int:
    return ModelVersion.objects.get(model=model, stage="production").version


def promote(users: dict[str, Any], version: ModelVersion) -> DeploymentEvent:
    return registry.deployment_promote(version=version, actor=users["ds"], reason="test")


def rollback(users: dict[str, Any], model: Any) -> list[DeploymentEvent]:
    return registry.deployment_rollback(model=model, actor=users["compliance"], reason="test")


# --- the database constraint ----------------------------------------------------------


def test_saving_a_second_production_version_raises_integrity_error(users, model, make_version):
    first, second = make_version(model), make_version(model)
    promote(users, first)
    second.stage = ModelVersion.Stage.PRODUCTION
    with pytest.raises(IntegrityError), transaction.atomic():
        second.save()
    assert stages(model) == {1: "production", 2: "candidate"}


def test_updating_a_second_version_to_production_raises_integrity_error(users, model, make_version):
    first, second = make_version(model), make_version(model)
    promote(users, first)
    with pytest.raises(IntegrityError), transaction.atomic():
        ModelVersion.objects.filter(pk=second.pk).update(stage="production")
    assert stages(model) == {1: "production", 2: "candidate"}


def test_a_bulk_update_of_all_versions_to_production_raises_integrity_error(model, make_version):
    make_version(model)
    make_version(model)
    with pytest.raises(IntegrityError), transaction.atomic():
        ModelVersion.objects.filter(model=model).update(stage="production")
    assert set(stages(model).values()) == {"candidate"}


def test_two_models_may_each_have_a_production_version(users, model, make_model, make_version):
    other = make_model(name="fraud")
    promote(users, make_version(model))
    promote(users, make_version(other))
    assert production_of(model) == 1
    assert production_of(other) == 1


def test_many_archived_versions_of_one_model_are_allowed(model, make_version):
    for _ in range(3):
        make_version(model)
    ModelVersion.objects.filter(model=model).update(stage="archived")
    assert list(stages(model).values()) == ["archived"] * 3


def test_a_second_canary_version_is_impossible_too(users, model, make_version):
    first, second, third = make_version(model), make_version(model), make_version(model)
    promote(users, first)
    registry.deployment_start_canary(version=second, actor=users["ds"], traffic=10)
    with pytest.raises(IntegrityError), transaction.atomic():
        ModelVersion.objects.filter(pk=third.pk).update(stage="canary")


# --- promotions keep exactly one ------------------------------------------------------


def test_promoting_archives_the_previous_production_version(users, model, make_version):
    first, second = make_version(model), make_version(model)
    promote(users, first)
    event = promote(users, second)
    assert stages(model) == {1: "archived", 2: "production"}
    assert event.previous_version == first
    assert registry.rollback_target(model, second) == first


def test_every_promotion_leaves_exactly_one_production_version(users, model, make_version):
    versions = [make_version(model) for _ in range(4)]
    for version in versions:
        promote(users, version)
        assert ModelVersion.objects.filter(model=model, stage="production").count() == 1
        assert production_of(model) == version.version
    assert stages(model) == {1: "archived", 2: "archived", 3: "archived", 4: "production"}


def test_the_first_promotion_has_no_rollback_target(users, model, make_version):
    first = make_version(model)
    event = promote(users, first)
    assert event.previous_version is None
    assert registry.rollback_target(model, first) is None


def test_promoting_the_production_version_again_is_a_conflict(users, model, make_version):
    first = make_version(model)
    promote(users, first)
    with pytest.raises(Conflict):
        promote(users, first)
    assert DeploymentEvent.objects.filter(kind="promoted").count() == 1


def test_promoting_a_canary_ends_the_canary_and_archives_the_old_production(
    users, model, make_version
):
    first, second = make_version(model), make_version(model)
    promote(users, first)
    registry.deployment_start_canary(version=second, actor=users["ds"], traffic=25)
    event = promote(users, second)
    model.refresh_from_db()
    assert event.kind == DeploymentEvent.Kind.CANARY_PROMOTED
    assert stages(model) == {1: "archived", 2: "production"}
    assert model.canary_traffic == 0
    assert registry.rollback_target(model, second) == first


def test_promoting_another_version_stops_a_running_canary(users, model, make_version):
    first, second, third = make_version(model), make_version(model), make_version(model)
    promote(users, first)
    registry.deployment_start_canary(version=second, actor=users["ds"], traffic=25)
    promote(users, third)
    model.refresh_from_db()
    assert stages(model) == {1: "archived", 2: "archived", 3: "production"}
    assert model.canary_traffic == 0


# --- rollback walks back --------------------------------------------------------------


def test_rollback_twice_walks_back_from_v3_to_v2_to_v1(users, model, make_version):
    for version in [make_version(model) for _ in range(3)]:
        promote(users, version)
    assert production_of(model) == 3

    rollback(users, model)
    assert stages(model) == {1: "archived", 2: "production", 3: "archived"}

    rollback(users, model)
    assert stages(model) == {1: "production", 2: "archived", 3: "archived"}

    with pytest.raises(Conflict):
        rollback(users, model)
    assert production_of(model) == 1


def test_each_rollback_is_logged_with_what_it_replaced(users, model, make_version):
    v1, v2, v3 = (make_version(model) for _ in range(3))
    for version in (v1, v2, v3):
        promote(users, version)
    rollback(users, model)
    rollback(users, model)
    logged = DeploymentEvent.objects.filter(kind="rolled_back").order_by("id")
    assert [(e.version, e.previous_version) for e in logged] == [(v2, v3), (v1, v2)]


def test_after_a_rollback_a_new_promotion_replaces_the_restored_version(users, model, make_version):
    v1, v2, v3 = (make_version(model) for _ in range(3))
    promote(users, v1)
    promote(users, v2)
    rollback(users, model)
    promote(users, v3)
    assert stages(model) == {1: "archived", 2: "archived", 3: "production"}
    assert registry.rollback_target(model, v3) == v1
    rollback(users, model)
    assert production_of(model) == 1
