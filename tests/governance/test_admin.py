"""The admin as compliance officers use it: see everything, edit only approval policies."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib import admin
from django.test import Client
from django.urls import reverse

from governance.audit.chain import audit_sequence
from governance.audit_context import Origin, acting_as
from governance.models import ApprovalPolicy, AuditEvent, AuditVerification
from governance.services import GOVERNANCE_APPS
from models_registry.models import RegisteredModel
from models_registry.services import model_update
from models_registry.tasks import card_generate
from tests.governance.admin_world import governed_rows

READ_ONLY_MODELS = [
    "governance.auditevent",
    "governance.auditcheckpoint",
    "governance.auditverification",
    "models_registry.registeredmodel",
    "models_registry.modelversion",
    "models_registry.modelcardrevision",
    "models_registry.deploymentevent",
    "reviews.promotionrequest",
    "reviews.signoff",
    "reviews.board",
    "reviews.boardmember",
    "reviews.meeting",
    "reviews.agendaitem",
    "reviews.attendance",
    "reviews.decision",
    "reviews.reviewsummary",
]


@pytest.fixture
def world(users: dict[str, Any], make_model: Any, make_version: Any) -> dict[str, Any]:
    """One of everything: a model in production through an approved, executed request."""
    return governed_rows(users, make_model, make_version)


def officer_client(users: dict[str, Any], who: str = "compliance") -> Client:
    client = Client()
    client.force_login(users[who])
    return client


def admin_url(label: str, view: str, *args: Any) -> str:
    app_label, model_name = label.split(".")
    return reverse(f"admin:{app_label}_{model_name}_{view}", args=args)


def first_pk(label: str) -> int | None:
    model = next(m for m in admin.site._registry if m._meta.label_lower == label)
    return model._default_manager.order_by("pk").values_list("pk", flat=True).first()


def policy_form(policy: ApprovalPolicy, **changes: Any) -> dict[str, Any]:
    data = {
        "required_approvals": policy.required_approvals,
        "required_roles": policy.required_roles,
    }
    data.update(changes)
    return data


def test_a_compliance_officer_logs_into_the_admin(users: dict[str, Any]) -> None:
    client = Client()

    response = client.post(
        reverse("admin:login"),
        {"username": "carla", "password": "pw-for-tests-1", "next": "/admin/"},
    )

    assert response.status_code == 302
    assert response["Location"] == "/admin/"
    index = client.get("/admin/")
    assert index.status_code == 200
    assert "Model governance admin" in index.content.decode()


def test_it_sees_the_changelist_change_and_history_page_of_every_governed_model(
    users: dict[str, Any], world: dict[str, Any]
) -> None:
    client = officer_client(users)
    governed = [m for m in admin.site._registry if m._meta.app_label in GOVERNANCE_APPS]
    assert {m._meta.label_lower for m in governed} >= {
        "governance.approvalpolicy",
        *READ_ONLY_MODELS,
    }

    for model in governed:
        label = model._meta.label_lower
        assert client.get(admin_url(label, "changelist")).status_code == 200, label
        pk = first_pk(label)
        if pk is None:
            continue
        assert client.get(admin_url(label, "change", pk)).status_code == 200, label
        assert client.get(admin_url(label, "history", pk)).status_code == 200, label


def test_history_pages_show_origin_and_change_reason(
    users: dict[str, Any], world: dict[str, Any]
) -> None:
    client = officer_client(users)

    response = client.get(admin_url("models_registry.modelversion", "history", world["version"].pk))

    page = response.content.decode()
    assert '<th scope="col">origin</th>' in page
    assert "Task" in page
    assert "promoted to production" in page


def test_a_board_member_is_sent_to_the_admin_login(users: dict[str, Any]) -> None:
    client = officer_client(users, "board")

    for url in ["/admin/", admin_url("governance.approvalpolicy", "changelist")]:
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("admin:login"))


def test_an_outsider_cannot_log_into_the_admin(users: dict[str, Any]) -> None:
    client = Client()

    response = client.post(
        reverse("admin:login"), {"username": "otto", "password": "pw-for-tests-1"}
    )

    assert response.status_code == 200
    assert "_auth_user_id" not in client.session


def test_a_compliance_officer_edits_an_approval_policy(users: dict[str, Any]) -> None:
    policy = ApprovalPolicy.objects.get(risk_tier="low")
    client = officer_client(users)

    response = client.post(
        admin_url("governance.approvalpolicy", "change", policy.pk),
        policy_form(policy, required_approvals=2, required_roles=["validator"]),
    )

    assert response.status_code == 302
    policy.refresh_from_db()
    assert (policy.required_approvals, policy.required_roles) == (2, ["validator"])
    row = policy.history.latest()
    assert row.history_user == users["compliance"]
    assert row.history_origin == Origin.ADMIN
    assert row.history_change_reason == "edited in admin: required_approvals, required_roles"
    event = AuditEvent.objects.get(action="policy.edited")
    assert (event.actor, event.origin, event.object_id) == (users["compliance"], "admin", "low")
    assert event.data["previous"] == {"required_approvals": 1, "required_roles": []}


def test_saving_an_unchanged_policy_writes_no_history(users: dict[str, Any]) -> None:
    policy = ApprovalPolicy.objects.get(risk_tier="medium")
    rows = policy.history.count()

    response = officer_client(users).post(
        admin_url("governance.approvalpolicy", "change", policy.pk), policy_form(policy)
    )

    assert response.status_code == 302
    assert policy.history.count() == rows
    assert not AuditEvent.objects.filter(action="policy.edited").exists()


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        (
            {"required_approvals": 1, "required_roles": ["validator", "compliance"]},
            "Must be at least the number of required roles.",
        ),
        ({"required_roles": ["validator", "ceo"]}, "Select a valid choice."),
        ({"required_approvals": 0}, "greater than or equal to 1"),
    ],
)
def test_an_invalid_policy_edit_changes_nothing(
    users: dict[str, Any], changes: dict[str, Any], error: str
) -> None:
    policy = ApprovalPolicy.objects.get(risk_tier="high")
    before = (policy.required_approvals, policy.required_roles, policy.history.count())

    response = officer_client(users).post(
        admin_url("governance.approvalpolicy", "change", policy.pk), policy_form(policy, **changes)
    )

    assert response.status_code == 200
    assert error in response.content.decode()
    policy.refresh_from_db()
    assert (policy.required_approvals, policy.required_roles, policy.history.count()) == before
    assert not AuditEvent.objects.filter(action="policy.edited").exists()


def test_the_risk_tier_of_a_policy_stays_put(users: dict[str, Any]) -> None:
    policy = ApprovalPolicy.objects.get(risk_tier="low")

    officer_client(users).post(
        admin_url("governance.approvalpolicy", "change", policy.pk),
        {**policy_form(policy, required_approvals=2), "risk_tier": "high"},
    )

    policy.refresh_from_db()
    assert (policy.risk_tier, policy.required_approvals) == ("low", 2)


def test_policies_are_neither_added_nor_deleted(users: dict[str, Any]) -> None:
    policy = ApprovalPolicy.objects.get(risk_tier="low")
    client = officer_client(users)

    changelist = client.get(admin_url("governance.approvalpolicy", "changelist"))
    add = client.post(admin_url("governance.approvalpolicy", "add"), {"risk_tier": "low"})
    delete = client.post(
        admin_url("governance.approvalpolicy", "delete", policy.pk), {"post": "yes"}
    )

    assert admin_url("governance.approvalpolicy", "add") not in changelist.content.decode()
    assert (add.status_code, delete.status_code) == (403, 403)
    assert ApprovalPolicy.objects.count() == 3


@pytest.mark.parametrize("label", READ_ONLY_MODELS)
def test_read_only_admins_refuse_add_change_and_delete(
    users: dict[str, Any], world: dict[str, Any], label: str
) -> None:
    client = officer_client(users)
    pk = first_pk(label)

    changelist = client.get(admin_url(label, "changelist")).content.decode()
    change = client.get(admin_url(label, "change", pk)).content.decode()

    assert admin_url(label, "add") not in changelist
    assert 'name="_save"' not in change
    assert client.get(admin_url(label, "add")).status_code == 403
    assert client.post(admin_url(label, "add"), {}).status_code == 403
    assert client.post(admin_url(label, "change", pk), {}).status_code == 403
    assert client.post(admin_url(label, "delete", pk), {"post": "yes"}).status_code == 403


def test_a_superuser_cannot_change_read_only_objects_either(
    users: dict[str, Any], world: dict[str, Any], django_user_model: Any
) -> None:
    root = django_user_model.objects.create_superuser("root", password="pw-for-tests-1")
    client = Client()
    client.force_login(root)
    model = world["model"]

    response = client.post(
        admin_url("models_registry.registeredmodel", "change", model.pk), {"risk_tier": "high"}
    )

    assert response.status_code == 403
    model.refresh_from_db()
    assert model.risk_tier == "low"


def test_reverting_from_the_history_page_needs_change_permission(
    users: dict[str, Any], world: dict[str, Any]
) -> None:
    model = world["model"]
    with acting_as(origin=Origin.SYSTEM):
        model_update(actor=users["ds"], model=model, description="Second description.")
    first = model.history.earliest()
    url = reverse(
        "admin:models_registry_registeredmodel_simple_history", args=[model.pk, first.history_id]
    )
    client = officer_client(users)

    assert client.get(url).status_code == 200
    assert client.post(url, {}).status_code == 403
    model.refresh_from_db()
    assert model.description == "Second description."


def test_a_policy_reverted_from_its_history_is_validated_and_recorded(
    users: dict[str, Any],
) -> None:
    policy = ApprovalPolicy.objects.get(risk_tier="low")
    client = officer_client(users)
    url = admin_url("governance.approvalpolicy", "change", policy.pk)
    client.post(url, policy_form(policy, required_approvals=3))
    first = policy.history.earliest()

    response = client.post(
        reverse(
            "admin:governance_approvalpolicy_simple_history", args=[policy.pk, first.history_id]
        ),
        {"required_approvals": 1, "required_roles": []},
    )

    assert response.status_code == 302
    policy.refresh_from_db()
    assert policy.required_approvals == 1
    assert policy.history.latest().history_origin == Origin.ADMIN
    assert AuditEvent.objects.filter(action="policy.edited").count() == 2


def test_audit_events_filter_and_search(users: dict[str, Any], world: dict[str, Any]) -> None:
    client = officer_client(users)
    url = admin_url("governance.auditevent", "changelist")

    filtered = client.get(url, {"origin": "system", "object_type": "promotion_request"})
    searched = client.get(url, {"q": "version.registered"})

    actions = {event.action for event in filtered.context["cl"].result_list}
    assert "promotion_request.executed" in actions
    assert {event.object_type for event in filtered.context["cl"].result_list} == {
        "promotion_request"
    }
    assert searched.status_code == 200
    assert searched.context["cl"].result_count == 1


def test_the_audit_changelist_verifies_an_intact_chain(
    users: dict[str, Any], world: dict[str, Any], django_capture_on_commit_callbacks: Any
) -> None:
    client = officer_client(users)
    changelist = client.get(admin_url("governance.auditevent", "changelist"))
    verify_url = reverse("admin:governance_auditevent_verify")
    assert verify_url in changelist.content.decode()

    assert client.get(verify_url).status_code == 405
    with django_capture_on_commit_callbacks(execute=True):  # the queued verification task
        response = client.post(verify_url, {"full": "1"})

    count = AuditEvent.objects.count()
    report = AuditVerification.objects.get()
    assert (report.ok, report.full, report.checked, report.requested_by) == (
        True,
        True,
        count,
        users["compliance"],
    )
    assert response["Location"] == admin_url("governance.auditverification", "change", report.pk)
    page = client.get(response["Location"]).content.decode()
    assert f"{count} entries after #0 verified" in page


def test_the_audit_changelist_reports_a_tampered_event(
    users: dict[str, Any], world: dict[str, Any], django_capture_on_commit_callbacks: Any
) -> None:
    audit_sequence()
    AuditEvent.objects.filter(sequence=2).update(data={"forged": True})

    client = officer_client(users)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("admin:governance_auditevent_verify"), {"full": "1"})

    page = client.get(response["Location"]).content.decode()
    assert "#2: content changed since it was appended" in page
    assert AuditVerification.objects.get().first_bad == 2


def test_a_board_member_cannot_verify_the_chain(users: dict[str, Any]) -> None:
    response = officer_client(users, "board").post(reverse("admin:governance_auditevent_verify"))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


def test_a_superuser_sees_users_with_their_roles(
    users: dict[str, Any], django_user_model: Any
) -> None:
    root = django_user_model.objects.create_superuser("root", password="pw-for-tests-1")
    client = Client()
    client.force_login(root)

    response = client.get(reverse("admin:auth_user_changelist"), {"q": "carla"})

    assert response.status_code == 200
    assert "compliance" in response.content.decode()


def test_registered_models_are_listed_with_their_live_versions(
    users: dict[str, Any], world: dict[str, Any]
) -> None:
    response = officer_client(users).get(admin_url("models_registry.registeredmodel", "changelist"))

    result = response.context["cl"].result_list
    assert [m.name for m in result] == [world["model"].name]
    assert result[0].production_version_number == 1
    assert RegisteredModel.objects.count() == 1


def test_a_card_revision_shows_what_changed_since_the_previous_one(
    users: dict[str, Any], world: dict[str, Any]
) -> None:
    version = world["version"]
    with acting_as(origin=Origin.SYSTEM):
        model_update(actor=users["ds"], model=world["model"], description="Churn, monthly.")
    card_generate(version.pk, "model details edited")
    latest = version.card_revisions.order_by("-revision").first()

    response = officer_client(users).get(
        admin_url("models_registry.modelcardrevision", "change", latest.pk)
    )

    page = response.content.decode()
    assert latest.revision > 1
    assert "+    &quot;description&quot;: &quot;Churn, monthly.&quot;" in page
