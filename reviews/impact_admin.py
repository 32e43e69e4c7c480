"""Business KPIs corrected by compliance officers, and the impact reviews, in the admin.

KPIs arrive through the API (reviews.kpis.kpi_record). Here a KPI's unit, direction and
description, and a value or its period, are corrected through `kpi_edit` and
`kpi_value_edit`: the same checks as the API (no overlapping periods), a history row with
the reason, an audit event with old and new values. Nothing is added or deleted here.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest

from governance.admin import GovernedHistoryAdmin, ReadOnlyAdminMixin
from reviews.impact_models import BusinessImpactReview, BusinessKpi, KpiValue
from reviews.kpis import kpi_edit, kpi_value_edit, kpi_value_problems


class KpiValueInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = KpiValue
    fields = ["period_start", "period_end", "value", "recorded_by", "recorded_at"]
    readonly_fields = fields
    show_change_link = True
    extra = 0


class CorrectOnlyAdmin(GovernedHistoryAdmin):
    """Values are corrected, never added or removed here (so no bulk delete either)."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(BusinessKpi)
class BusinessKpiAdmin(CorrectOnlyAdmin):
    list_display = ["name", "model", "unit", "direction", "created_by", "created_at"]
    list_filter = ["direction", ("model", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["name", "model__name"]
    list_select_related = ["model", "created_by"]
    date_hierarchy = "created_at"
    fields = ["model", "name", "unit", "direction", "description", "created_by", "created_at"]
    readonly_fields = ["model", "name", "created_by", "created_at"]
    inlines = [KpiValueInline]

    def save_model(
        self, request: HttpRequest, obj: BusinessKpi, form: forms.ModelForm, change: bool
    ) -> None:
        kpi_edit(
            actor=request.user,
            kpi=obj,
            unit=obj.unit,
            direction=obj.direction,
            description=obj.description,
        )


class KpiValueForm(forms.ModelForm):
    """The service's checks (a finite value, a period of at most 366 days that has ended
    and overlaps no other of the KPI) shown on the form."""

    class Meta:
        model = KpiValue
        fields = ["period_start", "period_end", "value"]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if {"period_start", "period_end", "value"} <= set(cleaned):
            problems = kpi_value_problems(
                kpi=self.instance.kpi,
                start=cleaned["period_start"],
                end=cleaned["period_end"],
                value=cleaned["value"],
                pk=self.instance.pk,
            )
            for field, messages in problems.items():
                name = {"start": "period_start", "end": "period_end"}.get(field, field)
                self.add_error(name if name in self.fields else None, messages)
        return cleaned


@admin.register(KpiValue)
class KpiValueAdmin(CorrectOnlyAdmin):
    form = KpiValueForm
    list_display = ["kpi", "period_start", "period_end", "value", "recorded_by", "recorded_at"]
    list_filter = [("kpi__model", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["kpi__name", "kpi__model__name"]
    list_select_related = ["kpi__model", "recorded_by"]
    date_hierarchy = "period_start"
    fields = ["kpi", "period_start", "period_end", "value", "recorded_by", "recorded_at"]
    readonly_fields = ["kpi", "recorded_by", "recorded_at"]

    def save_model(
        self, request: HttpRequest, obj: KpiValue, form: forms.ModelForm, change: bool
    ) -> None:
        kpi_value_edit(
            actor=request.user,
            value_id=obj.pk,
            period_start=obj.period_start,
            period_end=obj.period_end,
            value=obj.value,
        )


@admin.register(BusinessImpactReview)
class BusinessImpactReviewAdmin(ReadOnlyAdminMixin, GovernedHistoryAdmin):
    """Read-only: reviews are scheduled by promotions and completed on the model's
    business-impact page or through the API."""

    list_display = ["model", "version", "due_on", "status", "reviewed_by", "reviewed_at"]
    list_filter = ["status", ("model", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["model__name", "notes", "reviewed_by__username"]
    list_select_related = ["model", "version", "reviewed_by"]
    date_hierarchy = "due_on"
