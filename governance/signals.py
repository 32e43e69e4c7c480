"""Hooks: history rows get their origin; role groups exist after every migrate.

Also the signals governance sends; higher layers listen.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db.models.signals import post_migrate, pre_save
from django.dispatch import Signal, receiver
from simple_history.signals import pre_create_historical_record

from governance.audit_context import current_audit_context

# An approval policy changed: kwarg `policy`. Reviews re-evaluates open requests of its tier.
policy_changed = Signal()


@receiver(pre_create_historical_record)
def record_history_origin(sender: Any, history_instance: Any, **kwargs: Any) -> None:
    if hasattr(history_instance, "history_origin"):
        history_instance.history_origin = current_audit_context().origin


@receiver(post_migrate)
def ensure_role_groups(sender: Any, **kwargs: Any) -> None:
    from governance.services import GOVERNANCE_APPS, role_groups_sync

    # Permissions of each app exist only after its own post_migrate, so sync after each.
    if getattr(sender, "name", None) not in GOVERNANCE_APPS:
        return

    role_groups_sync()


@receiver(pre_save, sender=settings.AUTH_USER_MODEL)
def tokens_survive_a_password_rehash(
    sender: Any, instance: Any, update_fields: Any = None, **kwargs: Any
) -> None:
    """A saved password hash without `set_password` (`_password` unset) is Django's re-hash
    of the same password, not a change: the user's API tokens keep working."""
    if instance.pk is None or getattr(instance, "_password", None) is not None:
        return
    if update_fields is not None and "password" not in update_fields:
        return  # a login's last_login update, a role change: no password in play
    from governance.services import tokens_follow_rehash

    tokens_follow_rehash(user=instance)
