"""Every change monitoring makes. Callers import from here; the modules split it by topic."""

from monitoring.services.alerts import (
    alert_acknowledge,
    alert_silence,
    alert_silences_expire,
    alert_unsilence,
    alerts_evaluate_run,
    alerts_evaluate_window,
    alerts_evaluate_windows,
)
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
from monitoring.services.check_schedules import (
    check_schedules_ensure,
    check_schedules_ensure_all,
    check_schedules_run_due,
)
from monitoring.services.checks import check_execute, check_request
from monitoring.services.flags import FlagOutcome, flag_close, flag_comments_erase, flag_create
from monitoring.services.ground_truth import GroundTruthReceipt, ground_truth_record
from monitoring.services.incidents import (
    incident_acknowledge,
    incident_assign,
    incident_comment,
    incident_deployment_record,
    incident_event_add,
    incident_open,
    incident_resolve,
    incident_rollback,
    incident_status_change,
)
from monitoring.services.monitoring_config import (
    monitoring_config_put,
    monitoring_config_validate,
)
from monitoring.services.notification_setup import (
    notification_endpoint_delete,
    notification_endpoint_problems,
    notification_endpoint_save,
    notification_endpoint_secret_rotate,
    notification_route_delete,
    notification_route_save,
)
from monitoring.services.notifications import (
    notification_deliver,
    notification_delivery_send_again,
    notifications_due,
    notifications_for_alert,
)
from monitoring.services.serious_incidents import incident_flag_serious, incident_report_record

__all__ = [
    "CANARY_REFERENCE",
    "Action",
    "CanaryOutcome",
    "FlagOutcome",
    "GroundTruthReceipt",
    "alert_acknowledge",
    "alert_silence",
    "alert_silences_expire",
    "alert_unsilence",
    "alerts_evaluate_run",
    "alerts_evaluate_window",
    "alerts_evaluate_windows",
    "canary_decide",
    "canary_decide_all",
    "canary_gates_problems",
    "canary_gates_save",
    "check_execute",
    "check_report_render",
    "check_report_request",
    "check_request",
    "check_schedules_ensure",
    "check_schedules_ensure_all",
    "check_schedules_run_due",
    "flag_close",
    "flag_comments_erase",
    "flag_create",
    "ground_truth_record",
    "incident_acknowledge",
    "incident_assign",
    "incident_comment",
    "incident_deployment_record",
    "incident_event_add",
    "incident_flag_serious",
    "incident_open",
    "incident_open_for_changed_artifact",
    "incident_report_record",
    "incident_resolve",
    "incident_rollback",
    "incident_status_change",
    "monitoring_config_put",
    "monitoring_config_validate",
    "notification_deliver",
    "notification_delivery_send_again",
    "notification_endpoint_delete",
    "notification_endpoint_problems",
    "notification_endpoint_save",
    "notification_endpoint_secret_rotate",
    "notification_route_delete",
    "notification_route_save",
    "notifications_due",
    "notifications_for_alert",
]
