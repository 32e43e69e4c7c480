from django.urls import path

from models_registry import views

app_name = "registry"

version = "models/<slug:name>/versions/<int:version>/"

urlpatterns = [
    path("models/", views.model_index, name="models"),
    path("models/<slug:name>/", views.model_detail, name="model"),
    path("models/<slug:name>/rollback/", views.model_rollback, name="model-rollback"),
    path(version, views.version_detail, name="version"),
    path(version + "notes/", views.version_notes, name="version-notes"),
    path(version + "card/regenerate/", views.card_regenerate, name="card-regenerate"),
    path(version + "card/diff/", views.card_diff_page, name="card-diff"),
]
