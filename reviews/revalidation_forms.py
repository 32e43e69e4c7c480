"""The forms of the revalidation pages: record a validation, edit an interval, set a model's
materiality. The services (reviews/revalidation_services.py) check every value again."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils import timezone

from governance.models import RiskTier
from governance.text import text_form_field
from models_registry.models import RegisteredModel
from reviews.finding_forms import LinksField
from reviews.revalidation_models import MAX_INTERVAL_MONTHS, Validation
from reviews.revalidation_services import MAX_REASON, MAX_TEXT


class ValidationForm(forms.Form):
    """Who is the signed-in user; what was checked, on which version, and the outcome."""

    version = forms.TypedChoiceField(required=False, coerce=int, empty_value=None)
    validated_on = forms.DateField(
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text="When the validation was done; today if left empty. Not in the future.",
    )
    scope = text_form_field(
        limit=MAX_TEXT, rows=4, placeholder="What was checked (data, methods, tests, limits)"
    )
    outcome = forms.ChoiceField(choices=Validation.Outcome.choices)
    evidence = text_form_field(
        limit=MAX_TEXT, required=False, rows=3, placeholder="What the checks showed (optional)"
    )
    links = LinksField(required=False)

    def __init__(self, *args: Any, model: RegisteredModel, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        numbers = model.versions.order_by("-version").values_list("version", flat=True)
        self.fields["version"].choices = [
            ("", "the model as a whole"),
            *((n, f"v{n}") for n in numbers),
        ]
        self.fields["validated_on"].initial = timezone.localdate()


class IntervalForm(forms.Form):
    risk_level = forms.ChoiceField(choices=RiskTier.choices, widget=forms.HiddenInput)
    interval_months = forms.IntegerField(min_value=1, max_value=MAX_INTERVAL_MONTHS)
    reason = text_form_field(limit=MAX_REASON, placeholder="Why this interval (SR 26-2)")


class MaterialityForm(forms.Form):
    model = forms.ChoiceField()
    materiality = forms.ChoiceField(choices=RiskTier.choices)
    reason = text_form_field(limit=MAX_REASON, placeholder="Why this materiality")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        names = RegisteredModel.objects.order_by("name").values_list("name", flat=True)
        self.fields["model"].choices = [(name, name) for name in names]
