from django.urls import path

from reviews import impact_views, views

app_name = "reviews"

urlpatterns = [
    path("", views.queue, name="queue"),
    path("requests/<int:request_id>/", views.request_detail, name="request"),
    path("requests/<int:request_id>/sign-off/", views.request_sign_off, name="sign-off"),
    path(
        "models/<slug:name>/business-impact/",
        impact_views.model_business_impact,
        name="business-impact",
    ),
    path(
        "models/<slug:name>/business-impact/reviews/<int:review_id>/complete/",
        impact_views.impact_review_done,
        name="impact-review-complete",
    ),
]
