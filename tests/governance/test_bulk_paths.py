"""Bulk paths on governed models write history and an audit event; the admin has no bulk delete.

simple-history alone records nothing for QuerySet.update, bulk_create and bulk_update; every
governed model's default manager (governance.history.GovernedQuerySet) makes them write one
history row per object and one audit event per call. Each governed model is checked.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.apps import apps
from django.contrib import admin
from django.db.models import F
from django.test import RequestFactory
from django.utils import timezone

from governance.audit_context import Origin, acting_as
from governance.history import GovernedQuerySet
from governance.models import AuditEvent
from models_registry.models import DeploymentEvent, RegisteredModel, RetentionPolicy
from models_registry.retention import retention_policy_set
from monitoring.models import (
    Alert,
    CanaryGates,
    MonitoringConfig,
    NotificationEndpoint,
    NotificationRoute,
    RetrainingRun,
)
from monitoring.services.incidents import incident_open
from reviews import services as reviews
from reviews.finding_services import finding_raise
from reviews.impact_models import BusinessImpactReview, BusinessKpi, KpiValue
from reviews.revalidation_services import (
    materiality_set,
    revalidation_policy_save,
    validation_record,
)
from reviews.summary.period import previous_week
from reviews.summary.services import review_summary_store
from tests.reviews.meeting_world import meeting_rows

GOVERNED = sorted(
    (
        m
        for m in apps.get_models()
        if issubclass(m._default_manager._queryset_class, GovernedQuerySet)
    ),
    key=lambda m: m._meta.label,
)
LABELS = [m._meta.label for m in GOVERNED]


@pytest.fixture
def world(users: dict[str, Any], make_model: Any, make_version: Any) -> None:
    """One row of every governed model."""
    model = make_model(risk_tier="low")
    version = make_version(model)
    with acting_as(origin=Origin.SYSTEM, user=users["ci"]):
        request = reviews.promotion_request_create(
            actor=users["ci"], version=version, justification="better"
        )
    with acting_as(origin=Origin.SYSTEM, user=users["board"]):
        reviews.signoff_create(actor=users["board"], request_id=request.pk, decision="approve")
    incident = incident_open(
        model=model, severity="warning", source="manual", title="t", description="d"
    )
    CanaryGates.objects.create(model=model)
    now = timezone.now()
    Alert.objects.create(
        model=model,
        version=version,
        rule_key="k",
        metric="drift_share",
        value=0.7,
        threshold=0.5,
        comparison=">=",
        severity="warning",
        first_seen=now,
        last_seen=now,
        incident=incident,
    )
    endpoint = NotificationEndpoint.objects.create(
        name="team", kind="email", email_addresses=["team@example.org"]
    )
    NotificationRoute.objects.create(endpoint=endpoint, model=model, min_severity="warning")
    RetrainingRun.objects.create(
        model=model, base_version=version, window_start=now - timedelta(hours=1), window_end=now
    )
    MonitoringConfig.objects.create(model=model)
    retention_policy_set(actor=users["compliance"], model=model, inference_log_days=30)
    meeting_rows(users, model=model)
    kpi = BusinessKpi.objects.create(
        model=model, name="churn", direction="lower", created_by=users["ci"]
    )
    KpiValue.objects.create(
        kpi=kpi,
        period_start=now.date() - timedelta(days=30),
        period_end=now.date() - timedelta(days=1),
        value=2.5,
        recorded_by=users["ci"],
    )
    event = DeploymentEvent.objects.create(model=model, kind="promoted", version=version)
    BusinessImpactReview.objects.create(
        model=model,
        version=version,
        deployment_event=event,
        promoted_at=event.occurred_at,
        due_on=now.date() + timedelta(days=30),
    )
    revalidation_policy_save(
        actor=users["compliance"], risk_level="high", interval_months=4, reason="tighter"
    )
    materiality_set(actor=users["compliance"], model=model, materiality="high", reason="credit")
    validation = validation_record(
        actor=users["validator"], model=model, scope="back-test", outcome="failed"
    )
    finding_raise(
        actor=users["validator"],
        model=model,
        title="t",
        description="d",
        severity="high",
        validation=validation,
    )
    with acting_as(origin=Origin.TASK):
        review_summary_store(period=previous_week())


def governed(label: str) -> Any:
    return apps.get_model(label)


def test_every_model_with_history_is_governed():
    with_history = sorted(m._meta.label for m in apps.get_models() if hasattr(m, "history"))
    assert with_history == LABELS
    assert len(LABELS) == 27


@pytest.mark.parametrize("label", LABELS)
def test_queryset_update_writes_history_and_an_audit_event(world, users, label):
    model = governed(label)
    obj = model.objects.order_by("pk").first()
    before = obj.history.count()
    with acting_as(origin=Origin.COMMAND, user=users["compliance"]):
        assert model.objects.filter(pk=obj.pk).update(id=F("id")) == 1
    latest = obj.history.order_by("history_id").last()
    assert obj.history.count() == before + 1
    assert (latest.history_type, latest.history_origin) == ("~", "command")
    assert latest.history_user == users["compliance"]
    event = AuditEvent.objects.get(action=f"{model._meta.model_name}.bulk_updated")
    assert event.data["pks"] == [obj.pk] and event.actor == users["compliance"]


@pytest.mark.parametrize("label", LABELS)
def test_bulk_update_writes_history_and_an_audit_event(world, label):
    model = governed(label)
    objs = list(model.objects.order_by("pk")[:1])
    field = next(
        f.name
        for f in model._meta.concrete_fields
        if not f.primary_key and not f.is_relation and not getattr(f, "auto_now", False)
    )
    before = objs[0].history.count()
    model.objects.bulk_update(objs, [field])
    assert objs[0].history.count() == before + 1
    event = AuditEvent.objects.get(action=f"{model._meta.model_name}.bulk_updated")
    assert event.data["fields"] == [field]


def test_bulk_create_writes_history_and_an_audit_event(world, users):
    created = RegisteredModel.objects.bulk_create(
        [
            RegisteredModel(name="bulk-a", owner=users["ds"], risk_tier="low"),
            RegisteredModel(name="bulk-b", owner=users["ds"], risk_tier="low"),
        ]
    )
    for model in created:
        assert model.history.get().history_type == "+"
    event = AuditEvent.objects.get(action="registeredmodel.bulk_created")
    assert sorted(event.data["pks"]) == sorted(m.pk for m in created)


def test_queryset_delete_writes_history_and_an_audit_event(world):
    policy = RetentionPolicy.objects.get()
    RetentionPolicy.objects.filter(pk=policy.pk).delete()
    assert policy.history.order_by("history_id").last().history_type == "-"
    assert AuditEvent.objects.get(action="retentionpolicy.bulk_deleted").data["pks"] == [policy.pk]


@pytest.mark.parametrize(
    "label", [label for label in LABELS if governed(label) in admin.site._registry]
)
def test_the_admin_offers_no_bulk_delete_on_a_governed_model(world, users, label):
    request = RequestFactory().get("/admin/")
    request.user = users["compliance"]
    model_admin = admin.site._registry[governed(label)]
    assert "delete_selected" not in model_admin.get_actions(request)
