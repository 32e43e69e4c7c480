from django.urls import path
from rest_framework.routers import SimpleRouter

from monitoring.api.views import (
    CanaryEvaluationView,
    CheckReportView,
    GroundTruthView,
    IncidentViewSet,
)

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
        "models/<slug:model_name>/canary/",
        CanaryEvaluationView.as_view(),
        name="model-canary",
    ),
    path("checks/<int:check_id>/report/", CheckReportView.as_view(), name="check-report"),
]
