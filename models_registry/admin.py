"""The registry as compliance officers read it: models, versions, cards, deployments.

Everything is read-only here; registration, promotion and rollback go through the
services (API, pages), so their rules and audit records cannot be skipped.
"""

from __future__ import annotations

import difflib
import json

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html

from governance.admin import GovernedHistoryAdmin, ReadOnlyAdminMixin, pretty_json
from models_registry import (
    admin_inference_log,  # noqa: F401 (registers PredictionAdmin)
    admin_retention,  # noqa: F401 (registers RetentionPolicyAdmin)
    selectors,
)
from models_registry.admin_risk_tier import RiskTierChangeMixin
from models_registry.models import (
    DeploymentEvent,
    ModelCardRevision,
    ModelVersion,
    ReferenceDataset,
    RegisteredModel,
    VersionAnalysis,
)


class VersionInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = ModelVersion
    fields = ["version", "stage", "card_status", "registered_by", "registered_at"]
    readonly_fields = fields
    show_change_link = True
    extra = 0

    def get_queryset(self, request: HttpRequest) -> QuerySet[ModelVersion]:
        return super().get_queryset(request).select_related("model", "registered_by")


@admin.register(RegisteredModel)
class RegisteredModelAdmin(RiskTierChangeMixin, ReadOnlyAdminMixin, GovernedHistoryAdmin):
    change_form_template = "admin/models_registry/registeredmodel/change_form.html"
    list_display = [
        "name",
        "risk_tier",
        "owner",
        "production_version",
        "canary_version",
        "canary_traffic",
        "updated_at",
    ]
    list_filter = ["risk_tier"]
    search_fields = ["name", "description", "owner__username"]
    list_select_related = ["owner"]
    date_hierarchy = "created_at"
    inlines = [VersionInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet[RegisteredModel]:
        return selectors.model_list()

    @admin.display(description="production", ordering="production_version_number")
    def production_version(self, model: RegisteredModel) -> str:
        number = getattr(model, "production_version_number", None)
        return f"v{number}" if number else "—"

    @admin.display(description="canary", ordering="canary_version_number")
    def canary_version(self, model: RegisteredModel) -> str:
        number = getattr(model, "canary_version_number", None)
        return f"v{number}" if number else "—"


class CardRevisionInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = ModelCardRevision
    fields = ["revision", "content_hash", "reason", "created_at"]
    readonly_fields = fields
    show_change_link = True
    extra = 0


@admin.register(ModelVersion)
class ModelVersionAdmin(ReadOnlyAdminMixin, GovernedHistoryAdmin):
    list_display = [
        "__str__",
        "stage",
        "card_status",
        "registered_by",
        "registered_at",
        "mlflow_run_id",
    ]
    list_filter = ["stage", "card_status", "model__risk_tier"]
    search_fields = ["model__name", "mlflow_run_id", "git_commit"]
    list_select_related = ["model", "registered_by"]
    date_hierarchy = "registered_at"
    inlines = [CardRevisionInline]


@admin.register(ModelCardRevision)
class ModelCardRevisionAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["__str__", "revision", "content_hash", "reason", "created_at"]
    list_filter = ["model_version__model__risk_tier"]
    search_fields = ["model_version__model__name", "content_hash", "reason"]
    list_select_related = ["model_version__model"]
    date_hierarchy = "created_at"
    fields = [
        "model_version",
        "revision",
        "content_hash",
        "reason",
        "created_at",
        "content_pretty",
        "changes",
    ]
    readonly_fields = ["content_pretty", "changes"]

    @admin.display(description="content")
    def content_pretty(self, revision: ModelCardRevision) -> str:
        return pretty_json(revision.content)

    @admin.display(description="changes from the previous revision")
    def changes(self, revision: ModelCardRevision) -> str:
        previous = (
            ModelCardRevision.objects.filter(
                model_version_id=revision.model_version_id, revision__lt=revision.revision
            )
            .order_by("-revision")
            .first()
        )
        if previous is None:
            return "First revision."
        diff = difflib.unified_diff(
            _lines(previous.content),
            _lines(revision.content),
            fromfile=f"r{previous.revision}",
            tofile=f"r{revision.revision}",
            lineterm="",
        )
        return format_html("<pre>{}</pre>", "\n".join(diff) or "No changes.")


def _lines(content: dict) -> list[str]:
    return json.dumps(content, indent=2, sort_keys=True, default=str).splitlines()


@admin.register(DeploymentEvent)
class DeploymentEventAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = [
        "occurred_at",
        "model",
        "kind",
        "version_number",
        "previous_version_number",
        "canary_traffic",
        "actor",
        "reference",
    ]
    list_filter = ["kind", "model__risk_tier"]
    search_fields = ["model__name", "reference", "reason", "actor__username"]
    list_select_related = ["model", "version", "previous_version", "actor"]
    date_hierarchy = "occurred_at"

    @admin.display(description="version", ordering="version__version")
    def version_number(self, event: DeploymentEvent) -> str:
        return f"v{event.version.version}"

    @admin.display(description="previous", ordering="previous_version__version")
    def previous_version_number(self, event: DeploymentEvent) -> str:
        return f"v{event.previous_version.version}" if event.previous_version else "—"


@admin.register(ReferenceDataset)
class ReferenceDatasetAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["__str__", "original_name", "format", "rows", "uploaded_by", "uploaded_at"]
    list_filter = ["format"]
    search_fields = ["model_version__model__name", "original_name", "sha256"]
    list_select_related = ["model_version__model", "uploaded_by"]
    date_hierarchy = "uploaded_at"


@admin.register(VersionAnalysis)
class VersionAnalysisAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["__str__", "status", "explainer", "sample_rows", "computed_at"]
    list_filter = ["status"]
    search_fields = ["model_version__model__name", "explainer", "detail"]
    list_select_related = ["model_version__model"]
    date_hierarchy = "computed_at"
