from __future__ import annotations

import django_filters
from django.db.models import QuerySet

from governance.api.filter_forms import StrictFilterForm
from monitoring.filters import YES_NO, IdFilter
from reviews.finding_models import Finding, severities_from
from reviews.models import PromotionRequest


class PromotionRequestFilter(django_filters.FilterSet):
    """Shared by the API (GET /api/v1/promotion-requests/) and the requests page. `open=true`
    keeps the requests still open (pending or approved), `open=false` the closed ones."""

    status = django_filters.ChoiceFilter(choices=PromotionRequest.Status.choices)
    model = django_filters.CharFilter(field_name="model_version__model__name")
    requested_by = django_filters.CharFilter(field_name="requested_by__username")
    open = django_filters.TypedChoiceFilter(
        choices=YES_NO, coerce=lambda value: value == "true", method="filter_open"
    )

    class Meta:
        model = PromotionRequest
        fields = ["status", "model", "requested_by", "open"]

    def filter_open(
        self, queryset: QuerySet[PromotionRequest], name: str, value: bool | None
    ) -> QuerySet[PromotionRequest]:
        if value is None:
            return queryset
        opened = {"status__in": PromotionRequest.OPEN_STATUSES}
        return queryset.filter(**opened) if value else queryset.exclude(**opened)


class FindingFilter(django_filters.FilterSet):
    """Shared by the API (GET /api/v1/findings/) and the findings page. `open=true` keeps
    the unsettled ones (open, in remediation, remediated), as `findings_open` does."""

    model = django_filters.CharFilter(field_name="model__name")
    version = IdFilter(field_name="version__version")  # `?version=0.5` is a 400
    status = django_filters.ChoiceFilter(choices=Finding.Status.choices)
    severity = django_filters.ChoiceFilter(choices=Finding.Severity.choices)
    min_severity = django_filters.ChoiceFilter(
        choices=Finding.Severity.choices, method="filter_min_severity"
    )
    owner = django_filters.CharFilter(field_name="owner__username")
    open = django_filters.TypedChoiceFilter(
        choices=YES_NO, coerce=lambda value: value == "true", method="filter_open"
    )

    class Meta:
        model = Finding
        form = StrictFilterForm  # `?version=` given empty is a 400, not ignored
        fields = ["model", "version", "status", "severity", "min_severity", "owner", "open"]

    def filter_min_severity(
        self, queryset: QuerySet[Finding], name: str, value: str | None
    ) -> QuerySet[Finding]:
        return queryset.filter(severity__in=severities_from(value)) if value else queryset

    def filter_open(
        self, queryset: QuerySet[Finding], name: str, value: bool | None
    ) -> QuerySet[Finding]:
        if value is None:
            return queryset
        opened = {"status__in": Finding.OPEN_STATUSES}
        return queryset.filter(**opened) if value else queryset.exclude(**opened)
