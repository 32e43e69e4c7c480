from django.urls import path
from rest_framework.routers import SimpleRouter

from monitoring.api.config_views import MonitoringConfigView
from monitoring.api.views import CanaryEvaluationView, GroundTruthView, IncidentViewSet

router = SimpleRouter()
router.register("incidents", IncidentViewSet, basename="incident")

urlpatterns = [
    *router.urls,
    path(
        "models/<slug:model_name>/ground-truth/",
        GroundTruthView.as_view(),
        name="model-ground-truth",
    ),
    path(
        "models/<slug:model_name>/monitoring-config/",
        MonitoringConfigView.as_view(),
        name="model-monitoring-config",
    ),
    path(
        "models/<slug:model_name>/canary/",
        CanaryEvaluationView.as_view(),
        name="model-canary",
    ),
]
