from django.urls import path

from monitoring import alert_views, ethics_views, incident_views, views

app_name = "monitoring"

urlpatterns = [
    path("metrics", views.metrics, name="metrics"),
    path("alerts/", alert_views.alert_list, name="alerts"),
    path("alerts/<int:alert_id>/", alert_views.alert_detail, name="alert"),
    path(
        "alerts/<int:alert_id>/acknowledge/",
        alert_views.alert_acknowledge_view,
        name="alert-acknowledge",
    ),
    path("alerts/<int:alert_id>/silence/", alert_views.alert_silence_view, name="alert-silence"),
    path(
        "alerts/<int:alert_id>/unsilence/",
        alert_views.alert_unsilence_view,
        name="alert-unsilence",
    ),
    path("incidents/", incident_views.incident_list, name="incidents"),
    path("incidents/<int:incident_id>/", incident_views.incident_detail, name="incident"),
    path(
        "incidents/<int:incident_id>/assign/",
        incident_views.incident_assign,
        name="incident-assign",
    ),
    path(
        "incidents/<int:incident_id>/comment/",
        incident_views.incident_comment,
        name="incident-comment",
    ),
    path(
        "incidents/<int:incident_id>/status/",
        incident_views.incident_status,
        name="incident-status",
    ),
    path(
        "incidents/<int:incident_id>/flag-serious/",
        incident_views.incident_flag_serious,
        name="incident-flag-serious",
    ),
    path(
        "incidents/<int:incident_id>/report/",
        incident_views.incident_report,
        name="incident-report",
    ),
    path(
        "incidents/<int:incident_id>/rollback/",
        incident_views.incident_rollback,
        name="incident-rollback",
    ),
    path(
        "incidents/<int:incident_id>/retrain/",
        incident_views.incident_retrain,
        name="incident-retrain",
    ),
    path("ethics/", ethics_views.ethics_overview, name="ethics"),
    path("models/<slug:name>/ethics/", ethics_views.model_ethics, name="model-ethics"),
    path("models/<slug:name>/health/", views.model_health, name="model-health"),
    path("models/<slug:name>/monitoring/", views.model_monitoring, name="model-monitoring"),
    path("models/<slug:name>/checks/<int:check_id>/", views.check_detail, name="check"),
    path(
        "models/<slug:name>/checks/<int:check_id>/report/",
        views.check_report,
        name="check-report",
    ),
    path(
        "models/<slug:name>/checks/<int:check_id>/report/render/",
        views.check_report_request,
        name="check-report-render",
    ),
]
