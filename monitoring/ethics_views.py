"""The ethics dashboard: across all models (/ethics/) and per model (/models/<name>/ethics/).

Fairness against the model's thresholds, explainability coverage, retention and consent,
and the flags people raised that are still open; the reads are in monitoring/ethics_selectors.py and
monitoring/ethics_fairness.py (fixed query counts however many models there are).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from governance.pages import page_requires
from governance.paging import page_of
from governance.roles import Capability
from models_registry import selectors as registry
from models_registry.models import RegisteredModel
from monitoring.ethics_fairness import (
    FairnessRun,
    fairness_history,
    fairness_rules,
    latest_fairness_of_models,
    settings_of_models,
)
from monitoring.ethics_selectors import (
    FLAG_DAYS,
    DataGovernance,
    FlagState,
    ModelCoverage,
    data_governance,
    explainability_coverage,
    flag_states,
)


@dataclass(frozen=True)
class EthicsRow:
    model: RegisteredModel
    fairness: FairnessRun | None
    coverage: ModelCoverage
    governance: DataGovernance
    flags: FlagState


PAGE_SIZE = 25  # models per page of the overview


@page_requires(Capability.READ)
@require_GET
def ethics_overview(request: HttpRequest) -> HttpResponse:
    """One row per model: latest fairness verdict, coverage, retention, consent, legal basis,
    open flags; by name, 25 models a page (`?search=` keeps the names containing it)."""
    found = registry.model_list().order_by("name")
    search = request.GET.get("search", "").strip()
    if search:
        found = found.filter(name__icontains=search)
    page = page_of(found, request.GET.get("page"), PAGE_SIZE)
    models = list(page.object_list)
    settings = settings_of_models(models)
    fairness = latest_fairness_of_models(models, settings)
    coverage = explainability_coverage(models)
    governance = data_governance(models)
    flags = flag_states(models)
    rows = [
        EthicsRow(
            model=model,
            fairness=fairness.get(model.pk),
            coverage=coverage[model.pk],
            governance=governance[model.pk],
            flags=flags[model.pk],
        )
        for model in models
    ]
    return render(
        request,
        "monitoring/ethics_overview.html",
        {"rows": rows, "page": page, "flag_days": FLAG_DAYS},
    )


@page_requires(Capability.READ)
@require_GET
def model_ethics(request: HttpRequest, name: str) -> HttpResponse:
    """Fairness runs against thresholds, coverage per version, data governance, flags."""
    model = registry.model_get(name=name)
    settings = settings_of_models([model])[model.pk]
    history = fairness_history(model=model, settings=settings)
    latest_breach = next((run for run in history if run.breaches), None)
    return render(
        request,
        "monitoring/ethics_model.html",
        {
            "model": model,
            "history": history,
            "latest_breach": latest_breach,
            "rules": fairness_rules(settings),
            "coverage": explainability_coverage([model])[model.pk],
            "governance": data_governance([model], with_references=True)[model.pk],
            "flags": flag_states([model])[model.pk],
            "flag_days": FLAG_DAYS,
        },
    )
