"""One call to a served model: route, validate, predict (and explain), record, answer."""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

from governance.errors import ApplicationError
from governance.roles import Capability
from governance.services import canonical_json, require, sha256_hex
from models_registry.models import Prediction
from models_registry.serving.attributes import attributes_validate
from models_registry.serving.inference_log import record_prediction
from models_registry.serving.loader import loaded_version
from models_registry.serving.routing import live_state, route

logger = logging.getLogger(__name__)


class ModelFailed(ApplicationError):
    """The model raised on valid input: recorded as an error, answered as a 500 in JSON."""

    status_code = 500
    default_detail = "The model failed to answer."


@dataclass(frozen=True)
class Answer:
    request_id: str
    version: int
    stage: str
    prediction: float
    base_value: float | None = None
    shap: dict[str, float] | None = None
    explainer: str = ""
    output_space: str = ""

    def as_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "prediction": self.prediction,
            "version": self.version,
            "request_id": self.request_id,
            "stage": self.stage,
        }
        if self.shap is not None:
            body["base_value"] = self.base_value
            body["shap"] = self.shap
            body["explainer"] = self.explainer
            body["output_space"] = self.output_space
        return body


def _compute(loaded: Any, clean: dict[str, Any], explain: bool) -> dict[str, Any]:
    """Prediction (and explanation), from the cache when these inputs were seen before."""
    key = f"serve:{loaded.version_id}:{sha256_hex(canonical_json(clean))}"
    cached = cache.get(key)
    if cached is not None and (not explain or "shap" in cached):
        return cached
    if explain:
        prediction, base_value, values = loaded.predict_and_explain(clean)
        result: dict[str, Any] = {
            "prediction": prediction,
            "base_value": base_value,
            "shap": values,
            "explainer": loaded.explainer().method,
            "output_space": loaded.explainer().output_space,
        }
    else:
        result = {"prediction": loaded.predict(clean)}
    cache.set(key, result, settings.SERVING_CACHE_SECONDS)
    return result


def serve(
    *,
    actor: Any,
    model_name: str,
    features: Any,
    explain: bool,
    routing_key: str,
    subject_id: str = "",
    attributes: dict[str, Any] | None = None,
) -> Answer:
    """Answer one call. Its record is committed before this returns."""
    started = time.perf_counter()
    require(actor, Capability.PREDICT, "call models")
    state = live_state(model_name)
    version_id, number, stage = route(state, routing_key)
    loaded = loaded_version(version_id)
    clean = loaded.validate(features)
    attributes = attributes_validate(attributes) if attributes is not None else {}
    row = Prediction(
        model_id=state.model_id,
        version_id=version_id,
        request_id=str(uuid.uuid4()),
        source=Prediction.Source.SERVED,
        slot=stage,
        actor=actor,
        occurred_at=timezone.now(),
        features=clean,
        subject_id=subject_id,
        attributes=attributes,
    )
    try:
        result = _compute(loaded, clean, explain)
    except Exception as error:  # a model that raises on valid input is an incident, not a 400
        logger.exception("%s v%s failed", model_name, number)
        row.error = f"{type(error).__name__}: {error}"[:500]
        row.latency_ms = (time.perf_counter() - started) * 1000
        record_prediction(row)
        raise ModelFailed(f"{model_name} v{number} failed to answer.") from error
    row.prediction = result["prediction"]
    if explain:
        row.explanation = {"base_value": result["base_value"], "shap": result["shap"]}
    row.latency_ms = (time.perf_counter() - started) * 1000
    record_prediction(row)
    return Answer(
        request_id=row.request_id,
        version=number,
        stage=stage,
        prediction=result["prediction"],
        base_value=result.get("base_value") if explain else None,
        shap=result.get("shap") if explain else None,
        explainer=result.get("explainer", "") if explain else "",
        output_space=result.get("output_space", "") if explain else "",
    )
