"""The monitoring config of a model over the API: PUT YAML or JSON, GET it back."""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import parsers, serializers
from rest_framework.exceptions import ParseError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from governance.api.parsers import SafeJSONParser, json_problem, read_bounded
from governance.errors import InvalidInput
from governance.roles import Capability
from models_registry.selectors import model_get
from monitoring.config import document_yaml, source_load
from monitoring.config_schema import DOCUMENT_SCHEMA
from monitoring.selectors import monitoring_config_shown
from monitoring.services import monitoring_config_put


@dataclass(frozen=True)
class ConfigSource:
    """A request body as submitted: its text and format (the service parses it again)."""

    text: str
    format: str


class ConfigJSONParser(SafeJSONParser):
    """A JSON config: the safe parser's checks, and the text kept as submitted."""

    def parse(self, stream: Any, media_type: Any = None, parser_context: Any = None) -> Any:
        body = read_bounded(stream)
        super().parse(io.BytesIO(body), media_type, parser_context)
        return ConfigSource(text=body.decode(), format="json")


class ConfigYAMLParser(SafeJSONParser):
    """A YAML config within the body limit, read with safe_load (no aliases); a 400 names
    the line of a syntax error."""

    media_type = "application/yaml"

    def parse(self, stream: Any, media_type: Any = None, parser_context: Any = None) -> Any:
        body = read_bounded(stream)
        try:
            text = body.decode(parsers.get_encoding(parser_context or {}))
        except UnicodeDecodeError as exc:
            raise ParseError("The YAML is not valid UTF-8.") from exc
        data = source_load(text, "yaml")
        path, problem = json_problem(data, max_depth=settings.API_JSON_MAX_DEPTH)
        if problem:
            where = ".".join(path) or "the body"
            raise InvalidInput(f"Invalid input at {where}: {problem}", extra={where: [problem]})
        return ConfigSource(text=text, format="yaml")


class MonitoringConfigSerializer(serializers.Serializer):
    configured = serializers.BooleanField(help_text="False: no config stored, the defaults apply.")
    document = serializers.JSONField(help_text="The normalized document checks and rules read.")
    source = serializers.CharField(allow_blank=True, help_text="The text as submitted.")
    source_format = serializers.ChoiceField(choices=["yaml", "json"])
    updated_at = serializers.DateTimeField(allow_null=True)
    updated_by = serializers.CharField(allow_null=True)


def _answer(model: Any, fmt: str) -> HttpResponse:
    shown = monitoring_config_shown(model=model)
    if fmt == "yaml":
        text = shown["source"] if shown["source_format"] == "yaml" else ""
        return HttpResponse(
            text or document_yaml(shown["document"]), content_type="application/yaml"
        )
    return Response(MonitoringConfigSerializer(shown).data)


class MonitoringConfigView(APIView):
    """What is monitored for a model: named metrics, drift settings, fairness, alert rules."""

    parser_classes = [ConfigJSONParser, ConfigYAMLParser]
    required_capabilities = {"put": Capability.CONFIGURE_MONITORING}

    @extend_schema(
        parameters=[
            OpenApiParameter("format", str, enum=["json", "yaml"], description="json (default)")
        ],
        responses={
            (200, "application/json"): MonitoringConfigSerializer,
            (200, "application/yaml"): OpenApiTypes.OBJECT,
        },
    )
    def get(self, request: Request, model_name: str) -> HttpResponse:
        """The stored config, or the defaults with `configured: false`; `?format=yaml`
        returns the YAML as submitted (or the document rendered as YAML)."""
        fmt = request.query_params.get("format", "json")
        if fmt not in ("json", "yaml"):
            raise InvalidInput(
                "format must be json or yaml.", extra={"format": [f"Unknown format '{fmt}'."]}
            )
        return _answer(model_get(name=model_name), fmt)

    @extend_schema(
        request={"application/json": DOCUMENT_SCHEMA, "application/yaml": DOCUMENT_SCHEMA},
        responses={200: MonitoringConfigSerializer},
    )
    def put(self, request: Request, model_name: str) -> Response:
        """Validate and store the config (YAML or JSON); 400 names each bad path."""
        model = model_get(name=model_name)
        body = request.data
        if not isinstance(body, ConfigSource):
            raise InvalidInput("The body is empty.", extra={"source": ["Required."]})
        monitoring_config_put(
            actor=request.user, model=model, source=body.text, source_format=body.format
        )
        return Response(MonitoringConfigSerializer(monitoring_config_shown(model=model)).data)
