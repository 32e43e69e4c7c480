"""The monitoring config of a model: validated by monitoring/config.py, stored with history."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from django.conf import settings
from django.db import transaction

from governance.errors import InvalidInput
from governance.history import set_change_reason
from governance.roles import Capability
from governance.services import audit_record, require
from models_registry.locking import lock_model_for_change
from models_registry.models import RegisteredModel
from monitoring.config import config_normalize, model_features, source_load
from monitoring.models import MonitoringConfig


def document_hash(document: dict[str, Any] | None) -> str | None:
    """SHA-256 of the normalized document in canonical JSON (None: no config before)."""
    if document is None:
        return None
    canonical = json.dumps(document, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def monitoring_config_validate(*, model: RegisteredModel, source: str, source_format: str) -> dict:
    """The normalized document of `source`, or InvalidInput naming each bad path."""
    if len(source.encode()) > settings.DATA_UPLOAD_MAX_MEMORY_SIZE:
        raise InvalidInput("The config is too large.", extra={"source": ["Too large."]})
    if "\x00" in source:
        raise InvalidInput("The config holds a NUL character.", extra={"source": ["NUL."]})
    data = source_load(source, source_format)
    return config_normalize(
        data, features=model_features(model), protected=list(model.protected_attributes)
    )


@transaction.atomic
def monitoring_config_put(
    *, actor: Any, model: RegisteredModel, source: str, source_format: str, origin_label: str = ""
) -> MonitoringConfig:
    """Validate and store the model's config; unchanged source and document store nothing."""
    require(actor, Capability.CONFIGURE_MONITORING, "change a monitoring config")
    document = monitoring_config_validate(model=model, source=source, source_format=source_format)
    lock_model_for_change(model.pk, live=False)
    config = MonitoringConfig.objects.filter(model=model).first()
    before = config.document if config is not None else None
    if config is not None and before == document and config.source == source:
        return config
    changed = sorted(
        key for key in document if before is None or before.get(key) != document.get(key)
    )
    if config is None:
        config = MonitoringConfig(model=model)
    config.document = document
    config.source = source
    config.source_format = source_format
    config.updated_by = actor if getattr(actor, "pk", None) else None
    where = f" in {origin_label}" if origin_label else ""
    set_change_reason(config, f"changed{where}: {', '.join(changed) or 'source text'}"[:100])
    config.save()
    audit_record(
        action="monitoring_config.changed",
        object_type="model",
        object_id=model.name,
        data={
            "previous_sha256": document_hash(before),
            "sha256": document_hash(document),
            "changed": changed,
            "source_format": source_format,
        },
        actor=actor,
    )
    return config
