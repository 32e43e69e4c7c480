"""Browser pages for the inventory: models, versions, their cards and deployment history."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from governance.errors import ApplicationError
from governance.pages import page_requires
from governance.paging import page_of
from governance.roles import Capability, user_can
from models_registry import selectors, services
from models_registry.card_formats import card_diff, card_diff_by_section
from models_registry.comparison import version_compare
from models_registry.filters import ModelFilter
from models_registry.forms import CardNotesForm, RollbackForm
from models_registry.model_artifact import RecordedArtifact
from models_registry.models import DeploymentEvent, ModelVersion
from models_registry.page_panels import model_banners, model_panels

MODEL_PAGE_SIZE = 25


@page_requires(Capability.READ)
@require_GET
def model_index(request: HttpRequest) -> HttpResponse:
    """Models by name, filtered as the API filters them, a page at a time."""
    given = {name: value for name, value in request.GET.items() if value != "" and name != "page"}
    found = ModelFilter(given, queryset=selectors.model_list().order_by("name"))
    rows = found.qs if found.is_valid() else found.queryset.none()
    page = page_of(rows, request.GET.get("page"), MODEL_PAGE_SIZE)
    return render(
        request,
        "models_registry/model_index.html",
        {"models": list(page.object_list), "page": page, "filter": found},
        status=200 if found.is_valid() else 400,
    )


@page_requires(Capability.READ)
@require_GET
def model_detail(request: HttpRequest, name: str) -> HttpResponse:
    model = selectors.model_get(name=name)
    versions = selectors.version_list(model=model)
    production = next((v for v in versions if v.stage == ModelVersion.Stage.PRODUCTION), None)
    return render(
        request,
        "models_registry/model_detail.html",
        {
            "model": model,
            "versions": versions,
            "production": production,
            "served_here": bool(production and RecordedArtifact.of(production.run_facts)),
            "rollback_to": production and services.rollback_target(model, production),
            "events": selectors.deployment_events(model=model)[:50],
            "can_roll_back": user_can(request.user, Capability.ROLLBACK),
            "panels": model_panels(model, request),
            "banners": model_banners(model, request),
        },
    )


@page_requires(Capability.ROLLBACK)
@require_POST
def model_rollback(request: HttpRequest, name: str) -> HttpResponse:
    """The rollback button: stop any canary, put the previous production version back."""
    model = selectors.model_get(name=name)
    form = RollbackForm(request.POST)
    if not form.is_valid():
        messages.error(request, "The rollback form was not valid; reload the page and try again.")
        return redirect("registry:model", name=name)
    try:
        events = services.deployment_rollback(
            actor=request.user,
            model=model,
            reason=form.cleaned_data["reason"],
            from_version=form.cleaned_data["from_version"],
        )
    except ApplicationError as error:
        messages.error(request, error.detail)
    else:
        done = rollback_outcome(events)
        messages.success(
            request, f"Rolled back: {done}. Every server answers with it within a second."
        )
    return redirect("registry:model", name=name)


@page_requires(Capability.READ)
@require_GET
def version_detail(request: HttpRequest, name: str, version: int) -> HttpResponse:
    model_version = selectors.version_get(model_name=name, version=version)
    revisions = list(model_version.card_revisions.order_by("-revision"))
    return render(
        request,
        "models_registry/version_detail.html",
        {
            "version": model_version,
            "card": revisions[0] if revisions else None,
            "revisions": revisions,
            "notes_form": CardNotesForm(
                initial={
                    "limitations": model_version.limitations,
                    "ethical_considerations": model_version.ethical_considerations,
                }
            ),
            "can_edit": user_can(request.user, Capability.EDIT_CARD),
            "can_regenerate": user_can(request.user, Capability.REGISTER),
            "comparison": version_compare(model_version),
        },
    )


@page_requires(Capability.EDIT_CARD)
@require_POST
def version_notes(request: HttpRequest, name: str, version: int) -> HttpResponse:
    model_version = selectors.version_get(model_name=name, version=version)
    form = CardNotesForm(request.POST)
    if form.is_valid():
        try:
            services.version_update_notes(
                actor=request.user, version=model_version, **form.cleaned_data
            )
        except ApplicationError as error:
            messages.error(request, error.detail)
        else:
            messages.success(request, "Saved. The card is rebuilt from your text.")
    else:
        messages.error(request, "The text is too long.")
    return redirect("registry:version", name=name, version=version)


@page_requires(Capability.REGISTER)
@require_POST
def card_regenerate(request: HttpRequest, name: str, version: int) -> HttpResponse:
    model_version = selectors.version_get(model_name=name, version=version)
    try:
        services.card_regeneration_request(actor=request.user, version=model_version)
    except ApplicationError as error:  # not allowed; in-process: MLflow unreachable, ...
        messages.error(request, error.detail)
    else:
        messages.success(
            request, "Regeneration requested; a new revision appears if a fact changed."
        )
    return redirect("registry:version", name=name, version=version)


@page_requires(Capability.READ)
@require_GET
def card_diff_page(request: HttpRequest, name: str, version: int) -> HttpResponse:
    model_version = selectors.version_get(model_name=name, version=version)
    latest = selectors.card_latest(version=model_version)
    if latest is None:
        messages.error(request, "The card is still being generated.")
        return redirect("registry:version", name=name, version=version)
    to_number = _number(request.GET.get("to"), latest.revision)
    from_number = _number(request.GET.get("from"), max(1, to_number - 1))
    older = selectors.card_revision_get(version=model_version, revision=from_number)
    newer = selectors.card_revision_get(version=model_version, revision=to_number)
    return render(
        request,
        "models_registry/card_diff.html",
        {
            "version": model_version,
            "older": older,
            "newer": newer,
            "sections": card_diff_by_section(card_diff(older.content, newer.content)),
            "revisions": model_version.card_revisions.order_by("-revision"),
        },
    )


def _number(value: str | None, default: int) -> int:
    return int(value) if value and value.isdigit() else default


def rollback_outcome(events: list[Any]) -> str:
    """What a rollback did, in words: 'v2 is back in production in place of v3; canary v4
    stopped'."""
    parts = []
    for event in events:
        if event.kind == DeploymentEvent.Kind.ROLLED_BACK:
            parts.append(
                f"v{event.version.version} is back in production in place of "
                f"v{event.previous_version.version}"
            )
        else:
            parts.append(f"canary v{event.version.version} stopped")
    return "; ".join(parts)
