"""Compliance officers set retention periods, legal holds and the legal basis of processing,
and record consent withdrawals."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest

from governance.admin import GovernedHistoryAdmin
from models_registry.consent import consent_withdraw
from models_registry.models import ConsentWithdrawal, RetentionPolicy
from models_registry.retention import retention_policy_set


@admin.register(RetentionPolicy)
class RetentionPolicyAdmin(GovernedHistoryAdmin):
    """Every edit goes through `retention_policy_set`: history row and audit event."""

    fields = [
        "model",
        "inference_log_days",
        "reference_data_days",
        "legal_hold",
        "legal_hold_reason",
        "legal_basis",
        "legal_basis_note",
        "updated_at",
    ]
    list_display = [
        "model",
        "inference_log_days",
        "reference_data_days",
        "legal_hold",
        "legal_basis",
    ]
    list_filter = ["legal_hold", "legal_basis"]
    list_select_related = ["model"]
    search_fields = ["model__name", "legal_hold_reason"]
    readonly_fields = ["updated_at"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return ["model", "updated_at"] if obj is not None else ["updated_at"]

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # a policy is edited, never removed

    def save_model(
        self, request: HttpRequest, obj: RetentionPolicy, form: forms.ModelForm, change: bool
    ) -> None:
        saved = retention_policy_set(
            actor=request.user,
            model=obj.model,
            inference_log_days=obj.inference_log_days,
            reference_data_days=obj.reference_data_days,
            legal_hold=obj.legal_hold,
            legal_hold_reason=obj.legal_hold_reason,
            legal_basis=obj.legal_basis,
            legal_basis_note=obj.legal_basis_note,
        )
        obj.pk = saved.pk


class ConsentWithdrawalForm(forms.ModelForm):
    class Meta:
        model = ConsentWithdrawal
        fields = ["subject_id"]


@admin.register(ConsentWithdrawal)
class ConsentWithdrawalAdmin(admin.ModelAdmin):
    """Record a subject's withdrawal; the erasure runs as a task and its outcome shows here."""

    form = ConsentWithdrawalForm
    list_display = ["id", "requested_at", "requested_by", "erased_at", "records_erased"]
    list_filter = [("erased_at", admin.EmptyFieldListFilter)]
    list_select_related = ["requested_by"]
    readonly_fields = ["requested_at", "requested_by", "erased_at", "records_erased"]
    search_fields = ["subject_id"]
    date_hierarchy = "requested_at"

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def save_model(
        self, request: HttpRequest, obj: ConsentWithdrawal, form: forms.ModelForm, change: bool
    ) -> None:
        obj.pk = consent_withdraw(actor=request.user, subject_id=obj.subject_id).pk
