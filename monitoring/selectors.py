"""Reads shared by the API, admin, tasks and commands."""

from __future__ import annotations

from django.db.models import Prefetch, QuerySet

from governance.errors import Conflict, NotFound
from models_registry.models import ModelVersion, RegisteredModel
from monitoring.canary import CanaryEvaluation, canary_evaluate, gates_for
from monitoring.models import CheckReport, CheckRun, Incident, IncidentEvent


def incident_list() -> QuerySet[Incident]:
    return Incident.objects.select_related("model", "version")


def incident_get(*, incident_id: int) -> Incident:
    timeline = IncidentEvent.objects.select_related("actor").order_by("occurred_at", "id")
    try:
        return (
            incident_list()
            .prefetch_related(Prefetch("timeline", queryset=timeline))
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
