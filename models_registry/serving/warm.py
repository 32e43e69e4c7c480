"""Loading, before anyone asks, what a web process may have to serve next.

A version's first call in a process loads its model from MLflow and builds its explainer:
seconds, not milliseconds. So each web process loads, when it starts, every model's
production version, its canary and the version a rollback would bring back; and when it
first sees a model, or sees its live versions change, it does the same for that model in
the background.
A rollback then switches to a version already in memory, and the next request in every
process is answered by it without a pause.
"""

from __future__ import annotations

import logging
import threading

from django.conf import settings
from django.db import connection

from governance.errors import ApplicationError
from models_registry.model_loading import RefusedForSafety
from models_registry.models import ModelVersion, RegisteredModel
from models_registry.services.deployments import rollback_target
from models_registry.serving.loader import loaded_version

logger = logging.getLogger(__name__)
LIVE = (ModelVersion.Stage.PRODUCTION, ModelVersion.Stage.CANARY)


def versions_to_keep_warm(model_id: int) -> list[int]:
    """The model's production and canary versions and its rollback target, as ids."""
    live = list(ModelVersion.objects.filter(model_id=model_id, stage__in=LIVE))
    ids = [version.pk for version in live]
    production = next((v for v in live if v.stage == ModelVersion.Stage.PRODUCTION), None)
    if production is not None:
        model = RegisteredModel.objects.get(pk=model_id)
        target = rollback_target(model, production)
        if target is not None:
            ids.append(target.pk)
    return ids


def warm(version_ids: list[int]) -> list[int]:
    """Load each version and its explainer; the ids that could not be, logged, are left out."""
    loaded = []
    for version_id in version_ids:
        try:
            version = loaded_version(version_id)
            version.explainer()
        except RefusedForSafety as error:  # unsafe format, changed or unrecorded files
            logger.warning("version %s refused, not loaded ahead of use: %s", version_id, error)
            continue
        except ApplicationError as error:  # e.g. a model served elsewhere: no logged model
            logger.info("version %s not loaded ahead of use: %s", version_id, error)
            continue
        except Exception:  # a broken version must not stop the others, nor the process
            logger.warning("could not load version %s ahead of use", version_id, exc_info=True)
            continue
        loaded.append(version_id)
    return loaded


def serving_warm_up() -> list[int]:
    """At process start: what every model with a production version may serve next."""
    try:
        model_ids = sorted(
            set(
                ModelVersion.objects.filter(stage=ModelVersion.Stage.PRODUCTION).values_list(
                    "model_id", flat=True
                )
            )
        )
        loaded = [vid for mid in model_ids for vid in warm(versions_to_keep_warm(mid))]
    except Exception:  # no database yet (before migrate), or it is down: load on first use
        logger.warning("serving warm-up skipped", exc_info=True)
        return []
    logger.info("serving warm-up: %d version(s) in memory", len(loaded))
    return loaded


def warm_in_background(model_id: int) -> None:
    """Load the model's live versions and rollback target in a thread of their own.

    Routing calls it on a model's first sight in this process and when its live versions
    change; what is already in memory costs a lookup.
    """
    if not settings.SERVING_WARM_UP:
        return

    def run() -> None:
        try:
            warm(versions_to_keep_warm(model_id))
        except Exception:
            logger.warning("background warm-up of model %s failed", model_id, exc_info=True)
        finally:
            connection.close()

    threading.Thread(target=run, name=f"warm-model-{model_id}", daemon=True).start()
