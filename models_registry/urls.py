from django.urls import path

from models_registry import views

app_name = "registry"

urlpatterns = [
    path("models/", views.model_index, name="models"),
    path("models/<slug:name>/", views.model_detail, name="model"),
    path("models/<slug:name>/versions/<int:version>/", views.version_detail, name="version"),
]
