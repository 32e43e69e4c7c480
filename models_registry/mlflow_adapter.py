"""The one module that talks to MLflow: reads runs and loads logged models.

Everything else in the project sees plain data (RunFacts) or a loaded model object, so the
rest of the code never imports mlflow (a 2 s import) and tests of other parts stay fast.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import warnings
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from importlib import metadata
from pathlib import Path
from typing import Any

from django.conf import settings

from governance.errors import InvalidInput, ServiceUnavailable
from models_registry.model_artifact import (
    CLOUDPICKLE,
    MLMODEL,
    SKOPS,
    SKOPS_TRUSTED,
    ModelFormat,
    file_digests,
)

logger = logging.getLogger(__name__)

# A CI job should get a clear 503 in seconds, not wait through MLflow's default retries.
os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "1")
os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "10")
os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")

REGISTERED_MODEL_META = "registered_model_meta"
NOT_FOUND_CODES = {"RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE", "NOT_FOUND"}
# Tags MLflow sets itself; the card shows them in their own fields, not among user tags.
SYSTEM_TAG_PREFIX = "mlflow."
MAX_ARTIFACTS = 500
MAX_HISTORY_POINTS = 200


class RunNotFound(InvalidInput):
    default_detail = "No MLflow run with that id."


class TrackingUnavailable(ServiceUnavailable):
    default_detail = "The MLflow tracking server is unreachable."


class ModelFilesUnreadable(InvalidInput):
    """The run's logged model could not be copied or read: nothing to record or check.

    Registering it anyway would store a version that can never load (no digests), so it is
    refused like an unknown run: a 400 naming `mlflow_run_id`.
    """

    default_detail = "The run's logged model could not be read."

    @classmethod
    def of(cls, run_id: str, model_uri: str, error: Exception) -> ModelFilesUnreadable:
        message = (
            f"The model logged to MLflow run '{run_id}' ({model_uri}) could not be read, so its "
            f"files' digests and format cannot be recorded: {type(error).__name__}: "
            f"{str(error)[:200]}. Nothing was stored; log the model again (or retry if the "
            "artifact store was unreachable)."
        )
        return cls(message, extra={"mlflow_run_id": [message]})


@dataclass(frozen=True)
class LoggedModelFacts:
    model_uri: str
    name: str
    flavors: list[str]
    signature: dict[str, Any] | None
    input_example: list[dict[str, Any]] | None
    # Every file of the logged model: relative path -> {"sha256", "size"}; what loading checks.
    files: dict[str, dict[str, Any]] = field(default_factory=dict)
    # ModelFormat.as_dict(): how it deserializes, and whether that runs its author's code.
    format: dict[str, Any] | None = None


@dataclass(frozen=True)
class RunFacts:
    run_id: str
    run_name: str
    experiment_id: str
    experiment_name: str
    status: str
    user: str
    start_time: str | None
    end_time: str | None
    git_commit: str
    source: str
    params: dict[str, str]
    metrics: dict[str, float]
    metric_history: dict[str, list[dict[str, Any]]]
    tags: dict[str, str]
    artifacts: dict[str, int | None]
    artifact_uri: str
    datasets: list[dict[str, Any]] = field(default_factory=list)
    logged_model: LoggedModelFacts | None = None

    @property
    def run_link(self) -> str:
        base = tracking_ui_url()
        if not base:
            return ""
        return f"{base.rstrip('/')}/#/experiments/{self.experiment_id}/runs/{self.run_id}"


def tracking_uri() -> str:
    return settings.MLFLOW_TRACKING_URI


def tracking_ui_url() -> str:
    uri = tracking_uri()
    return uri if uri.startswith(("http://", "https://")) else ""


@lru_cache(maxsize=4)
def _client(uri: str) -> Any:
    from mlflow import MlflowClient

    return MlflowClient(tracking_uri=uri)


def client() -> Any:
    return _client(tracking_uri())


def _mlflow() -> Any:
    """The mlflow module, pointed at our tracking store (its fluent API reads a global)."""
    import mlflow

    if mlflow.get_tracking_uri() != tracking_uri():
        mlflow.set_tracking_uri(tracking_uri())
    return mlflow


def _iso(milliseconds: int | None) -> str | None:
    if milliseconds is None:
        return None
    return datetime.fromtimestamp(milliseconds / 1000, tz=UTC).isoformat()


def _translate(error: Exception, run_id: str) -> Exception:
    code = getattr(error, "error_code", "")
    if code in NOT_FOUND_CODES:
        return RunNotFound(
            f"No MLflow run '{run_id}' at the tracking server.",
            extra={"mlflow_run_id": [f"Unknown MLflow run '{run_id}'."]},
        )
    logger.warning("MLflow tracking error for run %s: %s", run_id, error)
    return TrackingUnavailable(
        f"The MLflow tracking server at {tracking_uri()} did not answer: {str(error)[:200]}"
    )


def _artifacts(mlflow_client: Any, run_id: str) -> dict[str, int | None]:
    """Every artifact file of the run (path -> size), walking directories breadth-first."""
    found: dict[str, int | None] = {}
    pending = [None]
    while pending and len(found) < MAX_ARTIFACTS:
        for item in mlflow_client.list_artifacts(run_id, pending.pop(0)):
            if item.is_dir:
                pending.append(item.path)
            else:
                found[item.path] = item.file_size
    return dict(sorted(found.items()))


def _history(mlflow_client: Any, run_id: str, keys: list[str]) -> dict[str, list[dict[str, Any]]]:
    history = {}
    for key in sorted(keys):
        points = mlflow_client.get_metric_history(run_id, key)
        if len(points) > 1:
            history[key] = [
                {"step": p.step, "value": p.value, "timestamp": _iso(p.timestamp)}
                for p in points[-MAX_HISTORY_POINTS:]
            ]
    return history


def _logged_model(mlflow_client: Any, run: Any, read_files: bool) -> LoggedModelFacts | None:
    """The model the run logged (MLflow 3 keeps it as a LoggedModel beside the run).

    With read_files, its files are copied here once and read as data: their digests, the
    MLmodel file's flavors and format, signature and input example; ModelFilesUnreadable when
    they cannot be. Nothing is deserialized. Without, only its URI and name.
    """
    outputs = getattr(getattr(run, "outputs", None), "model_outputs", None) or []
    if not outputs:
        return None
    logged = mlflow_client.get_logged_model(outputs[-1].model_id)
    if not read_files:
        return LoggedModelFacts(logged.model_uri, logged.name, [], None, None)
    with tempfile.TemporaryDirectory(prefix="model-facts-") as scratch:
        try:
            local = _download(logged.artifact_location, Path(scratch))
            facts = _local_model_facts(local)
        except Exception as error:
            logger.warning("could not read the model %s", logged.model_uri, exc_info=True)
            raise ModelFilesUnreadable.of(run.info.run_id, logged.model_uri, error) from error
    return LoggedModelFacts(model_uri=logged.model_uri, name=logged.name, **facts)


def _local_model_facts(local: Path) -> dict[str, Any]:
    import yaml
    from mlflow.models import Model

    mlmodel = yaml.safe_load((local / MLMODEL).read_text()) or {}
    info = Model.load(str(local))
    signature = None
    if info.signature:
        signature = {
            key: json.loads(value) if isinstance(value, str) else value
            for key, value in info.signature.to_dict().items()
        }
    example = None
    if info.saved_input_example_info:
        try:
            frame = info.load_input_example(str(local))
            example = frame.head(5).to_dict(orient="records") if hasattr(frame, "to_dict") else None
        except Exception:
            logger.warning("could not load the input example in %s", local, exc_info=True)
    return {
        "flavors": sorted(info.flavors),
        "signature": signature,
        "input_example": example,
        "files": file_digests(local),
        "format": ModelFormat.from_mlmodel(mlmodel, local).as_dict(),
    }


def _download(artifact_uri: str, destination: Path) -> Path:
    """Copy the files under `artifact_uri` into `destination` (always a copy, never a link);
    returns the directory holding them (MLflow names it after the URI's last part)."""
    mlflow = _mlflow()
    local = Path(
        mlflow.artifacts.download_artifacts(artifact_uri=artifact_uri, dst_path=str(destination))
    )
    # MLflow's own loader writes this bookkeeping file (registered name and version, no model
    # bytes) into a local store's model directory when someone loads it by a models:/ URI.
    # It is not part of the logged model: neither recorded nor left for a loader to read.
    (local / REGISTERED_MODEL_META).unlink(missing_ok=True)
    return local


def model_download(model_uri: str, destination: Path) -> Path:
    """Every file of a logged model, copied under `destination`; nothing is deserialized.

    A `models:/m-...` URI is resolved to the LoggedModel's artifact location, so the copy
    holds exactly the artifact's files (MLflow's registry download adds one of its own).
    """
    location = model_uri
    if model_uri.startswith("models:/m-"):
        location = client().get_logged_model(model_uri.removeprefix("models:/")).artifact_location
    return _download(location, destination)


def model_load_code_executing(directory: Path, model_format: ModelFormat) -> Any:
    """Load a verified local copy with MLflow's own loaders, which run the author's code.

    Only model_loading calls this, and only when ALLOW_UNSAFE_MODEL_FORMATS is on and the
    version may be loaded in this process (see SECURITY.md, "Model artifacts").
    """
    mlflow = _mlflow()
    if model_format.flavor == "sklearn":
        return mlflow.sklearn.load_model(str(directory))
    return mlflow.pyfunc.load_model(str(directory))


def run_fetch(run_id: str, *, read_model_files: bool = True) -> RunFacts:
    """Everything the card needs from a run. RunNotFound (400) or TrackingUnavailable (503).

    ModelFilesUnreadable (400) when the logged model's files cannot be read; without
    read_model_files (its files are already recorded) they are not downloaded at all.
    """
    from mlflow.exceptions import MlflowException

    mlflow_client = client()
    try:
        run = mlflow_client.get_run(run_id)
        experiment = mlflow_client.get_experiment(run.info.experiment_id)
        tags = dict(run.data.tags)
        facts = RunFacts(
            run_id=run.info.run_id,
            run_name=run.info.run_name or "",
            experiment_id=run.info.experiment_id,
            experiment_name=experiment.name if experiment else "",
            status=run.info.status,
            user=tags.get("mlflow.user", run.info.user_id or ""),
            start_time=_iso(run.info.start_time),
            end_time=_iso(run.info.end_time),
            git_commit=tags.get("mlflow.source.git.commit", ""),
            source=tags.get("mlflow.source.name", ""),
            params=dict(sorted(run.data.params.items())),
            metrics=dict(sorted(run.data.metrics.items())),
            metric_history=_history(mlflow_client, run_id, list(run.data.metrics)),
            tags={k: v for k, v in sorted(tags.items()) if not k.startswith(SYSTEM_TAG_PREFIX)},
            artifacts=_artifacts(mlflow_client, run_id),
            artifact_uri=run.info.artifact_uri,
            datasets=[
                {
                    "name": d.dataset.name,
                    "digest": d.dataset.digest,
                    "source": d.dataset.source_type,
                }
                for d in (run.inputs.dataset_inputs if run.inputs else [])
            ],
            logged_model=_logged_model(mlflow_client, run, read_model_files),
        )
    except MlflowException as error:
        raise _translate(error, run_id) from error
    except OSError as error:  # connection refused, DNS, timeouts below requests
        raise TrackingUnavailable(f"The MLflow tracking server did not answer: {error}") from error
    return facts


# What a logged scikit-learn model needs to be loaded again, pinned to what is installed.
# Given explicitly because MLflow's inference starts a subprocess that loads the model to see
# what it imports (5-9 s a model here), and records whatever that process had loaded as well
# (pytest, rich).
MODEL_PACKAGES = ("scikit-learn", "numpy", "scipy", "pandas")


def model_pip_requirements(serialization_format: str) -> list[str]:
    packages = [*MODEL_PACKAGES]
    if serialization_format == SKOPS:
        packages.append("skops")
    elif serialization_format == CLOUDPICKLE:
        packages.append("cloudpickle")
    return [f"{name}=={metadata.version(name)}" for name in packages]


def run_log_sklearn(
    *,
    model: Any,
    experiment: str,
    params: dict[str, Any],
    metrics: dict[str, float],
    input_example: Any,
    tags: dict[str, str] | None = None,
    metric_history: dict[str, list[float]] | None = None,
    artifacts: dict[str, str] | None = None,
    serialization_format: str = SKOPS,
) -> str:
    """Log a trained scikit-learn model as an MLflow run; returns the run id.

    The demo and the tests use it to make real runs (the tests also log pickle formats, to
    check they are refused). Experiments created here keep their artifacts under
    settings.MLFLOW_ARTIFACT_ROOT, not the working directory.
    """
    mlflow = _mlflow()
    mlflow_client = client()
    found = mlflow_client.get_experiment_by_name(experiment)
    experiment_id = (
        found.experiment_id
        if found
        else mlflow_client.create_experiment(
            experiment,
            artifact_location=f"{settings.MLFLOW_ARTIFACT_ROOT.rstrip('/')}/{experiment}",
        )
    )
    with mlflow.start_run(experiment_id=experiment_id) as run:
        mlflow.log_params(params)
        for key, values in (metric_history or {}).items():
            for step, value in enumerate(values):
                mlflow.log_metric(key, value, step=step)
        mlflow.log_metrics(metrics)
        mlflow.set_tags(tags or {})
        for path, text in (artifacts or {}).items():
            mlflow.log_text(text, path)
        with warnings.catch_warnings():  # MLflow's hint about integer columns, every time
            warnings.filterwarnings("ignore", message="Hint: Inferred schema contains integer")
            mlflow.sklearn.log_model(
                model,
                name="model",
                input_example=input_example,
                serialization_format=serialization_format,
                skops_trusted_types=SKOPS_TRUSTED if serialization_format == SKOPS else None,
                pip_requirements=model_pip_requirements(serialization_format),
            )
    return run.info.run_id


def run_delete(run_id: str) -> None:
    """Mark a run deleted (MLflow keeps it in its trash); retraining drops a run it logged
    but could not register, so no half-made candidate is left to be found by id."""
    client().delete_run(run_id)
