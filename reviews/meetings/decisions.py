"""What the board decides in a meeting, and the action items it leaves behind.

Without quorum (the board's own number of present voting members) there is no decision.
A board decision to approve or reject a promotion request is carried out as one sign-off
per present voting member, each through `reviews.services.signoff_create` with that member
as the actor: self-approval, the signing roles, the policy's quorum and the card hash hold
exactly as they do outside a meeting. A member the service refuses is named in the decision
with the service's reason; nobody is skipped silently. A finding (with its severity) is
raised through the findings service (finding_decisions.py), in the same transaction: if
the finding is refused, no decision is stored either.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from django.db import transaction
from django.utils import timezone

from governance.errors import ApplicationError, Conflict, InvalidInput, NotAllowed
from governance.locking import retry_on_lock_conflict
from governance.roles import Capability, user_can
from governance.services import require
from models_registry.models import ModelVersion, RegisteredModel
from monitoring.models import Incident
from reviews.meeting_models import AgendaItem, Attendance, Decision, Meeting
from reviews.meetings.finding_decisions import finding_from_decision, finding_problems
from reviews.meetings.services import MANAGE, _audit, _require_status, _save, lock_meeting
from reviews.models import PromotionRequest
from reviews.services import signoff_create


def present_voters(meeting: Meeting) -> list[Attendance]:
    return list(
        meeting.attendance.filter(present=True, voting=True)
        .select_related("member__user")
        .order_by("member__user__username")
    )


def quorum_refusal(meeting: Meeting) -> Conflict | None:
    """Why the board cannot decide now, or None when it has its quorum."""
    present = len(present_voters(meeting))
    if present < meeting.board.quorum:
        return Conflict(
            f"No quorum: {present} voting member(s) present, {meeting.board.quorum} needed."
        )
    return None


def _links(
    item: AgendaItem | None,
    request: PromotionRequest | None,
    incident: Incident | None,
    version: ModelVersion | None,
    model: RegisteredModel | None,
) -> dict[str, Any]:
    """What the decision concerns: the named objects, else what its agenda item concerns."""
    if item is not None:
        request = request or item.request
        incident = incident or item.incident
        version = version or item.version
        model = model or item.model
    if request is not None:
        version = version or request.model_version
    if incident is not None:
        version = version or incident.version
        model = model or incident.model
    if version is not None:
        model = model or version.model
    return {"request": request, "incident": incident, "version": version, "model": model}


def _sign_as_board(decision: Decision, voters: list[Attendance], recorder: Any) -> None:
    """Each present voter's sign-off through the one service; refusals are recorded."""
    meeting = decision.meeting
    comment = (
        f"Board decision at meeting #{meeting.pk} ({meeting.title}), recorded by"
        f" {recorder.username}. {decision.text}"
    )
    for attendance in voters:
        member = attendance.member.user
        try:
            with transaction.atomic():
                sign_off = signoff_create(
                    actor=member,
                    request_id=decision.request_id,
                    decision=decision.kind,
                    comment=comment,
                )
        except ApplicationError as refusal:
            decision.refused.append(
                {
                    "username": member.username,
                    "status": refusal.status_code,
                    "reason": refusal.detail,
                }
            )
        else:
            decision.signed.append(
                {"username": member.username, "decision": decision.kind, "sign_off": sign_off.pk}
            )


