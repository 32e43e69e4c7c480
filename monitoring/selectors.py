"""Reads shared by the API, admin, tasks and commands."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db.models import OuterRef, Prefetch, QuerySet, Subquery

from governance.errors import Conflict, NotFound
from models_registry.models import ModelVersion, RegisteredModel
from monitoring.canary import CanaryEvaluation, canary_evaluate, gates_for
from monitoring.models import (
    Alert,
    CheckMetric,
    CheckReport,
    CheckRun,
    Incident,
    IncidentEvent,
    MonitoringConfig,
)


def incident_list() -> QuerySet[Incident]:
    return Incident.objects.select_related("model", "version", "owner", "reported_by")


def incident_get(*, incident_id: int) -> Incident:
    """One incident with its timeline (oldest first) and its alerts (newest first)."""
    timeline = IncidentEvent.objects.select_related("actor").order_by("occurred_at", "id")
    alerts = Alert.objects.select_related("version").order_by("-last_seen", "-id")
    try:
        return (
            incident_list()
            .prefetch_related(
                Prefetch("timeline", queryset=timeline), Prefetch("alerts", queryset=alerts)
            )
            .get(pk=incident_id)
        )
    except (Incident.DoesNotExist, ValueError, TypeError):
        raise NotFound(f"No incident #{incident_id}.") from None


def canary_versions(*, model_name: str | None = None) -> QuerySet[ModelVersion]:
    """Versions on canary now, one per model at most, by model name."""
    versions = ModelVersion.objects.filter(stage=ModelVersion.Stage.CANARY).select_related("model")
    if model_name is not None:
        versions = versions.filter(model__name=model_name)
    return versions.order_by("model__name")


def production_version(*, model: RegisteredModel) -> ModelVersion | None:
    return ModelVersion.objects.filter(model=model, stage=ModelVersion.Stage.PRODUCTION).first()


def canary_evaluation_current(*, model: RegisteredModel) -> CanaryEvaluation:
    """The model's canary measured now, without acting on it; 409 when there is none."""
    canary = canary_versions().filter(model=model).first()
    production = production_version(model=model)
    if canary is None:
        raise Conflict(
            f"{model.name} has no canary version.",
            extra={"production_version": production.version if production else None},
        )
    return canary_evaluate(
        model=canary.model, canary=canary, production=production, gates=gates_for(model)
    )


def check_run_list(*, model: RegisteredModel | None = None) -> QuerySet[CheckRun]:
    runs = CheckRun.objects.select_related("model", "version", "requested_by")
    return runs if model is None else runs.filter(model=model)


def check_run_get(*, run_id: int, kind: str) -> CheckRun:
    """A run of that kind (a drift run through the quality route is not found)."""
    try:
        return check_run_list().prefetch_related("metrics").get(pk=run_id, kind=kind)
    except (CheckRun.DoesNotExist, ValueError, TypeError):
        raise NotFound(f"No {kind} check #{run_id}.") from None


def check_metrics_latest(
    *, model: RegisteredModel, before: datetime | None = None
) -> QuerySet[CheckMetric]:
    """The newest value of each metric name the model's checks produced (computed before
    `before`, if given: what the model's metrics said at that moment)."""
    rows = CheckMetric.objects.filter(model=model)
    if before is not None:
        rows = rows.filter(computed_at__lt=before)
    newest = rows.filter(name=OuterRef("name")).order_by("-computed_at", "-id")
    return (
        rows.filter(pk=Subquery(newest.values("pk")[:1])).select_related("version").order_by("name")
    )


def check_metric_history(*, model: RegisteredModel, name: str) -> QuerySet[CheckMetric]:
    """Every value of one metric, newest first."""
    return (
        CheckMetric.objects.filter(model=model, name=name)
        .select_related("version")
        .order_by("-computed_at", "-id")
    )


def monitoring_config_shown(*, model: RegisteredModel) -> dict[str, Any]:
    """The model's config as the API and pages show it; the defaults when none is stored."""
    from monitoring.config import default_document, document_yaml

    config = MonitoringConfig.objects.select_related("updated_by").filter(model=model).first()
    if config is None:
        document = default_document(model)
        return {
            "configured": False,
            "document": document,
            "source": document_yaml(document),
            "source_format": "yaml",
            "updated_at": None,
            "updated_by": None,
        }
    return {
        "configured": True,
        "document": config.document,
        "source": config.source,
        "source_format": config.source_format,
        "updated_at": config.updated_at,
        "updated_by": config.updated_by.username if config.updated_by else None,
    }


def check_list(*, model: RegisteredModel) -> QuerySet[CheckRun]:
    return CheckRun.objects.filter(model=model).select_related("version", "requested_by", "report")


def check_get(*, model: RegisteredModel, check_id: int) -> CheckRun:
    """One check of the model, with what its page shows; 404 for another model's check."""
    try:
        return (
            CheckRun.objects.select_related("model", "version", "reference", "requested_by")
            .prefetch_related("metrics")
            .get(pk=check_id, model=model)
        )
    except (CheckRun.DoesNotExist, ValueError, TypeError):
        raise NotFound(f"{model.name} has no check #{check_id}.") from None


def check_report_get(*, run: CheckRun) -> CheckReport | None:
    return CheckReport.objects.filter(run=run).select_related("requested_by").first()


def check_report_of(*, check_id: int) -> CheckReport:
    report = CheckReport.objects.select_related("run__model").filter(run_id=check_id).first()
    if report is None:
        raise NotFound(f"No report of check #{check_id} was asked for.")
    return report
