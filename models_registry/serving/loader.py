"""Loaded models, kept in memory once per process and version."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

from governance.errors import Conflict
from models_registry.model_loading import ArtifactChanged, LoadPurpose, model_load
from models_registry.models import ModelVersion
from models_registry.reference_data import reference_frame, signature_inputs
from models_registry.serving.features import (
    INTEGER,
    NUMBER,
    SIGNATURE_TYPES,
    STRING,
    FeatureSpec,
    invalid_features,
    kind_of_dtype,
)
from models_registry.serving.row_encoder import RowEncoder, row_encoder, strict_categories

PANDAS_DTYPES = {INTEGER: "int64", NUMBER: "float64", STRING: "object", "boolean": "bool"}


def feature_spec(version: ModelVersion) -> FeatureSpec:
    """From the logged model's signature, else from the latest reference data's columns."""
    inputs = signature_inputs(version)
    if inputs:
        return FeatureSpec(
            tuple((c["name"], SIGNATURE_TYPES.get(c.get("type", ""), STRING)) for c in inputs)
        )
    dataset = version.reference_datasets.first()
    if dataset is not None:
        return FeatureSpec(
            tuple(
                (name, kind_of_dtype(dataset.columns.get(name, "")))
                for name in dataset.feature_columns
            )
        )
    raise Conflict(f"{version} has neither a model signature nor reference data to check inputs.")


def _score(estimator: Any, data: Any) -> float:
    """The positive-class probability of a binary classifier, else the prediction."""
    if hasattr(estimator, "predict_proba"):
        probabilities = estimator.predict_proba(data)
        if probabilities.shape[1] == 2:
            return float(probabilities[0, 1])
    return float(estimator.predict(data)[0])


@dataclass
class LoadedVersion:
    version_id: int
    number: int
    model: Any
    spec: FeatureSpec
    reference_version: ModelVersion
    # A checked fast path for a (ColumnTransformer, estimator) pipeline's preprocessing of
    # one row; None: every call goes through scikit-learn with a DataFrame.
    encoder: RowEncoder | None = None
    # Features whose one-hot step refuses unseen values, with the values it knows.
    categories: dict[str, frozenset[Any]] = field(default_factory=dict)
    _explainer: Any = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def frame(self, features: dict[str, Any]) -> Any:
        import pandas as pd

        return pd.DataFrame(
            {
                name: pd.Series([features[name]], dtype=PANDAS_DTYPES[kind])
                for name, kind in self.spec.columns
            }
        )

    def validate(self, features: Any) -> dict[str, Any]:
        """The features as the model takes them, or InvalidInput naming every bad one."""
        clean = self.spec.validate(features)
        unknown = {
            name: f"unknown category {clean[name]!r}; known: " + ", ".join(sorted(map(str, known)))
            for name, known in self.categories.items()
            if name in clean and clean[name] not in known
        }
        if unknown:
            raise invalid_features(unknown)
        return clean

    def predict(self, features: dict[str, Any]) -> float:
        """The positive-class probability of a binary classifier, else the prediction."""
        if self.encoder is not None:
            return _score(self.model.steps[-1][1], self.encoder.encode(features))
        return _score(self.model, self.frame(features))

    def explainer(self) -> Any:
        if self._explainer is None:
            with self._lock:
                if self._explainer is None:
                    self._explainer = self._build_explainer()
        return self._explainer

    def _build_explainer(self) -> Any:
        from models_registry.explain import ModelExplainer

        dataset = self.reference_version.reference_datasets.filter(erased_at=None).first()
        background = reference_frame(dataset) if dataset is not None else None
        if background is None:
            import pandas as pd

            background = pd.DataFrame(columns=self.spec.names)
        explainer = ModelExplainer(self.model, self.spec.names, background)
        if explainer.method != "shap.TreeExplainer" and background.empty:
            raise Conflict(
                f"v{self.number} is not a tree model; explaining it needs reference data "
                "for the background sample."
            )
        return explainer

    def predict_and_explain(
        self, features: dict[str, Any]
    ) -> tuple[float, float, dict[str, float]]:
        """(prediction, base value, SHAP per feature).

        A tree at the end of a pipeline gets the row transformed once, for both the
        prediction and the explanation, by the row encoder when it has one: the transform
        is most of the cost of one call.
        """
        explainer = self.explainer()
        names = self.spec.names
        if not explainer.explains_transformed:
            frame = self.frame(features)
            explanation = explainer.explain(frame)
            row = explanation.values.iloc[0]
            shap = {name: float(row[name]) for name in names}
            return _score(self.model, frame), explanation.base_value, shap
        if self.encoder is not None:
            matrix = self.encoder.encode(features)
        else:
            matrix = explainer.transform(self.frame(features)[names])
        base_value, values = explainer.explain_row(matrix)
        shap = dict(zip(names, values.tolist(), strict=True))
        return _score(explainer.estimator, matrix), base_value, shap


_loaded: dict[int, LoadedVersion] = {}
_loading: dict[int, threading.Lock] = {}
_registry_lock = threading.Lock()
# A version whose files changed is refused again from memory for this long, so a stream of
# calls does not re-download and re-hash it (nor report it) on every request.
REFUSAL_SECONDS = 60.0
_refused: dict[int, tuple[float, ArtifactChanged]] = {}


def loaded_version(version_id: int) -> LoadedVersion:
    """The version's model in memory, loading it from its MLflow artifact the first time."""
    found = _loaded.get(version_id)
    if found is not None:
        return found
    refused = _refused.get(version_id)
    if refused is not None and time.monotonic() - refused[0] < REFUSAL_SECONDS:
        raise refused[1]
    with _registry_lock:
        lock = _loading.setdefault(version_id, threading.Lock())
    with lock:  # one load per version, however many requests arrive meanwhile
        found = _loaded.get(version_id)
        if found is None:
            try:
                found = _load(version_id)
            except ArtifactChanged as error:
                _refused[version_id] = (time.monotonic(), error)
                raise
            _refused.pop(version_id, None)
            _loaded[version_id] = found
    return found


def _load(version_id: int) -> LoadedVersion:
    version = ModelVersion.objects.select_related("model").get(pk=version_id)
    model = model_load(version=version, purpose=LoadPurpose.SERVING)
    spec = feature_spec(version)
    loaded = LoadedVersion(
        version_id=version.pk,
        number=version.version,
        model=model,
        spec=spec,
        reference_version=version,
    )
    loaded.encoder = row_encoder(loaded.model, dict(spec.columns), loaded.frame)
    loaded.categories = strict_categories(loaded.model, spec.names)
    return loaded


def forget_loaded() -> None:
    """Drop every loaded model (tests; a process that must reload)."""
    with _registry_lock:
        _loaded.clear()
        _loading.clear()
        _refused.clear()
