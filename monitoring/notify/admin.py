"""Notifications in the admin: compliance officers set up endpoints and routes (each save
through its service, with history and an audit record) and read every delivery and attempt.

A webhook's secret is write-only: the form has an empty password field that replaces the
secret when filled and keeps it when left empty; no page, list or history shows it.
Imported by monitoring/admin.py.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from governance.admin import GovernedHistoryAdmin, ReadOnlyAdminMixin, pretty_json
from governance.errors import ApplicationError
from monitoring.notification_models import (
    NotificationAttempt,
    NotificationDelivery,
    NotificationEndpoint,
    NotificationRoute,
)
from monitoring.services.notification_setup import (
    notification_endpoint_problems,
    notification_endpoint_save,
    notification_route_delete,
    notification_route_save,
)
from monitoring.services.notifications import notification_delivery_send_again


class AddressesField(forms.CharField):
    """A list of e-mail addresses as text: one per line, or separated by commas."""

    widget = forms.Textarea(attrs={"rows": 3, "cols": 60})

    def prepare_value(self, value: Any) -> Any:
        return "\n".join(value) if isinstance(value, list) else value

    def to_python(self, value: Any) -> list[str]:
        text = super().to_python(value) or ""
        return [part.strip() for part in text.replace(",", "\n").splitlines() if part.strip()]


class NotificationEndpointForm(forms.ModelForm):
    email_addresses = AddressesField(
        required=False, help_text="E-mail endpoints: one address per line."
    )
    url = forms.URLField(
        required=False,
        max_length=1000,
        assume_scheme="https",
        help_text="Webhook endpoints: where the JSON is POSTed. Redirects are not followed.",
    )
    new_secret = forms.CharField(
        label="Secret",
        required=False,
        strip=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text=(
            "Webhook endpoints: the HMAC-SHA256 key of the X-Governance-Signature header, at "
            "least 16 characters. Write-only: it is never shown again; leave empty to keep "
            "the current one."
        ),
    )

    class Meta:
        model = NotificationEndpoint
        fields = ["name", "kind", "enabled", "email_addresses", "url", "new_secret", "body_format"]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if "kind" not in cleaned:
            return cleaned
        secret = cleaned.get("new_secret") or None
        problems = notification_endpoint_problems(
            kind=cleaned["kind"],
            email_addresses=cleaned.get("email_addresses") or [],
            url=cleaned.get("url") or "",
            secret_given=bool(secret or self.instance.secret),
            secret=secret,
        )
        for name, errors in problems.items():
            field = "new_secret" if name == "secret" else name
            if field not in self.errors:
                self.add_error(field, errors)
        return cleaned


class NotificationRouteInline(admin.TabularInline):
    model = NotificationRoute
    fields = ["model", "min_severity"]
    extra = 0
    show_change_link = True

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # routes are edited on their own page, through their service

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(NotificationEndpoint)
class NotificationEndpointAdmin(GovernedHistoryAdmin):
    """Where alerts go. Disable an endpoint rather than delete it: its deliveries stay."""

    form = NotificationEndpointForm
    list_display = ["name", "kind", "enabled", "destination", "body_format", "secret_set_at"]
    list_filter = ["kind", "enabled"]
    search_fields = ["name", "url"]
    date_hierarchy = "created_at"
    readonly_fields = ["secret_state", "secret_set_at", "created_at", "updated_at"]
    inlines = [NotificationRouteInline]

    @admin.display(description="destination")
    def destination(self, endpoint: NotificationEndpoint) -> str:
        if endpoint.kind == NotificationEndpoint.Kind.EMAIL:
            return ", ".join(endpoint.email_addresses)
        return endpoint.url

    @admin.display(description="secret")
    def secret_state(self, endpoint: NotificationEndpoint) -> str:
        return "set (not shown)" if endpoint.secret else "none"

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def save_model(
        self,
        request: HttpRequest,
        obj: NotificationEndpoint,
        form: forms.ModelForm,
        change: bool,
    ) -> None:
        notification_endpoint_save(
            actor=request.user,
            endpoint=obj,
            secret=form.cleaned_data.get("new_secret") or None,
            origin_label="admin",
        )


@admin.register(NotificationRoute)
class NotificationRouteAdmin(GovernedHistoryAdmin):
    """Which alerts go where: a model (or every model) at or above a severity."""

    list_display = ["endpoint", "scope", "min_severity", "created_at"]
    list_filter = ["min_severity", ("endpoint", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["endpoint__name", "model__name"]
    list_select_related = ["endpoint", "model"]
    date_hierarchy = "created_at"
    fields = ["endpoint", "model", "min_severity"]

    @admin.display(description="model", ordering="model__name")
    def scope(self, route: NotificationRoute) -> str:
        return route.model.name if route.model_id else "every model"

    def save_model(
        self, request: HttpRequest, obj: NotificationRoute, form: forms.ModelForm, change: bool
    ) -> None:
        notification_route_save(actor=request.user, route=obj, origin_label="admin")

    def delete_model(self, request: HttpRequest, obj: NotificationRoute) -> None:
        notification_route_delete(actor=request.user, route=obj, origin_label="admin")

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        # One route at a time, from its page, like every governed model: no bulk delete.
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions


class NotificationAttemptInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = NotificationAttempt
    fields = [
        "number",
        "created_at",
        "outcome",
        "http_status",
        "error",
        "response_excerpt",
        "duration_ms",
        "next_retry_at",
    ]
    readonly_fields = fields
    extra = 0


@admin.register(NotificationDelivery)
class NotificationDeliveryAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Every message and every attempt; filter by status to see the ones given up on, and
    send them again (the action calls notification_delivery_send_again, as the API does)."""

    list_display = [
        "id",
        "created_at",
        "endpoint",
        "model_name",
        "alert_link",
        "event",
        "severity",
        "status",
        "attempts",
        "next_attempt_at",
        "last_error",
    ]
    list_filter = [
        "status",
        "event",
        "severity",
        ("endpoint", admin.RelatedOnlyFieldListFilter),
        ("alert__model", admin.RelatedOnlyFieldListFilter),
    ]
    search_fields = ["endpoint__name", "alert__model__name", "alert__metric", "last_error"]
    list_select_related = ["endpoint", "alert", "alert__model"]
    date_hierarchy = "created_at"
    show_full_result_count = False
    fields = [
        "endpoint",
        "alert",
        "event",
        "severity",
        "status",
        "attempts",
        "next_attempt_at",
        "last_error",
        "content_pretty",
        "created_at",
        "delivered_at",
        "resent_at",
        "resent_by",
        "attempts_before_resend",
    ]
    readonly_fields = fields
    inlines = [NotificationAttemptInline]
    actions = ["send_again"]

    @admin.action(description="Send the selected failed deliveries again")
    def send_again(self, request: HttpRequest, queryset: QuerySet[NotificationDelivery]) -> None:
        done, refused = 0, []
        for delivery_id in queryset.order_by("pk").values_list("pk", flat=True):
            try:
                notification_delivery_send_again(actor=request.user, delivery_id=delivery_id)
            except ApplicationError as error:
                refused.append(f"#{delivery_id}: {error.detail}")
            else:
                done += 1
        if done:
            self.message_user(request, f"Sending {done} delivery(ies) again.", messages.SUCCESS)
        for line in refused:
            self.message_user(request, line, messages.ERROR)

    @admin.display(description="model", ordering="alert__model__name")
    def model_name(self, delivery: NotificationDelivery) -> str:
        return delivery.alert.model.name

    @admin.display(description="alert", ordering="alert_id")
    def alert_link(self, delivery: NotificationDelivery) -> str:
        return f"#{delivery.alert_id} {delivery.alert.metric}"

    @admin.display(description="content sent")
    def content_pretty(self, delivery: NotificationDelivery) -> str:
        return pretty_json(delivery.content)
