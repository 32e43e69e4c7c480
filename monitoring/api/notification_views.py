"""Notification set-up and deliveries in the API: what compliance officers do in the admin
(Monitoring, Notification endpoints / routes / deliveries), for scripts. Every route needs
MANAGE_NOTIFICATIONS; every change goes through the services of the admin."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from governance.api.schema import errors
from governance.errors import InvalidInput, NotFound
from governance.roles import Capability
from models_registry.models import RegisteredModel
from monitoring import services
from monitoring.api.notification_serializers import (
    DeliveryDetailSerializer,
    DeliverySerializer,
    EndpointCreateSerializer,
    EndpointSerializer,
    EndpointUpdateSerializer,
    RouteCreateSerializer,
    RouteSerializer,
    RouteUpdateSerializer,
    SecretRotatedSerializer,
    SecretRotateSerializer,
    SendAgainSerializer,
)
from monitoring.filters import NotificationDeliveryFilter, NotificationRouteFilter
from monitoring.models import NotificationDelivery, NotificationEndpoint, NotificationRoute
from monitoring.notify import selectors

ALL_ACTIONS = ("list", "retrieve", "create", "partial_update", "destroy")


def _everything(*extra: str) -> dict[str, Capability]:
    return dict.fromkeys((*ALL_ACTIONS, *extra), Capability.MANAGE_NOTIFICATIONS)


def _checked(serializer_class: type, request: Request) -> dict[str, Any]:
    data = serializer_class(data=request.data)
    data.is_valid(raise_exception=True)
    return dict(data.validated_data)


def _get(queryset: QuerySet[Any], pk: str, what: str) -> Any:
    found = queryset.filter(pk=int(pk)).first()
    if found is None:
        raise NotFound(f"No notification {what} #{pk}.")
    return found


class NotificationEndpointViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """Where alerts go: e-mail addresses or a webhook. The secret is write-only."""

    serializer_class = EndpointSerializer
    lookup_value_regex = r"[0-9]+"
    required_capabilities = _everything("rotate_secret")

    def get_queryset(self) -> QuerySet[NotificationEndpoint]:
        return selectors.endpoint_list()

    def _answer(self, pk: int, code: int = status.HTTP_200_OK) -> Response:
        return Response(EndpointSerializer(_get(self.get_queryset(), pk, "endpoint")).data, code)

    @extend_schema(responses={200: EndpointSerializer})
    def retrieve(self, request: Request, pk: str) -> Response:
        return self._answer(pk)

    @extend_schema(request=EndpointCreateSerializer, responses={201: EndpointSerializer})
    def create(self, request: Request) -> Response:
        """A new endpoint; 400 naming the field (an URL that is not http(s), a short or
        missing webhook secret, a bad address, a name in use)."""
        fields = _checked(EndpointCreateSerializer, request)
        secret = fields.pop("secret")
        endpoint = NotificationEndpoint(**fields)
        services.notification_endpoint_save(
            actor=request.user, endpoint=endpoint, secret=secret, origin_label="api"
        )
        return self._answer(endpoint.pk, status.HTTP_201_CREATED)

    @extend_schema(request=EndpointUpdateSerializer, responses={200: EndpointSerializer})
    def partial_update(self, request: Request, pk: str) -> Response:
        """Change the fields given (`secret` replaces the secret); `enabled: false` stops
        its messages while keeping its deliveries."""
        fields = _checked(EndpointUpdateSerializer, request)
        endpoint = _get(NotificationEndpoint.objects.all(), pk, "endpoint")
        secret = fields.pop("secret", None)
        for name, value in fields.items():
            setattr(endpoint, name, value)
        services.notification_endpoint_save(
            actor=request.user, endpoint=endpoint, secret=secret, origin_label="api"
        )
        return self._answer(endpoint.pk)

    @extend_schema(responses={204: None, **errors(409)})
    def destroy(self, request: Request, pk: str) -> Response:
        """Delete an endpoint that never had a delivery, with its routes; 409 otherwise
        (disable it instead)."""
        endpoint = _get(NotificationEndpoint.objects.all(), pk, "endpoint")
        services.notification_endpoint_delete(
            actor=request.user, endpoint=endpoint, origin_label="api"
        )
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        request=SecretRotateSerializer, responses={200: SecretRotatedSerializer, **errors(409)}
    )
    @action(detail=True, methods=["post"], url_path="rotate-secret")
    def rotate_secret(self, request: Request, pk: str) -> Response:
        """A new signing secret for a webhook: the one given, or a generated one, returned
        this once. 409 for an e-mail endpoint."""
        given = _checked(SecretRotateSerializer, request)["secret"]
        secret = services.notification_endpoint_secret_rotate(
            actor=request.user, endpoint_id=int(pk), secret=given, origin_label="api"
        )
        endpoint = _get(self.get_queryset(), pk, "endpoint")
        body = {"endpoint": endpoint, "secret": None if given is not None else secret}
        return Response(SecretRotatedSerializer(body).data)


def _route_endpoint(endpoint_id: int) -> NotificationEndpoint:
    endpoint = NotificationEndpoint.objects.filter(pk=endpoint_id).first()
    if endpoint is None:
        raise InvalidInput(
            "The route is not valid.", extra={"endpoint": [f"No endpoint #{endpoint_id}."]}
        )
    return endpoint


def _route_model(name: str | None) -> RegisteredModel | None:
    if name is None:
        return None
    model = RegisteredModel.objects.filter(name=name).first()
    if model is None:
        raise InvalidInput("The route is not valid.", extra={"model": [f"No model {name!r}."]})
    return model


class NotificationRouteViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """Which alerts go where: one model's (or every model's) at or above a severity."""

    serializer_class = RouteSerializer
    filterset_class = NotificationRouteFilter
    lookup_value_regex = r"[0-9]+"
    required_capabilities = _everything()

    def get_queryset(self) -> QuerySet[NotificationRoute]:
        return selectors.route_list()

    def _answer(self, pk: int, code: int = status.HTTP_200_OK) -> Response:
        return Response(RouteSerializer(_get(self.get_queryset(), pk, "route")).data, code)

    @extend_schema(responses={200: RouteSerializer})
    def retrieve(self, request: Request, pk: str) -> Response:
        return self._answer(pk)

    @extend_schema(request=RouteCreateSerializer, responses={201: RouteSerializer})
    def create(self, request: Request) -> Response:
        """A new route; 400 for an unknown endpoint or model, or a scope the endpoint has a
        route for already."""
        fields = _checked(RouteCreateSerializer, request)
        route = NotificationRoute(
            endpoint=_route_endpoint(fields["endpoint"]),
            model=_route_model(fields["model"]),
            min_severity=fields["min_severity"],
        )
        services.notification_route_save(actor=request.user, route=route, origin_label="api")
        return self._answer(route.pk, status.HTTP_201_CREATED)

    @extend_schema(request=RouteUpdateSerializer, responses={200: RouteSerializer})
    def partial_update(self, request: Request, pk: str) -> Response:
        fields = _checked(RouteUpdateSerializer, request)
        route = _get(self.get_queryset(), pk, "route")
        if "endpoint" in fields:
            route.endpoint = _route_endpoint(fields["endpoint"])
        if "model" in fields:
            route.model = _route_model(fields["model"])
        if "min_severity" in fields:
            route.min_severity = fields["min_severity"]
        services.notification_route_save(actor=request.user, route=route, origin_label="api")
        return self._answer(route.pk)

    @extend_schema(responses={204: None})
    def destroy(self, request: Request, pk: str) -> Response:
        """Stop routing (the deliveries made stay)."""
        route = _get(self.get_queryset(), pk, "route")
        services.notification_route_delete(actor=request.user, route=route, origin_label="api")
        return Response(status=status.HTTP_204_NO_CONTENT)


class NotificationDeliveryViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """Every message about an alert event to an endpoint, newest first (filter by status,
    event, endpoint, model, alert); a failed one can be sent again."""

    serializer_class = DeliverySerializer
    filterset_class = NotificationDeliveryFilter
    lookup_value_regex = r"[0-9]+"
    required_capabilities = {
        "list": Capability.MANAGE_NOTIFICATIONS,
        "retrieve": Capability.MANAGE_NOTIFICATIONS,
        "send_again": Capability.MANAGE_NOTIFICATIONS,
    }

    def get_queryset(self) -> QuerySet[NotificationDelivery]:
        return selectors.delivery_list()

    def _detail(self, pk: int) -> DeliveryDetailSerializer:
        queryset = self.get_queryset().prefetch_related("attempt_records")
        return DeliveryDetailSerializer(_get(queryset, pk, "delivery"))

    @extend_schema(responses={200: DeliveryDetailSerializer})
    def retrieve(self, request: Request, pk: str) -> Response:
        """One delivery with the facts it sends and every attempt."""
        return Response(self._detail(pk).data)

    @extend_schema(
        request=SendAgainSerializer, responses={202: DeliveryDetailSerializer, **errors(409)}
    )
    @action(detail=True, methods=["post"], url_path="send-again")
    def send_again(self, request: Request, pk: str) -> Response:
        """Send a delivery that failed for good again (a fresh round of attempts, the first
        queued now); 409 if it is pending or delivered, if its endpoint has been told about
        the alert since, or if the endpoint is disabled."""
        comment = _checked(SendAgainSerializer, request)["comment"]
        services.notification_delivery_send_again(
            actor=request.user, delivery_id=int(pk), comment=comment
        )
        return Response(self._detail(pk).data, status=status.HTTP_202_ACCEPTED)
