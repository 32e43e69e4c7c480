"""Signals the registry sends; higher layers (monitoring, reviews) listen."""

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
