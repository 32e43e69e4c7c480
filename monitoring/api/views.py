from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from governance.api.schema import errors
from governance.api.serializers import StrictInputSerializer
from governance.errors import InvalidInput
from governance.roles import Capability
from models_registry.selectors import model_get
from monitoring import selectors, services
from monitoring.api.serializers import (
    CanaryEvaluationSerializer,
    CheckReportRequestSerializer,
    CheckReportSerializer,
    GroundTruthReceiptSerializer,
    GroundTruthUploadSerializer,
    IncidentAssignSerializer,
    IncidentCommentSerializer,
    IncidentDetailSerializer,
    IncidentFlagSeriousSerializer,
    IncidentNoteSerializer,
    IncidentReportSerializer,
    IncidentResolveSerializer,
    IncidentRollbackSerializer,
    IncidentSerializer,
    IncidentStatusSerializer,
)
from monitoring.filters import IncidentFilter
from monitoring.models import Incident


def _incident_response(incident_id: int) -> Response:
    return Response(IncidentDetailSerializer(selectors.incident_get(incident_id=incident_id)).data)


def _incident_transition(
    request: Request,
    pk: str,
    service: Callable[..., Any],
    serializer_class: type[StrictInputSerializer] = IncidentCommentSerializer,
) -> Response:
    """Call the incident service with the checked body; answer with the incident."""
    data = serializer_class(data=request.data)
    data.is_valid(raise_exception=True)
    service(actor=request.user, incident_id=int(pk), **data.validated_data)
    return _incident_response(int(pk))


def _owner(username: str | None) -> Any:
    if username is None:
        return None
    try:
        return get_user_model().objects.get(username=username, is_active=True)
    except get_user_model().DoesNotExist:
        raise InvalidInput(
            f"No user {username}.", extra={"owner": [f"No active user {username}."]}
        ) from None


ACTION_ERRORS = errors(400, 409)


class IncidentViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """Incidents, newest first (filter by model, version, status, severity, source, owner,
    serious, overdue); the actions of the incident workflow."""

    serializer_class = IncidentSerializer
    filterset_class = IncidentFilter
    lookup_value_regex = r"[0-9]+"
    required_capabilities = {
        "acknowledge": Capability.WORK_INCIDENTS,
        "resolve": Capability.WORK_INCIDENTS,
        "assign": Capability.WORK_INCIDENTS,
        "comment": Capability.WORK_INCIDENTS,
        "change_status": Capability.WORK_INCIDENTS,
        "flag_serious": Capability.MANAGE_INCIDENTS,
        "report": Capability.MANAGE_INCIDENTS,
        "rollback": Capability.ROLLBACK,
    }

    def get_queryset(self) -> QuerySet[Incident]:
        return selectors.incident_list()

    @extend_schema(responses={200: IncidentDetailSerializer})
    def retrieve(self, request: Request, pk: str) -> Response:
        """One incident with its timeline, its alerts and (if serious) its deadline."""
        return _incident_response(int(pk))

    @extend_schema(
        request=IncidentCommentSerializer,
        responses={200: IncidentDetailSerializer, **ACTION_ERRORS},
    )
    @action(detail=True, methods=["post"])
    def acknowledge(self, request: Request, pk: str) -> Response:
        """Open -> investigating; 409 otherwise (the older name of that status change)."""
        return _incident_transition(request, pk, services.incident_acknowledge)

    @extend_schema(
        request=IncidentResolveSerializer,
        responses={200: IncidentDetailSerializer, **ACTION_ERRORS},
    )
    @action(detail=True, methods=["post"])
    def resolve(self, request: Request, pk: str) -> Response:
        """Any status but closed -> closed; the comment (required) says what was done."""
        return _incident_transition(
            request, pk, services.incident_resolve, IncidentResolveSerializer
        )

    @extend_schema(
        request=IncidentStatusSerializer, responses={200: IncidentDetailSerializer, **ACTION_ERRORS}
    )
    @action(detail=True, methods=["post"], url_path="status")
    def change_status(self, request: Request, pk: str) -> Response:
        """open -> investigating -> mitigated -> closed (steps may be skipped); mitigated or
        closed -> investigating reopens. Closing and reopening need a comment."""
        return _incident_transition(
            request, pk, services.incident_status_change, IncidentStatusSerializer
        )

    @extend_schema(
        request=IncidentAssignSerializer, responses={200: IncidentDetailSerializer, **ACTION_ERRORS}
    )
    @action(detail=True, methods=["post"])
    def assign(self, request: Request, pk: str) -> Response:
        """Give the incident to a user who works on incidents (`owner`: username or null)."""
        data = IncidentAssignSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.incident_assign(
            actor=request.user,
            incident_id=int(pk),
            owner=_owner(data.validated_data["owner"]),
            comment=data.validated_data["comment"],
        )
        return _incident_response(int(pk))

    @extend_schema(
        request=IncidentNoteSerializer, responses={200: IncidentDetailSerializer, **errors(400)}
    )
    @action(detail=True, methods=["post"])
    def comment(self, request: Request, pk: str) -> Response:
        """A comment on the timeline."""
        return _incident_transition(request, pk, services.incident_comment, IncidentNoteSerializer)

    @extend_schema(
        request=IncidentFlagSeriousSerializer,
        responses={200: IncidentDetailSerializer, **ACTION_ERRORS},
    )
    @action(detail=True, methods=["post"], url_path="flag-serious")
    def flag_serious(self, request: Request, pk: str) -> Response:
        """Compliance flags a serious incident (EU AI Act Art. 73); the report is due 15, 10
        or 2 days (by `kind`) after `aware_at`."""
        return _incident_transition(
            request, pk, services.incident_flag_serious, IncidentFlagSeriousSerializer
        )

    @extend_schema(
        request=IncidentReportSerializer,
        responses={200: IncidentDetailSerializer, **ACTION_ERRORS},
    )
    @action(detail=True, methods=["post"])
    def report(self, request: Request, pk: str) -> Response:
        """Compliance records that the serious incident was reported to the authority (when,
        under which reference); it is no longer overdue. 409 unless serious, or if a report
        is recorded already."""
        return _incident_transition(
            request, pk, services.incident_report_record, IncidentReportSerializer
        )

    @extend_schema(
        request=IncidentRollbackSerializer,
        responses={200: IncidentDetailSerializer, **ACTION_ERRORS},
    )
    @action(detail=True, methods=["post"])
    def rollback(self, request: Request, pk: str) -> Response:
        """Roll the incident's model back (stop any canary, restore the previous production
        version); each step goes on the timeline. 409 when there is nothing to roll back."""
        return _incident_transition(
            request, pk, services.incident_rollback, IncidentRollbackSerializer
        )


