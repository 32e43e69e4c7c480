"""Models whose loading runs code, logged to the test MLflow store for real.

Each one writes a marker file the moment it is deserialized, so a test can tell whether
anything ran. The classes live in an importable module because pickle and skops refer to
them by name.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression

from models_registry import mlflow_adapter

COLUMNS = ["x1", "x2"]


class MarkingLogisticRegression(LogisticRegression):
    """A real scikit-learn estimator that writes `marker_path` when unpickled or un-skopsed."""

    def __setstate__(self, state: dict[str, Any]) -> None:
        Path(state["marker_path"]).write_text("deserialized")
        super().__setstate__(state)


def training_frame() -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.random((60, 2)), columns=COLUMNS)
    return frame, (frame.x1 > 0.5).astype(int).to_numpy()


def marking_estimator(marker: Path) -> MarkingLogisticRegression:
    frame, labels = training_frame()
    estimator = MarkingLogisticRegression().fit(frame, labels)
    estimator.marker_path = str(marker)
    return estimator


def log_pickled_sklearn(marker: Path, serialization_format: str) -> str:
    """A run whose sklearn model is stored with pickle or cloudpickle; returns its id."""
    frame, _ = training_frame()
    return mlflow_adapter.run_log_sklearn(
        model=marking_estimator(marker),
        experiment="tests-unsafe",
        params={},
        metrics={},
        input_example=frame.head(3),
        serialization_format=serialization_format,
    )


def _experiment_id(name: str) -> str:
    client = mlflow_adapter.client()
    found = client.get_experiment_by_name(name)
    return found.experiment_id if found else client.create_experiment(name)


def log_skops_trusting_its_own_type(marker: Path) -> str:
    """A skops model whose MLmodel lists its own class as trusted (MLflow's loader obeys)."""
    mlflow = mlflow_adapter._mlflow()
    trusted = [f"{__name__}.MarkingLogisticRegression"]
    with mlflow.start_run(experiment_id=_experiment_id("tests-unsafe")) as run:
        mlflow.sklearn.log_model(
            marking_estimator(marker),
            name="model",
            serialization_format="skops",
            skops_trusted_types=trusted,
            pip_requirements=mlflow_adapter.model_pip_requirements("skops"),
        )
    return run.info.run_id


def python_model_class() -> type:
    """A PythonModel class made inside a function, so cloudpickle stores its code by value
    (as an author's notebook would); mlflow is imported here, not at collection."""
    import mlflow.pyfunc

    class _Marking(mlflow.pyfunc.PythonModel):
        def __init__(self, marker: str) -> None:
            self.marker = marker

        def load_context(self, context: Any) -> None:
            Path(self.marker).write_text(str(os.getpid()))  # which process ran it

        def predict(self, context, model_input, params=None):
            return np.full(len(model_input), 0.25)

    return _Marking


def log_python_model(marker: Path) -> str:
    """A pyfunc PythonModel whose load_context writes `marker`; returns the run id."""
    mlflow = mlflow_adapter._mlflow()
    from mlflow.models import infer_signature

    frame, _ = training_frame()
    signature = infer_signature(frame, np.full(len(frame), 0.25))
    with mlflow.start_run(experiment_id=_experiment_id("tests-unsafe")) as run:
        mlflow.pyfunc.log_model(
            name="model",
            python_model=python_model_class()(str(marker)),
            signature=signature,
            # Stated, so MLflow does not load the model in a subprocess to infer them.
            pip_requirements=["mlflow"],
        )
    return run.info.run_id
