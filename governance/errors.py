"""The errors services raise. One exception handler turns them into JSON responses."""

from __future__ import annotations

from typing import Any


class ApplicationError(Exception):
    status_code = 400
    default_detail = "The request could not be processed."

    def __init__(self, detail: str | None = None, *, extra: dict[str, Any] | None = None) -> None:
        self.detail = detail or self.default_detail
        self.extra = extra or {}
        super().__init__(self.detail)


class InvalidInput(ApplicationError):
    status_code = 400
    default_detail = "Invalid input."


class NotAllowed(ApplicationError):
    """Authenticated, but the role or separation of duties forbids it."""

    status_code = 403
    default_detail = "You are not allowed to do this."


class NotFound(ApplicationError):
    status_code = 404
    default_detail = "Not found."


class Conflict(ApplicationError):
    """The object's state does not allow the action."""

    status_code = 409
    default_detail = "The object's state does not allow this action."


class ServiceUnavailable(ApplicationError):
    status_code = 503
    default_detail = "A dependency is unavailable."
