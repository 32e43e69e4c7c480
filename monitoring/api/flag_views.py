"""GET and POST /api/v1/models/{name}/flags/: people flag predictions, readers list them;
POST .../flags/{id}/resolve/ and .../dismiss/: those who work alerts close them."""

from __future__ import annotations

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from governance.api.schema import errors
from governance.roles import Capability
from models_registry.selectors import model_get
from monitoring.api.flag_serializers import (
    FlagCreateSerializer,
    FlagDismissSerializer,
    FlagResolveSerializer,
    FlagSerializer,
)
from monitoring.filters import FlagFilter
from monitoring.flag_selectors import flag_list
from monitoring.models import PredictionFlag
from monitoring.services.flags import flag_close, flag_create


class ModelFlagsView(generics.ListAPIView):
    """The flags raised on a model's predictions, newest first (filter by reason, status,
    version, request_id, flagged_by, since, until); POST flags one prediction."""

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


class FlagCloseView(generics.GenericAPIView):
    """Close an open flag: `resolve` (acted on) or `dismiss` (nothing to do, a note why)."""

    serializer_class: type[serializers.Serializer] = FlagResolveSerializer
    required_capabilities = {"post": Capability.MANAGE_ALERTS}
    status: str = ""

    def post(self, request: Request, model_name: str, flag_id: int) -> Response:
        data = self.serializer_class(data=request.data)
        data.is_valid(raise_exception=True)
        flag = flag_close(
            actor=request.user,
            model=model_get(name=model_name),
            flag_id=flag_id,
            status=self.status,
            note=data.validated_data["note"],
        )
        return Response(FlagSerializer(flag).data)


CLOSED_RESPONSES = {200: FlagSerializer, **errors(400, 403, 404, 409)}


class FlagResolveView(FlagCloseView):
    status = PredictionFlag.Status.RESOLVED

    @extend_schema(
        request=FlagResolveSerializer,
        responses=CLOSED_RESPONSES,
        summary="Resolve a flag",
        description="The flag was acted on; the optional `note` says how. Data scientists, "
        "board members and compliance officers (those who work alerts). 409 when the flag "
        "is closed already.",
    )
    def post(self, request: Request, model_name: str, flag_id: int) -> Response:
        return super().post(request, model_name, flag_id)


class FlagDismissView(FlagCloseView):
    serializer_class = FlagDismissSerializer
    status = PredictionFlag.Status.DISMISSED

    @extend_schema(
        request=FlagDismissSerializer,
        responses=CLOSED_RESPONSES,
        summary="Dismiss a flag",
        description="Nothing is to be done about the flag; the `note` saying why is "
        "required. Same roles as resolving; 409 when the flag is closed already.",
    )
    def post(self, request: Request, model_name: str, flag_id: int) -> Response:
        return super().post(request, model_name, flag_id)
