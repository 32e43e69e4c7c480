from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from governance import views
from governance.api.schema_views import DocsView, SchemaView
from governance.pages import page_public

api_v1 = [
    path("", include("models_registry.api.urls")),
    path("", include("reviews.api.urls")),
    path("", include("monitoring.api.urls")),
    path("schema/", SchemaView.as_view(), name="schema"),
    path("docs/", DocsView.as_view(url_name="schema"), name="docs"),
]

urlpatterns = [
    path("healthz", views.healthz, name="healthz"),
    path("favicon.ico", views.favicon, name="favicon"),
    path("api/v1/", include(api_v1)),
    path("admin/", admin.site.urls),
    path("login/", page_public(auth_views.LoginView.as_view()), name="login"),
    path("logout/", page_public(auth_views.LogoutView.as_view()), name="logout"),
    path("", include("reviews.urls")),
    path("", include("models_registry.urls")),
    path("", include("monitoring.urls")),
]

handler400 = "governance.views.bad_request"
handler403 = "governance.views.permission_denied"
handler404 = "governance.views.not_found"
handler500 = "governance.views.server_error"
