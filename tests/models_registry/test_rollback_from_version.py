"""A rollback names the production version it rolls back from; a stale one is a 409.

Two people looking at v5 who both press Roll back mean "not v5", not "two versions back".
"""

from __future__ import annotations

from typing import Any

import pytest

from models_registry import services as registry
from models_registry.models import DeploymentEvent, ModelVersion
from tests.conftest import assert_json_error

ROLLBACK = "/api/v1/models/churn-classifier/rollback/"
PAGE = "/models/churn-classifier/"


@pytest.fixture
def v3_live(users, make_model, make_version) -> Any:
    """v1, v2, v3 promoted one after the other; v4 on canary."""
    model = make_model()
    versions = [make_version(model) for _ in range(4)]
    for version in versions[:3]:
        registry.deployment_promote(version=version, actor=users["ds"])
    registry.deployment_start_canary(version=versions[3], actor=users["ds"], traffic=20)
    return model


def stages(model: Any) -> dict[int, str]:
    return dict(ModelVersion.objects.filter(model=model).values_list("version", "stage"))


LIVE = {1: "archived", 2: "archived", 3: "production", 4: "canary"}


def test_naming_the_live_production_version_rolls_back(api, v3_live):
    response = api("ds").post(ROLLBACK, {"reason": "drift", "from_version": 3}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["production_version"] == 2
    assert stages(v3_live) == {1: "archived", 2: "production", 3: "archived", 4: "archived"}


def test_a_second_rollback_from_the_same_version_is_a_409_naming_the_current_one(api, v3_live):
    first = api("ds").post(ROLLBACK, {"reason": "drift", "from_version": 3}, format="json")
    assert first.status_code == 200, first.content
    events = DeploymentEvent.objects.count()

    second = api("compliance").post(ROLLBACK, {"reason": "drift", "from_version": 3}, format="json")

    body = assert_json_error(second, 409)
    assert "v2" in body["detail"] and "v3" in body["detail"]
    assert body["production_version"] == 2
    assert DeploymentEvent.objects.count() == events
    assert stages(v3_live)[2] == "production"


@pytest.mark.parametrize("stale", [1, 2, 4, 99])
def test_a_version_that_is_not_in_production_is_a_409_and_nothing_moves(api, v3_live, stale):
    events = DeploymentEvent.objects.count()
    response = api("ds").post(ROLLBACK, {"reason": "x", "from_version": stale}, format="json")
    assert assert_json_error(response, 409)["production_version"] == 3
    assert DeploymentEvent.objects.count() == events
    assert stages(v3_live) == LIVE


def test_naming_a_version_when_none_is_in_production_is_a_409(api, users, make_model, make_version):
    make_version(make_model())
    response = api("ds").post(ROLLBACK, {"reason": "x", "from_version": 1}, format="json")
    assert assert_json_error(response, 409)["production_version"] is None


@pytest.mark.parametrize("bad", ["three", 0, -1, 2.5, [3], {"v": 3}])
def test_a_from_version_that_is_not_a_version_number_is_a_400_naming_it(api, v3_live, bad):
    response = api("ds").post(ROLLBACK, {"reason": "x", "from_version": bad}, format="json")
    assert "from_version" in assert_json_error(response, 400)
    assert stages(v3_live) == LIVE


def test_without_from_version_rollbacks_keep_walking_back(api, v3_live):
    """The contract's body, `{"reason": ...}`, behaves as before: each call steps back."""
    assert (
        api("ds").post(ROLLBACK, {"reason": "x"}, format="json").json()["production_version"] == 2
    )
    assert (
        api("ds").post(ROLLBACK, {"reason": "x"}, format="json").json()["production_version"] == 1
    )


# --- the model page -------------------------------------------------------------------


def test_the_page_sends_the_production_version_it_shows(client, users, v3_live):
    client.force_login(users["board"])
    page = client.get(PAGE).content.decode()
    assert '<input type="hidden" name="from_version" value="3">' in page


def test_pressing_roll_back_on_a_stale_page_refuses_and_moves_nothing(client, users, v3_live):
    client.force_login(users["board"])
    registry.deployment_rollback(model=v3_live, actor=users["compliance"], reason="first")
    events = DeploymentEvent.objects.count()

    page = client.post(PAGE + "rollback/", {"reason": "second", "from_version": "3"}, follow=True)

    text = page.content.decode()
    assert "runs v2 in production now, not v3" in text
    assert "Rolled back:" not in text
    assert DeploymentEvent.objects.count() == events
    assert stages(v3_live)[2] == "production"


def test_pressing_roll_back_on_a_current_page_rolls_back(client, users, v3_live):
    client.force_login(users["board"])
    page = client.post(PAGE + "rollback/", {"reason": "drift", "from_version": "3"}, follow=True)
    text = page.content.decode()
    assert "Rolled back: canary v4 stopped; v2 is back in production in place of v3." in text
    assert stages(v3_live)[2] == "production"


def test_a_tampered_from_version_on_the_page_is_refused(client, users, v3_live):
    client.force_login(users["board"])
    page = client.post(PAGE + "rollback/", {"reason": "x", "from_version": "v3"}, follow=True)
    assert "not valid" in page.content.decode()
    assert stages(v3_live) == LIVE
