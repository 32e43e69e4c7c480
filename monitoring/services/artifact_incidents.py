"""A model whose files changed after registration: one incident per version until resolved."""

from __future__ import annotations

from django.db import transaction

from models_registry.models import ModelVersion
from monitoring.models import Incident, IncidentEvent
from monitoring.services.incidents import incident_event_add, incident_open


def _listing(problems: dict[str, str]) -> str:
    return ", ".join(f"{path} ({what})" for path, what in sorted(problems.items()))


@transaction.atomic
def incident_open_for_changed_artifact(
    *, version: ModelVersion, problems: dict[str, str], purpose: str
) -> Incident:
    """Open a critical incident, or add to the version's unresolved one.

    Every process that tries to load the version refuses it and reports; the people on
    call need one incident with the refusals on its timeline, not one per process.
    """
    version = ModelVersion.objects.select_related("model").get(pk=version.pk)
    found = (
        Incident.objects.select_for_update()
        .filter(version=version, source=Incident.Source.ARTIFACT)
        .exclude(status=Incident.Status.CLOSED)
        .first()
    )
    message = f"Refused to load for {purpose}: {_listing(problems)}."
    if found is not None:
        incident_event_add(incident=found, kind=IncidentEvent.Kind.REFUSED_AGAIN, message=message)
        return found
    return incident_open(
        model=version.model,
        version=version,
        severity=Incident.Severity.CRITICAL,
        source=Incident.Source.ARTIFACT,
        title=f"{version}: model files differ from the signed card",
        description=(
            f"The files of {version}'s MLflow model no longer match the SHA-256 digests "
            f"recorded at registration, which its signed card carries. {message} Nothing "
            "was deserialized. Restore the artifact or register a new version."
        ),
        details={"files": problems, "purpose": purpose},
    )
