"""The OpenAPI schema at /api/v1/schema/ tells the truth about every endpoint.

CI pipelines generate clients from it and schemathesis checks the running API against it
(tests/governance/test_api_schema.py), so what it promises has to hold:

- every operation documents its error answers, all with one `Error` component (`detail`
  plus the offending fields); 401 and 403 everywhere, 400 where input is read, 404 where
  an object or a page is addressed; 409 and 503 where a view declares them (`errors()`);
- request bodies of `StrictInputSerializer`s say `additionalProperties: false`, because
  unknown fields are a 400, and required strings must hold a non-space character,
  because surrounding whitespace is trimmed before the blank check;
- the schema and the docs answer anonymous callers 401 JSON like every other endpoint
  (governance/api/schema_views.py).
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import (
    OpenApiAuthenticationExtension,
    OpenApiSerializerExtension,
)
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.plumbing import build_bearer_security_scheme_object, force_instance
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers

# A required string that is only whitespace is trimmed to "" and refused: say so. DRF trims
# with str.strip(), which also takes the separators \x1c-\x1f and \x85 that a
# JavaScript-style `\S` lets through; the pattern excludes them too.
NOT_BLANK = r"[^\s\x1c-\x1f\x85]"

ERROR_DESCRIPTIONS = {
    400: "Invalid input: `detail` says what is wrong, and each offending field (or record "
    "index) is named with its messages.",
    401: "No or bad credentials.",
    403: "Authenticated, but a role or separation of duties does not allow this.",
    404: "Unknown object, or a page past the end.",
    409: "The object's state does not allow this action.",
    415: "The body is not in a media type this endpoint reads.",
    503: "A dependency (the MLflow tracking server, the inference log) is unavailable.",
}


class ErrorSerializer(serializers.Serializer):
    """Every error the API answers: a `detail` string, plus fields that name the problem."""

    detail = serializers.CharField(help_text="What went wrong, for a human.")


def errors(*codes: int) -> dict[int, OpenApiResponse]:
    """Error responses for `@extend_schema(responses={200: ..., **errors(409)})`."""
    return {
        code: OpenApiResponse(ErrorSerializer, description=ERROR_DESCRIPTIONS[code])
        for code in codes
    }


class GovernanceAutoSchema(AutoSchema):
    """drf-spectacular's AutoSchema, plus the error answers every operation can give."""

    def get_operation(self, *args: Any, **kwargs: Any) -> dict[str, Any] | None:
        operation = super().get_operation(*args, **kwargs)
        if operation is None:
            return None
        parameters = operation.get("parameters", [])
        query = {p["name"] for p in parameters if p["in"] == "query"}
        has_path = any(p["in"] == "path" for p in parameters)
        has_body = "requestBody" in operation
        codes = [401, 403]
        if has_body or query - {"page"}:
            codes.append(400)
        if has_body:
            codes.append(415)
        if has_path or "page" in query:
            codes.append(404)
        responses = operation["responses"]
        error_ref = self.resolve_serializer(ErrorSerializer, "response").ref
        for code in codes:
            responses.setdefault(
                str(code),
                {
                    "description": ERROR_DESCRIPTIONS[code],
                    "content": {"application/json": {"schema": error_ref}},
                },
            )
        operation["responses"] = dict(sorted(responses.items()))
        return operation

    def _get_filter_parameters(self) -> list[dict[str, Any]]:
        # An empty filter value means "no filter" (django-filter; the pages send them).
        parameters = super()._get_filter_parameters()
        for parameter in parameters:
            schema = parameter.get("schema", {})
            if "enum" in schema and "" not in schema["enum"]:
                schema["enum"] = [*schema["enum"], ""]
        return parameters


def _require_non_blank(field: serializers.Field, schema: dict[str, Any]) -> None:
    if isinstance(field, serializers.ListField) and "items" in schema:
        _require_non_blank(field.child, schema["items"])
        return
    if (
        isinstance(field, serializers.CharField)
        and not field.allow_blank
        and field.trim_whitespace
        and "pattern" not in schema
        and schema.get("type") == "string"
    ):
        schema["pattern"] = NOT_BLANK


class StrictInputSerializerExtension(OpenApiSerializerExtension):
    """Unknown fields are refused (a 400), so the schema says additionalProperties: false."""

    target_class = "governance.api.serializers.StrictInputSerializer"
    match_subclasses = True

    def map_serializer(self, auto_schema: AutoSchema, direction: str) -> dict[str, Any]:
        schema = auto_schema._map_serializer(self.target, direction, bypass_extensions=True)
        schema["additionalProperties"] = False
        properties = schema.get("properties", {})
        fields = force_instance(self.target).fields
        for name, field in fields.items():
            if name in properties and not field.read_only:
                _require_non_blank(field, properties[name])
        if getattr(self.target, "required_when_patched", False):
            # drf-spectacular drops `required` for PATCH bodies (DRF's partial update); a
            # view that reads this serializer whole still requires its required fields.
            required = [n for n, f in fields.items() if f.required and not f.read_only]
            schema["required"] = required
        return schema


class ServingTokenScheme(OpenApiAuthenticationExtension):
    """predict/explain read the same `Authorization: Token <key>` header (kept briefly)."""

    target_class = "governance.api.authentication.ServingTokenAuthentication"
    name = "servingTokenAuth"

    def get_security_definition(self, auto_schema: AutoSchema) -> dict[str, Any]:
        return build_bearer_security_scheme_object(
            header_name="Authorization", token_prefix=self.target.keyword
        )
