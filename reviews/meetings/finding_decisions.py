"""A board decision of kind finding: the board raises a Finding on the model the decision
concerns, through `reviews.finding_services.finding_raise` (the one service for findings:
its roles, owner and due-date rules hold as they do outside a meeting).

The finding then lives its own life (remediation, verification) and, while unsettled, is on
every later agenda of the board (reviews/meetings/board_sources.py, open findings).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from reviews.finding_models import Finding
from reviews.finding_services import finding_raise
from reviews.meeting_models import Decision

TITLE_LIMIT = 200  # Finding.title


def finding_problems(severity: str | None, links: dict[str, Any]) -> dict[str, list[str]]:
    """What a finding decision lacks before anything is stored (the finding service checks
    the rest, owner and due date among it, inside the same transaction)."""
    problems: dict[str, list[str]] = {}
    if not severity:
        problems["severity"] = ["A finding has a severity."]
    elif severity not in Finding.Severity.values:
        problems["severity"] = [f"One of: {', '.join(Finding.Severity.values)}."]
    if links["model"] is None:
        problems["model"] = ["A finding concerns a model: name it, or decide on its item."]
    return problems


def finding_title(text: str) -> str:
    """The decision's first line, cut to what a finding's title holds."""
    first = text.strip().splitlines()[0].strip()
    if len(first) <= TITLE_LIMIT:
        return first
    return first[: TITLE_LIMIT - 3].rstrip() + "..."


def finding_from_decision(
    decision: Decision, *, severity: str, owner: Any, due_date: date | None
) -> Finding:
    """Raise the decision's finding as whoever recorded the decision."""
    meeting = decision.meeting
    return finding_raise(
        actor=decision.recorded_by,
        model=decision.model,
        title=finding_title(decision.text),
        description=(
            f"{decision.text}\n\nRaised by {meeting.board.name} at meeting #{meeting.pk}"
            f" ({meeting.title})."
        ),
        severity=severity,
        version=decision.version.version if decision.version else None,
        owner=owner,
        due_date=due_date,
    )
