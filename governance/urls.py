from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from governance import views
from governance.pages import page_public

api_v1 = [
    path("", include("models_registry.api.urls")),
    path("", include("reviews.api.urls")),
    path("", include("monitoring.api.urls")),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    # The split view serves its start-up script as a file: no inline script under the CSP.
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="docs"),
]

urlpatterns = [
    path("healthz", views.healthz, name="healthz"),
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
