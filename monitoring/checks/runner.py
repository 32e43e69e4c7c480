"""One function per kind of check: gather its inputs, call its engine, say what it found.

A kind is registered in CHECK_KINDS with what it needs before it can run (a reference data
set, a task it makes sense for); monitoring/services/checks.py refuses a request that lacks
them (409) and records what the kind returns. Tests register kinds of their own.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from django.conf import settings as django_settings

from models_registry.model_loading import LoadPurpose, model_load
from models_registry.reference_data import reference_frame
from monitoring.checks import inputs
from monitoring.config import MonitoringSettings
from monitoring.models import CheckRun

BINARY, REGRESSION = "binary_classification", "regression"


@dataclass(frozen=True)
class CheckOutcome:
    """What a run found: results (CheckRun.results), named metrics, and the rows it used."""

    results: dict[str, Any]
    metrics: dict[str, float | None]
    current_rows: int
    reference_rows: int | None = None
    labelled_rows: int | None = None


@dataclass(frozen=True)
class CheckKind:
    name: str
    run: Callable[[CheckRun, MonitoringSettings], CheckOutcome]
    needs_reference: bool = False
    needs_reference_labels: bool = False
    tasks: tuple[str, ...] | None = None  # None: any task
    needs_attributes: bool = False


CHECK_KINDS: dict[str, CheckKind] = {}


def check_kind_register(kind: CheckKind) -> CheckKind:
    """Add (or replace) a kind; returns the one it replaced, if any, else the kind."""
    previous = CHECK_KINDS.get(kind.name, kind)
    CHECK_KINDS[kind.name] = kind
    return previous


def check_kind_refusal(
    kind: CheckKind, *, settings: MonitoringSettings, reference: Any
) -> str | None:
    """Why this kind cannot run for the version now, or None."""
    if kind.tasks is not None and settings.task not in kind.tasks:
        wanted = " or ".join(task.replace("_", " ") for task in kind.tasks)
        return (
            f"A {kind.name} check needs a {wanted} model; the monitoring config says "
            f"{settings.task.replace('_', ' ')}."
        )
    if kind.needs_reference and reference is None:
        return (
            f"A {kind.name} check compares with the version's reference data set, and the "
            "version has none (upload one: POST .../versions/{n}/reference-data/)."
        )
    if kind.needs_reference_labels and not reference.label_column:
        return f"A {kind.name} check needs a label column in the reference data set."
    if kind.needs_attributes and not settings.fairness_attributes:
        return (
            f"A {kind.name} check needs protected attributes: the model declares none and "
            "the monitoring config names none."
        )
    return None


def _rows_metric(metrics: dict[str, float | None], rows: int) -> dict[str, float | None]:
    return {**metrics, "rows": float(rows)}


def drift_run(run: CheckRun, settings: MonitoringSettings) -> CheckOutcome:
    """The reference data's features against the window's, as Evidently would judge them."""
    columns = settings.drift_features or list(run.reference.feature_columns)
    reference = inputs.reference_columns(dataset=run.reference, columns=columns)
    # features alone, strings as dictionary codes: the engine counts codes, not strings
    window = inputs.run_window(run, features=columns, attributes=[], base=False, strings="codes")
    from monitoring.checks.drift import drift_compute

    result = drift_compute(
        reference=reference,
        current=window.features,
        columns=columns,
        overrides=settings.drift_overrides,
        drift_share=settings.drift_share,
        threads=django_settings.DRIFT_THREADS,
    )
    return CheckOutcome(
        results=result.as_results(),
        metrics=_rows_metric(result.metrics(), window.rows),
        current_rows=window.rows,
        reference_rows=len(next(iter(reference.values()))) if reference else run.reference.rows,
    )


def quality_run(run: CheckRun, settings: MonitoringSettings) -> CheckOutcome:
    """The window's predictions against the ground truth that came for them."""
    from monitoring.checks.quality import quality_compute

    window = inputs.run_window(run, features=[], attributes=[])
    labels = inputs.window_labels(run, window)
    result = quality_compute(
        task=settings.task, y_true=labels, y_score=window.prediction, threshold=settings.threshold
    )
    return CheckOutcome(
        results=result.as_results(),
        metrics=_rows_metric(result.metrics(), window.rows),
        current_rows=window.rows,
        labelled_rows=int(np.count_nonzero(~np.isnan(labels))),
    )


