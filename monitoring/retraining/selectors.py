"""Reads of retraining runs that the API, the admin and pages share."""

from __future__ import annotations

from django.db.models import QuerySet

from governance.errors import NotFound
from models_registry.models import RegisteredModel
from monitoring.models import RetrainingRun


def retraining_run_list(*, model: RegisteredModel | None = None) -> QuerySet[RetrainingRun]:
    runs = RetrainingRun.objects.select_related(
        "model", "base_version", "candidate_version", "requested_by"
    )
    return runs if model is None else runs.filter(model=model)


def retraining_run_get(*, run_id: int) -> RetrainingRun:
    try:
        return retraining_run_list().get(pk=run_id)
    except (RetrainingRun.DoesNotExist, ValueError, TypeError):
        raise NotFound(f"No retraining run #{run_id}.") from None
