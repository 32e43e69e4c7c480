from __future__ import annotations

import re

from django.db.models import QuerySet
from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from governance.api.parsers import SafeFormParser
from governance.api.schema import errors
from governance.errors import Conflict, InvalidInput
from governance.roles import Capability
from models_registry import selectors, services
from models_registry.api.serializers import (
    CardDiffSerializer,
    CardRegenerationSerializer,
    CardRevisionSerializer,
    DeploymentEventSerializer,
    ModelCreateSerializer,
    ModelSerializer,
    ModelUpdateSerializer,
    QueuedSerializer,
    ReferenceDatasetSerializer,
    ReferenceDataUploadSerializer,
    RollbackSerializer,
    VersionCreateSerializer,
    VersionSerializer,
    VersionUpdateSerializer,
)
from models_registry.card_formats import card_diff, card_to_markdown, card_to_yaml
from models_registry.filters import ModelFilter
from models_registry.models import ModelCardRevision, ModelVersion, RegisteredModel
from models_registry.reference_data import reference_data_upload

CARD_FORMATS = {
    "json": (None, "application/json"),
    "yaml": (card_to_yaml, "application/yaml"),
    "markdown": (card_to_markdown, "text/markdown; charset=utf-8"),
}
# Revision numbers are stored as 32-bit integers; anything else is a 400, never a 500.
MAX_REVISION = 2**31 - 1
REVISION = {"type": "integer", "minimum": 1, "maximum": MAX_REVISION}


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
        "partial_update": (Capability.REGISTER, Capability.CHANGE_RISK_TIER),
        "rollback": Capability.ROLLBACK,
    }

    def get_queryset(self) -> QuerySet[RegisteredModel]:
        return selectors.model_list()

    def get_object(self) -> RegisteredModel:
        return selectors.model_get(name=self.kwargs["name"])

    @extend_schema(request=ModelCreateSerializer, responses={201: ModelSerializer, **errors(409)})
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

    @extend_schema(request=RollbackSerializer, responses={200: ModelSerializer, **errors(409)})
    @action(detail=True, methods=["post"])
    def rollback(self, request: Request, name: str) -> Response:
        data = RollbackSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        events = services.deployment_rollback(
            actor=request.user,
            model=self.get_object(),
            reason=data.validated_data["reason"],
            from_version=data.validated_data.get("from_version"),
        )
        body = ModelSerializer(selectors.model_get(name=name)).data
        body["events"] = DeploymentEventSerializer(events, many=True).data
        return Response(body)

    @extend_schema(responses={200: DeploymentEventSerializer(many=True)}, filters=False)
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
        "partial_update": Capability.EDIT_CARD,
        "card_regenerate": Capability.REGISTER,
        "reference_data.post": Capability.REGISTER,
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

    @extend_schema(
        request=VersionCreateSerializer, responses={201: VersionSerializer, **errors(503)}
    )
    def create(self, request: Request, model_name: str) -> Response:
        model = selectors.model_get(name=model_name)
        data = VersionCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        version = services.version_register(actor=request.user, model=model, **data.validated_data)
        version.refresh_from_db()
        return Response(VersionSerializer(version).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=VersionUpdateSerializer, responses={200: VersionSerializer})
    def partial_update(self, request: Request, model_name: str, version: str) -> Response:
        data = VersionUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        updated = services.version_update_notes(
            actor=request.user, version=self.get_object(), **data.validated_data
        )
        updated.refresh_from_db()
        return Response(VersionSerializer(updated).data)

    @extend_schema(
        parameters=[
            OpenApiParameter("format", str, enum=list(CARD_FORMATS), description="json (default)"),
            OpenApiParameter(
                "revision", REVISION, description="A past revision; default the latest"
            ),
        ],
        responses={
            (200, "application/json"): OpenApiTypes.OBJECT,
            (200, "application/yaml"): OpenApiTypes.OBJECT,
            (200, "text/markdown"): str,
            **errors(409),
        },
    )
    @action(detail=True, methods=["get"])
    def card(self, request: Request, model_name: str, version: str) -> HttpResponse:
        """The model card as JSON, YAML (`?format=yaml`) or Markdown (`?format=markdown`)."""
        fmt = request.query_params.get("format", "json")
        if fmt not in CARD_FORMATS:
            raise InvalidInput(
                f"format must be one of {', '.join(CARD_FORMATS)}.",
                extra={"format": [f"Unknown format '{fmt}'."]},
            )
        revision = self._revision(request.query_params.get("revision"))
        if fmt == "json":
            response: HttpResponse = Response(revision.content)
        else:
            render, content_type = CARD_FORMATS[fmt]
            response = HttpResponse(render(revision.content), content_type=content_type)
        response["ETag"] = f'"{revision.content_hash}"'
        response["X-Card-Revision"] = str(revision.revision)
        return response

    def _revision(self, number: str | None) -> ModelCardRevision:
        model_version = self.get_object()
        if number is None:
            revision = selectors.card_latest(version=model_version)
            if revision is None:
                raise Conflict("The model card is still being generated.")
            return revision
        if not re.fullmatch(r"[0-9]{1,10}", number) or int(number) > MAX_REVISION:
            raise InvalidInput(
                f"revision must be a number from 1 to {MAX_REVISION}.",
                extra={"revision": ["Not a revision number."]},
            )
        return selectors.card_revision_get(version=model_version, revision=int(number))

    @extend_schema(responses={200: CardRevisionSerializer(many=True)})
    @action(detail=True, methods=["get"], url_path="card/revisions", pagination_class=None)
    def card_revisions(self, request: Request, model_name: str, version: str) -> Response:
        revisions = self.get_object().card_revisions.order_by("-revision")
        return Response(CardRevisionSerializer(revisions, many=True).data)

    @extend_schema(
        parameters=[
            OpenApiParameter("from", REVISION, required=True),
            OpenApiParameter("to", REVISION, description="Default: the latest revision"),
        ],
        responses={200: CardDiffSerializer, **errors(409)},
    )
    @action(detail=True, methods=["get"], url_path="card/diff")
    def card_diff(self, request: Request, model_name: str, version: str) -> Response:
        """What changed between two revisions (`?from=1&to=3`; `to` defaults to the latest)."""
        older = self._revision(request.query_params.get("from") or "")
        newer = self._revision(request.query_params.get("to"))
        changes = card_diff(older.content, newer.content)
        return Response(
            CardDiffSerializer(
                {"from": older.revision, "to": newer.revision, "changes": changes}
            ).data
        )

    @extend_schema(
        request=None,
        responses={200: CardRegenerationSerializer, 202: QueuedSerializer, **errors(503)},
    )
    @action(detail=True, methods=["post"], url_path="card/regenerate")
    def card_regenerate(self, request: Request, model_name: str, version: str) -> Response:
        """Re-read the MLflow run and rebuild the card: 200 when done in-process, 202 when queued.

        A new revision exists only if the content changed (`changed` says which).
        """
        model_version = self.get_object()
        outcome = services.card_regeneration_request(actor=request.user, version=model_version)
        if outcome.queued:
            return Response({"status": "queued"}, status=status.HTTP_202_ACCEPTED)
        latest = selectors.card_latest(version=model_version)
        latest.changed = outcome.changed
        return Response(CardRegenerationSerializer(latest).data, status=status.HTTP_200_OK)

    @extend_schema(methods=["GET"], responses={200: ReferenceDatasetSerializer(many=True)})
    @extend_schema(
        methods=["POST"],
        request={"multipart/form-data": ReferenceDataUploadSerializer},
        responses={201: ReferenceDatasetSerializer},
    )
    @action(
        detail=True,
        methods=["get", "post"],
        url_path="reference-data",
        parser_classes=[MultiPartParser, SafeFormParser],
        pagination_class=None,
    )
    def reference_data(self, request: Request, model_name: str, version: str) -> Response:
        """The reference data sets of a version (latest first); POST uploads a new one."""
        model_version = self.get_object()
        if request.method == "GET":
            datasets = model_version.reference_datasets.select_related("uploaded_by")
            return Response(ReferenceDatasetSerializer(datasets, many=True).data)
        data = ReferenceDataUploadSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        features = [
            c.strip() for c in data.validated_data["feature_columns"].split(",") if c.strip()
        ]
        dataset = reference_data_upload(
            actor=request.user,
            version=model_version,
            upload=data.validated_data["file"],
            label_column=data.validated_data["label_column"],
            feature_columns=features,
        )
        return Response(ReferenceDatasetSerializer(dataset).data, status=status.HTTP_201_CREATED)
