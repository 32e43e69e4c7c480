"""Record the model files' digests of versions registered before digests existed.

Such versions are refused on every load until their card is regenerated (SECURITY.md,
"Model artifacts"). This does it for all of them at once, through the same services as
POST .../card/regenerate/: the run is re-read, the files' digests and format recorded, and
a new card revision makes pending sign-offs stale, so the board signs the digests.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from governance.audit_context import Origin, acting_as
from governance.errors import ApplicationError
from models_registry.cards import card_regenerate
from models_registry.model_artifact import RecordedArtifact
from models_registry.models import ModelVersion, RegisteredModel
from models_registry.services import version_refresh_from_run

REASON = "model files' digests recorded (record_artifact_digests)"


def versions_lacking_digests(model_name: str | None) -> list[ModelVersion]:
    """Versions with a logged MLflow model whose files or format were never recorded."""
    versions = ModelVersion.objects.select_related("model").exclude(mlflow_run_id="")
    if model_name is not None:
        versions = versions.filter(model__name=model_name)
    return [
        version
        for version in versions.order_by("model__name", "version")
        if (record := RecordedArtifact.of(version.run_facts)) is not None and not record.complete
    ]


def digests_record(version: ModelVersion) -> str:
    """Refresh the version from its run and rebuild its card; what happened, as one line.

    ApplicationError (the run gone, its files unreadable, MLflow down) when it failed.
    """
    version_refresh_from_run(version_id=version.pk, backfill_deployed=True)
    record = RecordedArtifact.of(ModelVersion.objects.get(pk=version.pk).run_facts)
    if record is None or not record.complete:
        raise ApplicationError("its MLflow run no longer holds a logged model to record.")
    revision = card_regenerate(version_id=version.pk, reason=REASON)
    card = f"card revision {revision.revision}" if revision else "card unchanged"
    return f"recorded {len(record.files)} file(s), {card}"


class Command(BaseCommand):
    help = (
        "Record the model files' digests of every version registered before they existed, "
        "by regenerating its card; exits 1 if any version failed."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--model", help="Only this registered model's versions.")
        parser.add_argument(
            "--dry-run", action="store_true", help="List the versions; change nothing."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        name = options["model"]
        if name is not None and not RegisteredModel.objects.filter(name=name).exists():
            raise CommandError(f"No registered model named '{name}'.")
        versions = versions_lacking_digests(name)
        if not versions:
            self.stdout.write("No version lacks recorded digests.")
            return
        failed = 0
        with acting_as(origin=Origin.COMMAND):
            for version in versions:
                if options["dry_run"]:
                    self.stdout.write(f"{version}: would be recorded (dry run)")
                    continue
                try:
                    outcome = digests_record(version)
                except ApplicationError as error:
                    failed += 1
                    self.stdout.write(f"{version}: failed: {error.detail}")
                    continue
                self.stdout.write(f"{version}: {outcome}")
        if failed:
            raise CommandError(f"{failed} of {len(versions)} version(s) failed.")
