"""Every change monitoring makes. Callers import from here; the modules split it by topic."""

from monitoring.services.artifact_incidents import incident_open_for_changed_artifact
from monitoring.services.canary_decisions import (
    CANARY_REFERENCE,
    Action,
    CanaryOutcome,
    canary_decide,
    canary_decide_all,
)
from monitoring.services.canary_gates import canary_gates_problems, canary_gates_save
from monitoring.services.check_reports import check_report_render, check_report_request
from monitoring.services.ground_truth import GroundTruthReceipt, ground_truth_record
from monitoring.services.incidents import incident_acknowledge, incident_open, incident_resolve

__all__ = [
    "CANARY_REFERENCE",
    "Action",
    "CanaryOutcome",
    "GroundTruthReceipt",
    "canary_decide",
    "canary_decide_all",
    "canary_gates_problems",
    "canary_gates_save",
    "check_report_render",
    "check_report_request",
    "ground_truth_record",
    "incident_acknowledge",
    "incident_open",
    "incident_open_for_changed_artifact",
    "incident_resolve",
]
