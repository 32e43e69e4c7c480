"""The monitoring section of model cards, contributed by monitoring to the registry's cards."""

from __future__ import annotations

from typing import Any

from models_registry.models import ModelVersion
from monitoring.models import Incident


def monitoring_section(version: ModelVersion) -> tuple[dict[str, Any], str | None]:
    """The version's incidents: open ones listed, resolved ones counted.

    Drift and fairness checks will add their latest results here when they exist.
    """
    incidents = list(
        version.incidents.order_by("opened_at", "id").values(
            "pk", "severity", "status", "title", "opened_at", "resolved_at"
        )
    )
    open_incidents = [
        {
            "incident": row["pk"],
            "severity": row["severity"],
            "status": row["status"],
            "title": row["title"],
            "opened_at": row["opened_at"].isoformat(),
        }
        for row in incidents
        if row["status"] != Incident.Status.CLOSED
    ]
    stamps = [
        stamp.isoformat()
        for row in incidents
        for stamp in (row["opened_at"], row["resolved_at"])
        if stamp is not None
    ]
    section = {
        "open_incidents": open_incidents,
        "resolved_incidents": len(incidents) - len(open_incidents),
    }
    return section, max(stamps, default=None)
