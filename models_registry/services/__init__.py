"""Every change to the registry. Callers import from here; the modules split it by topic."""

from models_registry.services.deployments import (
    deployment_promote,
    deployment_rollback,
    deployment_start_canary,
    deployment_stop_canary,
    rollback_target,
    version_reject,
)
from models_registry.services.inventory import (
    EDITABLE_MODEL_FIELDS,
    CardRegeneration,
    card_queue,
    card_regeneration_request,
    model_create,
    model_update,
    version_refresh_from_run,
    version_register,
    version_update_notes,
)

__all__ = [
    "EDITABLE_MODEL_FIELDS",
    "CardRegeneration",
    "card_queue",
    "card_regeneration_request",
    "deployment_promote",
    "deployment_rollback",
    "deployment_start_canary",
    "deployment_stop_canary",
    "model_create",
    "model_update",
    "rollback_target",
    "version_refresh_from_run",
    "version_register",
    "version_reject",
    "version_update_notes",
]
