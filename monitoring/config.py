"""What a model's monitoring config says, with the defaults a model without one gets.

INTERIM (runner branch): the defaults of the interface only, plus the few keys the runner's
tests set directly on MonitoringConfig.document. The config engineer's module (branch
`config`: parsing, validation, named metrics and their aliases) replaces this at merge.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from models_registry.models import RegisteredModel


@dataclass(frozen=True)
class MonitoringSettings:
    task: str = "binary_classification"
    threshold: float = 0.5
    drift_features: list[str] | None = None
    drift_overrides: dict[str, tuple[str | None, float | None]] = field(default_factory=dict)
    drift_share: float = 0.5
    fairness_attributes: list[str] = field(default_factory=list)
    min_group_size: int = 30
    window_hours: int = 24
    alerts: list[dict] = field(default_factory=list)

    def aliases(self, kind: str, metrics: dict[str, float | None]) -> dict[str, float | None]:
        return {}


def monitoring_settings(*, model: RegisteredModel) -> MonitoringSettings:
    from monitoring.models import MonitoringConfig

    document: dict[str, Any] = (
        MonitoringConfig.objects.filter(model=model).values_list("document", flat=True).first()
        or {}
    )
    return MonitoringSettings(
        task=document.get("task", "binary_classification"),
        threshold=document.get("threshold", 0.5),
        drift_features=document.get("drift_features"),
        drift_share=document.get("drift_share", 0.5),
        fairness_attributes=document.get(
            "fairness_attributes", list(model.protected_attributes or [])
        ),
        min_group_size=document.get("min_group_size", 30),
        window_hours=document.get("window_hours", 24),
    )
