"""Findings: raise one, move it along its workflow, add remediation evidence. Every step
is on the finding's timeline, in its history and in the audit chain.

The workflow (README "Review board"), and the capability each step needs:

    open            -> in_remediation, remediated          work_findings
    in_remediation  -> remediated, open                     work_findings
    open | in_remediation -> accepted_risk                  accept_model_risk
    remediated      -> closed (verified), in_remediation    review_findings
    accepted_risk   -> closed, open                         review_findings
    closed          -> open (reopen)                        review_findings

`remediated` needs remediation evidence (recorded before, or given with the step). Accepting
the risk, closing and every step back (reopening) need a comment. Separation of duties:
whoever marked a finding remediated does not close it (someone else verifies), and neither
a finding's owner nor anyone who owned it before accepts its risk. Validators, board members
and compliance officers raise findings (`review_findings`); the owner must be someone who
works on findings. Owner and due date change later with a reason (reviews/finding_assignment.py).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from django.db import transaction
from django.utils import timezone

from governance.errors import Conflict, InvalidInput, NotAllowed, NotFound
from governance.history import set_change_reason
from governance.roles import Capability, user_can
from governance.services import audit_record, require
from governance.text import text_checked
from models_registry.models import ModelVersion, RegisteredModel
from reviews.evidence_links import links_checked
from reviews.finding_models import Finding, FindingEvent
from reviews.revalidation_models import Validation

Status = Finding.Status
TRANSITIONS: dict[str, dict[str, Capability]] = {
    Status.OPEN: {
        Status.IN_REMEDIATION: Capability.WORK_FINDINGS,
        Status.REMEDIATED: Capability.WORK_FINDINGS,
        Status.ACCEPTED_RISK: Capability.ACCEPT_MODEL_RISK,
    },
    Status.IN_REMEDIATION: {
        Status.REMEDIATED: Capability.WORK_FINDINGS,
        Status.OPEN: Capability.WORK_FINDINGS,
        Status.ACCEPTED_RISK: Capability.ACCEPT_MODEL_RISK,
    },
    Status.REMEDIATED: {
        Status.CLOSED: Capability.REVIEW_FINDINGS,
        Status.IN_REMEDIATION: Capability.REVIEW_FINDINGS,
    },
    Status.ACCEPTED_RISK: {
        Status.CLOSED: Capability.REVIEW_FINDINGS,
        Status.OPEN: Capability.REVIEW_FINDINGS,
    },
    Status.CLOSED: {Status.OPEN: Capability.REVIEW_FINDINGS},
}
# Steps back: the finding is not settled after all.
REOPENING = {
    (Status.REMEDIATED, Status.IN_REMEDIATION),
    (Status.ACCEPTED_RISK, Status.OPEN),
    (Status.CLOSED, Status.OPEN),
}
FINDING_CAPABILITIES = (
    Capability.WORK_FINDINGS,
    Capability.REVIEW_FINDINGS,
    Capability.ACCEPT_MODEL_RISK,
)
# Steps that need a comment (besides reopening), and what to ask for.
COMMENT_NEEDED = {
    Status.ACCEPTED_RISK: "Say why the risk is accepted.",
    Status.CLOSED: "Say what was verified before closing.",
}
MAX_TEXT = 10000


def finding_owner_problem(owner: Any) -> str | None:
    """Why `owner` cannot own a finding, or None."""
    if not getattr(owner, "is_active", False):
        return "Not an active user."
    if not user_can(owner, Capability.WORK_FINDINGS):
        return f"{owner.get_username()} does not work on findings (no role with work_findings)."
    return None


def finding_audit(finding: Finding, action: str, actor: Any, **data: Any) -> None:
    audit_record(
        action=f"finding.{action}",
        object_type="finding",
        object_id=finding.pk,
        data={
            "model": finding.model.name,
            "version": finding.version.version if finding.version else None,
            "severity": finding.severity,
            "status": finding.status,
            **data,
        },
        actor=actor,
    )


def _checked_raise(
    *,
    model: RegisteredModel,
    severity: Any,
    version: int | None,
    owner: Any,
    due_date: date | None,
    validation: Validation | None,
) -> ModelVersion | None:
    problems: dict[str, list[str]] = {}
    if severity not in Finding.Severity.values:
        problems["severity"] = [f"One of: {', '.join(Finding.Severity.values)}."]
    the_version = None
    if version is not None:
        the_version = ModelVersion.objects.filter(model=model, version=version).first()
        if the_version is None:
            problems["version"] = [f"{model.name} has no version {version}."]
    if owner is not None and finding_owner_problem(owner):
        problems["owner"] = [finding_owner_problem(owner)]
    if due_date is not None and due_date < timezone.localdate():
        problems["due_date"] = ["May not be in the past."]
    if validation is not None and validation.model_id != model.pk:
        problems["validation"] = [f"Validation #{validation.pk} is not of {model.name}."]
    elif validation is not None and validation.outcome == Validation.Outcome.PASSED:
        problems["validation"] = [f"Validation #{validation.pk} passed; it raised no findings."]
    if problems:
        raise InvalidInput("The finding is not valid.", extra=problems)
    return the_version


@transaction.atomic
def finding_raise(
    *,
    actor: Any,
    model: RegisteredModel,
    title: str,
    description: str,
    severity: str,
    version: int | None = None,
    owner: Any = None,
    due_date: date | None = None,
    links: list[str] | None = None,
    validation: Validation | None = None,
) -> Finding:
    """Raise a finding on `model` (its `version` number, if given). The owner defaults to
    the model's owner when they work on findings, else nobody until one is given."""
    require(actor, Capability.REVIEW_FINDINGS, "raise findings")
    title = text_checked(title, "title", say="Give the finding a title.", limit=200)
    description = text_checked(
        description, "description", say="Say what the finding is.", limit=MAX_TEXT
    )
    links = links_checked(links)
    the_version = _checked_raise(
        model=model,
        severity=severity,
        version=version,
        owner=owner,
        due_date=due_date,
        validation=validation,
    )
    if owner is None and finding_owner_problem(model.owner) is None:
        owner = model.owner
    finding = Finding(
        model=model,
        version=the_version,
        validation=validation,
        title=title,
        description=description,
        severity=severity,
        owner=owner,
        due_date=due_date,
        links=links,
        raised_by=actor,
    )
    set_change_reason(finding, f"raised ({severity})")
    finding.save()
    FindingEvent.objects.create(
        finding=finding,
        actor=actor,
        kind=FindingEvent.Kind.RAISED,
        to_status=finding.status,
        message=description,
        links=links,
    )
    finding_audit(
        finding,
        "raised",
        actor,
        title=title,
        owner=owner.get_username() if owner else None,
        due_date=due_date.isoformat() if due_date else None,
        validation=validation.pk if validation else None,
    )
    return finding


