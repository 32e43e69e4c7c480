"""Monitoring as compliance officers read it: incidents with their timeline, ground truth,
and a model's monitoring config, edited through its service (the YAML or JSON source,
validated as the API validates it). The canary gates: monitoring/canary_admin.py.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.timesince import timesince, timeuntil

from governance.admin import GovernedHistoryAdmin, ReadOnlyAdminMixin, pretty_json
from governance.errors import InvalidInput
from monitoring.filters import overdue_q
from monitoring.models import GroundTruth, Incident, IncidentEvent, MonitoringConfig
from monitoring.services import (
    monitoring_config_put,
    monitoring_config_validate,
)


class IncidentEventInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = IncidentEvent
    fields = ["occurred_at", "kind", "actor", "message", "data_pretty"]
    readonly_fields = fields
    extra = 0

    def get_queryset(self, request: HttpRequest) -> QuerySet[IncidentEvent]:
        return super().get_queryset(request).select_related("actor")

    @admin.display(description="links")
    def data_pretty(self, event: IncidentEvent) -> str:
        return pretty_json(event.data) if event.data else "—"


class OverdueFilter(admin.SimpleListFilter):
    """Serious incidents past their Art. 73 reporting deadline and not reported (overdue_q,
    as the API's ?overdue= filter)."""

    title = "report overdue"
    parameter_name = "overdue"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("yes", "Overdue"), ("no", "Not overdue")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Incident]) -> QuerySet[Incident]:
        if self.value() == "yes":
            return queryset.filter(overdue_q())
        if self.value() == "no":
            return queryset.exclude(overdue_q())
        return queryset


@admin.register(Incident)
class IncidentAdmin(ReadOnlyAdminMixin, GovernedHistoryAdmin):
    list_display = [
        "id",
        "opened_at",
        "model",
        "version_number",
        "severity",
        "status",
        "source",
        "owner",
        "serious",
        "report_due",
        "overdue",
        "title",
    ]
    list_display_links = ["id", "title"]
    list_filter = [
        "status",
        "severity",
        "source",
        "serious",
        OverdueFilter,
        ("model", admin.RelatedOnlyFieldListFilter),
    ]
    search_fields = ["model__name", "title", "description"]
    list_select_related = ["model", "version", "owner"]
    date_hierarchy = "opened_at"
    fields = [
        "model",
        "version",
        "severity",
        "status",
        "source",
        "title",
        "description",
        "details_pretty",
        "owner",
        "opened_at",
        "resolved_at",
        "closed_at",
        "serious",
        "serious_kind",
        "serious_reason",
        "aware_at",
        "report_due",
        "time_left",
        "overdue",
        "reported_at",
        "reported_by",
        "report_reference",
    ]
    readonly_fields = ["details_pretty", "opened_at", "time_left", "overdue"]
    inlines = [IncidentEventInline]

    @admin.display(description="version", ordering="version__version")
    def version_number(self, incident: Incident) -> str:
        return f"v{incident.version.version}" if incident.version else "—"

    @admin.display(description="details")
    def details_pretty(self, incident: Incident) -> str:
        return pretty_json(incident.details)

    @admin.display(description="time left to report")
    def time_left(self, incident: Incident) -> str:
        if incident.is_reported:
            return f"reported {incident.reported_at:%Y-%m-%d %H:%M}"
        left = incident.time_left()
        if left is None:
            return "—"
        if incident.is_overdue():
            return f"overdue by {timesince(incident.report_due)}"
        return f"{timeuntil(incident.report_due)} left"

    @admin.display(description="overdue", boolean=True)
    def overdue(self, incident: Incident) -> bool:
        return incident.is_overdue()


@admin.register(GroundTruth)
class GroundTruthAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["request_id", "model", "label", "actor", "received_at"]
    list_filter = [("model", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["request_id"]
    list_select_related = ["model", "actor"]
    date_hierarchy = "received_at"
    # The table grows with traffic: no COUNT(*) of all of it under every filtered page.
    show_full_result_count = False


class MonitoringConfigForm(forms.ModelForm):
    """The source as text; the service's validation errors shown on the form, by path."""

    source = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 24, "cols": 100, "spellcheck": "false"}),
        help_text="YAML or JSON, as PUT /api/v1/models/{name}/monitoring-config/ takes it.",
    )

    class Meta:
        model = MonitoringConfig
        fields = ["model", "source_format", "source"]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        model = cleaned.get("model") or getattr(self.instance, "model", None)
        if model is None or "source" not in cleaned or "source_format" not in cleaned:
            return cleaned
        try:
            monitoring_config_validate(
                model=model, source=cleaned["source"], source_format=cleaned["source_format"]
            )
        except InvalidInput as exc:
            problems = exc.extra or {"source": [exc.detail]}
            self.add_error(
                "source", [f"{path}: {msg}" for path, msgs in problems.items() for msg in msgs]
            )
        return cleaned


@admin.register(MonitoringConfig)
class MonitoringConfigAdmin(GovernedHistoryAdmin):
    """What is monitored per model; a model without a row gets the defaults."""

    form = MonitoringConfigForm
    list_display = ["model", "source_format", "updated_at", "updated_by"]
    list_filter = ["source_format", "model__risk_tier"]
    search_fields = ["model__name"]
    list_select_related = ["model", "updated_by"]
    readonly_fields = ["document_pretty", "updated_at", "updated_by"]

    @admin.display(description="normalized document")
    def document_pretty(self, config: MonitoringConfig) -> str:
        return pretty_json(config.document)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        # A config belongs to its model; moving it to another model is not an edit.
        return ["model", *self.readonly_fields] if obj is not None else self.readonly_fields

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def save_model(
        self, request: HttpRequest, obj: MonitoringConfig, form: forms.ModelForm, change: bool
    ) -> None:
        saved = monitoring_config_put(
            actor=request.user,
            model=obj.model,
            source=obj.source,
            source_format=obj.source_format,
            origin_label="admin",
        )
        obj.pk = saved.pk
        obj.document = saved.document


# Admins in modules of their own (each registers its models).
from monitoring import alert_admin, canary_admin, flag_admin, schedule_admin  # noqa: E402, F401
from monitoring.notify import admin as notify_admin  # noqa: E402, F401
from monitoring.retraining import admin as retraining_admin  # noqa: E402, F401
