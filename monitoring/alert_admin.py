"""Alerts in the admin: read-only, filtered; acknowledging and silencing through the
services (the same rules and role checks as the API)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils import timezone

from governance.admin import GovernedHistoryAdmin, ReadOnlyAdminMixin, pretty_json
from governance.errors import ApplicationError
from monitoring.models import Alert
from monitoring.services.alerts import alert_acknowledge, alert_silence, silence_problems


class AlertSilenceForm(forms.Form):
    until = forms.DateTimeField(
        help_text="When the silence ends (in the admin's time zone unless one is given)."
    )
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 3, "cols": 60}))

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if "until" in cleaned and "reason" in cleaned:
            for name, errors in silence_problems(
                cleaned["until"], cleaned["reason"], timezone.now()
            ).items():
                self.add_error(name, errors)
        return cleaned


@admin.register(Alert)
class AlertAdmin(ReadOnlyAdminMixin, GovernedHistoryAdmin):
    list_display = [
        "id",
        "last_seen",
        "model",
        "version_number",
        "metric",
        "value",
        "comparison",
        "threshold",
        "severity",
        "status_now",
        "count",
        "incident",
        "acknowledged_at",
    ]
    list_display_links = ["id", "metric"]
    list_filter = ["status", "severity", ("model", admin.RelatedOnlyFieldListFilter), "metric"]
    search_fields = ["model__name", "metric", "silence_reason"]
    list_select_related = ["model", "version", "incident"]
    date_hierarchy = "first_seen"
    readonly_fields = ["rule_pretty"]
    actions = ["acknowledge", "silence"]
    silence_template = "admin/monitoring/alert/silence.html"

    @admin.display(description="version", ordering="version__version")
    def version_number(self, alert: Alert) -> str:
        return f"v{alert.version.version}"

    @admin.display(description="status", ordering="status")
    def status_now(self, alert: Alert) -> str:
        return alert.status_at(timezone.now())

    @admin.display(description="rule")
    def rule_pretty(self, alert: Alert) -> str:
        return pretty_json(alert.rule)

    def _each(self, request: HttpRequest, queryset: QuerySet[Alert], verb: str, call: Any) -> None:
        done, refused = 0, []
        for alert_id in queryset.order_by("pk").values_list("pk", flat=True):
            try:
                call(alert_id)
            except ApplicationError as error:
                refused.append(f"#{alert_id}: {error.detail}")
            else:
                done += 1
        if done:
            self.message_user(request, f"{verb} {done} alert(s).", messages.SUCCESS)
        for line in refused:
            self.message_user(request, line, messages.ERROR)

    @admin.action(description="Acknowledge the selected alerts")
    def acknowledge(self, request: HttpRequest, queryset: QuerySet[Alert]) -> None:
        self._each(
            request,
            queryset,
            "Acknowledged",
            lambda alert_id: alert_acknowledge(actor=request.user, alert_id=alert_id),
        )

    @admin.action(description="Silence the selected alerts until a time, with a reason")
    def silence(self, request: HttpRequest, queryset: QuerySet[Alert]) -> HttpResponse | None:
        """A page asking until when and why; applied through alert_silence on submit."""
        submitted = "apply" in request.POST
        form = AlertSilenceForm(
            request.POST if submitted else None,
            initial={"until": timezone.now() + timedelta(hours=4)},
        )
        if submitted and form.is_valid():
            until, reason = form.cleaned_data["until"], form.cleaned_data["reason"]
            self._each(
                request,
                queryset,
                "Silenced",
                lambda alert_id: alert_silence(
                    actor=request.user, alert_id=alert_id, until=until, reason=reason
                ),
            )
            return None
        context = {
            **self.admin_site.each_context(request),
            "title": "Silence alerts",
            "opts": self.opts,
            "alerts": queryset.select_related("model", "version"),
            "form": form,
            "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, self.silence_template, context)
