from __future__ import annotations

from django import forms


class StrictFilterForm(forms.Form):
    """A filter form for the API's lists: a typed parameter given empty (`?version=`,
    `?since=`, `?due_by=`) is a 400, as the schema says, not silently ignored. Text and choice
    parameters keep their meaning when empty (an empty choice means "any", and the schema
    lists it)."""

    def clean(self) -> dict[str, object]:
        cleaned = super().clean()
        for name, field in self.fields.items():
            typed = not isinstance(field, forms.CharField | forms.ChoiceField)
            if typed and self.data.get(name) == "":
                self.add_error(name, "Give a value or leave the parameter out.")
        return cleaned
