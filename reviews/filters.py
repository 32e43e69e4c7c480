from __future__ import annotations

import django_filters

from reviews.models import PromotionRequest


class PromotionRequestFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=PromotionRequest.Status.choices)
    model = django_filters.CharFilter(field_name="model_version__model__name")
    requested_by = django_filters.CharFilter(field_name="requested_by__username")

    class Meta:
        model = PromotionRequest
        fields = ["status", "model", "requested_by"]
