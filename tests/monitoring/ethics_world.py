"""A model seen by the ethics dashboard, seeded through the real services.

`seed_ethics_model` gives one model, counted by hand:

- v1 (no logged MLflow model: served elsewhere, cannot be explained here): 80 recent
  predictions with a gender each, no explanation: women selected 10 of 40, men 30 of 40, so
  the real fairness check finds a demographic parity difference of 0.5 against the rule
  `demographic_parity_difference.gender >= 0.2`: a breach. Two more predictions 40 days old
  (past the 30-day retention), one of them explained.
  -> 82 predictions, 1 explained, 0 can get one.
- v2 (a logged MLflow model recorded: explained here): 4 recent predictions, 2 explained;
  of the other 2, one is about subject `gone` who withdrew consent and was erased, the
  other about `waiting`, whose withdrawal is recorded but not yet erased; and one failed
  call (no prediction). -> 4 predictions, 2 explained, 1 can get one (the erased one cannot).
- Coverage of the model: (1 + 2 + 1) of 86.
- Retention: inference log 30 days (2 records past it), reference data 10 days (v1's
  reference data set, uploaded 20 days ago, is past it).
- Withdrawn consent still present: 1 subject (`waiting`) in 1 record.
- Flags: 2 unfair, 1 wrong.

The counts hold inside a test's transaction (pytest's default): there the erasure that
`consent_withdraw` queues on commit runs only for `gone`. With real commits
(`django_db(transaction=True)`, the browser tests) `waiting` is erased at once too.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pandas as pd
from django.test import TestCase
from django.utils import timezone

from governance.audit_context import Origin, acting_as
from models_registry.consent import consent_withdraw
from models_registry.models import ModelVersion, Prediction, ReferenceDataset
from models_registry.retention import retention_policy_set
from models_registry.serving.inference_log import inference_log_write
from monitoring.config import config_normalize
from monitoring.models import CheckRun, MonitoringConfig
from monitoring.services import check_request, flag_create
from tests.monitoring.check_helpers import log_window, upload_reference

EXPLANATION = {"base_value": 0.4, "shap": {"tenure": 0.1}}
BREACH = "breach: demographic_parity_difference.gender 0.5 >= 0.2"
LOGGED_MODEL = {"logged_model": {"model_uri": "runs:/0123456789abcdef/model"}}


def _log(version: ModelVersion, prefix: str, rows: list[dict[str, Any]], days_ago: float = 0):
    now = timezone.now() - timedelta(days=days_ago, minutes=20)
    inference_log_write(
        [
            Prediction(
                model=version.model,
                version=version,
                request_id=f"{prefix}-{i}",
                source=Prediction.Source.LOGGED,
                occurred_at=now + timedelta(milliseconds=i),
                features={"tenure": 3.0},
                prediction=row.get("prediction", 0.5),
                explanation=row.get("explanation"),
                subject_id=row.get("subject", ""),
                error=row.get("error", ""),
            )
            for i, row in enumerate(rows)
        ]
    )


def seed_ethics_model(users: dict[str, Any], make_model: Any, make_version: Any, name: str):
    """The model described above; returns it with its breaching fairness run."""
    model = make_model(name=name, protected_attributes=["gender"])
    rule = {"metric": "demographic_parity_difference.gender", "threshold": 0.2}
    document = config_normalize(
        {"alerts": [{**rule, "severity": "critical"}]}, features=None, protected=["gender"]
    )
    MonitoringConfig.objects.create(model=model, document=document)
    v1 = make_version(model)
    v2 = make_version(model)
    ModelVersion.objects.filter(pk=v2.pk).update(run_facts=LOGGED_MODEL)

    fair_rows = [
        {
            "features": {"tenure": 3.0},
            "prediction": 0.9 if (i < 10 if gender == "f" else i < 30) else 0.1,
            "attributes": {"gender": gender},
        }
        for gender in ("f", "m")
        for i in range(40)
    ]
    log_window(v1, fair_rows, prefix=f"{name}-fair")
    _log(v1, f"{name}-old", [{"explanation": EXPLANATION}, {}], days_ago=40)
    _log(
        v2,
        f"{name}-v2",
        [
            {"explanation": EXPLANATION},
            {"explanation": EXPLANATION},
            {"subject": f"{name}-gone"},
            {"subject": f"{name}-waiting"},
            {"prediction": None, "error": "model failed"},
        ],
    )
    with acting_as(origin=Origin.SYSTEM):
        with TestCase.captureOnCommitCallbacks(execute=True):
            consent_withdraw(actor=users["compliance"], subject_id=f"{name}-gone")
        consent_withdraw(actor=users["compliance"], subject_id=f"{name}-waiting")  # not erased
        retention_policy_set(
            actor=users["compliance"], model=model, inference_log_days=30, reference_data_days=10
        )
        reference = upload_reference(
            users["ds"], v1, pd.DataFrame({"tenure": [1.0, 2.0, 3.0], "gender": ["f", "m", "f"]})
        )
        ReferenceDataset.objects.filter(pk=reference.pk).update(
            uploaded_at=timezone.now() - timedelta(days=20)
        )
        flag_create(actor=users["ds"], model=model, request_id=f"{name}-fair-0", reason="unfair")
        flag_create(actor=users["board"], model=model, request_id=f"{name}-fair-0", reason="unfair")
        flag_create(actor=users["ds"], model=model, request_id=f"{name}-fair-1", reason="wrong")
        with TestCase.captureOnCommitCallbacks(execute=True):
            run = check_request(actor=users["ds"], model=model, version=1, kind="fairness")
    run.refresh_from_db()
    assert run.status == CheckRun.Status.DONE, run.error
    return model, run
