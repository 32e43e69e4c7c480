"""The monitoring settings of a model: what checks and rules read.

`monitoring_settings` gives the stored, normalized document (monitoring/config_document.py
validates it) as a MonitoringSettings, or the defaults when the model has no config row.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from governance.errors import Conflict
from models_registry.models import RegisteredModel
from monitoring.config_document import (
    METRIC_TYPES,
    ConfigErrors,
    config_normalize,
    document_yaml,
    source_load,
)

__all__ = [
    "ConfigErrors",
    "MonitoringSettings",
    "config_normalize",
    "default_document",
    "document_yaml",
    "model_features",
    "monitoring_settings",
    "source_load",
]


@dataclass(frozen=True)
class MonitoringSettings:
    task: str
    threshold: float
    drift_features: list[str] | None
    drift_overrides: dict[str, tuple[str | None, float | None]]
    drift_share: float
    fairness_attributes: list[str]
    min_group_size: int
    window_hours: int
    alerts: list[dict]
    metrics: list[dict] = field(default_factory=list)

    def aliases(self, kind: str, metrics: dict[str, float | None]) -> dict[str, float | None]:
        """The named metrics of the config that a run of `kind` yields, from its metrics."""
        values: dict[str, float | None] = {}
        for entry in self.metrics:
            if METRIC_TYPES[entry["type"]][0] == kind:
                values[entry["name"]] = self._alias_value(entry, metrics)
        return values

    def _alias_value(self, entry: dict, metrics: dict[str, float | None]) -> float | None:
        measure = entry["measure"]
        if entry["type"] == "drift" and entry.get("feature"):
            return metrics.get(f"drift.{entry['feature']}")
        if entry["type"] != "fairness":
            return metrics.get(measure)
        if entry.get("attribute"):
            return metrics.get(f"{measure}.{entry['attribute']}")
        prefix = f"{measure}."
        found = [
            value
            for name, value in metrics.items()
            if name.startswith(prefix)
            and value is not None
            and (not self.fairness_attributes or name[len(prefix) :] in self.fairness_attributes)
        ]
        if not found:
            return None
        return min(found) if measure.endswith("_ratio") else max(found)


# --- reading ---------------------------------------------------------------------------


def model_features(model: RegisteredModel) -> dict[str, str] | None:
    """Feature name -> kind over all the model's versions (signature, else reference data);
    None when no version declares any."""
    from models_registry.serving.loader import feature_spec

    features: dict[str, str] = {}
    for version in model.versions.prefetch_related("reference_datasets"):
        try:
            spec = feature_spec(version)
        except Conflict:
            continue
        for name, kind in spec.columns:
            features.setdefault(name, kind)
    return features or None


def default_document(model: RegisteredModel) -> dict[str, Any]:
    return config_normalize({}, features=None, protected=list(model.protected_attributes))


def settings_from_document(document: dict, model: RegisteredModel) -> MonitoringSettings:
    drift, fairness = document["drift"], document["fairness"]
    attributes = fairness["attributes"]
    return MonitoringSettings(
        task=document["task"],
        threshold=document["threshold"],
        drift_features=drift["features"],
        drift_overrides={
            name: (o.get("method"), o.get("threshold")) for name, o in drift["overrides"].items()
        },
        drift_share=drift["drift_share"],
        fairness_attributes=list(model.protected_attributes if attributes is None else attributes),
        min_group_size=fairness["min_group_size"],
        window_hours=document["window"]["hours"],
        alerts=list(document["alerts"]),
        metrics=list(document["metrics"]),
    )


def monitoring_settings(*, model: RegisteredModel) -> MonitoringSettings:
    """The model's settings; the defaults when it has no monitoring config."""
    from monitoring.models import MonitoringConfig

    stored = MonitoringConfig.objects.filter(model=model).values_list("document", flat=True)
    document = stored.first() or default_document(model)
    return settings_from_document(document, model)
