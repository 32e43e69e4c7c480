"""Findings: who raises them, the workflow and who may take each step, the timeline and
history it leaves, and `findings_open` as agendas will read it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from governance.errors import Conflict, InvalidInput, NotAllowed, NotFound
from governance.models import AuditEvent
from reviews.finding_models import Finding, FindingEvent
from reviews.finding_selectors import findings_open
from reviews.finding_services import finding_evidence_add, finding_status_change
from tests.reviews.review_board_data import raise_finding, validate

pytestmark = pytest.mark.django_db


@pytest.fixture
def model(make_model, make_version):
    model = make_model()
    make_version(model)
    return model


def move(finding: Finding, who, status: str, **kw) -> Finding:
    return finding_status_change(actor=who, finding_id=finding.pk, status=status, **kw)


def status_of(finding: Finding) -> str:
    return Finding.objects.get(pk=finding.pk).status


# --- raising --------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["validator", "board", "compliance"])
def test_validators_the_board_and_compliance_raise_findings(model, users, who):
    finding = raise_finding(model, users[who], version=1, links=["https://jira.example.org/R-1"])

    assert (finding.status, finding.severity, finding.version.version) == ("open", "high", 1)
    assert finding.owner == users["ds"]  # the model's owner by default
    assert finding.raised_by == users[who]
    assert [e.kind for e in finding.timeline.all()] == ["raised"]
    assert finding.history.get().history_change_reason == "raised (high)"
    event = AuditEvent.objects.get(action="finding.raised")
    assert event.data["model"] == model.name and event.data["owner"] == "dana"


@pytest.mark.parametrize("who", ["ds", "ci", "outsider"])
def test_other_roles_may_not_raise_findings(model, users, who):
    with pytest.raises(NotAllowed):
        raise_finding(model, users[who])
    assert not Finding.objects.exists()


def test_a_model_owned_by_ci_gets_an_unowned_finding_until_one_is_given(make_model, users):
    model = make_model("ci-model", actor=users["ci"])
    assert raise_finding(model, users["validator"]).owner is None
    assert raise_finding(model, users["validator"], owner=users["ds2"]).owner == users["ds2"]


@pytest.mark.parametrize(
    ("fields", "named"),
    [
        ({"severity": "dire"}, "severity"),
        ({"title": " "}, "title"),
        ({"title": "x" * 201}, "title"),
        ({"description": ""}, "description"),
        ({"version": 9}, "version"),
        ({"due_date": timezone.localdate() - timedelta(days=1)}, "due_date"),
        ({"links": ["ftp://files.example.org/x"]}, "links"),
        ({"owner": "ci"}, "owner"),
        ({"owner": "outsider"}, "owner"),
    ],
)
def test_a_bad_finding_is_refused_and_stores_nothing(model, users, fields, named):
    if "owner" in fields:
        fields["owner"] = users[fields["owner"]]
    with pytest.raises(InvalidInput) as refused:
        raise_finding(model, users["validator"], **fields)
    assert named in refused.value.extra
    assert not Finding.objects.exists() and not FindingEvent.objects.exists()


def test_a_finding_links_only_a_validation_of_its_model_that_did_not_pass(model, make_model, users):
    other = make_model("fraud")
    passed = validate(model, users["validator"])
    elsewhere = validate(other, users["validator"], outcome="failed")
    for validation in (passed, elsewhere):
        with pytest.raises(InvalidInput) as refused:
            raise_finding(model, users["validator"], validation=validation)
        assert "validation" in refused.value.extra
    assert not Finding.objects.exists()


# --- the workflow ---------------------------------------------------------------------


def test_remediated_needs_evidence_and_someone_else_verifies_and_closes(model, users):
    finding = raise_finding(model, users["validator"])
    move(finding, users["ds"], "in_remediation", comment="On it")

    with pytest.raises(InvalidInput) as refused:
        move(finding, users["ds"], "remediated")
    assert "evidence" in refused.value.extra and status_of(finding) == "in_remediation"

    move(
        finding,
        users["board"],
        "remediated",
        evidence="Retrained with the 2026 cohort; recall 0.78.",
        links=["https://mlflow.example.org/runs/abc"],
    )
    with pytest.raises(NotAllowed, match="someone else verifies"):
        move(finding, users["board"], "closed", comment="done")
    with pytest.raises(NotAllowed):  # data scientists do not verify at all
        move(finding, users["ds"], "closed", comment="done")
    with pytest.raises(InvalidInput):
        move(finding, users["validator"], "closed")
    move(finding, users["validator"], "closed", comment="Checked the run and the new recall.")

    finding.refresh_from_db()
    assert finding.status == "closed" and finding.closed_at is not None
    assert finding.remediated_by == users["board"]
    steps = [(e.kind, e.from_status, e.to_status) for e in finding.timeline.all()]
    assert steps == [
        ("raised", "", "open"),
        ("status_changed", "open", "in_remediation"),
        ("evidence", "", ""),
        ("status_changed", "in_remediation", "remediated"),
        ("status_changed", "remediated", "closed"),
    ]
    reasons = [h.history_change_reason for h in finding.history.order_by("history_id")]
    assert reasons == [
        "raised (high)",
        "open -> in_remediation",
        "in_remediation -> remediated",
        "remediated -> closed",
    ]
    actions = list(
        AuditEvent.objects.filter(object_type="finding").values_list("action", flat=True)
    )
    assert actions.count("finding.status_changed") == 3


def test_the_board_accepts_a_risk_with_a_reason_but_not_the_owner(model, users):
    owned_by_board = raise_finding(model, users["validator"], owner=users["board"])
    finding = raise_finding(model, users["validator"])

    with pytest.raises(NotAllowed):
        move(finding, users["ds"], "accepted_risk", comment="meh")
    with pytest.raises(NotAllowed):
        move(finding, users["validator"], "accepted_risk", comment="meh")
    with pytest.raises(NotAllowed, match="You own this finding"):
        move(owned_by_board, users["board"], "accepted_risk", comment="fine by me")
    with pytest.raises(InvalidInput):
        move(finding, users["board"], "accepted_risk")
    move(finding, users["board"], "accepted_risk", comment="Segment is 0.3% of traffic; Q2 fix.")

    assert status_of(finding) == "accepted_risk"
    assert finding not in findings_open()
    with pytest.raises(Conflict):
        finding_evidence_add(actor=users["ds"], finding_id=finding.pk, evidence="late")
    with pytest.raises(InvalidInput):
        move(finding, users["compliance"], "open")
    move(finding, users["compliance"], "open", comment="The segment grew to 4%.")
    assert status_of(finding) == "open"


@pytest.mark.parametrize(
    ("start", "target"),
    [
        ("open", "closed"),
        ("open", "open"),
        ("in_remediation", "closed"),
        ("remediated", "accepted_risk"),
        ("closed", "remediated"),
    ],
)
def test_steps_the_workflow_does_not_allow_are_409(model, users, start, target):
    finding = raise_finding(model, users["validator"])
    Finding.objects.filter(pk=finding.pk).update(status=start)
    with pytest.raises(Conflict):
        move(finding, users["compliance"], target, comment="because", evidence="e")
    assert status_of(finding) == start


def test_a_bad_status_or_unknown_finding_or_role_is_refused(model, users):
    finding = raise_finding(model, users["validator"])
    with pytest.raises(InvalidInput):
        move(finding, users["ds"], "fixed")
    with pytest.raises(InvalidInput):  # links say nothing without evidence
        move(finding, users["ds"], "in_remediation", links=["https://example.org"])
    with pytest.raises(NotAllowed):
        move(finding, users["ci"], "in_remediation")
    with pytest.raises(NotFound, match="No finding #999"):
        finding_status_change(actor=users["ds"], finding_id=999, status="in_remediation")
    assert status_of(finding) == "open" and finding.timeline.count() == 1


def test_evidence_goes_on_the_timeline_of_an_unsettled_finding(model, users):
    finding = raise_finding(model, users["validator"])

    finding_evidence_add(
        actor=users["ds"],
        finding_id=finding.pk,
        evidence="Fairness report by age band",
        links=["https://reports.example.org/fair"],
    )
    with pytest.raises(InvalidInput):
        finding_evidence_add(actor=users["ds"], finding_id=finding.pk, evidence=" ")
    with pytest.raises(NotAllowed):
        finding_evidence_add(actor=users["ci"], finding_id=finding.pk, evidence="x")

    entries = finding.timeline.filter(kind="evidence")
    assert [(e.message, e.links) for e in entries] == [
        ("Fairness report by age band", ["https://reports.example.org/fair"])
    ]
    assert AuditEvent.objects.filter(action="finding.evidence_added").count() == 1
    move(finding, users["ds"], "remediated")  # the evidence on record is enough


# --- findings_open --------------------------------------------------------------------


def test_findings_open_gravest_first_by_model_and_minimum_severity(model, make_model, users):
    other = make_model("fraud")
    soon = timezone.localdate() + timedelta(days=3)
    low = raise_finding(model, users["validator"], severity="low")
    high_later = raise_finding(model, users["validator"], severity="high")
    high_soon = raise_finding(model, users["validator"], severity="high", due_date=soon)
    critical = raise_finding(other, users["validator"], severity="critical")
    remediated = raise_finding(model, users["validator"], severity="medium")
    move(remediated, users["ds"], "remediated", evidence="fixed")
    closed = raise_finding(model, users["validator"], severity="critical")
    move(closed, users["board"], "accepted_risk", comment="accepted")

    assert list(findings_open()) == [critical, high_soon, high_later, remediated, low]
    assert list(findings_open(model=model, min_severity="high")) == [high_soon, high_later]
    assert list(findings_open(min_severity="critical")) == [critical]
    with pytest.raises(InvalidInput):
        findings_open(min_severity="severe")


def test_a_finding_is_overdue_once_its_due_date_passed_while_unsettled(model, users):
    finding = raise_finding(model, users["validator"], due_date=timezone.localdate())
    Finding.objects.filter(pk=finding.pk).update(due_date=timezone.localdate() - timedelta(days=1))
    finding.refresh_from_db()
    assert finding.is_overdue
    move(finding, users["board"], "accepted_risk", comment="accepted")
    finding.refresh_from_db()
    assert not finding.is_overdue
