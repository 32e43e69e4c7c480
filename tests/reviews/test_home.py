"""Home: what waits for me (sign-offs, my requests, action items, incidents and findings I
own), models at risk with their reasons, and recent deployments."""

from __future__ import annotations

import pytest
from django.utils import timezone

from governance.audit_context import Origin, acting_as
from monitoring.models import Incident
from monitoring.services import incident_assign, incident_open
from reviews import home
from reviews.finding_services import finding_raise
from reviews.services import promotion_execute, promotion_request_create, signoff_create
from tests.reviews.meeting_world import meeting_rows
from tests.reviews.review_board_data import days_ago, registered_on

pytestmark = pytest.mark.django_db


def section(html: str, section_id: str) -> str:
    return html.split(f'id="{section_id}"')[1].split("</section>")[0].split("</table>")[0]


@pytest.fixture
def world(users, make_model, make_version):
    churn = make_model(name="churn", risk_tier="low")
    credit = registered_on(make_model(name="credit", risk_tier="high"), days_ago(400))
    version = make_version(churn)
    with acting_as(origin=Origin.SYSTEM):
        request = promotion_request_create(actor=users["ds"], version=version, justification="x")
        signoff_create(actor=users["validator"], request_id=request.pk, decision="approve")
        promotion_execute(actor=users["ds"], request_id=request.pk)
        incident = incident_open(
            model=credit,
            severity=Incident.Severity.CRITICAL,
            source=Incident.Source.DRIFT,
            title="Income drifted",
            description="",
        )
        finding = finding_raise(
            actor=users["validator"],
            model=credit,
            title="Recall low for young applicants",
            description="Recall 0.41.",
            severity="high",
            owner=users["ds"],
            due_date=timezone.localdate(),
        )
    rows = meeting_rows(users, model=churn)  # an action item owned by dana
    return {"incident": incident, "finding": finding, "rows": rows}


def test_models_at_risk_say_why(world):
    (risk, *others) = home.models_at_risk(today=timezone.localdate())
    assert others == []
    assert risk.model.name == "credit"
    assert risk.reasons == [
        f"critical incident #{world['incident'].pk}",
        risk.reasons[1],
        f"high finding #{world['finding'].pk}",
    ]
    assert risk.reasons[1].startswith("revalidation overdue by ")


def test_a_data_scientist_sees_what_is_theirs(client, users, world):
    with acting_as(origin=Origin.SYSTEM):
        incident_assign(
            actor=users["compliance"], incident_id=world["incident"].pk, owner=users["ds"]
        )
    client.force_login(users["ds"])
    html = client.get("/").content.decode()
    assert "Walk every route." in section(html, "my-action-items")
    assert f"#{world['incident'].pk} Income drifted" in section(html, "my-incidents")
    assert "Recall low for young applicants" in section(html, "my-findings")
    assert "credit" in section(html, "at-risk")
    deployments = section(html, "deployments")
    assert "churn" in deployments and "v1" in deployments


def test_someone_who_owns_nothing_sees_no_to_do_section(client, users, world):
    client.force_login(users["board"])
    html = client.get("/").content.decode()
    assert 'id="yours"' not in html
    assert "credit" in section(html, "at-risk")


def test_models_at_risk_rank_by_reasons_and_stop_at_the_limit(users, make_model):
    from tests.reviews.review_board_data import raise_finding, validate

    today = timezone.localdate()
    many = make_model(name="many", risk_tier="low")
    for severity in ("critical", "high", "high"):
        raise_finding(many, users["validator"], severity=severity)
    raise_finding(many, users["validator"], severity="medium")  # not a reason
    one = make_model(name="one", risk_tier="low")
    raise_finding(one, users["validator"], severity="high")
    late = registered_on(make_model(name="late", risk_tier="high"), days_ago(400))
    validate(late, users["validator"], outcome="failed")  # a failure keeps it overdue
    fine = registered_on(make_model(name="fine", risk_tier="high"), days_ago(400))
    validate(fine, users["validator"], on=days_ago(10))
    found = home.models_at_risk(today=today)
    assert [(r.model.name, len(r.reasons)) for r in found] == [
        ("many", 3),
        ("late", 1),
        ("one", 1),
    ]
    assert found[0].reasons[0].startswith("critical finding #")
    assert [r.model.name for r in home.models_at_risk(today=today, limit=2)] == ["many", "late"]
