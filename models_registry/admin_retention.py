"""Compliance officers set each model's retention period and legal hold here."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest

from governance.admin import GovernedHistoryAdmin
from models_registry.models import RetentionPolicy
from models_registry.retention import retention_policy_set


@admin.register(RetentionPolicy)
class RetentionPolicyAdmin(GovernedHistoryAdmin):
    """Every edit goes through `retention_policy_set`: history row and audit event."""

    fields = ["model", "inference_log_days", "legal_hold", "legal_hold_reason", "updated_at"]
    list_display = ["model", "inference_log_days", "legal_hold", "updated_at"]
    list_filter = ["legal_hold"]
    list_select_related = ["model"]
    readonly_fields = ["updated_at"]
    actions = None  # no bulk delete: a policy is edited, never removed

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return ["model", "updated_at"] if obj is not None else ["updated_at"]

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def save_model(
        self, request: HttpRequest, obj: RetentionPolicy, form: forms.ModelForm, change: bool
    ) -> None:
        saved = retention_policy_set(
            actor=request.user,
            model=obj.model,
            inference_log_days=obj.inference_log_days,
            legal_hold=obj.legal_hold,
            legal_hold_reason=obj.legal_hold_reason,
        )
        obj.pk = saved.pk
