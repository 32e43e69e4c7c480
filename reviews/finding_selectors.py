"""Reads of findings, shared by the API, pages, the model page and (later) the board's
agendas and the weekly summary.

    findings_open(model=None, min_severity=None)   unsettled findings, gravest first
    finding_list()                                 every finding, newest first
    finding_get(finding_id=)                       one, with its timeline
"""

from __future__ import annotations

from django.db.models import Case, F, IntegerField, Prefetch, QuerySet, Value, When

from governance.errors import InvalidInput, NotFound
from models_registry.models import RegisteredModel
from reviews.finding_models import Finding, FindingEvent, severities_from


def _severity_rank() -> Case:
    """critical 0, high 1, medium 2, low 3: gravest first when ordered ascending."""
    order = list(reversed(Finding.SEVERITY_ORDER))
    return Case(
        *(When(severity=severity, then=Value(rank)) for rank, severity in enumerate(order)),
        output_field=IntegerField(),
    )


def finding_list() -> QuerySet[Finding]:
    return Finding.objects.select_related(
        "model", "version", "owner", "raised_by", "remediated_by", "validation"
    )


def finding_get(*, finding_id: int) -> Finding:
    """One finding with its timeline, oldest entry first."""
    timeline = FindingEvent.objects.select_related("actor").order_by("occurred_at", "id")
    try:
        return (
            finding_list()
            .prefetch_related(Prefetch("timeline", queryset=timeline))
            .get(pk=finding_id)
        )
    except (Finding.DoesNotExist, ValueError, TypeError):
        raise NotFound(f"No finding #{finding_id}.") from None


def findings_open(
    *, model: RegisteredModel | None = None, min_severity: str | None = None
) -> QuerySet[Finding]:
    """Findings not yet settled (open, in remediation, or remediated awaiting verification),
    of one model if given, at least `min_severity` if given ("high": high and critical);
    gravest first, then earliest due date (none last), then oldest."""
    found = finding_list().filter(status__in=Finding.OPEN_STATUSES)
    if model is not None:
        found = found.filter(model=model)
    if min_severity is not None:
        if min_severity not in Finding.Severity.values:
            raise InvalidInput(
                "Not a severity.",
                extra={"min_severity": [f"One of: {', '.join(Finding.Severity.values)}."]},
            )
        found = found.filter(severity__in=severities_from(min_severity))
    return found.annotate(severity_rank=_severity_rank()).order_by(
        "severity_rank", F("due_date").asc(nulls_last=True), "raised_at", "id"
    )
