"""Evidence and reference links on validations and findings: http(s) URLs, a bounded list.

Checked in the services, so the API, the pages and the admin refuse the same things.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator

from governance.errors import InvalidInput

MAX_LINKS = 20
MAX_LINK_LENGTH = 1000
_is_url = URLValidator(schemes=["http", "https"])


def links_checked(links: Any, *, field: str = "links") -> list[str]:
    """The links as stored, or InvalidInput naming the first bad one."""
    if links is None:
        return []
    if not isinstance(links, list | tuple):
        raise InvalidInput("Links are a list of URLs.", extra={field: ["Must be a list."]})
    if len(links) > MAX_LINKS:
        raise InvalidInput("Too many links.", extra={field: [f"At most {MAX_LINKS}."]})
    checked = []
    for index, link in enumerate(links):
        problem = _link_problem(link)
        if problem:
            raise InvalidInput(
                f"Link {index} is not usable.", extra={field: [f"Item {index}: {problem}"]}
            )
        checked.append(link.strip())
    return checked


def _link_problem(link: Any) -> str | None:
    if not isinstance(link, str) or not link.strip():
        return "Must be a URL."
    if len(link) > MAX_LINK_LENGTH:
        return f"At most {MAX_LINK_LENGTH} characters."
    try:
        _is_url(link.strip())
    except ValidationError:
        return "Must be an http or https URL."
    return None
