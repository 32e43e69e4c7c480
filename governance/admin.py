"""The compliance officers' view of the base layer: approval policies and the audit trail.

Also the building blocks every app's admin uses: read-only admins (changes go through
services, never through the admin's forms) and history pages that show where a change
came from.
"""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.core.exceptions import PermissionDenied
from django.db.models import Model, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed, HttpResponseRedirect
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.html import format_html
from simple_history.admin import SimpleHistoryAdmin

from governance.admin_export import export_as_csv
from governance.admin_values import FormattedValuesMixin
from governance.audit.reports import audit_verification_request
from governance.models import (
    ApiToken,
    ApprovalPolicy,
    AuditCheckpoint,
    AuditEvent,
    AuditVerification,
    RiskTier,
)
from governance.roles import Capability, user_can
from governance.services import policy_save, tokens_revoke

admin.site.site_header = "Model governance admin"
admin.site.site_title = "Model governance admin"
admin.site.index_title = "Registry, reviews and audit"
admin.site.add_action(export_as_csv, "export_as_csv")


class ReadOnlyAdminMixin(FormattedValuesMixin):
    """Nothing is added, changed or deleted here: every change goes through a service.
    Numbers and JSON are shown for people (governance/admin_values.py)."""

    def has_add_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False


class GovernedHistoryAdmin(SimpleHistoryAdmin):
    """History pages that show each change's origin (api, page, admin, task ...)."""

    history_list_display = ["origin"]  # the column's heading is the attribute's name

    def history_form_view(
        self,
        request: HttpRequest,
        object_id: str,
        version_id: str,
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        # simple-history saves ("reverts to") the historical version on POST after checking
        # only *view* permission; a revert is a change, so it needs change permission.
        if request.method == "POST" and not self.has_change_permission(request):
            raise PermissionDenied
        return super().history_form_view(request, object_id, version_id, extra_context)


def pretty_json(value: Any) -> str:
    return format_html("<pre>{}</pre>", json.dumps(value, indent=2, sort_keys=True, default=str))


class ApprovalPolicyForm(forms.ModelForm):
    """Checkboxes for the signing roles; the model's clean() checks the combination."""

    required_approvals = forms.IntegerField(
        min_value=1,
        max_value=32767,
        help_text=ApprovalPolicy._meta.get_field("required_approvals").help_text,
    )
    required_roles = forms.MultipleChoiceField(
        choices=[(role.value, role.label) for role in ApprovalPolicy.SIGNING_ROLES],
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text="Roles that must each be among the approvers, by different people.",
    )

    class Meta:
        model = ApprovalPolicy
        fields = ["risk_tier", "required_approvals", "required_roles"]


@admin.register(ApprovalPolicy)
class ApprovalPolicyAdmin(GovernedHistoryAdmin):
    """Compliance officers edit how many approvals, and from which roles, each tier needs."""

    form = ApprovalPolicyForm
    fields = ["risk_tier", "required_approvals", "required_roles", "updated_at"]
    list_display = ["risk_tier", "required_approvals", "roles", "updated_at"]
    list_filter = ["risk_tier", "required_approvals"]
    search_fields = ["risk_tier"]
    readonly_fields = ["updated_at"]

    @admin.display(description="required roles")
    def roles(self, policy: ApprovalPolicy) -> str:
        return ", ".join(policy.required_roles) or "—"

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        # A policy belongs to its tier; moving it to another tier is not an edit.
        return ["risk_tier", *self.readonly_fields] if obj is not None else self.readonly_fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        tiers_left = ApprovalPolicy.objects.count() < len(RiskTier)
        return tiers_left and super().has_add_permission(request)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def save_model(
        self, request: HttpRequest, obj: ApprovalPolicy, form: forms.ModelForm, change: bool
    ) -> None:
        # The service compares with the stored row, not the form's initial data: a revert
        # from the history page starts from the old values.
        policy_save(actor=request.user, policy=obj, origin_label="admin")


class EventKindFilter(admin.SimpleListFilter):
    """Governance events by default: in the embedded mode every logged prediction call is an
    inference batch of its own (`predictions.recorded`), which would drown the rest. An
    explicit `action` filter shows what it names."""

    title = "kind"
    parameter_name = "kind"
    INFERENCE_PREFIX = "predictions."

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [
            ("governance", "Governance events"),
            ("inference", "Inference batches"),
            ("all", "All"),
        ]

    def __init__(self, request: HttpRequest, *args: Any) -> None:
        self.action_named = any(key.startswith("action") for key in request.GET)
        super().__init__(request, *args)

    def value(self) -> str:
        return super().value() or ("all" if self.action_named else "governance")

    def choices(self, changelist: Any) -> Any:
        for lookup, title in self.lookup_choices:
            yield {
                "selected": self.value() == lookup,
                "query_string": changelist.get_query_string({self.parameter_name: lookup}),
                "display": title,
            }

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        inference = {"action__startswith": self.INFERENCE_PREFIX}
        if self.value() == "governance":
            return queryset.exclude(**inference)
        if self.value() == "inference":
            return queryset.filter(**inference)
        return queryset


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """The tamper-evident audit trail: read it, filter it, verify its hash chain.

    Events appended but not yet sequenced show first, without a sequence number.
    """

    change_list_template = "admin/governance/auditevent/change_list.html"
    list_display = [
        "sequence",
        "occurred_at",
        "action",
        "object_type",
        "object_id",
        "actor_username",
        "origin",
    ]
    list_filter = [EventKindFilter, "action", "origin", "object_type"]
    search_fields = ["action", "object_type", "object_id", "actor_username"]
    date_hierarchy = "occurred_at"
    fields = [
        "sequence",
        "occurred_at",
        "actor",
        "actor_username",
        "origin",
        "action",
        "object_type",
        "object_id",
        "data_pretty",
        "entry_hash",
        "previous_hash",
        "hash",
    ]
    readonly_fields = ["data_pretty"]

    @admin.display(description="data")
    def data_pretty(self, event: AuditEvent) -> str:
        return pretty_json(event.data)

    def get_urls(self) -> list[URLPattern]:
        verify = path(
            "verify/",
            self.admin_site.admin_view(self.verify_view),
            name="governance_auditevent_verify",
        )
        return [verify, *super().get_urls()]

    def verify_view(self, request: HttpRequest) -> HttpResponse:
        """Queue a verification (POST; `full=1` from the first entry) and show its report."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        report = audit_verification_request(
            actor=request.user, full=request.POST.get("full") == "1"
        )
        report.refresh_from_db()  # in the embedded mode the task has run already
        if report.ok is None:
            self.message_user(request, f"Verification {report.pk} is queued.", messages.INFO)
        elif report.ok:
            self.message_user(
                request,
                f"The audit chain is intact: {report.checked} entr(ies) after "
                f"#{report.from_sequence} verified, up to #{report.to_sequence}.",
                messages.SUCCESS,
            )
        else:
            self.message_user(
                request,
                f"The audit chain is broken: the first bad entry is #{report.first_bad}. "
                f"{report.detail.splitlines()[0]}",
                messages.ERROR,
            )
        return HttpResponseRedirect(
            reverse("admin:governance_auditverification_change", args=[report.pk])
        )


@admin.register(AuditCheckpoint)
class AuditCheckpointAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Signed statements of the chain's head (`manage.py audit_checkpoint`, hourly task)."""

    list_display = ["size", "signed_at", "key_name", "root_hash"]
    list_filter = ["key_name"]
    search_fields = ["root_hash", "key_name", "note"]
    date_hierarchy = "signed_at"
    fields = ["size", "root_hash", "signed_at", "key_name", "note_pretty"]
    readonly_fields = ["note_pretty"]

    @admin.display(description="signed note")
    def note_pretty(self, checkpoint: AuditCheckpoint) -> str:
        return format_html("<pre>{}</pre>", checkpoint.note)


@admin.register(AuditVerification)
class AuditVerificationAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Reports of verification runs: what range was checked, the first bad entry, details."""

    list_display = [
        "id",
        "started_at",
        "finished_at",
        "full",
        "from_sequence",
        "to_sequence",
        "checked",
        "ok",
        "first_bad",
        "requested_by",
    ]
    list_filter = ["ok", "full"]
    list_select_related = ["requested_by"]
    search_fields = ["detail", "requested_by__username"]
    date_hierarchy = "started_at"
    fields = [*list_display[1:], "detail_pretty"]
    readonly_fields = ["detail_pretty"]

    @admin.display(description="detail")
    def detail_pretty(self, report: AuditVerification) -> str:
        return format_html("<pre>{}</pre>", report.detail)


@admin.register(ApiToken)
class ApiTokenAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Who holds which API token, since and until when, when it was last used; revoke.

    Never the key: only its SHA-256 is stored, and not even that is shown. Tokens are
    minted with `governance_user --token`, so the key reaches only the one who asked.
    """

    list_display = [
        "prefix",
        "name",
        "user",
        "created_at",
        "expires_at",
        "last_used_at",
        "revoked_at",
        "state",
    ]
    list_filter = [("revoked_at", admin.EmptyFieldListFilter), "expires_at", "name"]
    list_select_related = ["user"]
    search_fields = ["user__username", "name", "prefix"]
    date_hierarchy = "created_at"
    fields = [
        "user",
        "name",
        "prefix",
        "created_at",
        "expires_at",
        "last_used_at",
        "state",
        "revoked_at",
        "revoked_reason",
    ]
    readonly_fields = ["state"]
    actions = ["revoke"]

    @admin.display(description="state")
    def state(self, token: ApiToken) -> str:
        return token.refusal(now=timezone.now()) or "active"

    @admin.action(description="Revoke the selected tokens", permissions=["revoke"])
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiToken]) -> None:
        count = tokens_revoke(
            tokens=queryset, reason=f"revoked in the admin by {request.user.get_username()}"
        )
        self.message_user(request, f"Revoked {count} token(s).", messages.SUCCESS)

    def has_revoke_permission(self, request: HttpRequest) -> bool:
        return user_can(request.user, Capability.USE_ADMIN) or request.user.is_superuser


User = get_user_model()


class GovernanceUserAdmin(UserAdmin):
    """Users with their roles (groups) in the list; roles are set with `governance_user`."""

    list_display = [*UserAdmin.list_display, "roles"]

    @admin.display(description="roles")
    def roles(self, user: Any) -> str:
        return ", ".join(sorted(group.name for group in user.groups.all()))

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).prefetch_related("groups")


if admin.site.is_registered(User):
    admin.site.unregister(User)
admin.site.register(User, GovernanceUserAdmin)
