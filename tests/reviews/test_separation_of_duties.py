"""Separation of duties (issue #8, hole 9): who may sign a request, and who may execute it.

Beside the requester and the registrant (tests/reviews/test_api_promotions.py), the model's
owner and the MLflow run's author may not sign, a `ci` account never signs whatever other
roles it holds, and no one executes a request they signed. The API, the request page, the
queue and the admin all follow the one rule in reviews/duties.py.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from rest_framework.test import APIClient

from governance.services import user_set_roles, user_token
from models_registry import mlflow_adapter
from models_registry.cards import card_regenerate
from models_registry.models import ModelVersion
from reviews.models import PromotionRequest, SignOff
from tests.conftest import assert_json_error

CHURN = "/api/v1/models/churn-classifier/"


def client_of(user: Any) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {user_token(user=user)}")
    return client


def person(username: str, *roles: str) -> Any:
    user, _ = user_set_roles(username=username, roles=list(roles), password="pw-for-tests-1")
    return user


def ready(version: ModelVersion) -> ModelVersion:
    card_regenerate(version_id=version.pk)
    version.refresh_from_db()
    return version


def request_for(api: Any, version: int = 1) -> int:
    response = api("ci").post(
        f"{CHURN}versions/{version}/promotion-requests/", {"justification": "x"}, format="json"
    )
    assert response.status_code == 201, response.content
    return response.json()["id"]


def sign(client: APIClient, request_id: int, decision: str = "approve") -> Any:
    return client.post(
        f"/api/v1/promotion-requests/{request_id}/sign-offs/", {"decision": decision}
    )


def execute(client: APIClient, request_id: int) -> Any:
    return client.post(f"/api/v1/promotion-requests/{request_id}/execute/")


def stage_of(version: ModelVersion) -> str:
    version.refresh_from_db()
    return version.stage


# --- the model's owner ----------------------------------------------------------------


def test_the_model_owner_may_not_approve_its_versions(api, users, make_model, make_version):
    owner = person("olga", "data_scientist", "board")
    version = ready(make_version(make_model(actor=owner), actor=users["ci"]))
    request_id = request_for(api)
    body = assert_json_error(sign(client_of(owner), request_id), 403)
    assert "own model churn-classifier" in body["detail"]
    assert SignOff.objects.count() == 0
    assert_json_error(execute(client_of(owner), request_id), 409)
    assert stage_of(version) == "candidate"


def test_the_model_owner_may_not_reject_either(api, users, make_model, make_version):
    owner = person("olga", "data_scientist", "validator")
    version = ready(make_version(make_model(actor=owner), actor=users["ci"]))
    request_id = request_for(api)
    assert_json_error(sign(client_of(owner), request_id, "reject"), 403)
    assert PromotionRequest.objects.get(pk=request_id).status == "pending"
    assert stage_of(version) == "candidate"


def test_the_model_owner_may_execute_what_others_approved(api, users, make_model, make_version):
    owner = person("olga", "data_scientist", "board")
    version = ready(make_version(make_model(actor=owner), actor=users["ci"]))
    request_id = request_for(api)
    assert sign(api("board"), request_id).status_code == 201
    assert execute(client_of(owner), request_id).status_code == 200
    assert stage_of(version) == "production"


# --- the MLflow run's author ----------------------------------------------------------


@pytest.fixture
def run_by(mlflow_store: str):
    """run_by("vera") -> the id of an MLflow run whose `mlflow.user` is vera."""

    def create(author: str) -> str:
        client = mlflow_adapter.client()
        experiment = client.get_experiment_by_name("tests") or client.get_experiment(
            client.create_experiment("tests")
        )
        run = client.create_run(experiment.experiment_id, tags={"mlflow.user": author})
        client.log_metric(run.info.run_id, "auc", 0.8)
        client.set_terminated(run.info.run_id)
        return run.info.run_id

    return create


@pytest.mark.parametrize("author", ["vera", "VERA", "vera@example.com"])
def test_the_mlflow_runs_author_may_not_approve_the_version(api, users, make_model, run_by, author):
    users["validator"].email = "vera@example.com"
    users["validator"].save()
    make_model(risk_tier="medium")
    created = api("ci").post(f"{CHURN}versions/", {"mlflow_run_id": run_by(author)}, format="json")
    assert created.status_code == 201, created.content
    version = ModelVersion.objects.get()
    assert version.run_author == author
    request_id = request_for(api)
    body = assert_json_error(sign(api("validator"), request_id), 403)
    assert "MLflow run" in body["detail"]
    assert SignOff.objects.count() == 0
    assert sign(api("validator2"), request_id).status_code == 201


# --- ci accounts ----------------------------------------------------------------------


@pytest.mark.parametrize("other", ["validator", "board", "compliance"])
def test_a_ci_account_never_signs_whatever_other_roles_it_holds(
    api, make_model, make_version, other
):
    ready(make_version(make_model()))
    request_id = request_for(api)
    ci_signer = person("ci-validator", "ci", other)
    body = assert_json_error(sign(client_of(ci_signer), request_id), 403)
    assert "CI accounts never sign off" in body["detail"]
    assert SignOff.objects.count() == 0
    assert PromotionRequest.objects.get(pk=request_id).status == "pending"


# --- signers do not execute -----------------------------------------------------------


def test_a_signer_may_not_execute_the_request_they_approved(api, make_model, make_version):
    version = ready(make_version(make_model()))
    request_id = request_for(api)
    signer = person("sam", "data_scientist", "board")
    assert sign(client_of(signer), request_id).status_code == 201
    assert PromotionRequest.objects.get(pk=request_id).status == "approved"
    body = assert_json_error(execute(client_of(signer), request_id), 403)
    assert "signed off this request" in body["detail"]
    assert stage_of(version) == "candidate"
    assert execute(api("ds"), request_id).status_code == 200
    assert stage_of(version) == "production"


# --- the pages ask the same rule ------------------------------------------------------


def browser(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_request_page_offers_the_owner_no_sign_off_buttons(
    api, users, make_model, make_version
):
    owner = person("olga", "data_scientist", "board")
    ready(make_version(make_model(actor=owner), actor=users["ci"]))
    request_id = request_for(api)
    page = browser(owner).get(f"/requests/{request_id}/").content.decode()
    assert 'id="cannot-sign"' in page and "own model churn-classifier" in page
    assert 'value="approve"' not in page
    queue = browser(owner).get("/").content.decode()
    assert f"/requests/{request_id}/" not in queue.split("Other open requests")[0]
    posted = browser(owner).post(f"/requests/{request_id}/sign-off/", {"decision": "approve"})
    assert posted.status_code == 302
    assert SignOff.objects.count() == 0


def test_the_admin_sign_off_form_is_not_offered_to_a_ci_compliance_account(
    api, make_model, make_version
):
    ready(make_version(make_model()))
    request_id = request_for(api)
    officer = person("ci-carla", "ci", "compliance")
    url = f"/admin/reviews/promotionrequest/{request_id}/sign-off/"
    page = browser(officer).get(url)
    assert page.status_code == 200
    assert "CI accounts never sign off" in page.content.decode()
    assert 'id="sign-off-form"' not in page.content.decode()
    browser(officer).post(url, {"decision": "approve", "_sign_off": "1"})
    assert SignOff.objects.count() == 0
