"""The canary gates of each model, edited by compliance officers through their service.

The gates are written as YAML, a list of rules in the shape of the monitoring config's
`alerts:` (plus `relative`), so what a compliance officer reads here is what the engine
evaluates.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest
from django.utils.html import format_html_join

from governance.admin import GovernedHistoryAdmin
from governance.errors import InvalidInput
from monitoring.canary_defaults import canary_default_rules
from monitoring.config_document import document_yaml, source_load
from monitoring.models import CanaryGates
from monitoring.rules import Rule
from monitoring.services import canary_gates_problems, canary_gates_save

RULES_HELP = (
    "A YAML list of rules, each with metric (error_rate, p95_latency_ms, prediction_volume, "
    "flags, flag_rate, accuracy, demographic_parity_difference.<attribute> or .* for the "
    "worst), comparison (>=, >, <=, <), threshold, optional relative (difference: canary "
    "minus production; ratio: canary divided by production), severity and min_samples "
    "(calls; labelled calls for accuracy). A gate that is breached stops the canary."
)


class CanaryGatesForm(forms.ModelForm):
    """`rules` as YAML text; the service's checks shown beside the fields."""

    rules_source = forms.CharField(
        label="Gates",
        widget=forms.Textarea(attrs={"rows": 24, "cols": 80, "spellcheck": "false"}),
        help_text=RULES_HELP,
    )

    class Meta:
        model = CanaryGates
        fields = ["model", "window_minutes", "min_requests"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        rules = self.instance.rules if self.instance.pk else canary_default_rules()
        self.fields["rules_source"].initial = document_yaml(rules)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        rules = None
        if "rules_source" in cleaned:
            try:
                rules = source_load(cleaned["rules_source"], "yaml")
            except InvalidInput as exc:
                self.add_error("rules_source", exc.detail)
        present = {name: cleaned.get(name) for name in ("window_minutes", "min_requests")}
        for name, errors in canary_gates_problems({**present, "rules": rules}).items():
            field = "rules_source" if name == "rules" else name
            if field not in self.errors:
                self.add_error(field, errors)
        cleaned["rules"] = rules
        return cleaned

    def save(self, commit: bool = True) -> CanaryGates:
        self.instance.rules = self.cleaned_data["rules"]
        return super().save(commit=commit)


@admin.register(CanaryGates)
class CanaryGatesAdmin(GovernedHistoryAdmin):
    """When a canary may replace production; a model without a row gets the defaults."""

    form = CanaryGatesForm
    list_display = ["model", "window_minutes", "min_requests", "gates"]
    list_filter = ["model__risk_tier"]
    search_fields = ["model__name"]
    list_select_related = ["model"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        # Gates belong to their model; moving them to another model is not an edit.
        return ["model"] if obj is not None else []

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description="gates")
    def gates(self, obj: CanaryGates) -> str:
        described = []
        for data in obj.rules:
            try:
                described.append((Rule.from_dict({"severity": "critical", **data}).describe(),))
            except (TypeError, ValueError):
                described.append((f"not a rule: {data!r}",))
        return format_html_join("", "<div>{}</div>", described)

    def save_model(
        self, request: HttpRequest, obj: CanaryGates, form: forms.ModelForm, change: bool
    ) -> None:
        canary_gates_save(actor=request.user, gates=obj, origin_label="admin")
