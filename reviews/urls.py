from django.urls import path

from reviews import finding_views, impact_views, revalidation_views, summary_views, views

app_name = "reviews"

urlpatterns = [
    path("", views.queue, name="queue"),
    path("requests/<int:request_id>/", views.request_detail, name="request"),
    path("requests/<int:request_id>/sign-off/", views.request_sign_off, name="sign-off"),
    path("requests/<int:request_id>/execute/", views.request_execute, name="execute"),
    path("requests/<int:request_id>/withdraw/", views.request_withdraw, name="withdraw"),
    path("requests/<int:request_id>/request-again/", views.request_again, name="request-again"),
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
    path("findings/", finding_views.finding_list_page, name="findings"),
    path("findings/<int:finding_id>/", finding_views.finding_detail, name="finding"),
    path("findings/<int:finding_id>/status/", finding_views.finding_status, name="finding-status"),
    path(
        "findings/<int:finding_id>/evidence/",
        finding_views.finding_evidence,
        name="finding-evidence",
    ),
    path(
        "findings/<int:finding_id>/assign/",
        finding_views.finding_assign_page,
        name="finding-assign",
    ),
    path("revalidations/", finding_views.revalidation_list, name="revalidations"),
    path(
        "revalidations/policy/",
        revalidation_views.revalidation_policy,
        name="revalidation-policy",
    ),
    path(
        "revalidations/policy/intervals/",
        revalidation_views.revalidation_interval_edit,
        name="revalidation-interval",
    ),
    path(
        "revalidations/policy/materiality/",
        revalidation_views.materiality_edit,
        name="revalidation-materiality",
    ),
    path(
        "models/<slug:name>/validations/new/",
        revalidation_views.validation_new,
        name="validation-new",
    ),
    path("summaries/", summary_views.summary_list, name="summaries"),
    path("summaries/<int:summary_id>/", summary_views.summary_detail, name="summary"),
    path(
        "summaries/<int:summary_id>/download/",
        summary_views.summary_download,
        name="summary-download",
    ),
]
