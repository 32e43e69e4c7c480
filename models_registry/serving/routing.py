"""Which version answers a call: production, or the canary for a sticky share of callers."""

from __future__ import annotations

import hashlib
import threading
import time
from dataclasses import dataclass

from django.conf import settings

from governance.errors import Conflict, NotFound
from models_registry.models import ModelVersion, RegisteredModel


@dataclass(frozen=True)
class LiveState:
    model_id: int
    name: str
    production: tuple[int, int] | None  # (version id, version number)
    canary: tuple[int, int] | None
    canary_traffic: int


_cache: dict[str, tuple[float, LiveState]] = {}
_lock = threading.Lock()


def live_state(name: str) -> LiveState:
    """The model's production and canary, read at most every ROUTING_STATE_SECONDS.

    That bound is what makes a rollback reach every process in time: nothing has to notify
    the web processes, each one re-reads within the bound.
    """
    now = time.monotonic()
    cached = _cache.get(name)
    if cached is not None and now - cached[0] < settings.ROUTING_STATE_SECONDS:
        return cached[1]
    state = _read(name)
    with _lock:
        _cache[name] = (now, state)
    if cached is None or (cached[1].production, cached[1].canary) != (
        state.production,
        state.canary,
    ):
        from models_registry.serving.warm import warm_in_background

        # First sight of the model in this process, or its live versions changed: load
        # (in the background) what a rollback would switch to, so it finds it in memory.
        warm_in_background(state.model_id)
    return state


def _read(name: str) -> LiveState:
    row = RegisteredModel.objects.filter(name=name).values("pk", "canary_traffic").first()
    if row is None:
        raise NotFound(f"No model named '{name}'.")
    live = {
        stage: (pk, number)
        for stage, pk, number in ModelVersion.objects.filter(
            model_id=row["pk"],
            stage__in=[ModelVersion.Stage.PRODUCTION, ModelVersion.Stage.CANARY],
        ).values_list("stage", "pk", "version")
    }
    return LiveState(
        model_id=row["pk"],
        name=name,
        production=live.get(ModelVersion.Stage.PRODUCTION),
        canary=live.get(ModelVersion.Stage.CANARY),
        canary_traffic=row["canary_traffic"],
    )


def forget_live_state() -> None:
    with _lock:
        _cache.clear()


def bucket(name: str, routing_key: str) -> int:
    """A stable number 0..99 for (model, caller): the same caller always lands alike."""
    digest = hashlib.blake2b(f"{name}\x00{routing_key}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") % 100


def route(state: LiveState, routing_key: str) -> tuple[int, int, str]:
    """(version id, version number, slot) that answers this caller."""
    if state.production is None:
        raise Conflict(f"{state.name} has no production version.")
    if state.canary is not None and bucket(state.name, routing_key) < state.canary_traffic:
        return (*state.canary, ModelVersion.Stage.CANARY)
    return (*state.production, ModelVersion.Stage.PRODUCTION)
