from django.urls import path

from monitoring import views

app_name = "monitoring"

urlpatterns = [
    path("metrics", views.metrics, name="metrics"),
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
