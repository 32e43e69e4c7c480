"""A finding's owner and due date change after it was raised, with a reason: through the
service, PATCH /api/v1/findings/{id}/ and the Assign form of its page. Each change is on
its timeline, in its history and in the audit chain; bad input changes nothing."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from governance.errors import InvalidInput, NotAllowed
from governance.models import AuditEvent
from reviews.finding_assignment import finding_assign
from reviews.finding_models import Finding, FindingEvent
from reviews.finding_services import finding_status_change
from tests.conftest import assert_json_error, make_user
from tests.reviews.review_board_data import raise_finding

pytestmark = pytest.mark.django_db


def in_days(days: int) -> Any:
    return timezone.localdate() + timedelta(days=days)


@pytest.fixture
def finding(make_model, make_version, users) -> Finding:
    model = make_model(risk_tier="high")  # owned by dana (ds), who then owns the finding
    make_version(model)
    return raise_finding(model, users["validator"], due_date=in_days(30))


def url(finding: Finding) -> str:
    return f"/api/v1/findings/{finding.pk}/"


def stored(finding: Finding) -> tuple[Any, ...]:
    """What a refused assignment must leave as it was."""
    finding.refresh_from_db()
    return (
        finding.owner_id,
        finding.due_date,
        finding.timeline.count(),
        finding.history.count(),
        AuditEvent.objects.filter(action="finding.assigned").count(),
    )


def test_a_new_owner_and_due_date_go_on_the_timeline_history_and_audit(finding, users):
    assert finding.owner == users["ds"]

    _, changed = finding_assign(
        actor=users["board"],
        finding_id=finding.pk,
        owner=users["ds2"],
        due_date=in_days(60),
        reason="  Dana is on leave until March.  ",
    )

    assert changed
    finding.refresh_from_db()
    assert (finding.owner, finding.due_date) == (users["ds2"], in_days(60))
    event = finding.timeline.last()
    assert event.kind == FindingEvent.Kind.ASSIGNED and event.actor == users["board"]
    assert event.message == "Dana is on leave until March."
    assert event.data == {
        "owner": {"old": "dana", "new": "dave"},
        "due_date": {"old": in_days(30).isoformat(), "new": in_days(60).isoformat()},
    }
    latest = finding.history.first()
    assert latest.history_change_reason.startswith("assigned: owner dana -> dave")
    audit = AuditEvent.objects.get(action="finding.assigned")
    assert audit.data["reason"] == "Dana is on leave until March."
    assert audit.data["changes"]["owner"] == {"old": "dana", "new": "dave"}


def test_the_same_values_again_change_and_record_nothing(finding, users):
    before = stored(finding)

    _, changed = finding_assign(
        actor=users["ds"], finding_id=finding.pk, owner=users["ds"], reason="No change."
    )

    assert not changed and stored(finding) == before


@pytest.mark.parametrize(
    ("given", "field"),
    [
        ({"owner": "nobody-here"}, "owner"),
        ({"owner": "ivy"}, "owner"),  # inactive
        ({"owner": "ci-bot"}, "owner"),  # a role that does not work on findings
        ({"owner": "otto"}, "owner"),  # no role at all
        ({"due_date": "2020-01-01"}, "due_date"),
        ({"owner": "dave", "reason": "   "}, "reason"),
        ({"owner": "dave", "reason": "x" * 2001}, "reason"),
        ({"due_date": None}, "due_date"),
        ({"owner": "dave", "colour": "red"}, "colour"),
        ({}, "owner"),  # nothing to change
    ],
)
def test_bad_input_is_a_400_naming_the_field_and_stores_nothing(api, finding, given, field):
    ivy = make_user("ivy", "data_scientist")
    ivy.is_active = False
    ivy.save()
    before = stored(finding)
    body = {"reason": "Handover.", **given}

    body = assert_json_error(api("board").patch(url(finding), body, format="json"), 400)

    assert field in body
    assert stored(finding) == before


def test_a_missing_reason_is_a_400(api, finding):
    before = stored(finding)

    body = assert_json_error(
        api("board").patch(url(finding), {"owner": "dave"}, format="json"), 400
    )

    assert body["reason"] == ["This field is required."]
    assert stored(finding) == before


def test_the_api_assigns_and_answers_the_finding_with_its_timeline(api, finding):
    body = {"owner": "vince", "due_date": in_days(14).isoformat(), "reason": "Validator fixes."}

    response = api("compliance").patch(url(finding), body, format="json")

    assert response.status_code == 200, response.content
    answer = response.json()
    assert answer["owner"] == "vince" and answer["due_date"] == in_days(14).isoformat()
    assert answer["timeline"][-1]["kind"] == "assigned"
    assert answer["timeline"][-1]["data"]["owner"] == {"old": "dana", "new": "vince"}
    assert answer["timeline"][-1]["actor"] == "carla"


def test_roles_that_do_not_work_on_findings_get_403_and_unknown_findings_404(api, finding):
    before = stored(finding)
    body = {"owner": "dave", "reason": "Handover."}

    assert_json_error(api("ci").patch(url(finding), body, format="json"), 403)
    assert_json_error(api("outsider").patch(url(finding), body, format="json"), 403)
    assert_json_error(api(None).patch(url(finding), body, format="json"), 401)
    assert_json_error(api("board").patch("/api/v1/findings/999999/", body, format="json"), 404)
    assert stored(finding) == before
    with pytest.raises(NotAllowed):
        finding_assign(actor=make_user("ci2", "ci"), finding_id=finding.pk, owner=None, reason="x")


def test_a_settled_finding_is_reopened_before_it_is_reassigned(api, finding, users):
    finding_status_change(
        actor=users["board"], finding_id=finding.pk, status="accepted_risk", comment="Pilot."
    )
    before = stored(finding)

    response = api("board").patch(url(finding), {"owner": "dave", "reason": "x"}, format="json")

    assert_json_error(response, 409)
    assert stored(finding) == before


def test_handing_a_finding_away_does_not_let_its_owner_accept_its_risk(finding, users):
    finding_assign(actor=users["ds"], finding_id=finding.pk, owner=users["board"], reason="Bella.")
    finding_assign(actor=users["board"], finding_id=finding.pk, owner=users["ds"], reason="Back.")

    with pytest.raises(NotAllowed, match="You owned this finding"):
        finding_status_change(
            actor=users["board"], finding_id=finding.pk, status="accepted_risk", comment="Fine."
        )
    finding_status_change(
        actor=users["board2"], finding_id=finding.pk, status="accepted_risk", comment="Fine."
    )


def test_the_service_reports_every_problem_at_once(finding, users):
    with pytest.raises(InvalidInput) as refused:
        finding_assign(
            actor=users["board"],
            finding_id=finding.pk,
            owner=users["ci"],
            due_date=in_days(-1),
            reason="",
        )
    assert set(refused.value.extra) == {"owner", "due_date", "reason"}


def test_the_schema_says_the_reason_is_required(api):
    answer = api("ci").get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    schema = json.loads(answer.content)
    body = schema["paths"]["/api/v1/findings/{id}/"]["patch"]["requestBody"]
    ref = body["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]

    assert schema["components"]["schemas"][ref]["required"] == ["reason"]


# --- The Assign form of the finding's page ------------------------------------------------


def client_for(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_page_offers_the_assign_form_to_those_who_may_assign(finding, users):
    page = client_for(users["ds"]).get(reverse("reviews:finding", args=[finding.pk]))
    ci_page = client_for(users["ci"]).get(reverse("reviews:finding", args=[finding.pk]))

    html = page.content.decode()
    assert 'id="assign-form"' in html
    assert '<option value="dave">dave</option>' in html  # a data scientist
    assert '<option value="vera">vera</option>' in html  # a validator
    assert 'value="ci-bot"' not in html and 'value="otto"' not in html
    assert 'id="assign-form"' not in ci_page.content.decode()


def test_assigning_from_the_page(finding, users):
    client = client_for(users["ds"])
    assign = reverse("reviews:finding-assign", args=[finding.pk])

    done = client.post(
        assign,
        {"owner": "dave", "due_date": in_days(45).isoformat(), "reason": "Dave owns the pipeline."},
        follow=True,
    )

    html = done.content.decode()
    assert f"Assigned: owner dave, due {in_days(45).isoformat()}." in html
    assert "owner dana → dave" in html and "Dave owns the pipeline." in html
    finding.refresh_from_db()
    assert finding.owner == users["ds2"]


def test_a_bad_assignment_from_the_page_says_why_and_changes_nothing(finding, users):
    client = client_for(users["ds"])
    assign = reverse("reviews:finding-assign", args=[finding.pk])
    before = stored(finding)

    no_reason = client.post(assign, {"owner": "dave", "reason": "  "}, follow=True)
    past = client.post(assign, {"due_date": "2020-01-01", "reason": "Oops."}, follow=True)
    forbidden = client_for(users["ci"]).post(assign, {"owner": "dave", "reason": "x"})

    assert "Nothing was changed. reason: This field is required." in no_reason.content.decode()
    assert "due_date: May not be in the past." in past.content.decode()
    assert forbidden.status_code == 403
    assert stored(finding) == before


def test_an_overdue_finding_changes_owner_from_the_page_keeping_its_due_date(finding, users):
    past = in_days(-5)
    Finding.objects.filter(pk=finding.pk).update(due_date=past)
    client = client_for(users["ds"])
    page = client.get(reverse("reviews:finding", args=[finding.pk])).content.decode()
    assert f'value="{past.isoformat()}"' in page  # the form starts from the current values

    done = client.post(
        reverse("reviews:finding-assign", args=[finding.pk]),
        {"owner": "dave", "due_date": past.isoformat(), "reason": "Dave takes it over."},
        follow=True,
    )

    assert "Assigned: owner dave" in done.content.decode()
    finding.refresh_from_db()
    assert (finding.owner, finding.due_date) == (users["ds2"], past)
    assert finding.timeline.last().data == {"owner": {"old": "dana", "new": "dave"}}
