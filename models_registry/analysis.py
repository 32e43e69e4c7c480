"""Analysis of a version on its reference data: SHAP importance and per-group metrics."""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

from models_registry.models import ModelVersion, ReferenceDataset, VersionAnalysis
from models_registry.reference_data import reference_frame

logger = logging.getLogger(__name__)

SHAP_ROWS = 500
EVALUATION_ROWS = 50_000
MIN_GROUP_ROWS = 1


def _round(value: float) -> float:
    return round(float(value), 6)


def _classification_metrics(labels: Any, scores: Any) -> dict[str, float]:
    from sklearn import metrics

    predicted = (scores >= 0.5).astype(int)
    result = {
        "count": len(labels),
        "accuracy": _round(metrics.accuracy_score(labels, predicted)),
        "precision": _round(metrics.precision_score(labels, predicted, zero_division=0)),
        "recall": _round(metrics.recall_score(labels, predicted, zero_division=0)),
        "f1": _round(metrics.f1_score(labels, predicted, zero_division=0)),
        "positive_rate": _round(predicted.mean()),
    }
    if len(np.unique(labels)) == 2:
        result["auc"] = _round(metrics.roc_auc_score(labels, scores))
    return result


def _regression_metrics(labels: Any, predictions: Any) -> dict[str, float]:
    from sklearn import metrics

    return {
        "count": len(labels),
        "mae": _round(metrics.mean_absolute_error(labels, predictions)),
        "rmse": _round(np.sqrt(metrics.mean_squared_error(labels, predictions))),
    }


def _scores(model: Any, frame: Any) -> tuple[Any, bool]:
    """Positive-class scores for binary classifiers, plain predictions otherwise."""
    if hasattr(model, "predict_proba"):
        probabilities = model.predict_proba(frame)
        if probabilities.shape[1] == 2:
            return probabilities[:, 1], True
    return np.asarray(model.predict(frame), dtype=float), False


def _evaluate(model: Any, frame: Any, dataset: ReferenceDataset) -> tuple[dict, dict]:
    if not dataset.label_column:
        return {}, {}
    frame = frame.sample(min(EVALUATION_ROWS, len(frame)), random_state=0)
    scores, binary = _scores(model, frame[dataset.feature_columns])
    labels = frame[dataset.label_column].to_numpy()
    measure = _classification_metrics if binary else _regression_metrics
    overall = measure(labels, scores)
    per_group: dict[str, dict[str, dict[str, float]]] = {}
    for attribute in dataset.protected_columns:
        groups = {}
        for group, index in frame.groupby(attribute, observed=True).indices.items():
            if len(index) >= MIN_GROUP_ROWS:
                groups[str(group)] = measure(labels[index], scores[index])
        per_group[attribute] = dict(sorted(groups.items()))
    return overall, per_group


def version_analyze(*, version_id: int) -> VersionAnalysis | None:
    """Compute and store the analysis of the version's latest reference data.

    Runs outside a transaction (loading a model and SHAP take seconds); the result is one
    new row. Returns None when the version has no reference data. The model is loaded only
    through model_loading (verified digests, safe formats); a refusal is stored as the
    reason the analysis is unavailable.
    """
    from models_registry import mlflow_adapter
    from models_registry.explain import ModelExplainer
    from models_registry.model_loading import LoadPurpose, ModelNotLoadable, model_load

    version = ModelVersion.objects.select_related("model").get(pk=version_id)
    dataset = version.reference_datasets.filter(erased_at=None).first()  # files retention left
    if dataset is None:
        return None
    record = VersionAnalysis(model_version=version, reference_dataset=dataset)
    try:
        model = model_load(version=version, purpose=LoadPurpose.ANALYSIS)
        frame = reference_frame(dataset)
        explainer = ModelExplainer(model, dataset.feature_columns, frame)
        sample = frame.sample(min(SHAP_ROWS, len(frame)), random_state=0)
        record.global_importance = explainer.global_importance(sample)
        record.explainer = explainer.method
        record.sample_rows = len(sample)
        record.overall_metrics, record.group_metrics = _evaluate(model, frame, dataset)
        record.status = VersionAnalysis.Status.DONE
    except ModelNotLoadable as error:  # refused before anything ran: a fact for the card
        record.status = VersionAnalysis.Status.UNAVAILABLE
        record.detail = error.detail[:1000]
    except mlflow_adapter.TrackingUnavailable:
        raise  # transient: the task retries
    except Exception as error:  # a model we cannot run is a fact for the card, not a crash
        logger.warning("analysis of %s failed", version, exc_info=True)
        record.status = VersionAnalysis.Status.FAILED
        record.detail = f"{type(error).__name__}: {str(error)[:500]}"
    record.save()
    return record