class GroundTruthView(APIView):
    """The true outcomes of a model's predictions, joined to them by request_id."""

    required_capabilities = {"post": Capability.LOG_PREDICTIONS}

    @extend_schema(
        request=GroundTruthUploadSerializer, responses={202: GroundTruthReceiptSerializer}
    )
    def post(self, request: Request, model_name: str) -> Response:
        """All or nothing: one bad record is a 400 naming its index, and nothing is stored."""
        model = model_get(name=model_name)
        data = GroundTruthUploadSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        receipt = services.ground_truth_record(
            actor=request.user, model=model, records=data.validated_data["records"]
        )
        return Response(GroundTruthReceiptSerializer(receipt).data, status=status.HTTP_202_ACCEPTED)


class CanaryEvaluationView(APIView):
    """The model's canary measured against production now, without acting on it."""

    @extend_schema(responses={200: CanaryEvaluationSerializer, **errors(409)})
    def get(self, request: Request, model_name: str) -> Response:
        """Verdict, measurements and gates; 409 when the model has no canary."""
        evaluation = selectors.canary_evaluation_current(model=model_get(name=model_name))
        return Response(CanaryEvaluationSerializer(evaluation.as_dict()).data)


class CheckReportView(APIView):
    """A check's full Evidently HTML report, rendered on demand on the `checks` queue."""

    required_capabilities = {"post": Capability.RUN_CHECKS}

    @extend_schema(responses={200: CheckReportSerializer})
    def get(self, request: Request, check_id: int) -> Response:
        """Where the report stands; 404 when none was asked for."""
        report = selectors.check_report_of(check_id=check_id)
        return Response(CheckReportSerializer(report).data)

    @extend_schema(
        request=CheckReportRequestSerializer,
        responses={202: CheckReportSerializer, **errors(409)},
    )
    def post(self, request: Request, check_id: int) -> Response:
        """Queue the rendering (again, when it was done or failed); 409 until the check is
        done. Asking while it renders returns the same report."""
        CheckReportRequestSerializer(data=request.data).is_valid(raise_exception=True)
        report = services.check_report_request(actor=request.user, run_id=check_id)
        return Response(CheckReportSerializer(report).data, status=status.HTTP_202_ACCEPTED)
