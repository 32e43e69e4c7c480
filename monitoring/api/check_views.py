"""Check runs over the API: request one per kind, read it back, list runs and metrics."""

from __future__ import annotations

from typing import Any, ClassVar

import django_filters
from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from governance.api.schema import errors
from governance.roles import Capability
from models_registry.selectors import model_get
from monitoring import selectors, services
from monitoring.api.check_serializers import (
    KIND_SERIALIZERS,
    CheckMetricSerializer,
    CheckQueuedSerializer,
    CheckRequestSerializer,
    CheckRunSerializer,
)
from monitoring.models import CheckMetric, CheckRun


class CheckRequestView(APIView):
    """Queue a check of one kind; subclasses name the kind."""

    kind: ClassVar[str]
    required_capabilities = {"post": Capability.RUN_CHECKS}

    def post(self, request: Request, model_name: str) -> Response:
        model = model_get(name=model_name)
        data = CheckRequestSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        run = services.check_request(
            actor=request.user, model=model, kind=self.kind, **data.validated_data
        )
        return Response(
            CheckQueuedSerializer({"id": run.pk, "status": CheckRun.Status.QUEUED}).data,
            status=status.HTTP_202_ACCEPTED,
        )


class CheckDetailView(APIView):
    """One run of one kind; subclasses name the kind."""

    kind: ClassVar[str]

    def get(self, request: Request, pk: int) -> Response:
        run = selectors.check_run_get(run_id=pk, kind=self.kind)
        return Response(KIND_SERIALIZERS[self.kind](run).data)


def _check_views(kind: str) -> tuple[type[APIView], type[APIView]]:
    label = CheckRun.Kind(kind).label.lower()
    serializer = KIND_SERIALIZERS[kind]

    @extend_schema(
        request=CheckRequestSerializer,
        responses={202: CheckQueuedSerializer, **errors(404, 409)},
        summary=f"Queue a {kind} check",
        description=f"Queue a check of {label} of the version over a window of its log "
        "(default: the last window_hours of the monitoring config, 24, ending now). 409 when "
        "the check cannot run for this version (no reference data, a task it does not apply to).",
    )
    def post(self: Any, request: Request, model_name: str) -> Response:
        return CheckRequestView.post(self, request, model_name)

    @extend_schema(responses={200: serializer, **errors(404)}, summary=f"A {kind} check")
    def get(self: Any, request: Request, pk: int) -> Response:
        return CheckDetailView.get(self, request, pk)

    name = kind.capitalize()
    requester = type(f"{name}CheckRequestView", (CheckRequestView,), {"kind": kind, "post": post})
    detail = type(f"{name}CheckDetailView", (CheckDetailView,), {"kind": kind, "get": get})
    return requester, detail


CHECK_VIEWS = {kind: _check_views(kind) for kind in CheckRun.Kind.values}


class CheckRunFilter(django_filters.FilterSet):
    kind = django_filters.ChoiceFilter(choices=CheckRun.Kind.choices)
    status = django_filters.ChoiceFilter(choices=CheckRun.Status.choices)
    version = django_filters.NumberFilter(field_name="version__version")

    class Meta:
        model = CheckRun
        fields = ["kind", "status", "version"]


class ModelCheckListView(generics.ListAPIView):
    """The model's check runs, newest first (filter by kind, status, version)."""

    serializer_class = CheckRunSerializer
    filterset_class = CheckRunFilter
    queryset = CheckRun.objects.none()  # for the schema; get_queryset reads the model's

    def get_queryset(self) -> QuerySet[CheckRun]:
        return selectors.check_run_list(model=model_get(name=self.kwargs["model_name"]))


class ModelMetricListView(generics.ListAPIView):
    """Named metrics of the model's checks: the latest value of each, or one's history."""

    serializer_class = CheckMetricSerializer
    queryset = CheckMetric.objects.none()  # for the schema; get_queryset reads the model's
    filter_backends: ClassVar[list[Any]] = []

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "name",
                str,
                description="One metric's values over time, newest first (e.g. drift_share, "
                "f1, demographic_parity_difference.gender). Without it: the latest value of "
                "every metric.",
            )
        ]
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    def get_queryset(self) -> QuerySet[CheckMetric]:
        model = model_get(name=self.kwargs["model_name"])
        name = self.request.query_params.get("name")
        if name:
            return selectors.check_metric_history(model=model, name=name[:200])
        return selectors.check_metrics_latest(model=model)
