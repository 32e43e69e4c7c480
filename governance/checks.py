"""A system check that makes a forgotten permission declaration impossible to ship.

`manage.py check` (and so `make lint`, `make test`, every `runserver` and `migrate`) walks
the URL configuration and reports every view that declares nothing: a page without
`@page_requires` / `@page_public` (governance/pages.py), or an API view whose permission
classes leave out HasCapability (which reads `required_capabilities`). The admin keeps
Django's own staff-only check; its routes are walked, and tested, but not re-declared.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from django.core.checks import CheckMessage, Error, register
from django.urls import URLPattern, URLResolver, get_resolver
from django.urls.resolvers import RoutePattern
from rest_framework.views import APIView

from governance.api.permissions import HasCapability
from governance.pages import page_capability

ADMIN_NAMESPACE = "admin"


@dataclass(frozen=True)
class Route:
    """One URL pattern with everything its include chain adds to it."""

    route: str  # readable, e.g. "api/v1/models/<slug:name>/"
    name: str | None  # namespaced, for reverse(): "registry:model"
    view: Callable[..., Any]
    params: tuple[str, ...]
    namespaces: tuple[str, ...]

    @property
    def is_admin(self) -> bool:
        return self.namespaces[:1] == (ADMIN_NAMESPACE,)

    @property
    def api_view_class(self) -> type | None:
        """The DRF view class behind the route, None for a plain Django view."""
        cls = getattr(self.view, "cls", None)
        return cls if isinstance(cls, type) and issubclass(cls, APIView) else None


def _params(pattern: Any) -> tuple[str, ...]:
    if isinstance(pattern, RoutePattern):
        return tuple(pattern.converters)
    return tuple(pattern.regex.groupindex)


def url_routes(
    resolver: URLResolver | None = None,
    prefix: str = "",
    namespaces: tuple[str, ...] = (),
    params: tuple[str, ...] = (),
) -> Iterator[Route]:
    """Every route of the URL configuration, the admin's and the API's included."""
    resolver = resolver or get_resolver()
    for entry in resolver.url_patterns:
        route = prefix + str(entry.pattern)
        found = params + _params(entry.pattern)
        if isinstance(entry, URLResolver):
            inner = namespaces + ((entry.namespace,) if entry.namespace else ())
            yield from url_routes(entry, route, inner, found)
        elif isinstance(entry, URLPattern):
            name = ":".join((*namespaces, entry.name)) if entry.name else None
            yield Route(route, name, entry.callback, found, namespaces)


def route_declaration_missing(route: Route) -> bool:
    """True when nothing says who may use the route."""
    if route.is_admin:
        return False
    cls = route.api_view_class
    if cls is not None:
        return not any(issubclass(p, HasCapability) for p in cls.permission_classes)
    return page_capability(route.view) is None


@register("security")
def check_every_route_declares_its_capability(
    app_configs: Any = None, **kwargs: Any
) -> list[CheckMessage]:
    return [
        Error(
            f"/{route.route} ({getattr(route.view, '__qualname__', route.view)!r}) "
            "declares no capability.",
            hint="Decorate the page with @page_requires(Capability...) or @page_public "
            "(governance/pages.py); give an API view HasCapability and required_capabilities.",
            id="governance.E001",
        )
        for route in url_routes()
        if route_declaration_missing(route)
    ]


@register("security")
def check_the_audit_keys_parse(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """A signing or verifier key that does not parse would fail the hourly checkpoint, and
    verification would run on without one: say so when the process starts."""
    from django.conf import settings
    from django.core.exceptions import ImproperlyConfigured

    from governance.audit.checkpoints import trusted_keys

    if not (settings.AUDIT_SIGNING_KEY or settings.AUDIT_VERIFY_KEYS):
        return []  # the embedded mode's development key is made on first use
    try:
        trusted_keys()
    except (ImproperlyConfigured, ValueError) as error:
        return [Error(f"The audit keys do not parse: {error}", id="governance.E002")]
    return []
