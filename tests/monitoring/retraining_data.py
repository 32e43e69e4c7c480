"""What retraining tests share: the churn model in production with logged, labelled traffic."""

from __future__ import annotations

from typing import Any

import numpy as np
from django.test import TestCase

from governance.audit_context import Origin, acting_as
from models_registry import demo_model
from models_registry import services as registry
from models_registry.models import ModelVersion, RegisteredModel
from monitoring.models import GroundTruth, RetrainingRun
from monitoring.retraining import retraining_execute, retraining_request
from tests.monitoring.check_helpers import log_window, upload_reference


def churn_in_production(
    users: dict[str, Any], make_model: Any, make_version: Any, run_id: str, reference: Any
) -> ModelVersion:
    """v1 of a churn model, registered from `run_id`, in production, with reference data."""
    model = make_model(protected_attributes=["gender"])
    version = make_version(model, mlflow_run_id=run_id)
    if reference is not None:
        upload_reference(users["ds"], version, reference)
    with acting_as(origin=Origin.SYSTEM):
        registry.deployment_promote(version=version, actor=users["ds"])
    version.refresh_from_db()
    return version


def drifted_traffic(
    version: ModelVersion, estimator: Any, *, rows: int, labelled: int, seed: int = 21
) -> None:
    """`rows` logged calls on shifted customers scored by `estimator`; `labelled` of them
    get their true label as ground truth."""
    data = demo_model.customers(rows=rows, seed=seed, shift=1.5)
    scores = estimator.predict_proba(data[demo_model.FEATURES])[:, 1]
    request_ids = log_window(
        version,
        [
            {
                "features": {name: _plain(row[name]) for name in demo_model.FEATURES},
                "attributes": {"gender": row["gender"]},
                "prediction": float(score),
            }
            for (_, row), score in zip(data.iterrows(), scores, strict=True)
        ],
        prefix=f"retrain-{seed}",
    )
    GroundTruth.objects.bulk_create(
        GroundTruth(model=version.model, request_id=rid, label=float(label))
        for rid, label in zip(request_ids[:labelled], data[demo_model.LABEL], strict=False)
    )


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def run_retraining(actor: Any, model: RegisteredModel, **kwargs: Any) -> RetrainingRun:
    """Request a run and let every on-commit callback run (the task, the card, reviews)."""
    kwargs.setdefault("trigger", RetrainingRun.Trigger.API)
    with acting_as(origin=Origin.SYSTEM), TestCase.captureOnCommitCallbacks(execute=True):
        run = retraining_request(actor=actor, model_name=model.name, **kwargs)
    run.refresh_from_db()
    return run


def execute_again(run: RetrainingRun) -> RetrainingRun:
    with TestCase.captureOnCommitCallbacks(execute=True):
        return retraining_execute(run_id=run.pk)
