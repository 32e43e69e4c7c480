"""Changing a model's risk tier in the admin: a compliance officer's action (issue #8).

The admin stays read-only; this page only collects the new tier and calls the same
service as `PATCH /api/v1/models/{name}/` (`model_update`), so the capability check, the
audit event with old and new values and the card rebuild are the API's.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse

from governance.errors import ApplicationError
from governance.models import RiskTier
from governance.roles import Capability, user_can
from models_registry import services
from models_registry.models import RegisteredModel


class RiskTierForm(forms.Form):
    risk_tier = forms.ChoiceField(choices=RiskTier.choices, widget=forms.RadioSelect)


class RiskTierChangeMixin:
    """Adds `<id>/risk-tier/` to a ModelAdmin of RegisteredModel."""

    risk_tier_template = "admin/models_registry/registeredmodel/risk_tier.html"

    def get_urls(self) -> list[URLPattern]:
        change_tier = path(
            "<int:model_id>/risk-tier/",
            self.admin_site.admin_view(self.risk_tier_view),  # type: ignore[attr-defined]
            name="models_registry_registeredmodel_risk_tier",
        )
        # Before the default URLs: their catch-all "<object_id>/" would swallow it.
        return [change_tier, *super().get_urls()]  # type: ignore[misc]

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        context = {
            **(extra_context or {}),
            "can_change_risk_tier": user_can(request.user, Capability.CHANGE_RISK_TIER),
        }
        return super().change_view(request, object_id, form_url, context)  # type: ignore[misc]

    def risk_tier_view(self, request: HttpRequest, model_id: int) -> HttpResponse:
        model = RegisteredModel.objects.filter(pk=model_id).first()
        if model is None:
            raise Http404(f"No model #{model_id}.")
        if not user_can(request.user, Capability.CHANGE_RISK_TIER):
            raise PermissionDenied("Only compliance officers change a model's risk tier.")
        form = RiskTierForm(
            request.POST if request.method == "POST" else None,
            initial={"risk_tier": model.risk_tier},
        )
        if request.method == "POST" and form.is_valid():
            try:
                services.model_update(
                    actor=request.user, model=model, risk_tier=form.cleaned_data["risk_tier"]
                )
            except ApplicationError as error:
                self.message_user(request, error.detail, messages.ERROR)  # type: ignore[attr-defined]
            else:
                self.message_user(  # type: ignore[attr-defined]
                    request,
                    f"{model.name} is now {form.cleaned_data['risk_tier']} risk.",
                    messages.SUCCESS,
                )
                return HttpResponseRedirect(
                    reverse("admin:models_registry_registeredmodel_change", args=[model.pk])
                )
        context = {
            **self.admin_site.each_context(request),  # type: ignore[attr-defined]
            "title": f"Change the risk tier of {model.name}",
            "opts": self.opts,  # type: ignore[attr-defined]
            "original": model,
            "form": form,
            "has_view_permission": True,
        }
        return TemplateResponse(request, self.risk_tier_template, context)
