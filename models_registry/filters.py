from __future__ import annotations

import django_filters

from governance.models import RiskTier
from models_registry.models import RegisteredModel


class ModelFilter(django_filters.FilterSet):
    risk_tier = django_filters.ChoiceFilter(choices=RiskTier.choices)
    owner = django_filters.CharFilter(field_name="owner__username")
    search = django_filters.CharFilter(field_name="name", lookup_expr="icontains")

    class Meta:
        model = RegisteredModel
        fields = ["risk_tier", "owner", "search"]
