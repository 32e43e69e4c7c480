"""Monitoring listens to the registry: a model whose files changed becomes an incident; a
model that reaches production gets its default check schedules; a deployment or rollback
goes on the timeline of the model's incidents that are not closed."""

from __future__ import annotations

from typing import Any

from django.dispatch import receiver

from models_registry.signals import deployment_changed, model_artifact_changed
from monitoring.services.artifact_incidents import incident_open_for_changed_artifact
from monitoring.services.check_schedules import check_schedules_ensure
from monitoring.services.incidents import incident_deployment_record


@receiver(model_artifact_changed)
def incident_on_changed_artifact(
    sender: Any, version: Any, problems: dict[str, str], purpose: str, **kwargs: Any
) -> None:
    incident_open_for_changed_artifact(version=version, problems=problems, purpose=purpose)


@receiver(deployment_changed)
def check_schedules_on_deployment(sender: Any, model: Any, event: Any, **kwargs: Any) -> None:
    check_schedules_ensure(model=model)


@receiver(deployment_changed)
def incident_timeline_on_deployment(sender: Any, model: Any, event: Any, **kwargs: Any) -> None:
    incident_deployment_record(event=event)
