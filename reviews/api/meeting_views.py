"""Boards and meetings: thin views over reviews/meetings/ (services decide, views translate)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import QuerySet
from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from governance.api.schema import errors
from governance.errors import InvalidInput, NotFound
from governance.roles import Capability
from models_registry.selectors import model_get, version_get
from monitoring.selectors import incident_get
from reviews.api.meeting_serializers import (
    ActionItemDoneSerializer,
    AgendaItemInputSerializer,
    AgendaItemSerializer,
    AttendanceInputSerializer,
    BoardCreateSerializer,
    BoardMemberSetSerializer,
    BoardSerializer,
    DecisionInputSerializer,
    DecisionSerializer,
    MeetingCreateSerializer,
    MeetingDetailSerializer,
    MeetingSerializer,
    MinutesInputSerializer,
)
from reviews.meetings import decisions, selectors, services
from reviews.meetings.minutes import minutes_markdown, minutes_pdf
from reviews.models import Board, Meeting
from reviews.selectors import request_get

ACTION_ERRORS = errors(400, 409)
BOARD_QUERY = OpenApiParameter("board", int, description="Only this board's meetings.")


def _valid(serializer_class: Any, request: Request) -> dict[str, Any]:
    data = serializer_class(data=request.data)
    data.is_valid(raise_exception=True)
    return dict(data.validated_data)


def _user(username: str | None, field: str) -> Any:
    if username is None:
        return None
    user = get_user_model().objects.filter(username=username, is_active=True).first()
    if user is None:
        raise InvalidInput(f"No user {username}.", extra={field: [f"No active user {username}."]})
    return user


def _refs(data: dict[str, Any]) -> dict[str, Any]:
    """Turn names and ids in the body into objects; an unknown one is a 400 naming it."""
    refs: dict[str, Any] = {}
    try:
        if "model" in data:
            refs["model"] = model_get(name=data.pop("model"))
            if "version" in data:
                refs["version"] = version_get(
                    model_name=refs["model"].name, version=data.pop("version")
                )
        elif "version" in data:
            raise InvalidInput("A version is named with its model.", extra={"model": ["Needed."]})
        if "request" in data:
            refs["request"] = request_get(request_id=data.pop("request"))
        if "incident" in data:
            refs["incident"] = incident_get(incident_id=data.pop("incident"))
    except NotFound as missing:
        raise InvalidInput(missing.detail, extra={"reference": [missing.detail]}) from None
    return refs


def _meeting_response(meeting_id: int, code: int = status.HTTP_200_OK) -> Response:
    meeting = selectors.meeting_get(meeting_id=meeting_id)
    return Response(MeetingDetailSerializer(meeting).data, status=code)


class BoardViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """Review boards and their members."""

    serializer_class = BoardSerializer
    lookup_value_regex = r"[0-9]+"
    required_capabilities = {
        "create": Capability.MANAGE_MEETINGS,
        "members": Capability.MANAGE_MEETINGS,
    }

    def get_queryset(self) -> QuerySet[Board]:
        return selectors.board_list()

    @extend_schema(responses={200: BoardSerializer})
    def retrieve(self, request: Request, pk: str) -> Response:
        return Response(BoardSerializer(selectors.board_get(board_id=int(pk))).data)

    @extend_schema(request=BoardCreateSerializer, responses={201: BoardSerializer, **errors(409)})
    def create(self, request: Request) -> Response:
        board = services.board_create(actor=request.user, **_valid(BoardCreateSerializer, request))
        data = BoardSerializer(selectors.board_get(board_id=board.pk)).data
        return Response(data, status=status.HTTP_201_CREATED)

    @extend_schema(request=BoardMemberSetSerializer, responses={200: BoardSerializer})
    @action(detail=True, methods=["post"])
    def members(self, request: Request, pk: str) -> Response:
        """Seat a user on the board, or change their seat (role, vote)."""
        board = selectors.board_get(board_id=int(pk))
        data = _valid(BoardMemberSetSerializer, request)
        services.board_member_set(
            actor=request.user, board=board, user=_user(data.pop("user"), "user"), **data
        )
        return Response(BoardSerializer(selectors.board_get(board_id=board.pk)).data)


class MeetingViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """Meetings: schedule, prepare the agenda, start, attend, minute, decide, close, export."""

    serializer_class = MeetingSerializer
    lookup_value_regex = r"[0-9]+"
    required_capabilities = {
        "create": Capability.MANAGE_MEETINGS,
        "prepare": Capability.MANAGE_MEETINGS,
        "start": Capability.MANAGE_MEETINGS,
        "attendance": Capability.MANAGE_MEETINGS,
        "minutes": Capability.MANAGE_MEETINGS,
        "decisions": Capability.MANAGE_MEETINGS,
        "close": Capability.MANAGE_MEETINGS,
        # Members add their own items and remove them; the service checks the seat.
        "items": Capability.READ,
        "item_remove": Capability.READ,
    }

    def get_queryset(self) -> QuerySet[Meeting]:
        return selectors.meeting_list()

    @extend_schema(parameters=[BOARD_QUERY])
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Meetings, latest first; `?board=` keeps one board's."""
        board = request.query_params.get("board")
        meetings = self.get_queryset()
        if board is not None:
            try:
                board_id = int(board)
            except ValueError:
                raise InvalidInput(
                    "board is a board's id.", extra={"board": ["Not an id."]}
                ) from None
            # An id out of the database's range names no board: an empty list, not an error.
            in_range = -(2**63) <= board_id < 2**63
            meetings = meetings.filter(board_id=board_id) if in_range else meetings.none()
        page = self.paginate_queryset(meetings)
        return self.get_paginated_response(MeetingSerializer(page, many=True).data)

    @extend_schema(responses={200: MeetingDetailSerializer})
    def retrieve(self, request: Request, pk: str) -> Response:
        """The meeting with its agenda, attendance and decisions."""
        return _meeting_response(int(pk))

    @extend_schema(request=MeetingCreateSerializer, responses={201: MeetingDetailSerializer})
    def create(self, request: Request) -> Response:
        data = _valid(MeetingCreateSerializer, request)
        try:
            board = selectors.board_get(board_id=data.pop("board"))
        except NotFound as missing:
            raise InvalidInput(missing.detail, extra={"board": [missing.detail]}) from None
        meeting = services.meeting_schedule(actor=request.user, board=board, **data)
        return _meeting_response(meeting.pk, status.HTTP_201_CREATED)

    @extend_schema(request=None, responses={200: MeetingDetailSerializer, **errors(409)})
    @action(detail=True, methods=["post"])
    def prepare(self, request: Request, pk: str) -> Response:
        """(Re)build the agenda from the models' state; 409 once the meeting has started."""
        services.meeting_prepare(actor=request.user, meeting_id=int(pk))
        return _meeting_response(int(pk))

    @extend_schema(request=None, responses={200: MeetingDetailSerializer, **errors(409)})
    @action(detail=True, methods=["post"])
    def start(self, request: Request, pk: str) -> Response:
        """Start the meeting: the agenda is frozen from now on."""
        services.meeting_start(actor=request.user, meeting_id=int(pk))
        return _meeting_response(int(pk))

    @extend_schema(request=None, responses={200: MeetingDetailSerializer, **errors(409)})
    @action(detail=True, methods=["post"])
    def close(self, request: Request, pk: str) -> Response:
        """Close the record; the board's next meeting is scheduled one cadence later."""
        services.meeting_close(actor=request.user, meeting_id=int(pk))
        return _meeting_response(int(pk))

    @extend_schema(
        request=AttendanceInputSerializer,
        responses={200: MeetingDetailSerializer, **ACTION_ERRORS},
    )
    @action(detail=True, methods=["post"])
    def attendance(self, request: Request, pk: str) -> Response:
        data = _valid(AttendanceInputSerializer, request)
        services.attendance_record(
            actor=request.user,
            meeting_id=int(pk),
            user=_user(data["user"], "user"),
            present=data["present"],
        )
        return _meeting_response(int(pk))

    @extend_schema(
        request=AgendaItemInputSerializer, responses={201: AgendaItemSerializer, **ACTION_ERRORS}
    )
    @action(detail=True, methods=["post"])
    def items(self, request: Request, pk: str) -> Response:
        """A member's own agenda item; 409 once the meeting has started."""
        selectors.meeting_get(meeting_id=int(pk))
        data = _valid(AgendaItemInputSerializer, request)
        refs = _refs(data)
        item = services.agenda_item_add(actor=request.user, meeting_id=int(pk), **data, **refs)
        return Response(AgendaItemSerializer(item).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses={204: None, **errors(409)})
    @action(detail=True, methods=["delete"], url_path=r"items/(?P<item_id>[0-9]+)")
    def item_remove(self, request: Request, pk: str, item_id: str) -> Response:
        """Take a member's item off the agenda: whoever added it, or whoever runs meetings;
        409 once the meeting has started (and for generated items: prepare again)."""
        selectors.meeting_get(meeting_id=int(pk))
        services.agenda_item_remove(actor=request.user, item_id=int(item_id), meeting_id=int(pk))
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        request=MinutesInputSerializer, responses={200: MeetingDetailSerializer, **ACTION_ERRORS}
    )
    @action(detail=True, methods=["post"])
    def minutes(self, request: Request, pk: str) -> Response:
        data = _valid(MinutesInputSerializer, request)
        services.minutes_record(
            actor=request.user, meeting_id=int(pk), text=data["text"], item_id=data.get("item")
        )
        return _meeting_response(int(pk))

    @extend_schema(
        request=DecisionInputSerializer, responses={201: DecisionSerializer, **ACTION_ERRORS}
    )
    @action(detail=True, methods=["post"])
    def decisions(self, request: Request, pk: str) -> Response:
        """Record a decision; approve/reject signs off as each present voter (or says why
        not, in `refused`); 409 without quorum."""
        selectors.meeting_get(meeting_id=int(pk))
        data = _valid(DecisionInputSerializer, request)
        refs = _refs(data)
        owner = _user(data.pop("owner", None), "owner")
        decision = decisions.decision_record(
            actor=request.user,
            meeting_id=int(pk),
            item_id=data.pop("item", None),
            owner=owner,
            **data,
            **refs,
        )
        return Response(DecisionSerializer(decision).data, status=status.HTTP_201_CREATED)

    @extend_schema(responses={(200, "text/markdown"): OpenApiTypes.STR})
    @action(detail=True, methods=["get"], url_path="minutes.md")
    def minutes_md(self, request: Request, pk: str) -> HttpResponse:
        """The minutes as Markdown."""
        meeting = selectors.meeting_get(meeting_id=int(pk))
        return HttpResponse(minutes_markdown(meeting), content_type="text/markdown; charset=utf-8")

    @extend_schema(responses={(200, "application/pdf"): OpenApiTypes.BINARY})
    @action(detail=True, methods=["get"], url_path="minutes.pdf")
    def minutes_pdf(self, request: Request, pk: str) -> HttpResponse:
        """The minutes as PDF."""
        meeting = selectors.meeting_get(meeting_id=int(pk))
        response = HttpResponse(minutes_pdf(meeting), content_type="application/pdf")
        response["Content-Disposition"] = f'inline; filename="meeting-{meeting.pk}-minutes.pdf"'
        return response


class ActionItemViewSet(viewsets.GenericViewSet):
    """Action items the board decided: their owner marks them done."""

    serializer_class = DecisionSerializer
    lookup_value_regex = r"[0-9]+"
    required_capabilities = {"done": Capability.READ}  # the owner, or whoever runs meetings

    @extend_schema(
        request=ActionItemDoneSerializer, responses={200: DecisionSerializer, **ACTION_ERRORS}
    )
    @action(detail=True, methods=["post"])
    def done(self, request: Request, pk: str) -> Response:
        data = _valid(ActionItemDoneSerializer, request)
        item = decisions.action_item_complete(actor=request.user, decision_id=int(pk), **data)
        return Response(DecisionSerializer(item).data)
