from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

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
