"""The compliance officers' view of the review board: boards, seats, meetings with their
agenda, attendance, minutes and decisions, each with its history.

Read-only, every page: boards are kept and meetings run through the services
(reviews/meetings/), from the API and the pages, where the rules (quorum, the frozen agenda,
sign-offs as each voter, findings through the findings service) hold. An admin form would
be a path around them.
"""

from __future__ import annotations

from django.contrib import admin
from django.db.models import Count, Q, QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html

from governance.admin import GovernedHistoryAdmin, ReadOnlyAdminMixin, pretty_json
from reviews.meeting_models import AgendaItem, Attendance, Board, BoardMember, Decision, Meeting


class ReadOnlyInline(ReadOnlyAdminMixin, admin.TabularInline):
    extra = 0
    show_change_link = True  # to the row's own page and its history
    related: tuple[str, ...] = ()

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).select_related(*self.related)


class BoardMemberInline(ReadOnlyInline):
    model = BoardMember
    fields = ["user", "role", "voting", "active"]
    readonly_fields = fields
    related = ("user",)


@admin.register(Board)
class BoardAdmin(ReadOnlyAdminMixin, GovernedHistoryAdmin):
    list_display = ["name", "cadence_months", "quorum", "seats", "created_at"]
    list_filter = ["cadence_months", "quorum"]
    search_fields = ["name", "description", "members__user__username"]
    date_hierarchy = "created_at"
    inlines = [BoardMemberInline]
    history_list_display = ["history_origin", "cadence_months", "quorum"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Board]:
        active = Count("members", filter=Q(members__active=True))
        return super().get_queryset(request).annotate(active_seats=active)

    @admin.display(description="active seats", ordering="active_seats")
    def seats(self, board: Board) -> int:
        return board.active_seats  # type: ignore[attr-defined]


@admin.register(BoardMember)
class BoardMemberAdmin(ReadOnlyAdminMixin, GovernedHistoryAdmin):
    list_display = ["user", "board", "role", "voting", "active"]
    list_filter = ["role", "voting", "active", "board"]
    list_select_related = ["user", "board"]
    search_fields = ["user__username", "board__name"]
    history_list_display = ["history_origin", "role", "voting", "active"]


class AgendaItemInline(ReadOnlyInline):
    model = AgendaItem
    fields = ["position", "source", "title", "summary", "model", "version", "minutes"]
    readonly_fields = fields
    related = ("model", "version__model")


class AttendanceInline(ReadOnlyInline):
    model = Attendance
    fields = ["member", "present", "voting", "recorded_by", "recorded_at"]
    readonly_fields = fields
    related = ("member__user", "member__board", "recorded_by")


class DecisionInline(ReadOnlyInline):
    model = Decision
    fields = ["kind", "text", "item", "request", "finding", "owner", "due_date", "status"]
    readonly_fields = fields
    related = ("item", "request__model_version__model", "finding", "owner")


@admin.register(Meeting)
class MeetingAdmin(ReadOnlyAdminMixin, GovernedHistoryAdmin):
    list_display = ["title", "board", "status", "scheduled_for", "started_at", "closed_at"]
    list_filter = ["status", "board"]
    list_select_related = ["board"]
    search_fields = ["title", "board__name", "notes", "items__title"]
    date_hierarchy = "scheduled_for"
    readonly_fields = ["minutes_exports"]
    inlines = [AgendaItemInline, AttendanceInline, DecisionInline]
    history_list_display = ["history_origin", "status"]

    @admin.display(description="minutes")
    def minutes_exports(self, meeting: Meeting) -> str:
        markdown = reverse("meeting-minutes-md", kwargs={"pk": meeting.pk})
        pdf = reverse("meeting-minutes-pdf", kwargs={"pk": meeting.pk})
        return format_html('<a href="{}">Markdown</a> · <a href="{}">PDF</a>', markdown, pdf)


@admin.register(AgendaItem)
class AgendaItemAdmin(ReadOnlyAdminMixin, GovernedHistoryAdmin):
    list_display = ["__str__", "meeting", "source", "model", "added_by"]
    list_filter = ["source", "meeting__status", "meeting__board"]
    list_select_related = ["meeting", "model", "added_by"]
    search_fields = ["title", "summary", "minutes", "model__name", "meeting__title"]
    date_hierarchy = "meeting__scheduled_for"
    readonly_fields = ["shown"]
    history_list_display = ["history_origin", "position", "title"]

    @admin.display(description="figures as shown")
    def shown(self, item: AgendaItem) -> str:
        return pretty_json(item.data)


@admin.register(Attendance)
class AttendanceAdmin(ReadOnlyAdminMixin, GovernedHistoryAdmin):
    list_display = ["member", "meeting", "present", "voting", "recorded_by", "recorded_at"]
    list_filter = ["present", "voting", "meeting__board"]
    list_select_related = ["member__user", "member__board", "meeting", "recorded_by"]
    search_fields = ["member__user__username", "meeting__title"]
    date_hierarchy = "meeting__scheduled_for"  # recorded_at moves with each correction
    history_list_display = ["history_origin", "present", "voting"]


@admin.register(Decision)
class DecisionAdmin(ReadOnlyAdminMixin, GovernedHistoryAdmin):
    list_display = [
        "id",
        "kind",
        "meeting",
        "model",
        "finding",
        "status",
        "request_status",
        "recorded_by",
        "recorded_at",
    ]
    list_display_links = ["id", "kind"]
    list_filter = ["kind", "status", "meeting__board", "finding__severity"]
    list_select_related = ["meeting", "model", "finding", "recorded_by"]
    search_fields = ["text", "model__name", "meeting__title", "owner__username"]
    date_hierarchy = "recorded_at"
    readonly_fields = ["sign_offs"]
    history_list_display = ["history_origin", "status"]

    @admin.display(description="sign-offs and refusals")
    def sign_offs(self, decision: Decision) -> str:
        return pretty_json(
            {
                "present_voters": decision.present_voters,
                "signed": decision.signed,
                "refused": decision.refused,
            }
        )
