from __future__ import annotations

import django_filters
from django import forms
from django.db.models import Q, QuerySet
from django.utils import timezone
from drf_spectacular.utils import extend_schema_field

from monitoring.alert_selectors import status_is
from monitoring.models import Alert, Incident, NotificationDelivery, NotificationRoute


def overdue_q() -> Q:
    """Serious, past its reporting deadline and not reported (as Incident.is_overdue says)."""
    return Q(serious=True, report_due__lt=timezone.now(), reported_at__isnull=True)


# "true" or "false", and anything else a 400 (a BooleanFilter ignores what it cannot read).
YES_NO = [("true", "true"), ("false", "false")]


def _yes(value: str) -> bool:
    return value == "true"


class IncidentFilterForm(forms.Form):
    """A number given empty (`?version=`) is a 400, as the schema says, not ignored (an empty
    choice means "any", and the schema lists it)."""

    NUMBERS = ("version",)

    def clean(self) -> dict[str, object]:
        cleaned = super().clean()
        for name in self.NUMBERS:
            if self.data.get(name) == "":
                self.add_error(name, "Give a number or leave the parameter out.")
        return cleaned


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
        form = IncidentFilterForm
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
