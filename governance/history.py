"""django-simple-history wiring: every governed model's history row carries who and from where.

simple-history sees only `save()` and `delete()` of single objects (stack notes): the bulk
paths (`QuerySet.update`, `bulk_create`, `bulk_update`, `QuerySet.delete`) would change
governed rows with no history and no audit record. So every governed model's default
manager is a `GovernedQuerySet` whose bulk paths write one history row per object and one
audit event per call, with the acting user and origin of the audit context.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import models, transaction
from simple_history.models import HistoricalRecords

from governance.audit.chain import audit_record
from governance.audit_context import Origin, current_audit_context


class HistoryOrigin(models.Model):
    """Abstract base of every historical model: adds the origin of the change."""

    history_origin = models.CharField(
        max_length=16, choices=Origin.choices, default=Origin.SYSTEM, db_index=True
    )

    class Meta:
        abstract = True

    @property
    def origin(self) -> str:
        """Where the change came from, as the admin's history column "origin" shows it."""
        return self.get_history_origin_display()


def history_user(instance: Any = None, request: Any = None, **kwargs: Any) -> Any:
    return current_audit_context().acting_user()


class GovernedQuerySet(models.QuerySet):
    """Bulk writes of a governed model, each with its history rows and an audit event.

    `bulk_update` needs no method of its own: Django runs it as `update()` calls.
    """

    def _on_record(self, verb: str, objs: list[Any], update: bool, fields: Iterable[str]) -> None:
        context = current_audit_context()
        if objs and verb != "deleted":  # deletions: simple-history's post_delete writes them
            self.model.history.bulk_history_create(
                objs,
                update=update,
                default_user=context.acting_user(),
                default_change_reason=f"bulk {verb}",
                custom_historical_attrs={"history_origin": context.origin},
            )
        audit_record(
            action=f"{self.model._meta.model_name}.bulk_{verb}",
            object_type=self.model._meta.model_name,
            object_id=f"{len(objs)} row(s)",
            data={"pks": [obj.pk for obj in objs][:1000], "fields": sorted(fields)},
        )

    @transaction.atomic
    def update(self, **kwargs: Any) -> int:
        pks = list(self.values_list("pk", flat=True))
        count = super().update(**kwargs)
        objs = list(self.model._base_manager.filter(pk__in=pks).order_by("pk"))
        self._on_record("updated", objs, True, kwargs)
        return count

    @transaction.atomic
    def bulk_create(self, objs: Iterable[Any], *args: Any, **kwargs: Any) -> list[Any]:
        created = super().bulk_create(objs, *args, **kwargs)
        self._on_record("created", created, False, [])
        return created

    @transaction.atomic
    def delete(self) -> tuple[int, dict[str, int]]:
        objs = list(self.order_by("pk"))
        deleted = super().delete()
        self._on_record("deleted", objs, False, [])
        return deleted


class GovernedHistoricalRecords(HistoricalRecords):
    """HistoricalRecords that also make the model's default manager a GovernedQuerySet's."""

    def contribute_to_class(self, cls: Any, name: str) -> None:
        super().contribute_to_class(cls, name)
        if not cls._meta.abstract and not any(
            m.name == "objects" for m in cls._meta.local_managers
        ):
            cls.add_to_class("objects", GovernedQuerySet.as_manager())


def governed_history(**kwargs: Any) -> HistoricalRecords:
    """History for a governed model, with user and origin from the audit context."""
    return GovernedHistoricalRecords(bases=[HistoryOrigin], get_user=history_user, **kwargs)


def set_change_reason(instance: models.Model, reason: str) -> None:
    """The reason stored with the next history row of `instance` (read by simple-history)."""
    instance._change_reason = reason  # type: ignore[attr-defined]
