"""Browser pages for the inventory: models, their versions and deployment history."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from models_registry import selectors
from models_registry.filters import ModelFilter


@login_required
@require_GET
def model_index(request: HttpRequest) -> HttpResponse:
    models = ModelFilter(request.GET, queryset=selectors.model_list()).qs
    return render(request, "models_registry/model_index.html", {"models": models})


@login_required
@require_GET
def model_detail(request: HttpRequest, name: str) -> HttpResponse:
    model = selectors.model_get(name=name)
    return render(
        request,
        "models_registry/model_detail.html",
        {
            "model": model,
            "versions": selectors.version_list(model=model),
            "events": selectors.deployment_events(model=model)[:50],
        },
    )


@login_required
@require_GET
def version_detail(request: HttpRequest, name: str, version: int) -> HttpResponse:
    model_version = selectors.version_get(model_name=name, version=version)
    return render(
        request,
        "models_registry/version_detail.html",
        {"version": model_version, "card": selectors.card_latest(version=model_version)},
    )
