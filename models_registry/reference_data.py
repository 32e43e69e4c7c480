"""Reference data: the data set a version is explained on and drift is measured against."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction

from governance.errors import InvalidInput
from governance.roles import Capability
from governance.services import audit_record, require
from models_registry.models import ModelVersion, ReferenceDataset
from models_registry.reference_tables import read_table


def _invalid(message: str, field: str = "file") -> InvalidInput:
    return InvalidInput(message, extra={field: [message]})


def signature_inputs(version: ModelVersion) -> list[dict[str, Any]]:
    """The input columns of the logged model's signature, if the run had one.

    MLflow stores them as a JSON string; run facts may hold that string or its parse.
    Anything else (no signature, text that does not parse) is no signature.
    """
    signature = ((version.run_facts or {}).get("logged_model") or {}).get("signature") or {}
    inputs = signature.get("inputs") if isinstance(signature, dict) else None
    if isinstance(inputs, str):
        try:
            inputs = json.loads(inputs)
        except ValueError:
            return []
    if not isinstance(inputs, list):
        return []
    return [column for column in inputs if isinstance(column, dict) and column.get("name")]


def signature_features(version: ModelVersion) -> list[str]:
    """Input column names from the logged model's signature, if the run had one."""
    return [column["name"] for column in signature_inputs(version)]


def _feature_columns(
    version: ModelVersion, columns: list[str], label: str, protected: list[str], given: list[str]
) -> list[str]:
    expected = given or signature_features(version)
    if expected:
        missing = [name for name in expected if name not in columns]
        if missing:
            raise _invalid(f"Missing feature column(s): {', '.join(missing)}.")
        return expected
    return [name for name in columns if name != label and name not in protected]


def reference_data_upload(
    *,
    actor: Any,
    version: ModelVersion,
    upload: UploadedFile,
    label_column: str = "",
    feature_columns: list[str] | None = None,
) -> ReferenceDataset:
    """Store a CSV or Parquet reference data set for `version`; analysis runs afterwards."""
    require(actor, Capability.REGISTER, "upload reference data")
    if upload.size is not None and upload.size > settings.REFERENCE_DATA_MAX_BYTES:
        raise _invalid(f"The file is larger than {settings.REFERENCE_DATA_MAX_BYTES} bytes.")
    frame, parquet = read_table(upload, upload.name or "")
    columns = [str(column) for column in frame.columns]
    if frame.empty:
        raise _invalid("The file holds no rows.")
    if len(set(columns)) != len(columns):
        raise _invalid("Column names must be unique.")
    if label_column and label_column not in columns:
        raise _invalid(f"No column named '{label_column}'.", field="label_column")
    label = label_column or ("label" if "label" in columns else "")
    protected = [name for name in version.model.protected_attributes if name in columns]
    features = _feature_columns(version, columns, label, protected, feature_columns or [])
    digest = hashlib.sha256()
    for chunk in upload.chunks():
        digest.update(chunk)
    dataset = ReferenceDataset(
        model_version=version,
        original_name=(upload.name or "reference")[:255],
        format=ReferenceDataset.Format.PARQUET if parquet else ReferenceDataset.Format.CSV,
        sha256=digest.hexdigest(),
        rows=len(frame),
        columns={name: str(dtype) for name, dtype in zip(columns, frame.dtypes, strict=True)},
        feature_columns=features,
        label_column=label,
        protected_columns=protected,
        uploaded_by=actor,
    )
    return _store(dataset, upload)


@transaction.atomic
def _store(dataset: ReferenceDataset, upload: UploadedFile) -> ReferenceDataset:
    upload.seek(0)
    dataset.file.save(dataset.original_name.rsplit("/", 1)[-1], upload, save=False)
    dataset.save()
    version = dataset.model_version
    audit_record(
        action="version.reference_data_uploaded",
        object_type="model_version",
        object_id=f"{version.model.name}:{version.version}",
        data={"rows": dataset.rows, "sha256": dataset.sha256, "file": dataset.original_name},
    )
    from models_registry.inference_columns import version_kinds_forget
    from models_registry.model_loading import analysis_queue
    from models_registry.tasks import version_analyze

    transaction.on_commit(lambda: version_kinds_forget(version.pk))
    queue = analysis_queue(version)
    transaction.on_commit(
        lambda: version_analyze.apply_async((version.pk,), queue=queue), robust=True
    )
    return dataset


def reference_frame(dataset: ReferenceDataset) -> Any:
    """The stored data set as a pandas DataFrame (within the same limits as an upload)."""
    with dataset.file.open("rb") as handle:
        frame, _ = read_table(handle, dataset.file.name)
    return frame
