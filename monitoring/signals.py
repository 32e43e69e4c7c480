"""Signals monitoring sends; higher layers (reviews) and its own parts listen."""

from django.dispatch import Signal

# A check run finished and its results and metrics are stored: kwargs `run` (a CheckRun).
# Sent on commit, once per run.
check_completed = Signal()

# A rule fired: kwargs `alert` (an Alert) and `created` (True: a new alert; False: a repeat
# breach folded into an open one, `alert.count` says how many). Sent on commit. Notifications
# and incidents listen.
alert_fired = Signal()

# An alert resolved itself (clean evaluations) or was resolved: kwargs `alert`. On commit.
alert_resolved = Signal()

# A retraining run ended: kwargs `run` (a RetrainingRun), done or failed. On commit.
retraining_finished = Signal()

# A rule whose action is `retrain` fired: kwargs `alert` (an Alert). Sent on commit by the
# rule engine; monitoring's own receiver queues a retraining run (trigger `rule`).
retraining_wanted = Signal()
