"""Levels 1 and 2 of the lock order (governance/locking.py): a model, then its versions.

Every flow that locks a version row calls one of these first, so no transaction ever holds
a version while it waits for the version's model.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from models_registry.models import ModelVersion, RegisteredModel

LIVE_STAGES = (ModelVersion.Stage.PRODUCTION, ModelVersion.Stage.CANARY)


@dataclass
class ModelLocks:
    """The locked model row and the version rows locked under it, by id."""

    model: RegisteredModel
    versions: dict[int, ModelVersion] = field(default_factory=dict)

    def _live(self, stage: str) -> ModelVersion | None:
        return next((v for v in self.versions.values() if v.stage == stage), None)

    @property
    def production(self) -> ModelVersion | None:
        return self._live(ModelVersion.Stage.PRODUCTION)

    @property
    def canary(self) -> ModelVersion | None:
        return self._live(ModelVersion.Stage.CANARY)

    def lock_versions(self, version_ids: Iterable[int]) -> None:
        """Lock more versions of this model, in id order (the model is held already).

        `of=("self",)` and an explicit order: ModelVersion's default ordering joins the
        model table, and FOR NO KEY UPDATE over that join would lock the model row again
        from a version lock, which is how version-then-model orders crept in before.
        """
        wanted = set(version_ids) - set(self.versions)
        if not wanted:
            return
        rows = (
            ModelVersion.objects.select_for_update(no_key=True, of=("self",))
            .filter(model_id=self.model.pk, pk__in=wanted)
            .order_by("pk")
        )
        for version in rows:
            version.model = self.model
            self.versions[version.pk] = version
        missing = wanted - set(self.versions)
        if missing:
            raise ModelVersion.DoesNotExist(f"No version {sorted(missing)} of {self.model.name}.")

    def version(self, version_id: int) -> ModelVersion:
        """A version of this model, locked (now, if it was not yet)."""
        self.lock_versions([version_id])
        return self.versions[version_id]


def lock_model_for_change(
    model_id: int, *, version_ids: Iterable[int] = (), live: bool = True
) -> ModelLocks:
    """Lock the model row, then the named versions and (with `live`) production and canary.

    The live versions are found after the model is locked: a stage changes only under
    the model's lock, so what that read sees stays true until this transaction ends.
    """
    model = RegisteredModel.objects.select_for_update(no_key=True).get(pk=model_id)
    wanted = set(version_ids)
    if live:
        wanted |= set(
            ModelVersion.objects.filter(model_id=model_id, stage__in=LIVE_STAGES).values_list(
                "pk", flat=True
            )
        )
    locks = ModelLocks(model=model)
    locks.lock_versions(wanted)
    return locks


def lock_version_for_change(version_id: int, *, live: bool = False) -> ModelLocks:
    """Lock a version's model, then the version (a version never changes model)."""
    model_id = ModelVersion.objects.values_list("model_id", flat=True).get(pk=version_id)
    return lock_model_for_change(model_id, version_ids=[version_id], live=live)
