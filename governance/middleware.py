from __future__ import annotations

from collections.abc import Callable
from http import HTTPStatus

from django.http import HttpRequest, HttpResponse, JsonResponse
from rest_framework.response import Response

from governance.audit_context import acting_as, origin_for_path
from governance.errors import NotAllowed, NotFound


class AuditContextMiddleware:
    """Records the request and its origin, so history rows know who changed what from where."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        with acting_as(origin=origin_for_path(request.path), request=request):
            return self.get_response(request)


class ApplicationErrorMiddleware:
    """Pages: a service's NotFound is a 404 page, NotAllowed a 403 page (the API has its own)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        from governance import views

        if isinstance(exception, NotFound):
            return views.not_found(request, exception)
        if isinstance(exception, NotAllowed):
            return views.permission_denied(request, exception)
        return None


class ApiErrorsAsJsonMiddleware:
    """Under /api/ every error is JSON, whatever produced it.

    DRF answers its own errors in JSON, and the error handlers (governance/views.py) do so
    when DEBUG is off. With DEBUG on, Django answers an unknown URL or an exception outside
    a DRF view with its HTML technical page, and a bare 405 or a CSRF failure is HTML too:
    scripts must never have to parse that (the contract), so it is replaced here.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if (
            response.status_code < 400
            or not request.path.startswith("/api/")
            or response.get("Content-Type", "").startswith("application/json")
            # DRF negotiated this one (JSON, or the browsable API a browser asked for).
            or isinstance(response, Response)
        ):
            return response
        replacement = JsonResponse(
            {"detail": _ERROR_DETAILS.get(response.status_code, _reason(response.status_code))},
            status=response.status_code,
        )
        # Everything but the body is kept: Allow, WWW-Authenticate, the policy headers, cookies.
        for header, value in response.headers.items():
            if header.lower() not in ("content-type", "content-length"):
                replacement[header] = value
        replacement.cookies = response.cookies
        return replacement


_ERROR_DETAILS = {
    404: "Not found.",
    405: "Method not allowed.",
    500: "Internal server error. It has been logged.",
}


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase + "."
    except ValueError:
        return "The request failed."
