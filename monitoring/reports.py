"""Full Evidently HTML reports of a check, rendered from a bounded sample.

A check itself never runs Evidently (too slow at a window's size); the report is for a
person who wants Evidently's own view of the same data. It is drawn from a seeded random
sample of at most CHECK_REPORT_SAMPLE_ROWS rows of the reference and as many of the window
(seed: the run's id, so a report rendered again shows the same rows):

- drift: Evidently's DataDriftPreset over the run's features, reference against window;
- quality, fairness, estimation: ClassificationPreset (binary classifier: ground truth
  against the predicted probability) or RegressionPreset, on the labelled rows of the
  window sample. Without any labelled row there is nothing to show and the report fails
  saying so.

The statistics in such a report are Evidently's over the sample, so they may differ a
little from the check's own, which are computed over every row of the window.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from django.conf import settings

from models_registry.models import ModelVersion
from models_registry.reference_data import reference_frame, signature_features
from monitoring.models import CheckRun, GroundTruth

ID_CHUNK = 5000


class ReportUnavailable(Exception):
    """The run's data cannot make a report (no reference, empty window, no labels)."""


@dataclass(frozen=True)
class ReportFrames:
    reference: Any  # pandas DataFrame or None
    current: Any  # pandas DataFrame
    columns: list[str]


def sample_positions(rows: int, limit: int, seed: int) -> np.ndarray:
    """Sorted positions of a seeded random sample of at most `limit` of `rows`."""
    if rows <= limit:
        return np.arange(rows)
    return np.sort(np.random.default_rng(seed).choice(rows, size=limit, replace=False))


def window_frame(*, run: CheckRun, columns: list[str], limit: int) -> Any:
    """A seeded sample of the run's window: request_id, prediction and the feature columns.

    The rows a check reads (models_registry.inference_columns.window_read: the version's
    answered calls with window_start < occurred_at <= window_end, not erased), in time order
    before sampling, so the same run always samples the same rows.
    """
    import pandas as pd

    from models_registry.inference_columns import window_read

    window = window_read(
        version=run.version,
        start=run.window_start,
        end=run.window_end,
        features=columns,
        attributes=[],
    )
    order = np.argsort(window.occurred_at, kind="stable")
    chosen = order[sample_positions(window.rows, limit, run.pk)]
    frame = pd.DataFrame(
        {"request_id": window.request_id[chosen], "prediction": window.prediction[chosen]}
    )
    for column in columns:
        values = window.features.get(column)
        frame[column] = values[chosen] if values is not None else None
    return frame


def labels_join(*, run: CheckRun, frame: Any) -> Any:
    """The frame with a `target` column: the ground truth by request_id, NaN where none."""
    labels: dict[str, float] = {}
    ids = frame["request_id"].tolist()
    for start in range(0, len(ids), ID_CHUNK):
        labels.update(
            GroundTruth.objects.filter(
                model=run.model, request_id__in=ids[start : start + ID_CHUNK]
            ).values_list("request_id", "label")
        )
    return frame.assign(target=frame["request_id"].map(labels).astype(float))


def report_columns(run: CheckRun) -> list[str]:
    features = (run.results or {}).get("features")
    if isinstance(features, dict) and features:
        untested = (run.results or {}).get("untested") or {}
        return [*features, *[name for name in untested if name not in features]]
    return signature_features(run.version)


def report_frames(run: CheckRun) -> ReportFrames:
    """The bounded sample a report of `run` is drawn from."""
    limit = settings.CHECK_REPORT_SAMPLE_ROWS
    columns = report_columns(run)
    current = window_frame(run=run, columns=columns, limit=limit)
    if not len(current):
        raise ReportUnavailable("The check's window holds no logged predictions.")
    reference = None
    if run.kind == CheckRun.Kind.DRIFT:
        if run.reference is None or run.reference.erased_at is not None:
            raise ReportUnavailable("The check has no reference data to compare with.")
        full = reference_frame(run.reference)
        columns = [c for c in columns if c in full.columns]
        reference = full.iloc[sample_positions(len(full), limit, run.pk)][columns]
        reference = reference.reset_index(drop=True)
        current = current[columns]
    else:
        current = labels_join(run=run, frame=current)
        current = current[current["target"].notna() & current["prediction"].notna()]
        if not len(current):
            raise ReportUnavailable("No prediction in the check's sample has ground truth yet.")
        current = current[[*columns, "prediction", "target"]].reset_index(drop=True)
    return ReportFrames(reference=reference, current=current, columns=columns)


def _task_of(version: ModelVersion) -> str:
    """binary_classification unless the monitoring config says regression."""
    config = getattr(version.model, "monitoring_config", None)
    for metric in (config.document if config else {}).get("metrics") or []:
        if isinstance(metric, dict) and metric.get("type") == "regression":
            return "regression"
    return "binary_classification"


def report_html(*, run: CheckRun, frames: ReportFrames) -> str:
    """Evidently 0.7's standalone HTML report of the sample."""
    from evidently import BinaryClassification, DataDefinition, Dataset, Regression, Report
    from evidently.presets import ClassificationPreset, DataDriftPreset, RegressionPreset

    if run.kind == CheckRun.Kind.DRIFT:
        snapshot = Report([DataDriftPreset(columns=frames.columns)]).run(
            current_data=frames.current, reference_data=frames.reference
        )
        return snapshot.get_html_str(as_iframe=False)
    if _task_of(run.version) == "regression":
        definition = DataDefinition(
            regression=[Regression(target="target", prediction="prediction")]
        )
        preset: Any = RegressionPreset()
    else:
        current = frames.current.assign(target=frames.current["target"].astype(int))
        frames = ReportFrames(reference=None, current=current, columns=frames.columns)
        definition = DataDefinition(
            classification=[BinaryClassification(target="target", prediction_probas="prediction")]
        )
        preset = ClassificationPreset()
    dataset = Dataset.from_pandas(frames.current, data_definition=definition)
    return Report([preset]).run(current_data=dataset).get_html_str(as_iframe=False)
