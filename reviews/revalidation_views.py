"""Browser pages of revalidation by risk: record a validation of a model (validators and
compliance officers), and the interval policy with each model's materiality (compliance
officers), each change with its reason and all of them in a history on the page. The
services (reviews/revalidation_services.py) decide; a page shows what they answer."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from governance.errors import ApplicationError
from governance.pages import page_requires
from governance.roles import Capability
from models_registry.models import RegisteredModel
from models_registry.selectors import model_get
from reviews.revalidation_forms import IntervalForm, MaterialityForm, ValidationForm
from reviews.revalidation_models import ModelMateriality, Validation
from reviews.revalidation_selectors import (
    revalidation_policy_changes,
    revalidation_policy_rows,
    revalidation_state,
)
from reviews.revalidation_services import (
    materiality_set,
    revalidation_policy_save,
    validation_independence_refusal,
    validation_record,
)


def _refused_on(form: forms.Form, error: ApplicationError) -> None:
    """The service's answer on the form: each named field's messages, else the detail."""
    named = {k: v for k, v in (error.extra or {}).items() if k in form.fields}
    for field, problems in named.items():
        for problem in problems if isinstance(problems, list) else [problems]:
            form.add_error(field, str(problem))
    if not named:
        form.add_error(None, error.detail)


def _after_validation(model: RegisteredModel, validation: Validation) -> str:
    state = revalidation_state(model=model, as_of=timezone.localdate())
    due = state.due_date.isoformat()
    outcome = validation.get_outcome_display().lower()
    if validation.resets_schedule:
        return f"Validation recorded ({outcome}). Next revalidation due {due}."
    return f"Validation recorded ({outcome}): the schedule does not restart; due {due}."


@page_requires(Capability.RECORD_VALIDATION)
@require_http_methods(["GET", "POST"])
def validation_new(request: HttpRequest, name: str) -> HttpResponse:
    """Record a validation: what was checked, on which version, the outcome, the evidence."""
    model = model_get(name=name)
    form = ValidationForm(request.POST if request.method == "POST" else None, model=model)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                validation = validation_record(actor=request.user, model=model, **form.cleaned_data)
            except ApplicationError as error:
                _refused_on(form, error)
                status = error.status_code
            else:
                messages.success(request, _after_validation(model, validation))
                return redirect("registry:model", name=model.name)
    return render(
        request,
        "reviews/validation_new.html",
        {
            "model": model,
            "form": form,
            "state": revalidation_state(model=model, as_of=timezone.localdate()),
            "not_independent": validation_independence_refusal(request.user, model, None),
        },
        status=status,
    )


@page_requires(Capability.USE_ADMIN)
@require_GET
def revalidation_policy(request: HttpRequest) -> HttpResponse:
    """The interval of each risk level, the models' materialities, and their history."""
    return render(
        request,
        "reviews/revalidation_policy.html",
        {
            "rows": [
                (
                    row,
                    IntervalForm(
                        initial={
                            "risk_level": row.risk_level,
                            "interval_months": row.interval_months,
                        }
                    ),
                )
                for row in revalidation_policy_rows()
            ],
            "materialities": ModelMateriality.objects.select_related("model", "updated_by"),
            "materiality_form": MaterialityForm(),
            "changes": revalidation_policy_changes(),
        },
    )


def _posted(request: HttpRequest, form: forms.Form) -> bool:
    if form.is_valid():
        return True
    problems = "; ".join(f"{name}: {' '.join(errs)}" for name, errs in form.errors.items())
    messages.error(request, f"Nothing was changed. {problems}")
    return False


def _say_refusal(request: HttpRequest, error: ApplicationError) -> None:
    extra = "; ".join(
        f"{name}: {' '.join(map(str, errs))}"
        for name, errs in (error.extra or {}).items()
        if isinstance(errs, list)
    )
    messages.error(request, f"Nothing was changed. {error.detail} {extra}".strip())


@page_requires(Capability.USE_ADMIN)
@require_POST
def revalidation_interval_edit(request: HttpRequest) -> HttpResponse:
    form = IntervalForm(request.POST)
    if _posted(request, form):
        try:
            policy, changed = revalidation_policy_save(actor=request.user, **form.cleaned_data)
        except ApplicationError as error:
            _say_refusal(request, error)
        else:
            level = policy.get_risk_level_display()
            months = policy.interval_months
            messages.success(
                request,
                f"{level} risk: every {months} months."
                if changed
                else f"{level} risk was already every {months} months; nothing changed.",
            )
    return redirect("reviews:revalidation-policy")


@page_requires(Capability.CHANGE_RISK_TIER)
@require_POST
def materiality_edit(request: HttpRequest) -> HttpResponse:
    form = MaterialityForm(request.POST)
    if _posted(request, form):
        fields = dict(form.cleaned_data)
        try:
            row, changed = materiality_set(
                actor=request.user, model=model_get(name=fields.pop("model")), **fields
            )
        except ApplicationError as error:
            _say_refusal(request, error)
        else:
            messages.success(
                request,
                f"{row.model.name}: {row.materiality} materiality."
                if changed
                else f"{row.model.name} already had {row.materiality} materiality.",
            )
    return redirect("reviews:revalidation-policy")
