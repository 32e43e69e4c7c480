"""The inference log in the admin: every answered call, read-only, and its verification.

Imported by models_registry/admin.py (Django discovers admin.py only).
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import URLPattern, path, reverse

from governance.admin import ReadOnlyAdminMixin, pretty_json
from models_registry.models import Prediction
from models_registry.serving.inference_log_verify import inference_log_verify


@admin.register(Prediction)
class PredictionAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Who called which version when, with what, and what it answered; a search by
    request_id finds one call. The verify button checks every batch against the audit chain."""

    change_list_template = "admin/models_registry/prediction/change_list.html"
    list_display = [
        "occurred_at",
        "request_id",
        "model",
        "version_number",
        "slot",
        "source",
        "actor",
        "prediction",
        "latency_ms",
        "failed",
    ]
    list_filter = ["source", "slot", "model"]
    search_fields = ["=request_id", "actor__username"]
    list_select_related = ["model", "version", "actor"]
    date_hierarchy = "occurred_at"
    # The log grows by every call: no second COUNT(*) of the whole table per page.
    show_full_result_count = False
    fields = [
        "request_id",
        "occurred_at",
        "model",
        "version",
        "slot",
        "source",
        "actor",
        "prediction",
        "latency_ms",
        "error",
        "features_pretty",
        "explanation_pretty",
        "batch",
    ]
    readonly_fields = ["features_pretty", "explanation_pretty"]

    @admin.display(description="version", ordering="version__version")
    def version_number(self, row: Prediction) -> str:
        return f"v{row.version.version}"

    @admin.display(description="failed", boolean=True)
    def failed(self, row: Prediction) -> bool:
        return bool(row.error)

    @admin.display(description="features")
    def features_pretty(self, row: Prediction) -> str:
        return pretty_json(row.features)

    @admin.display(description="explanation")
    def explanation_pretty(self, row: Prediction) -> str:
        return pretty_json(row.explanation) if row.explanation is not None else "—"

    def get_urls(self) -> list[URLPattern]:
        verify = path(
            "verify/",
            self.admin_site.admin_view(self.verify_view),
            name="models_registry_prediction_verify",
        )
        return [verify, *super().get_urls()]

    def verify_view(self, request: HttpRequest) -> HttpResponse:
        """Recompute every batch's row count and SHA-256 and compare them with the chain."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        check = inference_log_verify()
        if check.broken:
            shown = "; ".join(check.broken[:10])
            more = f"; and {len(check.broken) - 10} more" if len(check.broken) > 10 else ""
            self.message_user(
                request,
                f"The inference log does not match the audit chain in {len(check.broken)} "
                f"batch(es): {shown}{more}.",
                messages.ERROR,
            )
        if check.outside:
            self.message_user(
                request,
                f"{check.outside} row(s) belong to no recorded batch: written outside the "
                "inference log's write path, or before batches were recorded.",
                messages.WARNING,
            )
        if not check.broken:
            self.message_user(
                request,
                f"The inference log matches the audit chain: {check.rows} row(s) in "
                f"{check.batches} batch(es) verified.",
                messages.SUCCESS,
            )
        return HttpResponseRedirect(reverse("admin:models_registry_prediction_changelist"))
