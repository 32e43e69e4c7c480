"""POST/GET /api/v1/models/{name}/kpis/ and /api/v1/business-impact-reviews/."""

from __future__ import annotations

import django_filters
from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import generics, mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from governance.api.filter_forms import StrictFilterForm
from governance.api.schema import errors
from governance.roles import Capability
from models_registry.selectors import model_get
from reviews.api.impact_serializers import (
    ImpactReviewCompleteSerializer,
    ImpactReviewSerializer,
    KpiReceiptSerializer,
    KpiSerializer,
    KpiUploadSerializer,
)
from reviews.impact_models import BusinessImpactReview, BusinessKpi
from reviews.impact_reviews import impact_review_complete
from reviews.impact_selectors import impact_review_get, impact_review_list, kpi_list
from reviews.kpis import kpi_record


class KpiFilter(django_filters.FilterSet):
    name = django_filters.CharFilter()

    class Meta:
        model = BusinessKpi
        fields = ["name"]


class ModelKpisView(generics.ListAPIView):
    """A model's business KPIs with their values by period; POST records a batch."""

    serializer_class = KpiSerializer
    filterset_class = KpiFilter
    queryset = BusinessKpi.objects.none()  # for the schema; get_queryset reads the model's
    required_capabilities = {"get": Capability.READ, "post": Capability.RECORD_KPIS}

    def get_queryset(self) -> QuerySet[BusinessKpi]:
        return kpi_list(model=model_get(name=self.kwargs["model_name"]))

    @extend_schema(
        request=KpiUploadSerializer,
        responses={201: KpiReceiptSerializer, **errors(400, 404, 409)},
        summary="Record a business KPI over periods",
        description="One KPI (created on first use, with its direction) and a batch of "
        "periods, all or nothing: one bad period is a 400 naming its index in `periods`, "
        "and nothing is stored.",
    )
    def post(self, request: Request, model_name: str) -> Response:
        model = model_get(name=model_name)
        data = KpiUploadSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        fields = data.validated_data
        receipt = kpi_record(
            actor=request.user,
            model=model,
            name=fields["name"],
            periods=request.data.get("periods"),  # as sent: the service names bad ones
            unit=fields.get("unit"),
            direction=fields.get("direction"),
            description=fields.get("description"),
        )
        receipt_kpi = kpi_list(model=model).get(pk=receipt.kpi.pk)
        body = {
            "kpi": receipt_kpi,
            "created": receipt.created,
            "updated": receipt.updated,
            "unchanged": receipt.unchanged,
        }
        return Response(KpiReceiptSerializer(body).data, status=status.HTTP_201_CREATED)


class ImpactReviewFilter(django_filters.FilterSet):
    model = django_filters.CharFilter(field_name="model__name")
    status = django_filters.ChoiceFilter(choices=BusinessImpactReview.Status.choices)
    due_by = django_filters.DateFilter(field_name="due_on", lookup_expr="lte")

    class Meta:
        model = BusinessImpactReview
        form = StrictFilterForm  # `?due_by=` given empty is a 400, not ignored
        fields = ["model", "status", "due_by"]


class ImpactReviewViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """Business-impact reviews, by due date (filter by model, status, due_by); complete one."""

    serializer_class = ImpactReviewSerializer
    filterset_class = ImpactReviewFilter
    lookup_value_regex = r"[0-9]+"
    required_capabilities = {"complete": Capability.REVIEW_BUSINESS_IMPACT}

    def get_queryset(self) -> QuerySet[BusinessImpactReview]:
        return impact_review_list()

    @extend_schema(responses={200: ImpactReviewSerializer})
    def retrieve(self, request: Request, pk: str) -> Response:
        return Response(ImpactReviewSerializer(impact_review_get(review_id=int(pk))).data)

    @extend_schema(
        request=ImpactReviewCompleteSerializer,
        responses={200: ImpactReviewSerializer, **errors(400, 409)},
    )
    @action(detail=True, methods=["post"])
    def complete(self, request: Request, pk: str) -> Response:
        """Record what the review found (board members, compliance officers); 409 when it
        was completed already."""
        data = ImpactReviewCompleteSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        impact_review_complete(
            actor=request.user, review_id=int(pk), notes=data.validated_data["notes"]
        )
        return Response(ImpactReviewSerializer(impact_review_get(review_id=int(pk))).data)
