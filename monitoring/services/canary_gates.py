"""Canary gates: per model, edited by compliance officers (in the admin)."""

from __future__ import annotations

import math
from typing import Any

from django.db import transaction

from governance.errors import InvalidInput, NotAllowed
from governance.history import set_change_reason
from governance.roles import Capability, user_can
from governance.services import audit_record
from monitoring.canary import GATE_FIELDS
from monitoring.models import CanaryGates

GATE_LIMITS: dict[str, tuple[float, float]] = {
    "window_minutes": (1, 7 * 24 * 60),
    "min_requests": (1, 10_000_000),
    "min_labelled": (1, 10_000_000),
    "max_error_rate_increase": (0.0, 1.0),
    "max_latency_ratio": (0.01, 1000.0),
    "max_quality_drop": (0.0, 1.0),
    "max_fairness_gap": (0.0, 1.0),
}


def canary_gates_problems(values: dict[str, Any]) -> dict[str, list[str]]:
    """Field -> errors for gate values out of range (the admin form shows them too)."""
    problems = {}
    for name, (low, high) in GATE_LIMITS.items():
        value = values.get(name)
        if value is None or not math.isfinite(value) or not low <= value <= high:
            problems[name] = [f"Between {low:g} and {high:g}."]
    return problems


@transaction.atomic
def canary_gates_save(*, actor: Any, gates: CanaryGates, origin_label: str = "") -> bool:
    """Store a model's edited gates; False if nothing changed."""
    if not user_can(actor, Capability.USE_ADMIN) and not getattr(actor, "is_superuser", False):
        raise NotAllowed("Only compliance officers edit canary gates.")
    problems = canary_gates_problems({name: getattr(gates, name) for name in GATE_FIELDS})
    if problems:
        raise InvalidInput("The canary gates are not valid.", extra=problems)
    before = CanaryGates.objects.filter(pk=gates.pk).values(*GATE_FIELDS).first()
    changed = [f for f in GATE_FIELDS if before is None or before[f] != getattr(gates, f)]
    if not changed:
        return False
    where = f" in {origin_label}" if origin_label else ""
    reason = (f"edited{where}: " + ", ".join(changed)) if before else f"created{where}"
    set_change_reason(gates, reason[:100])
    gates.save()
    audit_record(
        action="canary_gates.edited" if before else "canary_gates.created",
        object_type="model",
        object_id=gates.model.name,
        data={**{f: getattr(gates, f) for f in GATE_FIELDS}, "previous": before},
        actor=actor,
    )
    return True