def _fairness_attributes(run: CheckRun, names: list[str]) -> tuple[Any, dict[str, np.ndarray]]:
    """Each attribute from the records' `attributes`, else from the feature of that name."""
    from governance.errors import Conflict
    from models_registry.serving.loader import feature_spec

    try:
        known = feature_spec(run.version).names
    except Conflict:  # no declared inputs: the records' attributes are all there is
        known = []
    features = [name for name in names if name in known]
    window = inputs.run_window(run, features=features, attributes=names)
    columns: dict[str, np.ndarray] = {}
    for name in names:
        given = window.attributes.get(name)
        if given is not None and any(value is not None for value in given):
            columns[name] = given
        elif name in window.features:
            columns[name] = np.array([str(value) for value in window.features[name]], dtype=object)
        elif given is not None:
            columns[name] = given
    return window, columns


def fairness_run(run: CheckRun, settings: MonitoringSettings) -> CheckOutcome:
    """Per protected attribute: selection rate, TPR and FPR per group, and their gaps."""
    from monitoring.checks.fairness import fairness_compute

    window, attributes = _fairness_attributes(run, list(settings.fairness_attributes))
    labels = inputs.window_labels(run, window)
    result = fairness_compute(
        y_true=labels,
        y_score=window.prediction,
        threshold=settings.threshold,
        attributes=attributes,
        min_group_size=settings.min_group_size,
    )
    return CheckOutcome(
        results=result.as_results(),
        metrics=_rows_metric(result.metrics(), window.rows),
        current_rows=window.rows,
        labelled_rows=int(np.count_nonzero(~np.isnan(labels))),
    )


def _reference_scores(run: CheckRun) -> tuple[np.ndarray, np.ndarray]:
    """The model's positive-class probabilities on the reference features, and its labels."""
    dataset = run.reference
    frame = reference_frame(dataset)
    model = model_load(version=run.version, purpose=LoadPurpose.ANALYSIS)
    if not hasattr(model, "predict_proba"):
        raise ValueError("The model has no predict_proba: performance cannot be estimated.")
    probabilities = np.asarray(model.predict_proba(frame[list(dataset.feature_columns)]))
    if probabilities.ndim != 2 or probabilities.shape[1] != 2:
        raise ValueError("The model is not a binary classifier (predict_proba has not 2 columns).")
    labels = frame[dataset.label_column].to_numpy(dtype=np.float64)
    return probabilities[:, 1].astype(np.float64), labels


def estimation_run(run: CheckRun, settings: MonitoringSettings) -> CheckOutcome:
    """Accuracy and ROC AUC estimated from the scores alone, calibrated on the reference."""
    from monitoring.checks.estimation import estimation_compute

    reference_scores, reference_labels = _reference_scores(run)
    window = inputs.run_window(run, features=[], attributes=[])
    labels = inputs.window_labels(run, window)
    result = estimation_compute(
        reference_scores=reference_scores,
        reference_labels=reference_labels,
        current_scores=window.prediction,
        threshold=settings.threshold,
        current_labels=labels,
    )
    return CheckOutcome(
        results=result.as_results(),
        metrics=_rows_metric(result.metrics(), window.rows),
        current_rows=window.rows,
        reference_rows=len(reference_scores),
        labelled_rows=int(np.count_nonzero(~np.isnan(labels))),
    )


for _kind in (
    CheckKind(CheckRun.Kind.DRIFT, drift_run, needs_reference=True),
    CheckKind(CheckRun.Kind.QUALITY, quality_run, tasks=(BINARY, REGRESSION)),
    CheckKind(
        CheckRun.Kind.FAIRNESS, fairness_run, tasks=(BINARY, REGRESSION), needs_attributes=True
    ),
    CheckKind(
        CheckRun.Kind.ESTIMATION,
        estimation_run,
        needs_reference=True,
        needs_reference_labels=True,
        tasks=(BINARY,),
    ),
):
    check_kind_register(_kind)
