"""The admin as an audit console (issue 12): every admin of our own models filters,
searches, drills down by date, exports CSV and lists more than a name; none is a path
around a service rule. Checked for every registered admin, so a new one is held to it too.

Third-party models (users, axes, django-celery-beat's schedules) are left to their own
admins: GOVERNANCE_APPS are the apps whose records the console is for.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib import admin
from django.contrib.admin.utils import get_fields_from_path
from django.db import models
from django.test import Client, RequestFactory, TestCase
from django.urls import reverse
from django.utils import timezone

from governance.admin import GovernedHistoryAdmin
from governance.audit.checkpoints import audit_checkpoint_create, signing_key_generate
from governance.audit_context import Origin, acting_as
from governance.services import GOVERNANCE_APPS, user_token
from models_registry.consent import consent_withdraw
from models_registry.models import Prediction
from models_registry.retention import retention_policy_set
from monitoring.canary_defaults import canary_default_rules
from monitoring.models import CanaryGates
from monitoring.services import canary_gates_save, monitoring_config_put
from monitoring.services.ground_truth import ground_truth_record
from monitoring.services.incidents import incident_open
from reviews.kpis import kpi_record
from reviews.revalidation_services import materiality_set, revalidation_policy_save
from tests.conftest import make_user
from tests.governance.admin_world import governed_rows
from tests.monitoring.alert_page_helpers import plain_alert
from tests.monitoring.notification_helpers import fire, mailbox, route
from tests.reviews.review_board_data import raise_finding, validate

ADMINS = sorted(
    (
        model_admin
        for model, model_admin in admin.site._registry.items()
        if model._meta.app_label in GOVERNANCE_APPS
    ),
    key=lambda model_admin: model_admin.model._meta.label_lower,
)
by_label = pytest.mark.parametrize(
    "model_admin", ADMINS, ids=[model_admin.model._meta.label_lower for model_admin in ADMINS]
)

# Admins whose rows the `console` fixture makes: their change (and history) pages must open.
WITH_ROWS = {
    "governance.apitoken",
    "governance.approvalpolicy",
    "governance.auditcheckpoint",
    "governance.auditevent",
    "models_registry.consentwithdrawal",
    "models_registry.deploymentevent",
    "models_registry.modelcardrevision",
    "models_registry.modelversion",
    "models_registry.prediction",
    "models_registry.registeredmodel",
    "models_registry.retentionpolicy",
    "monitoring.alert",
    "monitoring.canarygates",
    "monitoring.groundtruth",
    "monitoring.incident",
    "monitoring.monitoringconfig",
    "monitoring.notificationdelivery",
    "monitoring.notificationendpoint",
    "monitoring.notificationroute",
    "reviews.agendaitem",
    "reviews.attendance",
    "reviews.board",
    "reviews.boardmember",
    "reviews.businesskpi",
    "reviews.decision",
    "reviews.finding",
    "reviews.kpivalue",
    "reviews.meeting",
    "reviews.modelmateriality",
    "reviews.promotionrequest",
    "reviews.revalidationpolicy",
    "reviews.reviewsummary",
    "reviews.signoff",
    "reviews.validation",
}


def when_it_happened(model: type[models.Model]) -> list[str]:
    """The model's dates that record an event (created, opened, signed ...): every date
    but a last-edited stamp (auto_now), which moves with each save."""
    return [
        field.name
        for field in model._meta.concrete_fields
        if isinstance(field, models.DateField) and not field.auto_now
    ]


def has_history(model: type[models.Model]) -> bool:
    return hasattr(model, "history")


def ours(model_admin: admin.ModelAdmin, method: str) -> bool:
    """The admin's `method` is written here, not Django's or simple-history's (whose
    save_model only notes the user before saving the form's object as it is)."""
    module = getattr(type(model_admin), method).__module__
    return module.partition(".")[0] in GOVERNANCE_APPS


@pytest.fixture
def officer_request(db: Any) -> Any:
    request = RequestFactory().get("/admin/")
    request.user = make_user("carla", "compliance")
    return request


@pytest.fixture
def root_request(django_user_model: Any) -> Any:
    """A superuser holds every permission: what is refused to them is refused by the admin."""
    request = RequestFactory().get("/admin/")
    request.user = django_user_model.objects.create_superuser("root", password="pw-for-tests-1")
    return request


@by_label
def test_it_filters(model_admin: admin.ModelAdmin, officer_request: Any) -> None:
    assert model_admin.get_list_filter(officer_request)


@by_label
def test_it_searches(model_admin: admin.ModelAdmin, officer_request: Any) -> None:
    assert model_admin.get_search_fields(officer_request)


@by_label
def test_it_lists_more_than_each_rows_name(
    model_admin: admin.ModelAdmin, officer_request: Any
) -> None:
    columns = list(model_admin.get_list_display(officer_request))
    assert len(columns) > 1 and set(columns) != {"__str__"}


@by_label
def test_it_drills_down_by_the_date_things_happened(model_admin: admin.ModelAdmin) -> None:
    if model_admin.date_hierarchy is None:
        assert not when_it_happened(model_admin.model)
        return
    field = get_fields_from_path(model_admin.model, model_admin.date_hierarchy)[-1]
    assert isinstance(field, models.DateField)


