"""The compliance officers' view of revalidation and findings.

Revalidation intervals and model materialities are edited here, each with a reason,
through the services (reviews/revalidation_services.py): the reason is kept on the row,
in its history and in the audit event. Validations and findings are read-only here, with
their history; they are recorded and worked on through the API and the pages.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from governance.admin import GovernedHistoryAdmin, ReadOnlyAdminMixin
from governance.models import RiskTier
from reviews.finding_models import Finding, FindingEvent
from reviews.revalidation_models import ModelMateriality, RevalidationPolicy, Validation
from reviews.revalidation_services import materiality_set, revalidation_policy_save

REASON_HELP = "Why: kept with the change, in its history and in the audit trail."


class RevalidationPolicyForm(forms.ModelForm):
    reason = forms.CharField(
        max_length=2000, widget=forms.Textarea(attrs={"rows": 3}), help_text=REASON_HELP
    )

    class Meta:
        model = RevalidationPolicy
        fields = ["risk_level", "interval_months", "reason"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.initial["reason"] = ""  # a new change gives its own reason


@admin.register(RevalidationPolicy)
class RevalidationPolicyAdmin(GovernedHistoryAdmin):
    """How often models of each risk level are validated again (SR 26-2)."""

    form = RevalidationPolicyForm
    list_display = ["risk_level", "interval_months", "reason", "updated_by", "updated_at"]
    list_filter = ["risk_level"]
    search_fields = ["reason", "updated_by__username"]
    readonly_fields = ["updated_by", "updated_at"]
    history_list_display = ["history_origin", "interval_months", "reason"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        # A policy belongs to its level; moving it to another level is not an edit.
        return ["risk_level", *self.readonly_fields] if obj is not None else self.readonly_fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        levels_left = RevalidationPolicy.objects.count() < len(RiskTier)
        return levels_left and super().has_add_permission(request)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def save_model(
        self, request: HttpRequest, obj: RevalidationPolicy, form: forms.ModelForm, change: bool
    ) -> None:
        saved, _ = revalidation_policy_save(
            actor=request.user,
            risk_level=obj.risk_level,
            interval_months=obj.interval_months,
            reason=form.cleaned_data["reason"],
        )
        obj.pk = saved.pk


class ModelMaterialityForm(forms.ModelForm):
    reason = forms.CharField(
        max_length=2000, widget=forms.Textarea(attrs={"rows": 3}), help_text=REASON_HELP
    )

    class Meta:
        model = ModelMateriality
        fields = ["model", "materiality", "reason"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.initial["reason"] = ""


@admin.register(ModelMateriality)
class ModelMaterialityAdmin(GovernedHistoryAdmin):
    """A model's materiality; without a row it is the model's risk tier. Above the tier, it
    makes revalidation as frequent as its level asks."""

    form = ModelMaterialityForm
    list_display = ["model", "materiality", "risk_tier", "reason", "updated_by", "updated_at"]
    list_filter = ["materiality", "model__risk_tier"]
    list_select_related = ["model", "updated_by"]
    search_fields = ["model__name", "reason"]
    readonly_fields = ["updated_by", "updated_at"]
    history_list_display = ["history_origin", "materiality", "reason"]

    @admin.display(description="risk tier", ordering="model__risk_tier")
    def risk_tier(self, row: ModelMateriality) -> str:
        return row.model.risk_tier

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return ["model", *self.readonly_fields] if obj is not None else self.readonly_fields

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def save_model(
        self, request: HttpRequest, obj: ModelMateriality, form: forms.ModelForm, change: bool
    ) -> None:
        saved, _ = materiality_set(
            actor=request.user,
            model=obj.model,
            materiality=obj.materiality,
            reason=form.cleaned_data["reason"],
        )
        obj.pk = saved.pk


class RaisedFindingInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = Finding
    fields = ["title", "severity", "status", "owner", "due_date"]
    readonly_fields = fields
    show_change_link = True
    extra = 0


@admin.register(Validation)
class ValidationAdmin(ReadOnlyAdminMixin, GovernedHistoryAdmin):
    list_display = ["__str__", "model", "version", "outcome", "validated_by", "validated_on"]
    list_filter = ["outcome", "model__risk_tier", ("model", admin.RelatedOnlyFieldListFilter)]
    list_select_related = ["model", "version", "validated_by"]
    search_fields = ["model__name", "scope", "evidence", "validated_by__username"]
    date_hierarchy = "validated_on"
    inlines = [RaisedFindingInline]


class FindingEventInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = FindingEvent
    fields = ["occurred_at", "kind", "actor", "from_status", "to_status", "message", "links"]
    readonly_fields = fields
    extra = 0

    def get_queryset(self, request: HttpRequest) -> QuerySet[FindingEvent]:
        return super().get_queryset(request).select_related("actor")


@admin.register(Finding)
class FindingAdmin(ReadOnlyAdminMixin, GovernedHistoryAdmin):
    list_display = ["id", "title", "model", "severity", "status", "owner", "due_date", "raised_by"]
    list_display_links = ["id", "title"]
    list_filter = ["status", "severity", ("model", admin.RelatedOnlyFieldListFilter)]
    list_select_related = ["model", "owner", "raised_by"]
    search_fields = ["model__name", "title", "description"]
    date_hierarchy = "raised_at"
    inlines = [FindingEventInline]
