"""Monitoring listens to the registry: a model whose files changed becomes an incident; a
model that reaches production gets its default check schedules."""

from __future__ import annotations

from typing import Any

from django.dispatch import receiver

from models_registry.signals import deployment_changed, model_artifact_changed
from monitoring.services.artifact_incidents import incident_open_for_changed_artifact
from monitoring.services.check_schedules import check_schedules_ensure


@receiver(model_artifact_changed)
def incident_on_changed_artifact(
    sender: Any, version: Any, problems: dict[str, str], purpose: str, **kwargs: Any
) -> None:
    incident_open_for_changed_artifact(version=version, problems=problems, purpose=purpose)


@receiver(deployment_changed)
def check_schedules_on_deployment(sender: Any, model: Any, event: Any, **kwargs: Any) -> None:
    check_schedules_ensure(model=model)
