"""Retraining runs over the API: start one for a model, read one, list a model's."""

from __future__ import annotations

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import generics, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from governance.api.schema import errors
from governance.roles import Capability
from models_registry.selectors import model_get
from monitoring.api.retraining_serializers import (
    RetrainingQueuedSerializer,
    RetrainingRequestSerializer,
    RetrainingRunSerializer,
)
from monitoring.models import RetrainingRun
from monitoring.retraining import retraining_request, selectors


class ModelRetrainingRunsView(generics.ListAPIView):
    """A model's retraining runs, newest first; POST starts one."""

    serializer_class = RetrainingRunSerializer
    queryset = RetrainingRun.objects.none()  # for the schema; get_queryset reads the model's
    required_capabilities = {"get": Capability.READ, "post": Capability.REQUEST_RETRAINING}

    def get_queryset(self) -> QuerySet[RetrainingRun]:
        return selectors.retraining_run_list(model=model_get(name=self.kwargs["model_name"]))

    @extend_schema(
        request=RetrainingRequestSerializer,
        responses={202: RetrainingQueuedSerializer, **errors(400, 403, 404, 409)},
        summary="Start a retraining run",
        description="Clone the production version's estimator, refit it on the window's "
        "labelled records plus its reference data, compare new and current on one hold-out, "
        "register the result as a candidate and ask for its canary promotion. 409 when the "
        "version is not in production or a run of the model is already queued or running.",
    )
    def post(self, request: Request, model_name: str) -> Response:
        data = RetrainingRequestSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        run = retraining_request(
            actor=request.user,
            model_name=model_name,
            version=fields.get("version"),
            window_start=fields.get("window_start"),
            window_end=fields.get("window_end"),
            incident_id=fields.get("incident"),
            trigger=RetrainingRun.Trigger.API,
        )
        return Response(
            RetrainingQueuedSerializer({"id": run.pk, "status": RetrainingRun.Status.QUEUED}).data,
            status=status.HTTP_202_ACCEPTED,
        )


class RetrainingRunView(APIView):
    required_capabilities = {"get": Capability.READ}

    @extend_schema(responses={200: RetrainingRunSerializer, **errors(404)})
    def get(self, request: Request, pk: int) -> Response:
        """One retraining run: its status, reason, MLflow run, candidate and request."""
        return Response(RetrainingRunSerializer(selectors.retraining_run_get(run_id=pk)).data)
