"""Notification endpoints, routes and deliveries in the API (compliance officers only).

A webhook's secret is write-only: it is accepted on create, update and rotate, and never
part of a response, except the one a rotation generated, which is shown once.
"""

from __future__ import annotations

from rest_framework import serializers

from governance.api.serializers import StrictInputSerializer
from monitoring.models import (
    Alert,
    NotificationAttempt,
    NotificationDelivery,
    NotificationEndpoint,
    NotificationRoute,
)
from monitoring.services.notification_setup import MAX_URL_CHARS

MAX_ADDRESSES = 50


class RouteSerializer(serializers.ModelSerializer):
    endpoint = serializers.IntegerField(source="endpoint_id")
    endpoint_name = serializers.CharField(source="endpoint.name")
    model = serializers.CharField(
        source="model.name", allow_null=True, default=None, help_text="null: every model."
    )

    class Meta:
        model = NotificationRoute
        fields = ["id", "endpoint", "endpoint_name", "model", "min_severity", "created_at"]


class EndpointRouteSerializer(RouteSerializer):
    class Meta(RouteSerializer.Meta):
        fields = ["id", "model", "min_severity"]


class EndpointSerializer(serializers.ModelSerializer):
    """An endpoint as stored, without its secret (only whether it has one, and since when)."""

    has_secret = serializers.SerializerMethodField()
    routes = EndpointRouteSerializer(many=True, read_only=True)

    class Meta:
        model = NotificationEndpoint
        fields = [
            "id",
            "name",
            "kind",
            "enabled",
            "email_addresses",
            "url",
            "body_format",
            "has_secret",
            "secret_set_at",
            "routes",
            "created_at",
            "updated_at",
        ]

    def get_has_secret(self, endpoint: NotificationEndpoint) -> bool:
        return bool(endpoint.secret)


def _secret_field(**kwargs: object) -> serializers.CharField:
    return serializers.CharField(
        max_length=200,
        trim_whitespace=False,
        write_only=True,
        help_text="Webhooks: the HMAC-SHA256 key of X-Governance-Signature, at least 16 "
        "characters. Write-only: never returned.",
        **kwargs,
    )


class EndpointCreateSerializer(StrictInputSerializer):
    name = serializers.CharField(max_length=100)
    kind = serializers.ChoiceField(choices=NotificationEndpoint.Kind.choices)
    enabled = serializers.BooleanField(default=True)
    email_addresses = serializers.ListField(
        child=serializers.CharField(max_length=254),
        max_length=MAX_ADDRESSES,
        default=list,
        help_text="E-mail endpoints: the recipients.",
    )
    url = serializers.CharField(
        max_length=MAX_URL_CHARS,
        allow_blank=True,
        default="",
        help_text="Webhooks: an http:// or https:// URL (other schemes are refused).",
    )
    secret = _secret_field(required=False, allow_null=True, default=None)
    body_format = serializers.ChoiceField(
        choices=NotificationEndpoint.BodyFormat.choices, default="json"
    )


class EndpointUpdateSerializer(StrictInputSerializer):
    """The fields to change; what is left out stays (the secret too)."""

    name = serializers.CharField(max_length=100, required=False)
    kind = serializers.ChoiceField(choices=NotificationEndpoint.Kind.choices, required=False)
    enabled = serializers.BooleanField(required=False)
    email_addresses = serializers.ListField(
        child=serializers.CharField(max_length=254), max_length=MAX_ADDRESSES, required=False
    )
    url = serializers.CharField(max_length=MAX_URL_CHARS, allow_blank=True, required=False)
    secret = _secret_field(required=False)
    body_format = serializers.ChoiceField(
        choices=NotificationEndpoint.BodyFormat.choices, required=False
    )


class SecretRotateSerializer(StrictInputSerializer):
    secret = _secret_field(required=False, allow_null=True, default=None)


class SecretRotatedSerializer(serializers.Serializer):
    endpoint = EndpointSerializer()
    secret = serializers.CharField(
        allow_null=True,
        help_text="The generated secret, shown this once; null when the request gave one.",
    )


class RouteCreateSerializer(StrictInputSerializer):
    endpoint = serializers.IntegerField(min_value=1, help_text="The endpoint's id.")
    model = serializers.CharField(
        max_length=100,
        allow_null=True,
        default=None,
        help_text="A model's name; null: every model.",
    )
    min_severity = serializers.ChoiceField(choices=Alert.Severity.choices, default="warning")


class RouteUpdateSerializer(StrictInputSerializer):
    endpoint = serializers.IntegerField(min_value=1, required=False)
    model = serializers.CharField(max_length=100, allow_null=True, required=False)
    min_severity = serializers.ChoiceField(choices=Alert.Severity.choices, required=False)


class AttemptSerializer(serializers.ModelSerializer):
    class Meta:
        model = NotificationAttempt
        fields = [
            "number",
            "outcome",
            "http_status",
            "error",
            "response_excerpt",
            "duration_ms",
            "next_retry_at",
            "created_at",
        ]


class DeliverySerializer(serializers.ModelSerializer):
    endpoint = serializers.IntegerField(source="endpoint_id")
    endpoint_name = serializers.CharField(source="endpoint.name")
    alert = serializers.IntegerField(source="alert_id")
    model = serializers.CharField(source="alert.model.name")
    resent_by = serializers.CharField(source="resent_by.username", allow_null=True, default=None)

    class Meta:
        model = NotificationDelivery
        fields = [
            "id",
            "endpoint",
            "endpoint_name",
            "alert",
            "model",
            "event",
            "severity",
            "status",
            "attempts",
            "next_attempt_at",
            "last_error",
            "created_at",
            "delivered_at",
            "resent_at",
            "resent_by",
        ]


class DeliveryDetailSerializer(DeliverySerializer):
    attempts_made = AttemptSerializer(source="attempt_records", many=True)
    content = serializers.JSONField(help_text="The facts sent (the same on every attempt).")

    class Meta(DeliverySerializer.Meta):
        fields = [*DeliverySerializer.Meta.fields, "content", "attempts_made"]


class SendAgainSerializer(StrictInputSerializer):
    comment = serializers.CharField(
        max_length=5000, required=False, allow_blank=True, default="", help_text="Why."
    )
