"""Panels that higher layers add to the model page, without the registry importing them.

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
