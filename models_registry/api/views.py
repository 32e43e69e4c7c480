from __future__ import annotations

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
from governance.errors import Conflict, InvalidInput
from governance.roles import Capability
from models_registry import selectors, services
from models_registry.api.serializers import (
    CardChangeSerializer,
    CardRevisionSerializer,
    DeploymentEventSerializer,
    ModelCreateSerializer,
    ModelSerializer,
    ModelUpdateSerializer,
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

    @extend_schema(request=VersionCreateSerializer, responses={201: VersionSerializer})
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
            OpenApiParameter("revision", int, description="A past revision; default the latest"),
        ],
        responses={
            (200, "application/json"): OpenApiTypes.OBJECT,
            (200, "application/yaml"): str,
            (200, "text/markdown"): str,
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
        if not number.isdigit():
            raise InvalidInput("revision must be a number.", extra={"revision": ["Not a number."]})
        return selectors.card_revision_get(version=model_version, revision=int(number))

    @extend_schema(responses={200: CardRevisionSerializer(many=True)})
    @action(detail=True, methods=["get"], url_path="card/revisions")
    def card_revisions(self, request: Request, model_name: str, version: str) -> Response:
        revisions = self.get_object().card_revisions.order_by("-revision")
        return Response(CardRevisionSerializer(revisions, many=True).data)

    @extend_schema(
        parameters=[OpenApiParameter("from", int, required=True), OpenApiParameter("to", int)],
        responses={200: CardChangeSerializer(many=True)},
    )
    @action(detail=True, methods=["get"], url_path="card/diff")
    def card_diff(self, request: Request, model_name: str, version: str) -> Response:
        """What changed between two revisions (`?from=1&to=3`; `to` defaults to the latest)."""
        older = self._revision(request.query_params.get("from") or "")
        newer = self._revision(request.query_params.get("to"))
        changes = card_diff(older.content, newer.content)
        return Response(
            {
                "from": older.revision,
                "to": newer.revision,
                "changes": CardChangeSerializer(changes, many=True).data,
            }
        )

    @extend_schema(request=None, responses={200: CardRevisionSerializer, 202: OpenApiTypes.OBJECT})
    @action(detail=True, methods=["post"], url_path="card/regenerate")
    def card_regenerate(self, request: Request, model_name: str, version: str) -> Response:
        """Re-read the MLflow run and rebuild the card: 200 when done in-process, 202 when queued.

        A new revision exists only if the content changed (`changed` says which).
        """
        model_version = self.get_object()
        outcome = services.card_regeneration_request(actor=request.user, version=model_version)
        if outcome.queued:
            return Response({"status": "queued"}, status=status.HTTP_202_ACCEPTED)
        body = CardRevisionSerializer(selectors.card_latest(version=model_version)).data
        body["changed"] = outcome.changed
        return Response(body, status=status.HTTP_200_OK)

    @extend_schema(
        request={"multipart/form-data": ReferenceDataUploadSerializer},
        responses={201: ReferenceDatasetSerializer, 200: ReferenceDatasetSerializer(many=True)},
    )
    @action(
        detail=True,
        methods=["get", "post"],
        url_path="reference-data",
        parser_classes=[MultiPartParser, SafeFormParser],
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
