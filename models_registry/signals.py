"""Signals the registry sends; higher layers (monitoring, reviews) listen."""

from django.dispatch import Signal

# A version's model card got a new revision: kwargs `version`, `revision`.
card_changed = Signal()

# Production or canary changed: kwargs `model`, `event`.
deployment_changed = Signal()