@by_label
def test_it_exports_the_list_as_csv(model_admin: admin.ModelAdmin, officer_request: Any) -> None:
    assert "export_as_csv" in model_admin.get_actions(officer_request)


@by_label
def test_its_history_is_readable_where_it_is_kept(model_admin: admin.ModelAdmin) -> None:
    assert isinstance(model_admin, GovernedHistoryAdmin) == has_history(model_admin.model)


@by_label
def test_it_is_no_path_around_a_service(model_admin: admin.ModelAdmin, root_request: Any) -> None:
    """What the admin lets anyone write, it writes through a service (save_model,
    delete_model); a bulk delete (delete_queryset) would go around it, so there is none."""
    if model_admin.has_add_permission(root_request) or model_admin.has_change_permission(
        root_request
    ):
        assert ours(model_admin, "save_model")
    if model_admin.has_delete_permission(root_request):
        assert ours(model_admin, "delete_model")
    assert "delete_selected" not in model_admin.get_actions(root_request)
    for inline_class in model_admin.inlines:
        inline = inline_class(model_admin.model, model_admin.admin_site)
        assert not inline.has_add_permission(root_request, None), inline_class.__name__
        assert not inline.has_change_permission(root_request, None), inline_class.__name__
        assert not inline.has_delete_permission(root_request, None), inline_class.__name__


@pytest.fixture
def console(
    users: dict[str, Any], make_model: Any, make_version: Any, settings: Any
) -> dict[str, Any]:
    """A row of every governed kind that services make simply (WITH_ROWS)."""
    settings.AUDIT_SIGNING_KEY = signing_key_generate("tests")
    world = governed_rows(users, make_model, make_version)
    model, version, officer = world["model"], world["version"], users["compliance"]
    user_token(user=officer)
    with acting_as(origin=Origin.SYSTEM), TestCase.captureOnCommitCallbacks(execute=True):
        incident_open(
            model=model,
            version=version,
            severity="warning",
            source="manual",
            title="Scores drift",
            description="Something broke.",
            actor=users["ds"],
        )
        raise_finding(model, users["validator"])
        validate(model, users["validator"])
        retention_policy_set(actor=officer, model=model, inference_log_days=90)
        consent_withdraw(actor=officer, subject_id="subject-1")
        materiality_set(actor=officer, model=model, materiality="high", reason="Credit.")
        revalidation_policy_save(
            actor=officer, risk_level="high", interval_months=12, reason="SR 26-2."
        )
        canary_gates_save(
            actor=officer, gates=CanaryGates(model=model, rules=canary_default_rules())
        )
        monitoring_config_put(actor=officer, model=model, source="{}", source_format="json")
        kpi_record(
            actor=users["ci"],
            model=model,
            name="monthly_churn",
            unit="%",
            direction="lower",
            periods=[{"start": "2026-01-01", "end": "2026-01-31", "value": 2.5}],
        )
        Prediction.objects.create(
            model=model,
            version=version,
            request_id="req-1",
            source=Prediction.Source.SERVED,
            slot=Prediction.Slot.PRODUCTION,
            occurred_at=timezone.now(),
            features={"tenure": 3},
            prediction=0.7,
        )
        ground_truth_record(
            actor=users["ci"], model=model, records=[{"request_id": "req-1", "label": 1}]
        )
    route(mailbox("compliance-mail", "compliance@example.com"))
    fire(plain_alert(version))
    audit_checkpoint_create()
    return world


def officer_client(users: dict[str, Any]) -> Client:
    client = Client()
    client.force_login(users["compliance"])
    return client


def url(model_admin: admin.ModelAdmin, view: str, *args: Any) -> str:
    opts = model_admin.model._meta
    return reverse(f"admin:{opts.app_label}_{opts.model_name}_{view}", args=args)


def test_every_list_opens_searched_and_drilled_down(
    users: dict[str, Any], console: dict[str, Any]
) -> None:
    client = officer_client(users)
    now = timezone.now()
    failed = []
    for model_admin in ADMINS:
        changelist = url(model_admin, "changelist")
        queries: list[dict[str, Any]] = [{}, {"q": "x"}, {"q": "churn"}]
        if model_admin.date_hierarchy:
            field = model_admin.date_hierarchy
            queries += [
                {f"{field}__year": now.year},
                {f"{field}__year": now.year, f"{field}__month": now.month, "q": "x"},
            ]
        for query in queries:
            response = client.get(changelist, query)
            if response.status_code != 200:  # an invalid lookup is a redirect to ?e=1
                failed.append(f"{model_admin.model._meta.label_lower} {query}: {response}")
    assert not failed


def test_every_row_made_opens_with_its_history(
    users: dict[str, Any], console: dict[str, Any]
) -> None:
    client = officer_client(users)
    opened, failed = set(), []
    for model_admin in ADMINS:
        label = model_admin.model._meta.label_lower
        pk = model_admin.model._default_manager.order_by("pk").values_list("pk", flat=True).first()
        if pk is None:
            continue
        opened.add(label)
        pages = ["change", "history"] if has_history(model_admin.model) else ["change"]
        for view in pages:
            response = client.get(url(model_admin, view, pk))
            if response.status_code != 200:
                failed.append(f"{label} {view}: {response}")
    assert not failed
    assert opened >= WITH_ROWS, sorted(WITH_ROWS - opened)
