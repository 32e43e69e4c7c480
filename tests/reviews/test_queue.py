"""The sign-off queue at a glance: each open request's progress and wait, and a data
scientist's own requests in a section of their own."""

from __future__ import annotations

import pytest

from reviews.models import PromotionRequest
from reviews.policy import policy_evaluate
from reviews.services import promotion_request_create, signoff_create

pytestmark = pytest.mark.django_db


def requested(users, make_model, make_version, tier: str, name: str) -> PromotionRequest:
    version = make_version(make_model(name=name, risk_tier=tier))
    return promotion_request_create(actor=users["ds"], version=version, justification="Better.")


def rows(html: str, table_id: str) -> str:
    return html.split(f'id="{table_id}"')[1].split("</table>")[0]


def test_progress_names_the_approvals_and_the_roles_still_missing(users, make_model, make_version):
    high = requested(users, make_model, make_version, "high", "credit")
    assert policy_evaluate(high).progress == "0 of 3, needs a validator and a compliance officer"
    signoff_create(actor=users["validator"], request_id=high.pk, decision="approve")
    signoff_create(actor=users["board"], request_id=high.pk, decision="approve")
    assert policy_evaluate(high).progress == "2 of 3, needs a compliance officer"
    signoff_create(actor=users["compliance"], request_id=high.pk, decision="approve")
    assert policy_evaluate(high).progress == "3 of 3"
    low = requested(users, make_model, make_version, "low", "churn")
    signoff_create(actor=users["validator"], request_id=low.pk, decision="reject", comment="No")
    assert policy_evaluate(low).progress == "rejected"


def test_a_reviewer_sees_progress_and_wait_in_the_queue(client, users, make_model, make_version):
    request = requested(users, make_model, make_version, "medium", "credit")
    signoff_create(actor=users["board"], request_id=request.pk, decision="approve")
    client.force_login(users["validator"])
    awaiting = rows(client.get("/").content.decode(), "awaiting")
    assert "credit v1" in awaiting
    assert "1 of 2, needs a validator" in awaiting
    assert "0\xa0minutes" in awaiting


def test_a_data_scientist_sees_their_own_requests_apart(client, users, make_model, make_version):
    mine = requested(users, make_model, make_version, "low", "churn")
    version = make_version(make_model(name="other-model"))
    theirs = promotion_request_create(actor=users["ds2"], version=version, justification="x")
    client.force_login(users["ds"])
    html = client.get("/").content.decode()
    assert f"#{mine.pk}<" in rows(html, "mine")
    assert "0 of 1" in rows(html, "mine")
    assert f"#{theirs.pk}<" in rows(html, "other-open")
    assert f"#{theirs.pk}<" not in rows(html, "mine")
    assert f"#{mine.pk}<" not in rows(html, "other-open")
