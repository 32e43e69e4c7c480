"""The role matrix of the contract, through the API, and the `governance_user` command."""

from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from governance.models import ApiToken
from governance.roles import Capability, Role, user_can, user_roles
from governance.services import sha256_hex
from models_registry import services as registry
from models_registry.cards import card_regenerate
from models_registry.models import ModelVersion, RegisteredModel
from reviews.models import PromotionRequest, SignOff

User = get_user_model()


ALL = ["ds", "ci", "validator", "board", "compliance", "outsider"]


def allowed_and_refused(allowed: set[str]) -> list[Any]:
    return [pytest.param(who, who in allowed, id=who) for who in ALL]


@pytest.fixture
def ready_version(make_model, make_version) -> ModelVersion:
    model = make_model()
    version = make_version(model)
    card_regenerate(version_id=version.pk)
    version.refresh_from_db()
    return version


@pytest.fixture
def pending_request(ready_version, users) -> PromotionRequest:
    from reviews.services import promotion_request_create

    return promotion_request_create(
        actor=users["ci"], version=ready_version, justification="better AUC"
    )


# --- the API role matrix --------------------------------------------------------------


@pytest.mark.parametrize(("who", "may"), allowed_and_refused({"ds", "ci"}))
def test_only_data_scientists_and_ci_may_register_models(api, who, may):
    response = api(who).post(
        "/api/v1/models/", {"name": "fraud", "risk_tier": "low"}, format="json"
    )
    assert response.status_code == (201 if may else 403), response.content
    assert RegisteredModel.objects.filter(name="fraud").exists() is may


@pytest.mark.parametrize(("who", "may"), allowed_and_refused({"ds", "ci"}))
def test_only_data_scientists_and_ci_may_register_versions(api, make_model, who, may):
    make_model()
    response = api(who).post(
        "/api/v1/models/churn-classifier/versions/", {"metrics": {"auc": 0.9}}, format="json"
    )
    assert response.status_code == (201 if may else 403), response.content
    assert ModelVersion.objects.count() == (1 if may else 0)


@pytest.mark.parametrize(("who", "may"), allowed_and_refused({"ds", "ci"}))
def test_only_data_scientists_and_ci_may_request_promotions(api, ready_version, who, may):
    response = api(who).post(
        "/api/v1/models/churn-classifier/versions/1/promotion-requests/",
        {"target_stage": "production", "justification": "better", "strategy": "direct"},
        format="json",
    )
    assert response.status_code == (201 if may else 403), response.content
    assert PromotionRequest.objects.count() == (1 if may else 0)


@pytest.mark.parametrize(("who", "may"), allowed_and_refused({"ds", "ci"}))
def test_only_data_scientists_and_ci_may_execute_approved_requests(
    api, users, pending_request, who, may
):
    from reviews.services import signoff_create

    signoff_create(actor=users["board"], request_id=pending_request.pk, decision="approve")
    response = api(who).post(f"/api/v1/promotion-requests/{pending_request.pk}/execute/")
    assert response.status_code == (200 if may else 403), response.content
    pending_request.refresh_from_db()
    expected = PromotionRequest.Status.EXECUTED if may else PromotionRequest.Status.APPROVED
    assert pending_request.status == expected


@pytest.mark.parametrize(("who", "may"), allowed_and_refused({"validator", "board", "compliance"}))
def test_only_validators_board_members_and_compliance_sign_off(api, pending_request, who, may):
    response = api(who).post(
        f"/api/v1/promotion-requests/{pending_request.pk}/sign-offs/",
        {"decision": "approve", "comment": "looks fine"},
        format="json",
    )
    assert response.status_code == (201 if may else 403), response.content
    assert SignOff.objects.count() == (1 if may else 0)


# Board members roll back too: issue 4 gives them the rollback button beside compliance's.
@pytest.mark.parametrize(("who", "may"), allowed_and_refused({"ds", "compliance", "board"}))
def test_only_data_scientists_compliance_and_board_may_roll_back(
    api, users, make_model, make_version, who, may
):
    model = make_model()
    first, second = make_version(model), make_version(model)
    registry.deployment_promote(version=first, actor=users["ds"])
    registry.deployment_promote(version=second, actor=users["ds"])
    response = api(who).post(
        "/api/v1/models/churn-classifier/rollback/", {"reason": "bad latency"}, format="json"
    )
    assert response.status_code == (200 if may else 403), response.content
    production = ModelVersion.objects.get(model=model, stage="production")
    assert production.version == (1 if may else 2)


@pytest.mark.parametrize(
    ("who", "may"), allowed_and_refused({"ds", "ci", "validator", "board", "compliance"})
)
def test_every_role_may_read_the_registry_but_a_user_without_roles_may_not(
    api, make_model, who, may
):
    make_model()
    response = api(who).get("/api/v1/models/churn-classifier/")
    assert response.status_code == (200 if may else 403)


