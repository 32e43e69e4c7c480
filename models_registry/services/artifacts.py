"""What happens when a model's files no longer match the digests recorded at registration."""

from __future__ import annotations

from django.db import transaction

from governance.services import audit_record
from models_registry.models import ModelVersion
from models_registry.signals import model_artifact_changed


@transaction.atomic
def version_artifact_changed(
    *, version: ModelVersion, problems: dict[str, str], purpose: str
) -> None:
    """Put the refused load on the audit chain; monitoring opens the incident on commit.

    The caller refuses the load itself: this only records it, so the record commits even
    though the request that found it fails.
    """
    audit_record(
        action="version.artifact_changed",
        object_type="model_version",
        object_id=f"{version.model.name}:{version.version}",
        data={"files": problems, "purpose": purpose},
    )
    transaction.on_commit(
        lambda: model_artifact_changed.send(
            sender=ModelVersion, version=version, problems=problems, purpose=purpose
        ),
        robust=True,
    )
