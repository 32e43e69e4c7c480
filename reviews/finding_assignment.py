"""A finding's owner and due date, changed after it was raised, always with a reason.

Who: whoever may move a finding along its workflow (any of FINDING_CAPABILITIES, as
reviews/finding_services.py asks). The new owner must be an active user who works on
findings (`work_findings`: data scientists, validators, board members, compliance
officers); a new due date may not lie in the past, as when the finding is raised. A
settled finding (closed, risk accepted) is reopened before it is reassigned (409).

Each change is one `assigned` entry on the finding's timeline (old and new values, the
reason), a history row whose change reason says the same, and an audit event.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from django.db import transaction
from django.utils import timezone

from governance.errors import ApplicationError, Conflict, InvalidInput, NotAllowed
from governance.history import set_change_reason
from governance.roles import Capability, user_can, users_who_can
from governance.text import text_checked
from reviews.finding_models import Finding, FindingEvent
from reviews.finding_services import (
    FINDING_CAPABILITIES,
    finding_audit,
    finding_lock,
    finding_owner_problem,
)

MAX_REASON = 2000


def finding_owner_candidates() -> list[Any]:
    """Who may own a finding: what the assign form offers."""
    return users_who_can(Capability.WORK_FINDINGS)


def may_assign_findings(actor: Any) -> bool:
    return any(user_can(actor, capability) for capability in FINDING_CAPABILITIES)


def _problems(
    finding: Finding, owner: Any, due_date: date | None, reason: Any
) -> tuple[dict[str, list[str]], str]:
    """Every field's problem at once (a form shows them all), and the reason stripped. An
    overdue finding keeps its past due date when only its owner changes."""
    problems: dict[str, list[str]] = {}
    if owner is None and due_date is None:
        problems["owner"] = ["Give a new owner, a new due date or both."]
    if owner is not None and finding_owner_problem(owner):
        problems["owner"] = [str(finding_owner_problem(owner))]
    if due_date not in (None, finding.due_date) and due_date < timezone.localdate():
        problems["due_date"] = ["May not be in the past."]
    try:
        reason = text_checked(reason, "reason", limit=MAX_REASON)
    except ApplicationError as error:
        problems.update(error.extra)
    return problems, reason


def _name(user: Any) -> str | None:
    return user.get_username() if user is not None else None


@transaction.atomic
def finding_assign(
    *,
    actor: Any,
    finding_id: int,
    owner: Any = None,
    due_date: date | None = None,
    reason: str,
) -> tuple[Finding, bool]:
    """Give the finding to `owner` and/or a new `due_date` (None: leave it); (finding,
    changed). Values equal to the current ones change nothing and record nothing."""
    if not may_assign_findings(actor):
        raise NotAllowed("Your roles do not allow you to assign findings.")
    finding = finding_lock(finding_id)
    problems, reason = _problems(finding, owner, due_date, reason)
    if problems:
        raise InvalidInput("Nothing was changed: the assignment is not valid.", extra=problems)
    if not finding.is_open:
        raise Conflict(f"Finding #{finding.pk} is {finding.status}; reopen it to reassign it.")
    changes: dict[str, dict[str, Any]] = {}
    if owner is not None and owner.pk != finding.owner_id:
        changes["owner"] = {"old": _name(finding.owner), "new": _name(owner)}
        finding.owner = owner
    if due_date is not None and due_date != finding.due_date:
        old = finding.due_date.isoformat() if finding.due_date else None
        changes["due_date"] = {"old": old, "new": due_date.isoformat()}
        finding.due_date = due_date
    if not changes:
        return finding, False
    summary = "; ".join(f"{field} {c['old']} -> {c['new']}" for field, c in changes.items())
    set_change_reason(finding, f"assigned: {summary}: {reason}"[:100])
    finding.save(update_fields=["owner", "due_date"])
    FindingEvent.objects.create(
        finding=finding,
        actor=actor,
        kind=FindingEvent.Kind.ASSIGNED,
        message=reason,
        data=changes,
    )
    finding_audit(finding, "assigned", actor, changes=changes, reason=reason)
    return finding, True
