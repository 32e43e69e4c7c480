from __future__ import annotations

import django_filters
from django.db.models import QuerySet

from monitoring.alert_selectors import status_is
from monitoring.models import Alert, Incident


class IncidentFilter(django_filters.FilterSet):
    model = django_filters.CharFilter(field_name="model__name")
    version = django_filters.NumberFilter(field_name="version__version")
    status = django_filters.ChoiceFilter(choices=Incident.Status.choices)
    severity = django_filters.ChoiceFilter(choices=Incident.Severity.choices)
    source = django_filters.ChoiceFilter(choices=Incident.Source.choices)

    class Meta:
        model = Incident
        fields = ["model", "version", "status", "severity", "source"]


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
