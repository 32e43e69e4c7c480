"""Retraining: clone the production version, refit it on labelled traffic, offer the result.

`retraining_request` queues a run (API, a button, an incident, an alert rule);
`retraining_execute` is what the `monitoring.retraining_execute` task calls; reviews calls
`retraining_promotion_link` (or `retraining_abandon`) when it hears `retraining_finished`.
"""

from monitoring.retraining.execute import (
    retraining_abandon,
    retraining_execute,
    retraining_promotion_link,
)
from monitoring.retraining.requests import retraining_account, retraining_request

__all__ = [
    "retraining_abandon",
    "retraining_account",
    "retraining_execute",
    "retraining_promotion_link",
    "retraining_request",
]
