from __future__ import annotations

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from governance.errors import Conflict
from governance.roles import Capability
from models_registry import selectors, services
from models_registry.api.serializers import (
    CardSerializer,
    DeploymentEventSerializer,
    ModelCreateSerializer,
    ModelSerializer,
    ModelUpdateSerializer,
    RollbackSerializer,
    VersionCreateSerializer,
    VersionSerializer,
)
from models_registry.cards import card_regenerate
from models_registry.filters import ModelFilter
from models_registry.models import ModelVersion, RegisteredModel


class ModelViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    """Registered models, addressed by name."""

    serializer_class = ModelSerializer
    lookup_field = "name"
    lookup_value_regex = r"[-a-zA-Z0-9_]+"
    filterset_class = ModelFilter
    required_capabilities = {
        "create": Capability.REGISTER,
        "partial_update": Capability.REGISTER,
        "rollback": Capability.ROLLBACK,
    }

    def get_queryset(self) -> QuerySet[RegisteredModel]:
        return selectors.model_list()

    def get_object(self) -> RegisteredModel:
        return selectors.model_get(name=self.kwargs["name"])

    @extend_schema(request=ModelCreateSerializer, responses={201: ModelSerializer})
    def create(self, request: Request) -> Response:
        data = ModelCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        model = services.model_create(actor=request.user, **data.validated_data)
        model = selectors.model_get(name=model.name)
        return Response(ModelSerializer(model).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=ModelUpdateSerializer, responses={200: ModelSerializer})
    def partial_update(self, request: Request, name: str) -> Response:
        data = ModelUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        model = services.model_update(
            actor=request.user, model=self.get_object(), **data.validated_data
        )
        return Response(ModelSerializer(selectors.model_get(name=model.name)).data)

    @extend_schema(request=RollbackSerializer, responses={200: ModelSerializer})
    @action(detail=True, methods=["post"])
    def rollback(self, request: Request, name: str) -> Response:
        data = RollbackSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        events = services.deployment_rollback(
            actor=request.user, model=self.get_object(), reason=data.validated_data["reason"]
        )
        body = ModelSerializer(selectors.model_get(name=name)).data
        body["events"] = DeploymentEventSerializer(events, many=True).data
        return Response(body)

    @extend_schema(responses={200: DeploymentEventSerializer(many=True)})
    @action(detail=True, methods=["get"], url_path="deployment-events")
    def deployment_events(self, request: Request, name: str) -> Response:
        events = selectors.deployment_events(model=self.get_object())
        page = self.paginate_queryset(events)
        return self.get_paginated_response(DeploymentEventSerializer(page, many=True).data)


class VersionViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    """Versions of one model, numbered 1, 2, 3 ..."""

    serializer_class = VersionSerializer
    lookup_field = "version"
    lookup_value_regex = r"[0-9]+"
    required_capabilities = {
        "create": Capability.REGISTER,
        "card_regenerate": Capability.REGISTER,
    }

    def get_queryset(self) -> QuerySet[ModelVersion]:
        if getattr(self, "swagger_fake_view", False):  # schema generation, no URL kwargs
            return ModelVersion.objects.none()
        model = selectors.model_get(name=self.kwargs["model_name"])
        return selectors.version_list(model=model)

    def get_object(self) -> ModelVersion:
        return selectors.version_get(
            model_name=self.kwargs["model_name"], version=int(self.kwargs["version"])
        )

    @extend_schema(request=VersionCreateSerializer, responses={201: VersionSerializer})
    def create(self, request: Request, model_name: str) -> Response:
        model = selectors.model_get(name=model_name)
        data = VersionCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        version = services.version_register(actor=request.user, model=model, **data.validated_data)
        version.refresh_from_db()
        return Response(VersionSerializer(version).data, status=status.HTTP_201_CREATED)

    @extend_schema(responses={200: CardSerializer})
    @action(detail=True, methods=["get"])
    def card(self, request: Request, model_name: str, version: str) -> Response:
        revision = selectors.card_latest(version=self.get_object())
        if revision is None:
            raise Conflict("The model card is still being generated.")
        return Response(CardSerializer(revision).data)

    @extend_schema(request=None, responses={200: CardSerializer})
    @action(detail=True, methods=["post"], url_path="card/regenerate")
    def card_regenerate(self, request: Request, model_name: str, version: str) -> Response:
        model_version = self.get_object()
        created = card_regenerate(version_id=model_version.pk, reason="regeneration requested")
        revision = selectors.card_latest(version=model_version)
        body = CardSerializer(revision).data
        body["changed"] = created is not None
        return Response(body, status=status.HTTP_200_OK)
