from django.urls import include, path
from rest_framework.routers import SimpleRouter

from models_registry.api.ingest import PredictionsIngestView
from models_registry.api.retention import RetentionPolicyView
from models_registry.api.serving import ExplainView, PredictView
from models_registry.api.views import ModelViewSet, VersionViewSet

models_router = SimpleRouter()
models_router.register("models", ModelViewSet, basename="model")

versions_router = SimpleRouter()
versions_router.register("versions", VersionViewSet, basename="version")

urlpatterns = [
    path("models/<slug:model_name>/predict/", PredictView.as_view(), name="model-predict"),
    path("models/<slug:model_name>/explain/", ExplainView.as_view(), name="model-explain"),
    path(
        "models/<slug:model_name>/predictions/",
        PredictionsIngestView.as_view(),
        name="model-predictions",
    ),
    path(
        "models/<slug:model_name>/retention-policy/",
        RetentionPolicyView.as_view(),
        name="model-retention-policy",
    ),
    path("", include(models_router.urls)),
    path("models/<slug:model_name>/", include(versions_router.urls)),
]
