"""Findings, validations and the revalidation schedule over the API. Thin: the services
decide, the selectors read (reviews/finding_services.py, reviews/revalidation_services.py)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import QuerySet
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import generics, mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from governance.api.schema import errors
from governance.errors import InvalidInput
from governance.roles import Capability
from models_registry.models import RegisteredModel
from models_registry.selectors import model_get
from reviews.api.finding_serializers import (
    FindingAssignSerializer,
    FindingCreateSerializer,
    FindingDetailSerializer,
    FindingEvidenceSerializer,
    FindingSerializer,
    FindingStatusSerializer,
    RevalidationListSerializer,
    RevalidationQuerySerializer,
    ValidationCreateSerializer,
    ValidationSerializer,
)
from reviews.filters import FindingFilter
from reviews.finding_assignment import finding_assign
from reviews.finding_models import Finding
from reviews.finding_selectors import finding_get, finding_list
from reviews.finding_services import (
    FINDING_CAPABILITIES,
    finding_evidence_add,
    finding_raise,
    finding_status_change,
)
from reviews.revalidation_models import Validation
from reviews.revalidation_selectors import revalidations_due, validation_list
from reviews.revalidation_services import validation_record


def _user(username: str | None, field: str) -> Any:
    """The active user named `username` (None stays None); a 400 naming `field` if none."""
    if username is None:
        return None
    user = get_user_model().objects.filter(username=username, is_active=True).first()
    if user is None:
        raise InvalidInput(f"No user {username}.", extra={field: [f"No active user {username}."]})
    return user


def _model(name: str) -> RegisteredModel:
    """A model named in a body: unknown is a 400 naming the field (a 404 is for paths)."""
    model = RegisteredModel.objects.select_related("owner").filter(name=name).first()
    if model is None:
        raise InvalidInput(
            f"No model named '{name}'.", extra={"model": [f"No model named '{name}'."]}
        )
    return model


def _validation(pk: int | None) -> Validation | None:
    if pk is None:
        return None
    validation = Validation.objects.filter(pk=pk).first()
    if validation is None:
        raise InvalidInput(f"No validation #{pk}.", extra={"validation": [f"No validation #{pk}."]})
    return validation


def _finding_response(finding_id: int, code: int = status.HTTP_200_OK) -> Response:
    return Response(FindingDetailSerializer(finding_get(finding_id=finding_id)).data, status=code)


class FindingViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """Findings, newest first (filter by model, version, status, severity, min_severity,
    owner, open); raise one, change its owner or due date, its status, add evidence."""

    serializer_class = FindingSerializer
    filterset_class = FindingFilter
    lookup_value_regex = r"[0-9]+"
    required_capabilities = {
        "create": Capability.REVIEW_FINDINGS,
        # Which of them a step needs depends on the step: the service decides.
        "change_status": FINDING_CAPABILITIES,
        "partial_update": FINDING_CAPABILITIES,
        "evidence": Capability.WORK_FINDINGS,
    }

    def get_queryset(self) -> QuerySet[Finding]:
        return finding_list()

    @extend_schema(responses={200: FindingDetailSerializer})
    def retrieve(self, request: Request, pk: str) -> Response:
        """One finding with its remediation evidence and its timeline."""
        return _finding_response(int(pk))

    @extend_schema(
        request=FindingCreateSerializer, responses={201: FindingDetailSerializer, **errors(400)}
    )
    def create(self, request: Request) -> Response:
        """Raise a finding on a model (validators, board members, compliance officers)."""
        data = FindingCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        model = _model(fields.pop("model"))
        finding = finding_raise(
            actor=request.user,
            model=model,
            owner=_user(fields.pop("owner"), "owner"),
            validation=_validation(fields.pop("validation")),
            **fields,
        )
        return _finding_response(finding.pk, status.HTTP_201_CREATED)

    @extend_schema(
        request=FindingAssignSerializer,
        responses={200: FindingDetailSerializer, **errors(400, 409)},
    )
    def partial_update(self, request: Request, pk: str) -> Response:
        """Give the finding a new `owner` (a username) and/or `due_date`, with a `reason`
        (required): on its timeline and in its history. The owner must be an active user who
        works on findings, the due date not in the past; 409 once closed or its risk accepted
        (reopen it first). The same values again change nothing."""
        finding_get(finding_id=int(pk))  # 404 before the body is judged
        data = FindingAssignSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        fields = data.validated_data
        finding_assign(
            actor=request.user,
            finding_id=int(pk),
            owner=_user(fields.get("owner"), "owner"),
            due_date=fields.get("due_date"),
            reason=fields["reason"],
        )
        return _finding_response(int(pk))

    @extend_schema(
        request=FindingStatusSerializer,
        responses={200: FindingDetailSerializer, **errors(400, 409)},
    )
    @action(detail=True, methods=["post"], url_path="status")
    def change_status(self, request: Request, pk: str) -> Response:
        """open -> in_remediation -> remediated -> closed; accepted_risk from open or in
        remediation; steps back reopen. Accepting, closing and reopening need a comment,
        remediated needs evidence; 409 for a step the workflow does not allow."""
        data = FindingStatusSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        finding_status_change(actor=request.user, finding_id=int(pk), **data.validated_data)
        return _finding_response(int(pk))

    @extend_schema(
        request=FindingEvidenceSerializer,
        responses={200: FindingDetailSerializer, **errors(400, 409)},
    )
    @action(detail=True, methods=["post"])
    def evidence(self, request: Request, pk: str) -> Response:
        """Add remediation evidence (text, links); 409 once closed or its risk accepted."""
        data = FindingEvidenceSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        finding_evidence_add(actor=request.user, finding_id=int(pk), **data.validated_data)
        return _finding_response(int(pk))


class ModelValidationsView(generics.ListAPIView):
    """A model's recorded validations, newest first; POST records one."""

    serializer_class = ValidationSerializer
    queryset = Validation.objects.none()  # for the schema; get_queryset reads the model's
    required_capabilities = {"get": Capability.READ, "post": Capability.RECORD_VALIDATION}

    def get_queryset(self) -> QuerySet[Validation]:
        return validation_list(model=model_get(name=self.kwargs["model_name"]))

    @extend_schema(
        request=ValidationCreateSerializer,
        responses={201: ValidationSerializer, **errors(400)},
        summary="Record a validation",
        description="Who (you), what was checked (`scope`), the `outcome` and the evidence. "
        "passed and passed_with_findings set the model's last-validated date; findings may "
        "be raised with it unless it passed outright. The model's owner, the user who "
        "registered the version and the author of its MLflow run get 403.",
    )
    def post(self, request: Request, model_name: str) -> Response:
        model = model_get(name=model_name)
        data = ValidationCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        findings = [
            {**finding, "owner": _user(finding.get("owner"), f"findings.{index}.owner")}
            for index, finding in enumerate(fields.pop("findings"))
        ]
        validation = validation_record(actor=request.user, model=model, findings=findings, **fields)
        return Response(
            ValidationSerializer(validation_list().get(pk=validation.pk)).data,
            status=status.HTTP_201_CREATED,
        )


class RevalidationsView(APIView):
    """Models whose revalidation is due or overdue."""

    required_capabilities = {"get": Capability.READ}

    @extend_schema(
        parameters=[RevalidationQuerySerializer],
        responses={200: RevalidationListSerializer},
    )
    def get(self, request: Request) -> Response:
        """Overdue on `as_of` (default today) or due within `within_days` (default 30) of
        it, most overdue first; `status` keeps one of the two."""
        empty = sorted(name for name, value in request.query_params.items() if value == "")
        if empty:  # the schema lists no empty value: given empty is a 400, not "any"
            raise InvalidInput(
                "Give a value or leave the parameter out.",
                extra={name: ["May not be empty."] for name in empty},
            )
        query = RevalidationQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        as_of = query.validated_data.get("as_of") or timezone.localdate()
        within_days = query.validated_data["within_days"]
        states = revalidations_due(
            as_of=as_of, within_days=within_days, status=query.validated_data.get("status")
        )
        body = {"as_of": as_of, "within_days": within_days, "count": len(states), "results": states}
        return Response(RevalidationListSerializer(body).data)
