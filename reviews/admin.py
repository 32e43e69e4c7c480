"""Promotion requests and sign-offs for compliance officers: read-only, plus signing off.

Signing off from the admin calls the same service as the API and the pages
(`reviews.services.signoff_create`), so separation of duties, the card hash and the
policy apply unchanged; a refusal shows as an error message.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse

from governance.admin import GovernedHistoryAdmin, ReadOnlyAdminMixin
from governance.errors import ApplicationError, NotFound
from models_registry.selectors import card_latest
from reviews import selectors, services
from reviews.forms import SignOffForm
from reviews.models import PromotionRequest, SignOff
from reviews.policy import is_stale, policy_evaluate


class AdminSignOffForm(SignOffForm):
    """The page's sign-off form, with the decision as a visible choice."""

    decision = forms.ChoiceField(choices=SignOff.Decision.choices, widget=forms.RadioSelect)


class SignOffInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = SignOff
    fields = ["signer", "signer_roles", "decision", "comment", "card_hash", "signed_at"]
    readonly_fields = fields
    show_change_link = True
    extra = 0

    def get_queryset(self, request: HttpRequest) -> QuerySet[SignOff]:
        return super().get_queryset(request).select_related("signer")


@admin.register(PromotionRequest)
class PromotionRequestAdmin(ReadOnlyAdminMixin, GovernedHistoryAdmin):
    change_form_template = "admin/reviews/promotionrequest/change_form.html"
    sign_off_template = "admin/reviews/promotionrequest/sign_off.html"
    list_display = [
        "__str__",
        "status",
        "strategy",
        "risk_tier",
        "requested_by",
        "created_at",
        "decided_at",
        "executed_at",
    ]
    list_filter = ["status", "strategy", "model_version__model__risk_tier"]
    search_fields = ["model_version__model__name", "justification", "requested_by__username"]
    list_select_related = ["model_version__model", "requested_by"]
    date_hierarchy = "created_at"
    readonly_fields = ["policy_summary"]
    inlines = [SignOffInline]

    @admin.display(description="risk tier", ordering="model_version__model__risk_tier")
    def risk_tier(self, promotion_request: PromotionRequest) -> str:
        return promotion_request.model_version.model.get_risk_tier_display()

    @admin.display(description="policy")
    def policy_summary(self, promotion_request: PromotionRequest) -> str:
        outcome = policy_evaluate(promotion_request)
        return f"{outcome.summary()} ({outcome.policy})"

    def get_urls(self) -> list[URLPattern]:
        sign_off = path(
            "<int:request_id>/sign-off/",
            self.admin_site.admin_view(self.sign_off_view),
            name="reviews_promotionrequest_sign_off",
        )
        # Before the default URLs: their catch-all "<object_id>/" would swallow it.
        return [sign_off, *super().get_urls()]

    def sign_off_view(self, request: HttpRequest, request_id: int) -> HttpResponse:
        """Show the request and its policy; record the officer's decision via the service."""
        try:
            promotion_request = selectors.request_get(request_id=request_id)
        except NotFound:
            raise Http404(f"No promotion request #{request_id}.") from None
        if not self.has_view_permission(request, promotion_request):
            raise PermissionDenied
        form = AdminSignOffForm(request.POST if request.method == "POST" else None)
        if request.method == "POST" and form.is_valid():
            decision = form.cleaned_data["decision"]
            try:
                services.signoff_create(
                    actor=request.user,
                    request_id=promotion_request.pk,
                    decision=decision,
                    comment=form.cleaned_data["comment"],
                )
            except ApplicationError as error:
                self.message_user(request, error.detail, messages.ERROR)
                promotion_request = selectors.request_get(request_id=request_id)
            else:
                verb = "approved" if decision == SignOff.Decision.APPROVE else "rejected"
                self.message_user(
                    request, f"You {verb} request #{promotion_request.pk}.", messages.SUCCESS
                )
                return HttpResponseRedirect(
                    reverse("admin:reviews_promotionrequest_change", args=[promotion_request.pk])
                )
        return self._render_sign_off(request, promotion_request, form)

    def _render_sign_off(
        self, request: HttpRequest, promotion_request: PromotionRequest, form: AdminSignOffForm
    ) -> HttpResponse:
        version = promotion_request.model_version
        sign_offs = list(promotion_request.sign_offs.all())
        refusal = services.signoff_refusal(actor=request.user, request=promotion_request)
        context = {
            **self.admin_site.each_context(request),
            "title": f"Sign off request #{promotion_request.pk}",
            "opts": self.opts,
            "original": promotion_request,
            "version": version,
            "card": card_latest(version=version),
            "outcome": policy_evaluate(promotion_request, sign_offs),
            "sign_offs": [(s, is_stale(s, version.card_hash)) for s in sign_offs],
            "refusal": refusal,
            "form": form,
            "has_view_permission": True,
        }
        return TemplateResponse(request, self.sign_off_template, context)


@admin.register(SignOff)
class SignOffAdmin(ReadOnlyAdminMixin, GovernedHistoryAdmin):
    list_display = ["__str__", "request", "signer", "decision", "roles", "signed_at"]
    list_filter = ["decision", "request__model_version__model__risk_tier"]
    search_fields = [
        "signer__username",
        "request__model_version__model__name",
        "comment",
        "card_hash",
    ]
    list_select_related = ["request__model_version__model", "signer"]
    date_hierarchy = "signed_at"

    @admin.display(description="signer roles")
    def roles(self, sign_off: SignOff) -> str:
        return ", ".join(sign_off.signer_roles)


# Business impact, meetings, revalidation and findings have their own modules; importing them
# registers their admins.
import reviews.summary_admin  # noqa: E402, F401
from reviews import impact_admin, meeting_admin, review_board_admin  # noqa: E402, F401
