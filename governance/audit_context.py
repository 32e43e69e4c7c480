"""Who is acting, and from where (api, page, admin, task, command), for the current unit of work.

Entry points set it: the middleware for web requests, `acting_as` for tasks and commands.
History rows and audit events read it, so no service has to pass it along by hand.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from django.db import models


class Origin(models.TextChoices):
    API = "api", "API"
    PAGE = "page", "Browser page"
    ADMIN = "admin", "Admin"
    TASK = "task", "Background task"
    COMMAND = "command", "Management command"
    SYSTEM = "system", "System"


@dataclass(frozen=True)
class AuditContext:
    origin: str
    user: Any = None
    request: Any = None

    def acting_user(self) -> Any:
        """The explicit user, else the request's (DRF sets it there once it authenticates)."""
        if self.user is not None:
            return self.user
        user = getattr(self.request, "user", None)
        if user is not None and user.is_authenticated:
            return user
        return None


_SYSTEM = AuditContext(origin=Origin.SYSTEM)
_current: ContextVar[AuditContext | None] = ContextVar("governance_audit_context", default=None)


def current_audit_context() -> AuditContext:
    return _current.get() or _SYSTEM


@contextmanager
def acting_as(*, origin: str, user: Any = None, request: Any = None) -> Iterator[AuditContext]:
    token = _current.set(AuditContext(origin=origin, user=user, request=request))
    try:
        yield current_audit_context()
    finally:
        _current.reset(token)


def origin_for_path(path: str) -> str:
    if path.startswith("/api/"):
        return Origin.API
    if path.startswith("/admin/"):
        return Origin.ADMIN
    return Origin.PAGE
