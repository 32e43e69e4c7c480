from __future__ import annotations

import django_filters

from monitoring.models import Incident


class IncidentFilter(django_filters.FilterSet):
    model = django_filters.CharFilter(field_name="model__name")
    version = django_filters.NumberFilter(field_name="version__version")
    status = django_filters.ChoiceFilter(choices=Incident.Status.choices)
    severity = django_filters.ChoiceFilter(choices=Incident.Severity.choices)
    source = django_filters.ChoiceFilter(choices=Incident.Source.choices)

    class Meta:
        model = Incident
        fields = ["model", "version", "status", "severity", "source"]
