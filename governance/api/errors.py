"""One exception handler: every API error is JSON with at least a `detail` string."""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.core.exceptions import (
    PermissionDenied,
    RequestDataTooBig,
    SuspiciousOperation,
    TooManyFieldsSent,
)
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from governance.api.parsers import body_limit_error
from governance.errors import ApplicationError

logger = logging.getLogger(__name__)


def _summarize(data: Any) -> str:
    if isinstance(data, dict):
        return "Invalid input: " + ", ".join(str(key) for key in data) + "."
    if isinstance(data, list) and data:
        return str(data[0])
    return "Invalid input."


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, ApplicationError):
        response = Response({"detail": exc.detail, **exc.extra}, status=exc.status_code)
        retry_after = getattr(exc, "retry_after", None)  # governance.locking.LockContention
        if retry_after is not None:
            response["Retry-After"] = str(retry_after)
        return response
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    elif isinstance(exc, RequestDataTooBig):
        exc = body_limit_error()
    elif isinstance(exc, TooManyFieldsSent):
        exc = exceptions.ParseError(
            f"More than {settings.DATA_UPLOAD_MAX_NUMBER_FIELDS} form fields were sent."
        )
    elif isinstance(exc, SuspiciousOperation):
        # Django's other limits on what it parses (DATA_UPLOAD_MAX_NUMBER_FILES, malformed
        # multipart): the client's input, a 400 like any other, not an unhandled error.
        exc = exceptions.ParseError(str(exc))
    response = drf_exception_handler(exc, context)
    if response is None:
        # An unexpected error: logged with its traceback, answered as JSON (never an HTML
        # debug page), so scripts can always parse what the API says.
        logger.error("unhandled API error", exc_info=exc)
        return Response(
            {"detail": "Internal server error. It has been logged."},
            status=status.HTTP_500_INTERNAL_SERVER_ERROR,
        )
    if isinstance(exc, exceptions.ValidationError):
        if isinstance(response.data, list):
            response.data = {"detail": _summarize(response.data), "non_field_errors": response.data}
        elif isinstance(response.data, dict) and "detail" not in response.data:
            response.data["detail"] = _summarize(response.data)
        elif isinstance(response.data, dict) and not isinstance(response.data["detail"], str):
            # A field the client named "detail" (unknown, say): its errors move under
            # "fields", so `detail` stays the human-readable string the contract promises.
            response.data["fields"] = {"detail": response.data.pop("detail")}
            response.data["detail"] = _summarize(response.data["fields"])
    if response.status_code == status.HTTP_401_UNAUTHORIZED and not response.has_header(
        "WWW-Authenticate"
    ):
        response["WWW-Authenticate"] = 'Token realm="api"'
    return response
