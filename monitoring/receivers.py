"""Monitoring listens to the registry: a model whose files changed becomes an incident."""

from __future__ import annotations

from typing import Any

from django.dispatch import receiver

from models_registry.signals import model_artifact_changed
from monitoring.services.artifact_incidents import incident_open_for_changed_artifact


@receiver(model_artifact_changed)
def incident_on_changed_artifact(
    sender: Any, version: Any, problems: dict[str, str], purpose: str, **kwargs: Any
) -> None:
    incident_open_for_changed_artifact(version=version, problems=problems, purpose=purpose)
