from django.urls import include, path
from rest_framework.routers import SimpleRouter

from models_registry.api.views import ModelViewSet, VersionViewSet

models_router = SimpleRouter()
models_router.register("models", ModelViewSet, basename="model")

versions_router = SimpleRouter()
versions_router.register("versions", VersionViewSet, basename="version")

urlpatterns = [
    path("", include(models_router.urls)),
    path("models/<slug:model_name>/", include(versions_router.urls)),
]
