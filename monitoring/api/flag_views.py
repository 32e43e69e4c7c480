"""GET and POST /api/v1/models/{name}/flags/: people flag predictions, readers list them."""

from __future__ import annotations

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import generics, status
from rest_framework.request import Request
from rest_framework.response import Response

from governance.api.schema import errors
from governance.roles import Capability
from models_registry.selectors import model_get
from monitoring.api.flag_serializers import FlagCreateSerializer, FlagSerializer
from monitoring.filters import FlagFilter
from monitoring.flag_selectors import flag_list
from monitoring.models import PredictionFlag
from monitoring.services.flags import flag_create


class ModelFlagsView(generics.ListAPIView):
    """The flags raised on a model's predictions, newest first (filter by reason, version,
    request_id, flagged_by, since, until); POST flags one prediction."""

    serializer_class = FlagSerializer
    filterset_class = FlagFilter
    queryset = PredictionFlag.objects.none()  # for the schema; get_queryset reads the model's
    required_capabilities = {"get": Capability.READ, "post": Capability.FLAG_PREDICTIONS}

    def get_queryset(self) -> QuerySet[PredictionFlag]:
        return flag_list().filter(model=model_get(name=self.kwargs["model_name"]))

    @extend_schema(
        request=FlagCreateSerializer,
        responses={201: FlagSerializer, 200: FlagSerializer, **errors(400, 404, 409)},
        summary="Flag a prediction",
        description="Say that a prediction (by its request_id) was wrong, unfair, "
        "unexplainable or other, with an optional comment. Every role may, `service` "
        "included. 400 when the model has no answered prediction with that request_id; one "
        "flag per person per prediction: the same flag sent again answers 200 with the "
        "stored one (a safe retry), another reason or comment is a 409 naming it (`flag`).",
    )
    def post(self, request: Request, model_name: str) -> Response:
        model = model_get(name=model_name)
        data = FlagCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        outcome = flag_create(actor=request.user, model=model, **data.validated_data)
        answer = status.HTTP_201_CREATED if outcome.created else status.HTTP_200_OK
        return Response(FlagSerializer(outcome.flag).data, status=answer)
