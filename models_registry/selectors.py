"""Reads shared by the API, pages and tasks."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from django.db.models import OuterRef, QuerySet, Subquery

from governance.errors import NotFound
from models_registry.models import (
    DeploymentEvent,
    ModelCardRevision,
    ModelVersion,
    RegisteredModel,
    RetentionPolicy,
)


def _stage_version(stage: str) -> Subquery:
    return Subquery(
        ModelVersion.objects.filter(model=OuterRef("pk"), stage=stage).values("version")[:1]
    )


def model_list() -> QuerySet[RegisteredModel]:
    """Models with their production and canary version numbers annotated."""
    return RegisteredModel.objects.select_related("owner").annotate(
        production_version_number=_stage_version(ModelVersion.Stage.PRODUCTION),
        canary_version_number=_stage_version(ModelVersion.Stage.CANARY),
    )


def model_get(*, name: str) -> RegisteredModel:
    try:
        return model_list().get(name=name)
    except RegisteredModel.DoesNotExist:
        raise NotFound(f"No model named '{name}'.") from None


def version_list(*, model: RegisteredModel) -> QuerySet[ModelVersion]:
    return ModelVersion.objects.filter(model=model).select_related("model", "registered_by")


def version_get(*, model_name: str, version: int) -> ModelVersion:
    try:
        return ModelVersion.objects.select_related("model__owner", "registered_by").get(
            model__name=model_name, version=version
        )
    except ModelVersion.DoesNotExist:
        if not RegisteredModel.objects.filter(name=model_name).exists():
            raise NotFound(f"No model named '{model_name}'.") from None
        raise NotFound(f"{model_name} has no version {version}.") from None


def deployment_events(*, model: RegisteredModel) -> QuerySet[DeploymentEvent]:
    return DeploymentEvent.objects.filter(model=model).select_related(
        "version", "previous_version", "actor"
    )


def deployment_events_between(
    *, start: datetime, end: datetime, kinds: Iterable[str] | None = None
) -> QuerySet[DeploymentEvent]:
    """Every model's deployment events in [start, end) (of `kinds` if given), oldest first."""
    events = DeploymentEvent.objects.filter(occurred_at__gte=start, occurred_at__lt=end)
    if kinds is not None:
        events = events.filter(kind__in=list(kinds))
    return events.select_related("model", "version__model", "previous_version", "actor").order_by(
        "occurred_at", "id"
    )


def card_latest(*, version: ModelVersion) -> ModelCardRevision | None:
    return version.card_revisions.order_by("-revision").first()


def card_revision_get(*, version: ModelVersion, revision: int) -> ModelCardRevision:
    found = version.card_revisions.filter(revision=revision).first()
    if found is None:
        raise NotFound(f"{version} has no card revision {revision}.")
    return found


def retention_policy_get(*, model: RegisteredModel) -> RetentionPolicy:
    """The model's retention policy; without one, an unsaved policy with the defaults
    (everything kept, no legal hold, legal basis not recorded) and no `updated_at`."""
    return RetentionPolicy.objects.filter(model=model).first() or RetentionPolicy(model=model)
