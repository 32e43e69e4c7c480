from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import django_filters
from django import forms
from django.db.models import Q, QuerySet
from django.utils import timezone
from django_filters.fields import IsoDateTimeField
from drf_spectacular.utils import extend_schema_field

from governance.api.filter_forms import StrictFilterForm
from monitoring.alert_selectors import status_is
from monitoring.models import (
    Alert,
    Incident,
    NotificationDelivery,
    NotificationRoute,
    PredictionFlag,
)


def overdue_q() -> Q:
    """Serious, past its reporting deadline and not reported (as Incident.is_overdue says)."""
    return Q(serious=True, report_due__lt=timezone.now(), reported_at__isnull=True)


# "true" or "false", and anything else a 400 (a BooleanFilter ignores what it cannot read).
YES_NO = [("true", "true"), ("false", "false")]


def _yes(value: str) -> bool:
    return value == "true"


class IncidentFilter(django_filters.FilterSet):
    """Shared by the API (GET /api/v1/incidents/) and the incident list page."""

    model = django_filters.CharFilter(field_name="model__name")
    version = django_filters.NumberFilter(field_name="version__version")
    status = django_filters.ChoiceFilter(choices=Incident.Status.choices)
    severity = django_filters.ChoiceFilter(choices=Incident.Severity.choices)
    source = django_filters.ChoiceFilter(choices=Incident.Source.choices)
    owner = django_filters.CharFilter(field_name="owner__username")
    serious = django_filters.TypedChoiceFilter(choices=YES_NO, coerce=_yes, method="filter_serious")
    overdue = django_filters.TypedChoiceFilter(choices=YES_NO, coerce=_yes, method="filter_overdue")

    class Meta:
        model = Incident
        form = StrictFilterForm
        fields = ["model", "version", "status", "severity", "source", "owner", "serious", "overdue"]

    def filter_serious(
        self, queryset: QuerySet[Incident], name: str, value: bool | None
    ) -> QuerySet[Incident]:
        return queryset if value is None else queryset.filter(serious=value)

    def filter_overdue(
        self, queryset: QuerySet[Incident], name: str, value: bool | None
    ) -> QuerySet[Incident]:
        if value is None:
            return queryset
        return queryset.filter(overdue_q()) if value else queryset.exclude(overdue_q())


class AlertFilter(django_filters.FilterSet):
    """`?status=open` includes silences whose time has passed (Alert.status_at)."""

    model = django_filters.CharFilter(field_name="model__name")
    version = django_filters.NumberFilter(field_name="version__version")
    status = django_filters.ChoiceFilter(choices=Alert.Status.choices, method="filter_status")
    severity = django_filters.ChoiceFilter(choices=Alert.Severity.choices)
    metric = django_filters.CharFilter()

    class Meta:
        model = Alert
        fields = ["model", "version", "status", "severity", "metric"]

    def filter_status(self, queryset: QuerySet[Alert], name: str, value: str) -> QuerySet[Alert]:
        return queryset.filter(status_is(value))


class AlertPageFilter(AlertFilter):
    """The alerts page: the API's filters, but without a status only unresolved alerts are
    listed (firing, acknowledged, silenced); `status=all` lists resolved ones too."""

    ALL = "all"
    STATUSES = [*Alert.Status.choices, (ALL, "Any, resolved too")]

    status = django_filters.ChoiceFilter(choices=STATUSES, method="filter_status")

    def filter_status(self, queryset: QuerySet[Alert], name: str, value: str) -> QuerySet[Alert]:
        return queryset if value == self.ALL else super().filter_status(queryset, name, value)

    def filter_queryset(self, queryset: QuerySet[Alert]) -> QuerySet[Alert]:
        found = super().filter_queryset(queryset)
        if not self.form.cleaned_data.get("status"):
            found = found.exclude(status_is(Alert.Status.RESOLVED))
        return found


class UtcIsoDateTimeField(IsoDateTimeField):
    """ISO 8601 with its offset, as the moment in UTC: Python reads offsets up to 23:59,
    PostgreSQL takes them only up to 15:59, and a moment is the same in either."""

    def to_python(self, value: Any) -> datetime | None:
        moment = super().to_python(value)
        if moment is None:
            return None
        try:
            return moment.astimezone(UTC)
        except OverflowError:
            raise forms.ValidationError("Out of range once in UTC.") from None


class UtcIsoDateTimeFilter(django_filters.IsoDateTimeFilter):
    field_class = UtcIsoDateTimeField


class FlagFilter(django_filters.FilterSet):
    """GET /api/v1/models/{name}/flags/: by reason, status, version, request id, who
    flagged, and when (`since` < created_at <= `until`, ISO 8601)."""

    reason = django_filters.ChoiceFilter(choices=PredictionFlag.Reason.choices)
    status = django_filters.ChoiceFilter(choices=PredictionFlag.Status.choices)
    version = django_filters.NumberFilter(field_name="version__version")
    request_id = django_filters.CharFilter()
    flagged_by = django_filters.CharFilter(field_name="flagged_by__username")
    since = UtcIsoDateTimeFilter(field_name="created_at", lookup_expr="gt")
    until = UtcIsoDateTimeFilter(field_name="created_at", lookup_expr="lte")

    class Meta:
        model = PredictionFlag
        form = StrictFilterForm
        fields = ["reason", "status", "version", "request_id", "flagged_by", "since", "until"]


MAX_ID = 2**63 - 1


@extend_schema_field({"type": "integer", "minimum": 1, "maximum": MAX_ID})
class IdFilter(django_filters.NumberFilter):
    """An object's id: a whole number the database can hold, else a 400."""

    field_class = forms.IntegerField

    def __init__(self, *args: object, **kwargs: object) -> None:
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", MAX_ID)
        super().__init__(*args, **kwargs)


class NotificationRouteFilter(django_filters.FilterSet):
    """`?endpoint=<id>&model=<name>` (the API's notification routes)."""

    endpoint = IdFilter(field_name="endpoint_id")
    model = django_filters.CharFilter(field_name="model__name")

    class Meta:
        model = NotificationRoute
        fields = ["endpoint", "model"]


class NotificationDeliveryFilter(django_filters.FilterSet):
    """`?status=failed` lists the deliveries given up on (the admin's filter)."""

    status = django_filters.ChoiceFilter(choices=NotificationDelivery.Status.choices)
    event = django_filters.ChoiceFilter(choices=NotificationDelivery.Event.choices)
    severity = django_filters.ChoiceFilter(choices=Alert.Severity.choices)
    endpoint = IdFilter(field_name="endpoint_id")
    model = django_filters.CharFilter(field_name="alert__model__name")
    alert = IdFilter(field_name="alert_id")

    class Meta:
        model = NotificationDelivery
        fields = ["status", "event", "severity", "endpoint", "model", "alert"]