def test_a_refused_role_gets_a_json_detail_naming_no_html(api):
    response = api("validator").post(
        "/api/v1/models/", {"name": "fraud", "risk_tier": "low"}, format="json"
    )
    assert response.status_code == 403
    assert response["Content-Type"].startswith("application/json")
    assert isinstance(response.json()["detail"], str)


# --- governance_user ------------------------------------------------------------------


def run(*args: str) -> str:
    out = StringIO()
    call_command("governance_user", *args, stdout=out)
    return out.getvalue()


def roles_of(username: str) -> set[str]:
    return {role.value for role in user_roles(User.objects.get(username=username))}


def test_governance_user_creates_a_user_with_the_role(db):
    output = run("alice", "--role", "validator")
    assert roles_of("alice") == {"validator"}
    assert "alice" in output


def test_governance_user_replaces_the_roles_of_an_existing_user(db):
    run("alice", "--role", "validator")
    run("alice", "--role", "board")
    assert roles_of("alice") == {"board"}
    assert User.objects.filter(username="alice").count() == 1


def test_governance_user_accepts_several_roles(db):
    run("alice", "--role", "validator", "--role", "compliance")
    assert roles_of("alice") == {"validator", "compliance"}


def test_governance_user_prints_the_token_alone_on_the_last_line(db):
    output = run("ci-runner", "--role", "ci", "--token")
    key = output.splitlines()[-1]
    assert ApiToken.objects.get(user__username="ci-runner").digest == sha256_hex(key)
    assert output.endswith("\n" + key + "\n")


def test_the_printed_token_authenticates_api_calls_with_the_users_roles(db, client):
    token = run("ci-runner", "--role", "ci", "--token").splitlines()[-1]
    response = client.post(
        "/api/v1/models/",
        {"name": "fraud", "risk_tier": "low"},
        content_type="application/json",
        headers={"Authorization": f"Token {token}"},
    )
    assert response.status_code == 201
    assert response.json()["owner"] == "ci-runner"


def test_governance_user_mints_a_new_token_each_run_and_the_first_keeps_working(db, client):
    first = run("ci-runner", "--role", "ci", "--token").splitlines()[-1]
    second = run("ci-runner", "--role", "ci", "--token").splitlines()[-1]
    assert first != second  # a key is stored hashed: it cannot be printed twice
    for key in (first, second):
        response = client.get("/api/v1/models/", headers={"Authorization": f"Token {key}"})
        assert response.status_code == 200


def test_governance_user_mints_no_token_without_the_flag(db):
    run("alice", "--role", "validator")
    assert not ApiToken.objects.exists()


def test_governance_user_refuses_an_unknown_role_and_creates_nobody(db):
    with pytest.raises(CommandError):
        run("alice", "--role", "wizard")
    assert not User.objects.filter(username="alice").exists()


def test_governance_user_requires_a_role(db):
    with pytest.raises(CommandError):
        run("alice")
    assert not User.objects.filter(username="alice").exists()


def test_governance_user_sets_the_password(db):
    run("alice", "--role", "validator", "--password", "s3cret-Passw0rd")
    assert User.objects.get(username="alice").check_password("s3cret-Passw0rd")


def test_governance_user_without_password_leaves_no_usable_password(db):
    run("alice", "--role", "validator")
    assert not User.objects.get(username="alice").has_usable_password()


def test_governance_user_keeps_the_password_when_only_roles_change(db):
    run("alice", "--role", "validator", "--password", "s3cret-Passw0rd")
    run("alice", "--role", "board")
    assert User.objects.get(username="alice").check_password("s3cret-Passw0rd")


def test_governance_user_makes_compliance_officers_staff_and_only_them(db):
    run("carl", "--role", "compliance")
    run("vera", "--role", "validator")
    assert User.objects.get(username="carl").is_staff
    assert not User.objects.get(username="vera").is_staff


def test_governance_user_takes_staff_away_when_compliance_is_removed(db):
    run("carl", "--role", "compliance")
    run("carl", "--role", "board")
    assert not User.objects.get(username="carl").is_staff


def test_every_contract_role_is_accepted_by_governance_user(db):
    for role in Role:
        run(f"user-{role.value.replace('_', '-')}", "--role", role.value)
        assert roles_of(f"user-{role.value.replace('_', '-')}") == {role.value}


def test_governance_user_warns_that_ci_never_signs_whatever_other_roles(db):
    output = run("ci-runner", "--role", "ci", "--role", "validator", "--token").splitlines()
    warning = (
        "Warning: ci never may sign off promotion requests, whatever other roles it holds, "
        "so ci-runner cannot (although validator would allow it)."
    )
    assert output[1] == warning
    assert output[-1] != warning  # the token stays the last line, alone
    assert ApiToken.objects.get(user__username="ci-runner").digest == sha256_hex(output[-1])
    assert not user_can(User.objects.get(username="ci-runner"), Capability.SIGN_OFF)


def test_governance_user_does_not_warn_about_roles_that_take_nothing_away(db):
    assert "Warning" not in run("ci-runner", "--role", "ci", "--role", "data_scientist")
    assert "Warning" not in run("alice", "--role", "validator", "--role", "board")
