"""What a review summary is made of: sections of entries (text, and a link to what each
concerns), plain data that the Markdown, the stored summary and the browser page share."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from django.conf import settings
from django.urls import reverse


@dataclass(frozen=True)
class Entry:
    """One line of a section: `label` links to `url` (both may be empty), then `text`."""

    text: str
    label: str = ""
    url: str = ""


@dataclass(frozen=True)
class Section:
    key: str
    title: str
    entries: list[Entry] = field(default_factory=list)
    empty: str = "None."

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def site_url(route: str, /, **kwargs: Any) -> str:
    return f"{settings.SITE_URL}{reverse(route, kwargs=kwargs)}"


def when(moment: datetime) -> str:
    return f"{moment:%Y-%m-%d %H:%M} UTC"


def days_between(start: datetime, end: datetime) -> float:
    return round((end - start).total_seconds() / 86400, 1)


def who(user: Any) -> str:
    return user.username if user is not None else "nobody"
