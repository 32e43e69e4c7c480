from django.urls import path

from reviews import (
    finding_views,
    impact_views,
    meeting_actions,
    meeting_views,
    revalidation_views,
    summary_views,
    views,
)

app_name = "reviews"

meeting = "meetings/<int:meeting_id>/"
meeting_routes = [
    path("boards/", meeting_views.board_list, name="boards"),
    path("boards/new/", meeting_actions.board_create, name="board-create"),
    path("boards/<int:board_id>/", meeting_views.board_detail, name="board"),
    path("boards/<int:board_id>/members/", meeting_actions.board_member, name="board-member"),
    path(
        "boards/<int:board_id>/meetings/",
        meeting_actions.meeting_schedule,
        name="meeting-schedule",
    ),
    path(meeting, meeting_views.meeting_detail, name="meeting"),
    path(meeting + "prepare/", meeting_actions.meeting_prepare, name="meeting-prepare"),
    path(meeting + "items/", meeting_actions.agenda_item_add, name="meeting-item-add"),
    path(
        meeting + "items/<int:item_id>/remove/",
        meeting_actions.agenda_item_remove,
        name="meeting-item-remove",
    ),
    path(meeting + "start/", meeting_actions.meeting_start, name="meeting-start"),
    path(meeting + "attendance/", meeting_actions.attendance_record, name="meeting-attendance"),
    path(meeting + "minutes/", meeting_actions.minutes_record, name="meeting-minutes"),
    path(meeting + "decisions/", meeting_actions.decision_record, name="meeting-decision"),
    path(meeting + "close/", meeting_actions.meeting_close, name="meeting-close"),
    path(
        meeting + "action-items/<int:decision_id>/done/",
        meeting_actions.action_item_done,
        name="action-item-done",
    ),
]

urlpatterns = [
    path("", views.queue, name="queue"),
    path("requests/", views.request_list, name="requests"),
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
    *meeting_routes,
]
