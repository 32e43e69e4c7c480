"""Values as people read them in the admin: numbers rounded, lists as text, JSON indented.

Django's admin prints a float as Python does (`0.8124192759604787`) and a JSON field as
JSON (`["validator"]`). Every read-only admin takes `FormattedValuesMixin` (through
`ReadOnlyAdminMixin`), which shows each float and JSON field of its model, in the list and
on the page, through `formatted_value`; the stored value is untouched.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from django.db import models
from django.http import HttpRequest
from django.utils.html import format_html

SUFFIX = "_shown"


def rounded(value: Any) -> Any:
    """Floats to four significant digits (thousands and above to whole numbers), inside lists
    and objects too."""
    if isinstance(value, float):
        return round(value) if abs(value) >= 1000 else float(f"{value:.4g}")
    if isinstance(value, list):
        return [rounded(item) for item in value]
    if isinstance(value, dict):
        return {key: rounded(item) for key, item in value.items()}
    return value


def formatted_value(value: Any) -> Any:
    """A float rounded, a list of plain values as comma-separated text, other JSON indented;
    None stays None (the admin shows its empty-value dash)."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, float):
        shown = rounded(value)
        return f"{shown:,}" if isinstance(shown, int) else str(shown)
    if isinstance(value, list) and all(isinstance(item, str | int | float) for item in value):
        return ", ".join(str(rounded(item)) for item in value) or None
    if isinstance(value, dict | list):
        text = json.dumps(rounded(value), indent=2, sort_keys=True, default=str)
        return format_html('<pre class="json">{}</pre>', text)
    return value


def _formatted_fields(model: type[models.Model]) -> dict[str, models.Field]:
    return {
        field.name: field
        for field in model._meta.get_fields()
        if isinstance(field, models.FloatField | models.JSONField)
    }


def _display(field: models.Field) -> Any:
    def show(admin: Any, obj: models.Model) -> Any:
        return formatted_value(getattr(obj, field.name))

    show.short_description = field.verbose_name  # type: ignore[attr-defined]
    show.admin_order_field = field.name  # type: ignore[attr-defined]
    return show


class FormattedValuesMixin:
    """Swaps each float and JSON field of the admin's model, wherever the admin lists or
    shows it, for a read-only display of the same name plus `_shown`."""

    model: type[models.Model]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._formatted = _formatted_fields(self.model)
        for name, field in self._formatted.items():
            if not hasattr(type(self), name + SUFFIX):
                setattr(type(self), name + SUFFIX, _display(field))

    def _swap(self, names: Sequence[Any]) -> list[Any]:
        swapped = [
            f"{name}{SUFFIX}" if isinstance(name, str) and name in self._formatted else name
            for name in names
        ]
        return list(dict.fromkeys(swapped))  # Django's own field list may hold both names

    def get_list_display(self, request: HttpRequest) -> Sequence[Any]:
        return self._swap(super().get_list_display(request))  # type: ignore[misc]

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Sequence[Any]:
        return self._swap(super().get_fields(request, obj))  # type: ignore[misc]

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> list[Any]:
        fieldsets = super().get_fieldsets(request, obj)  # type: ignore[misc]
        return [
            (title, {**opts, "fields": self._swap(opts["fields"])}) for title, opts in fieldsets
        ]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Sequence[Any]:
        given = self._swap(super().get_readonly_fields(request, obj))  # type: ignore[misc]
        return self._swap([*given, *self._formatted])
