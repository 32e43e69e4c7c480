from __future__ import annotations

from typing import Any

import pytest
from django.core.cache import cache

from governance.api.authentication import forget_remembered_tokens
from models_registry.serving.loader import forget_loaded
from models_registry.serving.routing import forget_live_state


@pytest.fixture
def fresh_serving_process(settings: Any) -> Any:
    """The test starts like a new web process: nothing loaded, routed, trusted or cached.

    The cache is process memory here even when REDIS_URL is set: clearing a Redis cache
    flushes its whole database, which may hold the Celery queue.
    """
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    forget_loaded()
    forget_live_state()
    forget_remembered_tokens()
    cache.clear()
    yield
    forget_loaded()
    forget_live_state()
