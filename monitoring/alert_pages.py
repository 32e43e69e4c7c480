"""What the alert pages show, shaped for templates from what the rule engine and the
services stored: a rule in words, and the alert's history from its audit events."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.utils.dateparse import parse_datetime

from governance.models import AuditEvent
from monitoring.models import Alert
from monitoring.rules import Rule, RuleError

# Audit action (after "alert.") -> how the history calls it, and which data key is its note.
HISTORY_WORDS = {
    "opened": ("Opened", "reason"),
    "incident_linked": ("Joined an incident", ""),
    "acknowledged": ("Acknowledged", "comment"),
    "silenced": ("Silenced", "reason"),
    "unsilenced": ("Unsilenced", "comment"),
    "silence_expired": ("Silence ended", ""),
    "resolved": ("Resolved", "reason"),
}


def rule_described(alert: Alert) -> str:
    """`drift_share >= 0.3`, as the rule engine says it (Rule.describe); from the alert's
    own columns if its stored rule cannot be read as a rule."""
    try:
        return Rule.from_dict(alert.rule).describe()
    except (RuleError, TypeError, AttributeError):
        return f"{alert.metric} {alert.comparison} {alert.threshold:g}"


@dataclass(frozen=True)
class HistoryEntry:
    at: datetime
    kind: str
    title: str
    who: str  # empty: the system (the rule engine, the sweep)
    until: datetime | None
    incident_id: int | None
    note: str


def history_entries(events: list[AuditEvent]) -> list[HistoryEntry]:
    entries = []
    for event in events:
        kind = event.action.removeprefix("alert.")
        title, note_key = HISTORY_WORDS.get(kind, (kind, ""))
        data = event.data if isinstance(event.data, dict) else {}
        until = parse_datetime(data["until"]) if isinstance(data.get("until"), str) else None
        incident = data.get("incident")
        entries.append(
            HistoryEntry(
                at=event.occurred_at,
                kind=kind,
                title=title,
                who=event.actor_username,
                until=until,
                incident_id=incident if isinstance(incident, int) else None,
                note=str(data.get(note_key) or "") if note_key else "",
            )
        )
    return entries
