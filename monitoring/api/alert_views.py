"""GET /api/v1/alerts/ (contract) and the actions people take on an alert."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from governance.api.schema import errors
from governance.roles import Capability
from monitoring import alert_selectors
from monitoring.api.alert_serializers import (
    AlertCommentSerializer,
    AlertDetailSerializer,
    AlertSerializer,
    AlertSilenceSerializer,
)
from monitoring.filters import AlertFilter
from monitoring.models import Alert
from monitoring.services.alerts import alert_acknowledge, alert_silence, alert_unsilence


def _detail(alert_id: int) -> Response:
    return Response(AlertDetailSerializer(alert_selectors.alert_get(alert_id=alert_id)).data)


def _act(
    request: Request, pk: str, serializer_class: type, service: Callable[..., Any]
) -> Response:
    data = serializer_class(data=request.data)
    data.is_valid(raise_exception=True)
    service(actor=request.user, alert_id=int(pk), **data.validated_data)
    return _detail(int(pk))


class AlertViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """Alerts, the latest breach first (filter by model, version, status, severity)."""

    serializer_class = AlertSerializer
    filterset_class = AlertFilter
    lookup_value_regex = r"[0-9]+"
    required_capabilities = {
        "acknowledge": Capability.MANAGE_ALERTS,
        "silence": Capability.MANAGE_ALERTS,
        "unsilence": Capability.MANAGE_ALERTS,
    }

    def get_queryset(self) -> QuerySet[Alert]:
        return alert_selectors.alert_list()

    @extend_schema(responses={200: AlertDetailSerializer})
    def retrieve(self, request: Request, pk: str) -> Response:
        """One alert with its rule and who acknowledged or silenced it."""
        return _detail(int(pk))

    @extend_schema(
        request=AlertCommentSerializer, responses={200: AlertDetailSerializer, **errors(409)}
    )
    @action(detail=True, methods=["post"])
    def acknowledge(self, request: Request, pk: str) -> Response:
        """Someone is on it (once); 409 for a resolved or already acknowledged alert."""
        return _act(request, pk, AlertCommentSerializer, alert_acknowledge)

    @extend_schema(
        request=AlertSilenceSerializer, responses={200: AlertDetailSerializer, **errors(409)}
    )
    @action(detail=True, methods=["post"])
    def silence(self, request: Request, pk: str) -> Response:
        """No notifications or incidents from it until `until` (a future time with a zone),
        for the `reason` given; 409 for a resolved alert."""
        return _act(request, pk, AlertSilenceSerializer, alert_silence)

    @extend_schema(
        request=AlertCommentSerializer, responses={200: AlertDetailSerializer, **errors(409)}
    )
    @action(detail=True, methods=["post"])
    def unsilence(self, request: Request, pk: str) -> Response:
        """End the silence now; 409 unless it is silenced."""
        return _act(request, pk, AlertCommentSerializer, alert_unsilence)
