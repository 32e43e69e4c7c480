"""Signals the registry sends; higher layers (monitoring, reviews) listen."""

from collections.abc import Iterable

from django.db import transaction
from django.dispatch import Signal

# A version's model card got a new revision: kwargs `version`, `revision`.
card_changed = Signal()

# Production or canary changed: kwargs `model`, `event`.
deployment_changed = Signal()

# A version's model files differ from the digests recorded at registration, so loading was
# refused: kwargs `version`, `problems` (path -> "changed" | "missing" | "added"), `purpose`.
model_artifact_changed = Signal()

# Personal data left the inference log: a subject's fields were erased (consent withdrawal)
# or whole batches were deleted (retention): kwargs `model_ids`. Sent on commit. Monitoring
# erases the comments of flags on those predictions.
inference_log_erased = Signal()


def inference_log_erased_on_commit(model_ids: Iterable[int]) -> None:
    """Send inference_log_erased for these models once the current transaction commits."""
    from models_registry.models import Prediction  # the models import this module's peers

    ids = sorted(set(model_ids))
    if ids:
        transaction.on_commit(
            lambda: inference_log_erased.send(sender=Prediction, model_ids=ids), robust=True
        )