def finding_lock(finding_id: int) -> Finding:
    try:
        return (
            Finding.objects.select_for_update(of=("self",))
            .select_related("model", "version", "owner")
            .get(pk=finding_id)
        )
    except (Finding.DoesNotExist, ValueError, TypeError):
        raise NotFound(f"No finding #{finding_id}.") from None


def _evidence_add(finding: Finding, actor: Any, text: str, links: list[str]) -> FindingEvent:
    return FindingEvent.objects.create(
        finding=finding, actor=actor, kind=FindingEvent.Kind.EVIDENCE, message=text, links=links
    )


def _refusal(
    actor: Any, finding: Finding, previous: str, status: str
) -> NotAllowed | Conflict | None:
    """Why `actor` may not move `finding` from `previous` to `status`, or None."""
    if status == previous:
        return Conflict(f"Finding #{finding.pk} is already {Status(previous).label.lower()}.")
    needed = TRANSITIONS[previous].get(status)
    if needed is None:
        allowed = ", ".join(sorted(TRANSITIONS[previous]))
        return Conflict(f"Finding #{finding.pk} is {previous}; from there it may go to {allowed}.")
    if not user_can(actor, needed):
        return NotAllowed(f"Your roles do not allow you to move a finding to {status}.")
    if (
        status == Status.CLOSED
        and previous == Status.REMEDIATED
        and actor.pk == finding.remediated_by_id
    ):
        return NotAllowed(
            "You marked this finding remediated; someone else verifies and closes it."
        )
    if status == Status.ACCEPTED_RISK and actor.pk == finding.owner_id:
        return NotAllowed("You own this finding; someone else must accept its risk.")
    # Handing the finding to someone else first does not make its risk yours to accept.
    if status == Status.ACCEPTED_RISK and finding.history.filter(owner_id=actor.pk).exists():
        return NotAllowed("You owned this finding; someone else must accept its risk.")
    return None


