"""Panels and banners that higher layers add to the model page, without the registry
importing them.

reviews adds the revalidation schedule and the model's open high-severity findings. A
panel is a template and a function giving its context (or None to show nothing), called
with the model and the request; panels show in the order they were registered (each
app registers from its AppConfig.ready).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest

from models_registry.models import RegisteredModel

PanelContext = Callable[[RegisteredModel, HttpRequest], dict[str, Any] | None]


@dataclass(frozen=True)
class ModelPanel:
    template: str
    context: PanelContext


_PANELS: dict[str, ModelPanel] = {}


def register_model_panel(name: str, *, template: str, context: PanelContext) -> None:
    """Let a higher layer add a panel to the model page (called from its AppConfig.ready)."""
    _PANELS[name] = ModelPanel(template=template, context=context)


def model_panels(model: RegisteredModel, request: HttpRequest) -> list[dict[str, Any]]:
    """The panels to show for `model`: [{"name", "template", "context"}], in order."""
    shown = []
    for name, panel in _PANELS.items():
        context = panel.context(model, request)
        if context is not None:
            shown.append({"name": name, "template": panel.template, "context": context})
    return shown


@dataclass(frozen=True)
class Banner:
    """One line at the top of the model page about something that needs someone: `level`
    is "critical", "warning" or "info" (the page says it in words too, not by colour
    alone), `url` where to act on it."""

    level: str
    text: str
    url: str = ""


BannerSource = Callable[[RegisteredModel, HttpRequest], list[Banner]]
_BANNERS: dict[str, BannerSource] = {}
BANNER_ORDER = {"critical": 0, "warning": 1, "info": 2}


def register_model_banners(name: str, source: BannerSource) -> None:
    """Let a higher layer put banners on the model page (called from its AppConfig.ready)."""
    _BANNERS[name] = source


def model_banners(model: RegisteredModel, request: HttpRequest) -> list[Banner]:
    """Every registered source's banners for `model`, the gravest first."""
    banners = [banner for source in _BANNERS.values() for banner in source(model, request)]
    return sorted(banners, key=lambda banner: BANNER_ORDER.get(banner.level, len(BANNER_ORDER)))
