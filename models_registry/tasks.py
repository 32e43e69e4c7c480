"""Registry tasks: thin wrappers that load by id and call a service."""

from __future__ import annotations

from celery import shared_task
from django.db import OperationalError

from governance.audit_context import Origin, acting_as
from governance.locking import LockContention
from models_registry import consent, retention
from models_registry.cards import card_regenerate
from models_registry.mlflow_adapter import TrackingUnavailable
from models_registry.services import version_refresh_from_run


@shared_task(
    name="models_registry.card_generate",
    autoretry_for=(OperationalError, LockContention, TrackingUnavailable),
    retry_backoff=True,
    max_retries=5,
)
def card_generate(version_id: int, reason: str = "", refresh_run: bool = False) -> int | None:
    """Build a version's card; returns the new revision number, or None if nothing changed.

    With refresh_run, the version's MLflow run is read again first (new metrics, tags).
    """
    with acting_as(origin=Origin.TASK):
        if refresh_run:
            version_refresh_from_run(version_id=version_id)
        revision = card_regenerate(version_id=version_id, reason=reason)
    return revision.revision if revision else None


@shared_task(
    name="models_registry.version_analyze",
    autoretry_for=(OperationalError, LockContention, TrackingUnavailable),
    retry_backoff=True,
    max_retries=5,
)
def version_analyze(version_id: int) -> str | None:
    """Explain the version on its reference data, then rebuild its card."""
    from models_registry.analysis import version_analyze as analyze

    with acting_as(origin=Origin.TASK):
        analysis = analyze(version_id=version_id)
        card_regenerate(version_id=version_id, reason="reference data analysed")
    return analysis.status if analysis else None


@shared_task(name="models_registry.retention_apply_all", autoretry_for=(OperationalError,))
def retention_apply_all() -> list[str]:
    """The daily retention run (beat); `manage.py apply_retention` in the embedded mode."""
    with acting_as(origin=Origin.TASK):
        return [outcome.summary() for outcome in retention.retention_apply_all()]


@shared_task(name="models_registry.consent_erase", autoretry_for=(OperationalError,))
def consent_erase(withdrawal_id: int) -> int:
    """Erase a withdrawn subject's personal fields, on record; how many records."""
    with acting_as(origin=Origin.TASK):
        return consent.consent_erase(withdrawal_id=withdrawal_id)


@shared_task(name="models_registry.consent_erase_all", autoretry_for=(OperationalError,))
def consent_erase_all() -> int:
    """The daily run (beat): records logged since a withdrawal are erased too."""
    with acting_as(origin=Origin.TASK):
        return consent.consent_erase_all()


@shared_task(name="models_registry.inference_columns_compact", autoretry_for=(OperationalError,))
def inference_columns_compact() -> int:
    """Merge small inference-log segments (beat); `manage.py inference_columns_compact`."""
    from models_registry.inference_columns_upkeep import segments_compact

    return segments_compact()