@retry_on_lock_conflict
@transaction.atomic
def decision_record(
    *,
    actor: Any,
    meeting_id: int,
    kind: str,
    text: str,
    item_id: int | None = None,
    request: PromotionRequest | None = None,
    incident: Incident | None = None,
    version: ModelVersion | None = None,
    model: RegisteredModel | None = None,
    owner: Any = None,
    due_date: date | None = None,
    severity: str | None = None,
) -> Decision:
    """Record what the board decided. `owner` and `due_date` belong to an action item, or
    to the finding a decision of kind finding raises (with its `severity`, required)."""
    require(actor, Capability.MANAGE_MEETINGS, MANAGE)
    if kind not in Decision.Kind.values:
        raise InvalidInput(
            "Unknown kind of decision.", extra={"kind": [f"One of: {', '.join(Decision.Kind)}."]}
        )
    meeting = lock_meeting(meeting_id)
    _require_status(meeting, Meeting.Status.IN_PROGRESS, doing="decisions are taken while it runs")
    item = None
    if item_id is not None:
        item = meeting.items.filter(pk=item_id).first()
        if item is None:
            raise InvalidInput("No such item on this agenda.", extra={"item": ["Not on it."]})
    links = _links(item, request, incident, version, model)
    problems = _problems(kind, text, links, owner, due_date)
    if kind == Decision.Kind.FINDING:
        problems.update(finding_problems(severity, links))
    elif severity:
        problems["severity"] = ["Only a decision of kind finding has a severity."]
    if problems:
        raise InvalidInput("The decision is not complete.", extra=problems)
    refusal = quorum_refusal(meeting)
    if refusal is not None:
        raise refusal
    voters = present_voters(meeting)
    decision = Decision(
        meeting=meeting,
        item=item,
        kind=kind,
        text=text.strip(),
        owner=owner if kind == Decision.Kind.ACTION_ITEM else None,
        due_date=due_date if kind == Decision.Kind.ACTION_ITEM else None,
        status=Decision.Status.OPEN if kind == Decision.Kind.ACTION_ITEM else "",
        present_voters=[a.member.user.username for a in voters],
        recorded_by=actor,
        **links,
    )
    if kind in Decision.SIGNING_KINDS:
        _sign_as_board(decision, voters, actor)
        status = PromotionRequest.objects.values_list("status", flat=True)
        decision.request_status = status.get(pk=decision.request_id)
    if kind == Decision.Kind.FINDING:
        decision.finding = finding_from_decision(
            decision, severity=str(severity), owner=owner, due_date=due_date
        )
    _save(decision, f"{kind} recorded by {actor.username}")
    _audit(
        "recorded",
        decision,
        actor=actor,
        meeting=meeting.pk,
        kind=kind,
        request=decision.request_id,
        incident=decision.incident_id,
        finding=decision.finding_id,
        severity=decision.finding.severity if decision.finding else None,
        signed=[s["username"] for s in decision.signed],
        refused=decision.refused,
    )
    return decision


def _problems(
    kind: str, text: str, links: dict[str, Any], owner: Any, due_date: date | None
) -> dict[str, list[str]]:
    problems: dict[str, list[str]] = {}
    if not text.strip():
        problems["text"] = ["Say what was decided."]
    if kind in Decision.SIGNING_KINDS and links["request"] is None:
        problems["request"] = ["An approval or rejection names the promotion request."]
    if kind == Decision.Kind.ACTION_ITEM:
        if owner is None:
            problems["owner"] = ["An action item has an owner."]
        elif not user_can(owner, Capability.READ):
            problems["owner"] = [f"{owner.username} has no role here."]
        if due_date is None:
            problems["due_date"] = ["An action item has a due date."]
    return problems


@transaction.atomic
def action_item_complete(*, actor: Any, decision_id: int, note: str = "") -> Decision:
    """Mark an action item done (its owner or whoever runs meetings); it leaves the agendas."""
    item = Decision.objects.select_for_update().filter(pk=decision_id).first()
    if item is None or item.kind != Decision.Kind.ACTION_ITEM:
        raise InvalidInput("No such action item.", extra={"decision": ["Not an action item."]})
    if item.owner_id != actor.pk and not user_can(actor, Capability.MANAGE_MEETINGS):
        raise NotAllowed("Only the owner, or whoever runs meetings, completes an action item.")
    if item.status == Decision.Status.DONE:
        raise Conflict(f"Action item #{item.pk} is done already.")
    item.status = Decision.Status.DONE
    item.done_at = timezone.now()
    item.done_note = note
    _save(item, f"done ({actor.username})")
    _audit("done", item, actor=actor, note=note)
    return item
