"""The schema and docs views: READ capability needed, errors in JSON like the rest of the API.

Kept apart from governance.api.schema, which DRF imports while loading APIView itself.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response


class _JSONErrors:
    """Errors (401 for anonymous callers) as JSON, whatever the view renders on success."""

    def finalize_response(self, request: Request, response: Any, *args: Any, **kwargs: Any) -> Any:
        response = super().finalize_response(request, response, *args, **kwargs)  # type: ignore[misc]
        if isinstance(response, Response) and response.status_code >= 400:
            response.accepted_renderer = JSONRenderer()
            response.accepted_media_type = JSONRenderer.media_type
        return response


class SchemaView(_JSONErrors, SpectacularAPIView):
    """GET /api/v1/schema/: the OpenAPI document, for callers with the READ capability."""


class DocsView(_JSONErrors, SpectacularSwaggerSplitView):
    """GET /api/v1/docs/: Swagger UI (its files come from drf-spectacular-sidecar's static).

    The split view serves its start-up script as a file: no inline script under the CSP.
    """
