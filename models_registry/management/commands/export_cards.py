"""Write every version's latest model card as YAML, optionally committing them with git."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db.models import OuterRef, Subquery

from models_registry.card_formats import card_to_yaml
from models_registry.models import ModelCardRevision


def _git(directory: Path, *args: str) -> str:
    result = subprocess.run(
        ["git", "-C", str(directory), *args], capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise CommandError(f"git {' '.join(args)} failed: {result.stderr.strip()}")
    return result.stdout


class Command(BaseCommand):
    help = "Write DIR/<model>/<version>.yaml for every version's latest card; --git commits them."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("directory", type=Path)
        parser.add_argument(
            "--git",
            action="store_true",
            help="Commit the changed files in the git repository that holds DIRECTORY.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        directory: Path = options["directory"].resolve()
        if options["git"]:
            _git(directory if directory.exists() else directory.parent, "rev-parse", "--git-dir")
        changed = self._write(directory)
        if not changed:
            self.stdout.write("All cards are up to date.")
            return
        for path, label in changed:
            self.stdout.write(f"wrote {path} ({label})")
        if options["git"]:
            self._commit(directory, changed)

    def _write(self, directory: Path) -> list[tuple[Path, str]]:
        newest = (
            ModelCardRevision.objects.filter(model_version=OuterRef("model_version"))
            .order_by("-revision")
            .values("revision")[:1]
        )
        latest = (
            ModelCardRevision.objects.filter(revision=Subquery(newest))
            .select_related("model_version__model")
            .order_by("model_version__model__name", "model_version__version")
        )
        changed = []
        for revision in latest:
            version = revision.model_version
            path = directory / version.model.name / f"{version.version}.yaml"
            text = card_to_yaml(revision.content)
            if path.exists() and path.read_text() == text:
                continue
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
            changed.append((path, f"{version.model.name} v{version.version} r{revision.revision}"))
        return changed

    def _commit(self, directory: Path, changed: list[tuple[Path, str]]) -> None:
        _git(directory, "add", "--", *[str(path) for path, _ in changed])
        if not _git(directory, "diff", "--cached", "--name-only").strip():
            self.stdout.write("Nothing new to commit.")
            return
        labels = [label for _, label in changed]
        subject = "Model cards: " + ", ".join(labels[:5]) + (" ..." if len(labels) > 5 else "")
        body = "\n".join(f"- {label}" for label in labels)
        _git(directory, "commit", "-m", subject, "-m", body)
        self.stdout.write(
            f"Committed {len(changed)} card(s): {_git(directory, 'rev-parse', 'HEAD').strip()}"
        )
