from django.urls import path
from rest_framework.routers import SimpleRouter

from reviews.api.finding_views import FindingViewSet, ModelValidationsView, RevalidationsView
from reviews.api.impact_views import ImpactReviewViewSet, ModelKpisView
from reviews.api.meeting_views import ActionItemViewSet, BoardViewSet, MeetingViewSet
from reviews.api.summary_views import ReviewSummaryViewSet
from reviews.api.views import PromotionRequestViewSet, VersionPromotionRequestViewSet

router = SimpleRouter()
router.register("promotion-requests", PromotionRequestViewSet, basename="promotion-request")
router.register("boards", BoardViewSet, basename="board")
router.register("meetings", MeetingViewSet, basename="meeting")
router.register("action-items", ActionItemViewSet, basename="action-item")
router.register("business-impact-reviews", ImpactReviewViewSet, basename="impact-review")
router.register("findings", FindingViewSet, basename="finding")
router.register("review-summaries", ReviewSummaryViewSet, basename="review-summary")

version_requests = VersionPromotionRequestViewSet.as_view({"get": "list", "post": "create"})

urlpatterns = [
    *router.urls,
    path(
        "models/<slug:model_name>/versions/<int:version>/promotion-requests/",
        version_requests,
        name="version-promotion-requests",
    ),
    path("models/<slug:model_name>/kpis/", ModelKpisView.as_view(), name="model-kpis"),
    path(
        "models/<slug:model_name>/validations/",
        ModelValidationsView.as_view(),
        name="model-validations",
    ),
    path("revalidations/", RevalidationsView.as_view(), name="revalidations"),
]
