"""What check tests share: logged windows, reference data, and kinds of their own."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pandas as pd
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from governance.audit_context import Origin, acting_as
from models_registry.models import ModelVersion, Prediction, ReferenceDataset
from models_registry.reference_data import reference_data_upload
from monitoring.checks.runner import CHECK_KINDS, CheckKind, CheckOutcome


def log_window(
    version: ModelVersion,
    rows: list[dict[str, Any]],
    *,
    minutes_ago: float = 30,
    prefix: str = "req",
) -> list[str]:
    """Logged records of `version`; each row {"features", "prediction", "attributes"?}."""
    from models_registry.serving.inference_log import inference_log_write

    now = timezone.now()
    # Through the inference log's write path: the rows, their columnar segment, the chain.
    inference_log_write(
        [
            Prediction(
                model=version.model,
                version=version,
                request_id=f"{prefix}-{i}",
                source=Prediction.Source.LOGGED,
                occurred_at=now - timedelta(minutes=minutes_ago) + timedelta(milliseconds=i),
                features=row["features"],
                attributes=row.get("attributes", {}),
                prediction=row["prediction"],
            )
            for i, row in enumerate(rows)
        ]
    )
    return [f"{prefix}-{i}" for i in range(len(rows))]


def upload_reference(actor: Any, version: ModelVersion, frame: pd.DataFrame) -> ReferenceDataset:
    """A CSV reference data set (its analysis task is not run: on_commit never fires here)."""
    upload = SimpleUploadedFile(
        "reference.csv", frame.to_csv(index=False).encode(), content_type="text/csv"
    )
    with acting_as(origin=Origin.SYSTEM):
        return reference_data_upload(actor=actor, version=version, upload=upload)


def parquet_bytes(frame: pd.DataFrame) -> bytes:
    handle = io.BytesIO()
    frame.to_parquet(handle)
    return handle.getvalue()


@pytest.fixture
def check_kinds() -> Iterator[dict[str, CheckKind]]:
    """Register kinds for one test; the registry is as it was afterwards."""
    saved = dict(CHECK_KINDS)
    yield CHECK_KINDS
    CHECK_KINDS.clear()
    CHECK_KINDS.update(saved)


def counting_kind(name: str = "test", **needs: Any) -> CheckKind:
    """Reads the window and its labels as the real kinds do; metrics are simple counts."""
    from monitoring.checks import inputs

    def run(check_run: Any, settings: Any) -> CheckOutcome:
        window = inputs.run_window(check_run, features=[], attributes=None)
        labels = inputs.window_labels(check_run, window)
        labelled = int((labels == labels).sum())
        return CheckOutcome(
            results={
                "request_ids": list(window.request_id),
                "labels": list(labels),
                "attributes": {k: list(v) for k, v in window.attributes.items()},
            },
            metrics={"rows": float(window.rows), "labelled": float(labelled), "nan": float("nan")},
            current_rows=window.rows,
            labelled_rows=labelled,
        )

    return CheckKind(name, run, **needs)
