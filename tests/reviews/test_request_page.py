"""The request page explains stale approvals and shows the card a closed request was decided on."""

from __future__ import annotations

import pytest
from django.test import TestCase

from models_registry.services import version_update_notes
from reviews.services import promotion_execute, promotion_request_create, signoff_create

pytestmark = pytest.mark.django_db


def edit_card(users, version, text: str) -> None:
    with TestCase.captureOnCommitCallbacks(execute=True):
        version_update_notes(actor=users["ds"], version=version, limitations=text)


def test_a_stale_approval_links_to_what_changed(client, users, make_model, make_version):
    version = make_version(make_model(risk_tier="medium"))
    request = promotion_request_create(actor=users["ds"], version=version, justification="x")
    signoff_create(actor=users["validator"], request_id=request.pk, decision="approve")
    edit_card(users, version, "Only for consumer accounts.")
    client.force_login(users["board"])
    html = client.get(f"/requests/{request.pk}/").content.decode()
    assert "Signed card r1; the card is now r2 (edited limitations)." in html
    assert "card/diff/?from=1&to=2" in html


def test_an_executed_request_shows_the_card_it_was_decided_on(
    client, users, make_model, make_version
):
    version = make_version(make_model(risk_tier="low"))
    request = promotion_request_create(actor=users["ds"], version=version, justification="x")
    signoff_create(actor=users["validator"], request_id=request.pk, decision="approve")
    with TestCase.captureOnCommitCallbacks(execute=True):
        promotion_execute(actor=users["ds"], request_id=request.pk)
    edit_card(users, version, "Found a gap after release.")
    client.force_login(users["board"])
    html = client.get(f"/requests/{request.pk}/").content.decode()
    assert 'id="card-as-decided"' in html
    assert "Found a gap after release." not in html
    assert "stale" not in html.split('id="sign-offs"')[1].split("</ul>")[0]
