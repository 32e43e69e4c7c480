"""Signals monitoring sends; higher layers (reviews, issue 10's alert rules) listen."""

from django.dispatch import Signal

# A check run finished and its results and metrics are stored: kwargs `run` (a CheckRun).
# Sent on commit, once per run.
check_completed = Signal()
