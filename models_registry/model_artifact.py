"""What a logged model's artifact is: its files' SHA-256 digests and how it deserializes.

Recorded once, at registration, into the version's run facts; the card carries it, so the
signed card hash covers every byte of the model; loading compares against it. Pure data and
file reading: nothing here deserializes a model, and nothing imports mlflow.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass
from pathlib import Path, PurePosixPath
from typing import Any

SKOPS = "skops"
PICKLE = "pickle"
CLOUDPICKLE = "cloudpickle"
PYTHON_MODEL = "python_model"
# The MLmodel file MLflow writes beside the model; it names the flavors and files.
MLMODEL = "MLmodel"
HASH_CHUNK = 1024 * 1024

# Types skops may instantiate beyond its own defaults (scikit-learn estimators, numpy,
# scipy). The list is ours, never the one an MLmodel file carries: MLflow's own loader
# trusts whatever types the model's author wrote into `skops_trusted_types`.
SKOPS_TRUSTED = [
    "sklearn.tree._tree.Tree",
    "sklearn._loss.link.LogitLink",
    "sklearn._loss.link.Interval",
    "sklearn._loss.loss.HalfBinomialLoss",
    "sklearn.ensemble._gb.VerboseReporter",
    "sklearn.dummy.DummyClassifier",
]


@dataclass(frozen=True)
class ModelFormat:
    """How the model deserializes, read from its MLmodel file.

    `executes_code`: loading it runs code the model's author chose (pickle, cloudpickle, a
    pyfunc PythonModel's load_context, any flavor we have no safe loader for).
    """

    flavor: str
    serialization: str
    model_file: str
    executes_code: bool
    # skops only: types in the file that neither skops nor SKOPS_TRUSTED trusts.
    untrusted_types: tuple[str, ...] = ()

    @classmethod
    def from_mlmodel(cls, mlmodel: dict[str, Any], directory: Path) -> ModelFormat:
        """From the MLmodel file of the model copied into `directory`."""
        flavors = mlmodel.get("flavors") or {}
        sklearn = flavors.get("sklearn")
        if isinstance(sklearn, dict):
            # MLflow's own default when the key is absent (models logged before skops).
            serialization = str(sklearn.get("serialization_format") or PICKLE)
            model_file = str(sklearn.get("pickled_model") or "")
            untrusted: tuple[str, ...] = ()
            if serialization == SKOPS:
                untrusted = tuple(skops_untrusted_types(contained_file(directory, model_file)))
            return cls(
                flavor="sklearn",
                serialization=serialization,
                model_file=model_file,
                executes_code=serialization != SKOPS,
                untrusted_types=untrusted,
            )
        pyfunc = flavors.get("python_function") or {}
        loader = str(pyfunc.get("loader_module") or "")
        return cls(
            flavor=next(iter(sorted(flavors)), ""),
            serialization=PYTHON_MODEL if loader == "mlflow.pyfunc.model" else loader or "unknown",
            model_file=str(pyfunc.get("python_model") or pyfunc.get("model_path") or ""),
            executes_code=True,
        )

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelFormat:
        return cls(
            flavor=str(data.get("flavor", "")),
            serialization=str(data.get("serialization", "")),
            model_file=str(data.get("model_file", "")),
            # A record without the flag (or with anything but False) is treated as unsafe.
            executes_code=data.get("executes_code") is not False,
            untrusted_types=tuple(data.get("untrusted_types") or ()),
        )

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "untrusted_types": list(self.untrusted_types)}

    def describe(self) -> str:
        return f"{self.flavor or 'unknown'} flavor, {self.serialization or 'unknown'} format"

    def unsafe_reason(self) -> str:
        """Why loading this model would run code its author chose; '' when it would not."""
        if self.executes_code:
            return f"its {self.describe()} runs the model author's code when loaded"
        if self.untrusted_types:
            return "its skops file holds types outside the trusted list: " + ", ".join(
                self.untrusted_types
            )
        return ""


def skops_untrusted_types(path: Path) -> list[str]:
    """Types in a skops file beyond skops' defaults and SKOPS_TRUSTED (read, not loaded)."""
    import skops.io

    return sorted(set(skops.io.get_untrusted_types(file=path)) - set(SKOPS_TRUSTED))


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


# What a symbolic link records instead of a digest: its target is not part of the model, so
# no digest could vouch for it, and a model holding one is never loaded.
SYMLINK = "symlink"


def file_digests(directory: Path) -> dict[str, dict[str, Any]]:
    """Every file under `directory` (POSIX relative path -> sha256 and size), sorted."""
    found = {}
    for path in sorted(p for p in directory.rglob("*") if p.is_file() or p.is_symlink()):
        relative = path.relative_to(directory).as_posix()
        if path.is_symlink():  # a link could point anywhere on the loading machine
            found[relative] = {"sha256": SYMLINK, "size": None}
            continue
        found[relative] = {"sha256": _sha256(path), "size": path.stat().st_size}
    return found


def digest_mismatches(
    recorded: dict[str, dict[str, Any]], actual: dict[str, dict[str, Any]]
) -> dict[str, str]:
    """Path -> what is wrong with it (changed, missing, added); empty when all match."""
    problems = {}
    for path in sorted(set(recorded) | set(actual)):
        if path not in actual:
            problems[path] = "missing"
        elif actual[path]["sha256"] == SYMLINK:
            problems[path] = "a symbolic link"
        elif path not in recorded:
            problems[path] = "added"
        elif actual[path]["sha256"] != recorded[path]["sha256"]:
            problems[path] = "changed"
    return problems


def contained_file(directory: Path, relative: str) -> Path:
    """`relative` inside `directory`; ValueError for an absolute path or one that climbs out."""
    pure = PurePosixPath(relative)
    if not relative or pure.is_absolute() or ".." in pure.parts:
        raise ValueError(f"model file {relative!r} is not a path inside the model directory")
    return directory.joinpath(*pure.parts)


@dataclass(frozen=True)
class RecordedArtifact:
    """What registration recorded about a version's logged model (from its run facts)."""

    model_uri: str
    files: dict[str, dict[str, Any]]
    format: ModelFormat | None

    @property
    def complete(self) -> bool:
        """Files and format recorded; False for versions registered before digests existed."""
        return bool(self.files) and self.format is not None

    @classmethod
    def of(cls, run_facts: dict[str, Any] | None) -> RecordedArtifact | None:
        """None when the version has no logged MLflow model (e.g. served elsewhere)."""
        logged = (run_facts or {}).get("logged_model") or {}
        if not logged.get("model_uri"):
            return None
        recorded_format = logged.get("format")
        return cls(
            model_uri=logged["model_uri"],
            files=logged.get("files") or {},
            format=ModelFormat.from_dict(recorded_format) if recorded_format else None,
        )
