"""The one way a registered model gets into memory: serving, warm-up and analysis call it.

In order, before any byte is deserialized:
1. the version's recorded artifact (digests and format, taken at registration) must exist;
2. a format that runs its author's code on load (pickle, cloudpickle, a pyfunc PythonModel)
   is refused unless ALLOW_UNSAFE_MODEL_FORMATS is on, and even then is loaded only where
   it may run: a Celery worker for analysis, an approved (deployed) version for serving;
3. the files are copied from MLflow into a private directory and re-hashed; any difference
   from the record refuses the load, is audited, and opens an incident (via a signal);
4. scikit-learn models are read with skops and our own trusted-type list.
"""

from __future__ import annotations

import logging
import tempfile
from enum import StrEnum
from pathlib import Path
from typing import Any

from django.conf import settings

from governance.errors import Conflict
from models_registry.model_artifact import (
    SKOPS,
    SKOPS_TRUSTED,
    ModelFormat,
    RecordedArtifact,
    contained_file,
    digest_mismatches,
    file_digests,
)
from models_registry.models import DeploymentEvent, ModelVersion

logger = logging.getLogger(__name__)


class LoadPurpose(StrEnum):
    SERVING = "serving"
    ANALYSIS = "analysis"


class ModelNotLoadable(Conflict):
    default_detail = "The version's model cannot be loaded."


class RefusedForSafety(ModelNotLoadable):
    """Refused because loading could run code or serve bytes nobody signed.

    Unlike other ModelNotLoadable cases (no logged model here at all), these mean someone
    must act: the warm-up logs them as warnings.
    """


class UnsafeModelFormat(RefusedForSafety):
    default_detail = "The model's format runs code when loaded; it is refused."


class ArtifactChanged(RefusedForSafety):
    default_detail = "The model's files differ from the digests recorded at registration."


class ArtifactNotRecorded(RefusedForSafety):
    default_detail = "The model's files were never recorded, so they cannot be checked."


def running_in_worker() -> bool:
    """True inside a task that a Celery worker process runs (not an in-process, eager one)."""
    from celery import current_task

    task = current_task._get_current_object()
    return task is not None and not task.request.is_eager


def analysis_queue(version: ModelVersion) -> str | None:
    """The queue for the version's analysis: the isolated one when loading runs its code.

    None: the default queue. A version whose format is safe may be analysed anywhere.
    """
    record = RecordedArtifact.of(version.run_facts)
    if record is not None and record.format is not None and record.format.unsafe_reason():
        return settings.UNSAFE_MODEL_ANALYSIS_QUEUE
    return None


def _was_deployed(version: ModelVersion) -> bool:
    """Production, canary, or once was (a rollback target): a promotion was approved."""
    live = (ModelVersion.Stage.PRODUCTION, ModelVersion.Stage.CANARY)
    return version.stage in live or DeploymentEvent.objects.filter(version=version).exists()


def _refuse_unsafe(version: ModelVersion, model_format: ModelFormat, purpose: LoadPurpose) -> None:
    reason = model_format.unsafe_reason()
    if not reason:
        return
    if not settings.ALLOW_UNSAFE_MODEL_FORMATS:
        raise UnsafeModelFormat(
            f"{version} is not loaded: {reason}. Log it with skops "
            "(mlflow.sklearn.log_model(..., serialization_format='skops')), or see "
            "ALLOW_UNSAFE_MODEL_FORMATS in SECURITY.md."
        )
    if purpose == LoadPurpose.ANALYSIS and not running_in_worker():
        raise UnsafeModelFormat(
            f"{version} is not analysed here: {reason}; such models are analysed only by a "
            f"Celery worker (queue '{settings.UNSAFE_MODEL_ANALYSIS_QUEUE}')."
        )
    if purpose == LoadPurpose.SERVING and not _was_deployed(version):
        raise UnsafeModelFormat(
            f"{version} is not served: {reason}, and it has not been approved for deployment."
        )


def model_load(*, version: ModelVersion, purpose: LoadPurpose) -> Any:
    """The version's model object, loaded only as the module docstring says.

    ModelNotLoadable (409) when it may not be loaded; MLflow errors (artifact gone, server
    down) pass through unchanged.
    """
    from models_registry import mlflow_adapter

    record = RecordedArtifact.of(version.run_facts)
    if record is None:
        raise ModelNotLoadable("The version has no logged MLflow model to load.")
    if not record.complete:
        raise ArtifactNotRecorded(
            f"{version} was registered before its model's files were recorded. A candidate "
            "records them when its card is regenerated (POST .../card/regenerate/); a version "
            "that was deployed only through `manage.py record_artifact_digests`, run by an "
            "operator (SECURITY.md, Model artifacts)."
        )
    _refuse_unsafe(version, record.format, purpose)
    scratch = Path(tempfile.mkdtemp(prefix=f"model-v{version.pk}-"))
    keep_copy = False
    try:
        local = mlflow_adapter.model_download(record.model_uri, scratch)
        _verify(version, record, local, purpose)
        if not record.format.unsafe_reason():
            return _load_skops(version, local, record.format)
        model = mlflow_adapter.model_load_code_executing(local, record.format)
        keep_copy = True  # such loaders may read their files later, lazily
        return model
    finally:
        if not keep_copy:
            _remove(scratch)


def _verify(
    version: ModelVersion, record: RecordedArtifact, local: Path, purpose: LoadPurpose
) -> None:
    problems = digest_mismatches(record.files, file_digests(local))
    if not problems:
        return
    from models_registry.services.artifacts import version_artifact_changed

    version_artifact_changed(version=version, problems=problems, purpose=str(purpose))
    listed = ", ".join(f"{path} ({what})" for path, what in problems.items())
    raise ArtifactChanged(
        f"{version} is not loaded: its model's files differ from the digests its signed card "
        f"records: {listed}. An incident was opened.",
        extra={"files": problems},
    )


def _load_skops(version: ModelVersion, local: Path, model_format: ModelFormat) -> Any:
    import skops.io
    from skops.io.exceptions import UntrustedTypesFoundException

    if model_format.flavor != "sklearn" or model_format.serialization != SKOPS:
        raise UnsafeModelFormat(f"{version}: no safe loader for its {model_format.describe()}.")
    try:  # skops refuses, before building anything, a type neither it nor we trust
        return skops.io.load(contained_file(local, model_format.model_file), trusted=SKOPS_TRUSTED)
    except UntrustedTypesFoundException as error:
        raise UnsafeModelFormat(
            f"{version} is not loaded: its skops file holds types outside the trusted list: {error}"
        ) from error


def _remove(directory: Path) -> None:
    import shutil

    shutil.rmtree(directory, ignore_errors=True)
