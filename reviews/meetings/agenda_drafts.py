"""What an agenda source takes (the context of the meeting being prepared) and gives (drafts
of items), shared by reviews/meetings/agenda_sources.py and board_sources.py."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from models_registry.models import ModelVersion, RegisteredModel
from monitoring.models import Incident
from reviews.meeting_models import Decision, Meeting
from reviews.models import PromotionRequest


@dataclass(frozen=True)
class AgendaContext:
    """What a source needs: the meeting, and the window since the board last met."""

    meeting: Meeting
    since: datetime
    now: datetime


@dataclass
class ItemDraft:
    """One generated agenda item before it is stored."""

    source: str
    title: str
    summary: str = ""
    data: dict[str, Any] = field(default_factory=dict)
    model: RegisteredModel | None = None
    version: ModelVersion | None = None
    request: PromotionRequest | None = None
    incident: Incident | None = None
    action_item: Decision | None = None
