"""A version's card lists its open incidents and counts the resolved ones."""

from __future__ import annotations

import pytest
from django.test import TestCase

from monitoring.services import incident_open, incident_resolve

pytestmark = pytest.mark.django_db


def test_incidents_of_a_version_appear_in_its_card_and_leave_when_resolved(
    users, make_model, make_version
):
    version = make_version(make_model())
    with TestCase.captureOnCommitCallbacks(execute=True):
        incident = incident_open(
            model=version.model,
            version=version,
            severity="critical",
            source="canary",
            title="Canary v1 stopped: latency",
            description="p95 2.1x production",
        )
    card = version.card_revisions.first().content
    assert card["monitoring"]["open_incidents"][0]["title"] == "Canary v1 stopped: latency"
    assert card["monitoring"]["resolved_incidents"] == 0
    with TestCase.captureOnCommitCallbacks(execute=True):
        incident_resolve(actor=users["compliance"], incident_id=incident.pk, comment="fixed")
    card = version.card_revisions.first().content
    assert card["monitoring"] == {"open_incidents": [], "resolved_incidents": 1}
    assert version.card_revisions.count() == 3