def finding_steps(*, actor: Any, finding: Finding) -> list[tuple[str, str]]:
    """(status, label) of every step `actor` may take from here, as the service decides it
    (roles and separation of duties): what a page offers."""
    return [
        (value, label)
        for value, label in Finding.Status.choices
        if value in TRANSITIONS[finding.status]
        and _refusal(actor, finding, finding.status, value) is None
    ]


@transaction.atomic
def finding_status_change(
    *,
    actor: Any,
    finding_id: int,
    status: str,
    comment: str = "",
    evidence: str = "",
    links: list[str] | None = None,
) -> Finding:
    """Move the finding along its workflow (TRANSITIONS); `evidence` (and its `links`) is
    recorded as remediation evidence first. 409 for a step the workflow does not allow."""
    if not any(user_can(actor, capability) for capability in FINDING_CAPABILITIES):
        raise NotAllowed("Your roles do not allow you to work on findings.")
    if status not in Status.values:
        raise InvalidInput(
            "Not a status.", extra={"status": [f"One of: {', '.join(Status.values)}."]}
        )
    evidence = text_checked(evidence, "evidence", limit=MAX_TEXT, required=False)
    links = links_checked(links)
    if links and not evidence:
        raise InvalidInput(
            "Links go with evidence.", extra={"evidence": ["Say what the links show."]}
        )
    finding = finding_lock(finding_id)
    previous = finding.status
    refusal = _refusal(actor, finding, previous, status)
    if refusal is not None:
        raise refusal
    reopening = (previous, status) in REOPENING
    say = COMMENT_NEEDED.get(status) or ("Say why the finding is reopened." if reopening else None)
    comment = text_checked(comment, "comment", say=say, limit=MAX_TEXT, required=say is not None)
    has_evidence = finding.timeline.filter(kind=FindingEvent.Kind.EVIDENCE).exists()
    if status == Status.REMEDIATED and not (evidence or has_evidence):
        raise InvalidInput(
            "Remediated needs remediation evidence.",
            extra={"evidence": ["Say (and link) what shows the finding is remediated."]},
        )
    if evidence:
        _evidence_add(finding, actor, evidence, links)
    finding.status = status
    if status == Status.REMEDIATED:
        finding.remediated_by = actor
    elif status in (Status.OPEN, Status.IN_REMEDIATION):
        finding.remediated_by = None
    finding.closed_at = timezone.now() if status == Status.CLOSED else None
    set_change_reason(finding, f"{'reopened ' if reopening else ''}{previous} -> {status}")
    finding.save(update_fields=["status", "remediated_by", "closed_at"])
    FindingEvent.objects.create(
        finding=finding,
        actor=actor,
        kind=FindingEvent.Kind.STATUS_CHANGED,
        from_status=previous,
        to_status=status,
        message=comment,
    )
    finding_audit(
        finding,
        "status_changed",
        actor,
        previous=previous,
        comment=comment,
        evidence=bool(evidence),
    )
    return finding


@transaction.atomic
def finding_evidence_add(
    *, actor: Any, finding_id: int, evidence: str, links: list[str] | None = None
) -> FindingEvent:
    """Add remediation evidence (text, links) to an unsettled finding; 409 once it is closed
    or its risk accepted."""
    require(actor, Capability.WORK_FINDINGS, "work on findings")
    evidence = text_checked(
        evidence, "evidence", say="Say what the evidence shows.", limit=MAX_TEXT
    )
    links = links_checked(links)
    finding = finding_lock(finding_id)
    if not finding.is_open:
        raise Conflict(f"Finding #{finding.pk} is {finding.status}; reopen it to add evidence.")
    event = _evidence_add(finding, actor, evidence, links)
    finding_audit(finding, "evidence_added", actor, evidence=evidence, links=links)
    return event
