"""Boards and meetings in the API: what is read (the record) and what is posted (inputs)."""

from __future__ import annotations

from rest_framework import serializers

from governance.api.serializers import StrictInputSerializer
from reviews.models import AgendaItem, Attendance, Board, BoardMember, Decision, Finding, Meeting

USERNAME = {"max_length": 150, "help_text": "A username."}


class BoardMemberSerializer(serializers.ModelSerializer):
    user = serializers.CharField(source="user.username", read_only=True)

    class Meta:
        model = BoardMember
        fields = ["user", "role", "voting", "active"]


class BoardSerializer(serializers.ModelSerializer):
    members = BoardMemberSerializer(many=True, read_only=True)

    class Meta:
        model = Board
        fields = ["id", "name", "description", "cadence_months", "quorum", "members"]


class BoardCreateSerializer(StrictInputSerializer):
    name = serializers.CharField(max_length=100)
    description = serializers.CharField(max_length=5000, required=False, allow_blank=True)
    cadence_months = serializers.IntegerField(min_value=1, max_value=24, default=3)
    quorum = serializers.IntegerField(min_value=1, max_value=100, default=2)


class BoardMemberSetSerializer(StrictInputSerializer):
    user = serializers.CharField(**USERNAME)
    role = serializers.ChoiceField(choices=BoardMember.Role.choices, default="member")
    voting = serializers.BooleanField(default=True)


class AgendaItemSerializer(serializers.ModelSerializer):
    model = serializers.CharField(source="model.name", read_only=True, allow_null=True)
    version = serializers.IntegerField(source="version.version", read_only=True, allow_null=True)
    added_by = serializers.CharField(source="added_by.username", read_only=True, allow_null=True)

    class Meta:
        model = AgendaItem
        fields = [
            "id",
            "position",
            "source",
            "title",
            "summary",
            "data",
            "model",
            "version",
            "request",
            "incident",
            "action_item",
            "added_by",
            "minutes",
        ]


class AttendanceSerializer(serializers.ModelSerializer):
    user = serializers.CharField(source="member.user.username", read_only=True)
    role = serializers.CharField(source="member.role", read_only=True)

    class Meta:
        model = Attendance
        fields = ["user", "role", "present", "voting"]


class DecisionSerializer(serializers.ModelSerializer):
    model = serializers.CharField(source="model.name", read_only=True, allow_null=True)
    version = serializers.IntegerField(source="version.version", read_only=True, allow_null=True)
    owner = serializers.CharField(source="owner.username", read_only=True, allow_null=True)
    recorded_by = serializers.CharField(source="recorded_by.username", read_only=True)
    severity = serializers.CharField(
        source="finding.severity",
        read_only=True,
        allow_null=True,
        help_text="The severity of the finding a decision of kind finding raised.",
    )

    class Meta:
        model = Decision
        fields = [
            "id",
            "item",
            "kind",
            "text",
            "model",
            "version",
            "request",
            "incident",
            "finding",
            "severity",
            "owner",
            "due_date",
            "status",
            "present_voters",
            "signed",
            "refused",
            "request_status",
            "recorded_by",
            "recorded_at",
        ]


class MeetingSerializer(serializers.ModelSerializer):
    board = serializers.CharField(source="board.name", read_only=True)

    class Meta:
        model = Meeting
        fields = [
            "id",
            "board",
            "title",
            "scheduled_for",
            "status",
            "since",
            "prepared_at",
            "started_at",
            "closed_at",
        ]


class MeetingDetailSerializer(MeetingSerializer):
    items = AgendaItemSerializer(many=True, read_only=True)
    attendance = AttendanceSerializer(many=True, read_only=True)
    decisions = DecisionSerializer(many=True, read_only=True)

    class Meta(MeetingSerializer.Meta):
        fields = [*MeetingSerializer.Meta.fields, "notes", "items", "attendance", "decisions"]


class MeetingCreateSerializer(StrictInputSerializer):
    board = serializers.IntegerField(min_value=1, help_text="The board's id.")
    scheduled_for = serializers.DateTimeField()
    title = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")


class AttendanceInputSerializer(StrictInputSerializer):
    user = serializers.CharField(**USERNAME)
    present = serializers.BooleanField()


class AgendaItemInputSerializer(StrictInputSerializer):
    title = serializers.CharField(max_length=300)
    summary = serializers.CharField(max_length=5000, required=False, allow_blank=True)
    model = serializers.SlugField(required=False, help_text="A model's name.")
    version = serializers.IntegerField(min_value=1, required=False, help_text="With model.")
    request = serializers.IntegerField(min_value=1, required=False)
    incident = serializers.IntegerField(min_value=1, required=False)


class MinutesInputSerializer(StrictInputSerializer):
    text = serializers.CharField(max_length=20000, allow_blank=True)
    item = serializers.IntegerField(
        min_value=1, required=False, help_text="An agenda item; the meeting's notes without."
    )


class DecisionInputSerializer(StrictInputSerializer):
    kind = serializers.ChoiceField(choices=Decision.Kind.choices)
    text = serializers.CharField(max_length=5000)
    item = serializers.IntegerField(min_value=1, required=False)
    request = serializers.IntegerField(min_value=1, required=False)
    incident = serializers.IntegerField(min_value=1, required=False)
    model = serializers.SlugField(required=False)
    version = serializers.IntegerField(min_value=1, required=False, help_text="With model.")
    owner = serializers.CharField(
        required=False,
        max_length=150,
        help_text="A username: the action item's owner, or the finding's.",
    )
    due_date = serializers.DateField(required=False)
    severity = serializers.ChoiceField(
        choices=Finding.Severity.choices,
        required=False,
        help_text="The finding's severity: required for kind finding, refused for the others.",
    )


class ActionItemDoneSerializer(StrictInputSerializer):
    note = serializers.CharField(max_length=5000, required=False, allow_blank=True, default="")
