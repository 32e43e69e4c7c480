from django.urls import path
from rest_framework.routers import SimpleRouter

from monitoring.api.alert_views import AlertViewSet
from monitoring.api.check_views import CHECK_VIEWS, ModelCheckListView, ModelMetricListView
from monitoring.api.config_views import MonitoringConfigView
from monitoring.api.flag_views import FlagDismissView, FlagResolveView, ModelFlagsView
from monitoring.api.notification_views import (
    NotificationDeliveryViewSet,
    NotificationEndpointViewSet,
    NotificationRouteViewSet,
)
from monitoring.api.retraining_views import ModelRetrainingRunsView, RetrainingRunView
from monitoring.api.views import (
    CanaryEvaluationView,
    CheckReportView,
    GroundTruthView,
    IncidentViewSet,
)

router = SimpleRouter()
router.register("incidents", IncidentViewSet, basename="incident")
router.register("alerts", AlertViewSet, basename="alert")
router.register(
    "notification-endpoints", NotificationEndpointViewSet, basename="notification-endpoint"
)
router.register("notification-routes", NotificationRouteViewSet, basename="notification-route")
router.register(
    "notification-deliveries", NotificationDeliveryViewSet, basename="notification-delivery"
)

urlpatterns = [
    *router.urls,
    path(
        "models/<slug:model_name>/ground-truth/",
        GroundTruthView.as_view(),
        name="model-ground-truth",
    ),
    path("models/<slug:model_name>/flags/", ModelFlagsView.as_view(), name="model-flags"),
    path(
        "models/<slug:model_name>/flags/<int:flag_id>/resolve/",
        FlagResolveView.as_view(),
        name="model-flag-resolve",
    ),
    path(
        "models/<slug:model_name>/flags/<int:flag_id>/dismiss/",
        FlagDismissView.as_view(),
        name="model-flag-dismiss",
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
    path("models/<slug:model_name>/checks/", ModelCheckListView.as_view(), name="model-checks"),
    path("models/<slug:model_name>/metrics/", ModelMetricListView.as_view(), name="model-metrics"),
    path("checks/<int:check_id>/report/", CheckReportView.as_view(), name="check-report"),
    path(
        "models/<slug:model_name>/retraining-runs/",
        ModelRetrainingRunsView.as_view(),
        name="model-retraining-runs",
    ),
    path("retraining-runs/<int:pk>/", RetrainingRunView.as_view(), name="retraining-run"),
]
for _kind, (_requester, _detail) in CHECK_VIEWS.items():
    urlpatterns += [
        path(
            f"models/<slug:model_name>/{_kind}-checks/",
            _requester.as_view(),
            name=f"model-{_kind}-checks",
        ),
        path(f"{_kind}-checks/<int:pk>/", _detail.as_view(), name=f"{_kind}-check"),
    ]
