from __future__ import annotations

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from governance.api.schema import errors
from governance.roles import Capability
from models_registry.selectors import version_get
from reviews import selectors, services
from reviews.api.serializers import (
    PromotionRequestCreateSerializer,
    PromotionRequestSerializer,
    RequestAgainSerializer,
    SignOffCreateSerializer,
    SignOffSerializer,
    WithdrawSerializer,
)
from reviews.filters import PromotionRequestFilter
from reviews.models import PromotionRequest


def _request_response(request_id: int, code: int = status.HTTP_200_OK) -> Response:
    return Response(
        PromotionRequestSerializer(selectors.request_get(request_id=request_id)).data, status=code
    )


class PromotionRequestViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """Promotion requests: read them, sign them off, execute or withdraw them, or request
    again (withdraw and open a new request on the current card)."""

    serializer_class = PromotionRequestSerializer
    filterset_class = PromotionRequestFilter
    lookup_value_regex = r"[0-9]+"
    required_capabilities = {
        "sign_offs": Capability.READ,
        "execute": Capability.EXECUTE_PROMOTION,
        "withdraw": Capability.REQUEST_PROMOTION,
        "request_again": Capability.REQUEST_PROMOTION,
    }

    def get_queryset(self) -> QuerySet[PromotionRequest]:
        return selectors.request_list()

    @extend_schema(responses={200: PromotionRequestSerializer})
    def retrieve(self, request: Request, pk: str) -> Response:
        return _request_response(_id(pk))

    @extend_schema(methods=["GET"], responses={200: SignOffSerializer(many=True)}, filters=False)
    @extend_schema(
        methods=["POST"],
        request=SignOffCreateSerializer,
        responses={201: SignOffSerializer, **errors(409)},
    )
    @action(detail=True, methods=["get", "post"], url_path="sign-offs", pagination_class=None)
    def sign_offs(self, request: Request, pk: str) -> Response:
        promotion_request = selectors.request_get(request_id=_id(pk))
        if request.method == "GET":
            return Response(PromotionRequestSerializer(promotion_request).data["sign_offs"])
        data = SignOffCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        sign_off = services.signoff_create(
            actor=request.user, request_id=promotion_request.pk, **data.validated_data
        )
        sign_off = promotion_request.sign_offs.select_related(
            "signer", "request__model_version"
        ).get(pk=sign_off.pk)
        return Response(SignOffSerializer(sign_off).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses={200: PromotionRequestSerializer, **errors(409)})
    @action(detail=True, methods=["post"])
    def execute(self, request: Request, pk: str) -> Response:
        promotion_request = selectors.request_get(request_id=_id(pk))
        services.promotion_execute(actor=request.user, request_id=promotion_request.pk)
        return _request_response(promotion_request.pk)

    @extend_schema(
        request=WithdrawSerializer, responses={200: PromotionRequestSerializer, **errors(409)}
    )
    @action(detail=True, methods=["post"])
    def withdraw(self, request: Request, pk: str) -> Response:
        promotion_request = selectors.request_get(request_id=_id(pk))
        data = WithdrawSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.promotion_withdraw(
            actor=request.user, request_id=promotion_request.pk, **data.validated_data
        )
        return _request_response(promotion_request.pk)

    @extend_schema(
        request=RequestAgainSerializer,
        responses={201: PromotionRequestSerializer, **errors(409)},
    )
    @action(detail=True, methods=["post"], url_path="request-again")
    def request_again(self, request: Request, pk: str) -> Response:
        """Withdraw this open request and open a new one for the same version, on the card as
        it is now (the requester only): everyone signs again, so stale approvals stop
        blocking it. 201 with the new request, whose `replaces` names this one."""
        promotion_request = selectors.request_get(request_id=_id(pk))
        data = RequestAgainSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        new = services.promotion_request_again(
            actor=request.user, request_id=promotion_request.pk, **data.validated_data
        )
        return _request_response(new.pk, status.HTTP_201_CREATED)


class VersionPromotionRequestViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """Promotion requests of one version; POST asks for a new one."""

    serializer_class = PromotionRequestSerializer
    required_capabilities = {"create": Capability.REQUEST_PROMOTION}

    def get_queryset(self) -> QuerySet[PromotionRequest]:
        if getattr(self, "swagger_fake_view", False):  # schema generation, no URL kwargs
            return PromotionRequest.objects.none()
        version = version_get(
            model_name=self.kwargs["model_name"], version=int(self.kwargs["version"])
        )
        return selectors.request_list().filter(model_version=version)

    @extend_schema(
        request=PromotionRequestCreateSerializer,
        responses={201: PromotionRequestSerializer, **errors(409)},
    )
    def create(self, request: Request, model_name: str, version: str) -> Response:
        model_version = version_get(model_name=model_name, version=int(version))
        data = PromotionRequestCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        promotion_request = services.promotion_request_create(
            actor=request.user, version=model_version, **data.validated_data
        )
        return _request_response(promotion_request.pk, status.HTTP_201_CREATED)


def _id(pk: str) -> int:
    return int(pk)
