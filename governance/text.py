"""Free text people type (a reason, a scope, a comment): stripped, required unless said
otherwise, at most so many characters, and a clear error naming the field when not.

Services check with `text_checked` (the rule); pages build their fields with
`text_form_field` and the API with `governance.api.serializers.text_field`, which say the
same thing in the same words before the service is asked.
"""

from __future__ import annotations

from typing import Any

from django import forms

from governance.errors import InvalidInput

REQUIRED = "This field is required."


def too_long(limit: int) -> str:
    return f"At most {limit} characters."


def text_checked(
    value: Any, field: str, *, limit: int, required: bool = True, say: str | None = None
) -> str:
    """`value` stripped; a 400 naming `field` when it is missing (if required), not text or
    longer than `limit`. `say` is the error's `detail` (default: names the field)."""
    label = field.replace("_", " ")
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise InvalidInput(say or f"The {label} must be text.", extra={field: ["Must be text."]})
    text = value.strip()
    if required and not text:
        raise InvalidInput(say or f"Give the {label}.", extra={field: [REQUIRED]})
    if len(text) > limit:
        raise InvalidInput(say or f"The {label} is too long.", extra={field: [too_long(limit)]})
    return text


def text_form_field(
    *, limit: int, required: bool = True, rows: int | None = None, placeholder: str = ""
) -> forms.CharField:
    """A form field for such text (a textarea when `rows` is given)."""
    attrs = {"placeholder": placeholder} if placeholder else {}
    widget = forms.Textarea(attrs={"rows": rows, **attrs}) if rows else forms.TextInput(attrs)
    return forms.CharField(
        max_length=limit,
        required=required,
        strip=True,
        widget=widget,
        error_messages={"required": REQUIRED, "max_length": too_long(limit)},
    )
