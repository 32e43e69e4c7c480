"""Retraining runs in the admin: read-only, with their history (imported by monitoring/admin.py)."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from governance.admin import GovernedHistoryAdmin, ReadOnlyAdminMixin, pretty_json
from monitoring.models import RetrainingRun
from monitoring.retraining.selectors import retraining_run_list


@admin.register(RetrainingRun)
class RetrainingRunAdmin(ReadOnlyAdminMixin, GovernedHistoryAdmin):
    list_display = [
        "id",
        "queued_at",
        "model",
        "base_number",
        "status",
        "trigger",
        "candidate_number",
        "promotion_request_id",
        "labelled_rows",
    ]
    list_filter = ["status", "trigger", ("model", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["model__name", "reason", "mlflow_run_id"]
    list_select_related = ["model", "base_version", "candidate_version"]
    date_hierarchy = "queued_at"
    fields = [
        "model",
        "base_version",
        "status",
        "reason",
        "trigger",
        "requested_by",
        "incident",
        "alert",
        "window_start",
        "window_end",
        "labelled_rows",
        "reference_rows",
        "metrics_pretty",
        "mlflow_run_id",
        "candidate_version",
        "promotion_request_id",
        "queued_at",
        "started_at",
        "finished_at",
        "attempts",
    ]
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> QuerySet[RetrainingRun]:
        return retraining_run_list()

    @admin.display(description="base", ordering="base_version__version")
    def base_number(self, run: RetrainingRun) -> str:
        return f"v{run.base_version.version}"

    @admin.display(description="candidate", ordering="candidate_version__version")
    def candidate_number(self, run: RetrainingRun) -> str:
        return f"v{run.candidate_version.version}" if run.candidate_version else "—"

    @admin.display(description="metrics")
    def metrics_pretty(self, run: RetrainingRun) -> str:
        return pretty_json(run.metrics)
