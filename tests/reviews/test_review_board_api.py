"""Validations, revalidations and findings over the API: the answers, the filters, and the
refusals (400 naming the field and storing nothing, 403 for the wrong role, 404, 409)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from governance.services import user_token
from reviews.finding_models import Finding
from reviews.finding_services import finding_status_change
from reviews.revalidation_models import Validation
from tests.conftest import assert_json_error, make_user
from tests.reviews.review_board_data import days_ago, raise_finding, registered_on

pytestmark = pytest.mark.django_db

VALIDATIONS = "/api/v1/models/churn-classifier/validations/"
FINDINGS = "/api/v1/findings/"


@pytest.fixture
def model(make_model, make_version):
    model = make_model()
    make_version(model)
    return model


def status_url(finding: Finding) -> str:
    return f"{FINDINGS}{finding.pk}/status/"


# --- validations --------------------------------------------------------------------


def test_a_validator_records_a_validation_with_findings(api, model, users):
    response = api("validator").post(
        VALIDATIONS,
        {
            "version": 1,
            "scope": "Back-test on Q3, stability, fairness by gender.",
            "outcome": "passed_with_findings",
            "evidence": "Validation report v3",
            "links": ["https://wiki.example.org/validation/v3"],
            "findings": [
                {"title": "Unstable for tenure < 3", "description": "d", "severity": "high"},
                {
                    "title": "No income drift monitor",
                    "description": "d",
                    "severity": "low",
                    "owner": "dave",
                    "due_date": str(timezone.localdate() + timedelta(days=30)),
                },
            ],
        },
        format="json",
    )

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["validated_by"] == "vera" and body["version"] == 1
    assert body["validated_on"] == str(timezone.localdate())
    assert len(body["findings"]) == 2
    owners = dict(Finding.objects.values_list("title", "owner__username"))
    assert owners == {"Unstable for tenure < 3": "dana", "No income drift monitor": "dave"}

    listed = api("ds").get(VALIDATIONS).json()
    assert listed["count"] == 1 and listed["results"][0]["findings"] == body["findings"]


@pytest.mark.parametrize("who", ["ds", "board", "ci"])
def test_other_roles_get_403_and_nothing_is_stored(api, model, who):
    response = api(who).post(VALIDATIONS, {"scope": "s", "outcome": "passed"}, format="json")
    assert_json_error(response, 403)
    assert not Validation.objects.exists()


def test_the_models_owner_may_not_validate_it(make_model):
    owner = make_user("dual", "data_scientist", "validator")
    make_model(actor=owner)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {user_token(user=owner)}")

    response = client.post(VALIDATIONS, {"scope": "s", "outcome": "passed"}, format="json")

    assert "You own model churn-classifier" in assert_json_error(response, 403)["detail"]
    assert not Validation.objects.exists()


@pytest.mark.parametrize(
    ("body", "named"),
    [
        ({"outcome": "passed"}, "scope"),
        ({"scope": "s", "outcome": "super"}, "outcome"),
        ({"scope": "s", "outcome": "passed", "version": 5}, "version"),
        ({"scope": "s", "outcome": "passed", "validated_on": "2999-01-01"}, "validated_on"),
        ({"scope": "s", "outcome": "passed", "links": ["not a url"]}, "links"),
        ({"scope": "s", "outcome": "passed", "colour": "blue"}, "colour"),
        (
            {"scope": "s", "outcome": "passed", "findings": [{"title": "t"}]},
            "findings",
        ),
        (
            {
                "scope": "s",
                "outcome": "failed",
                "findings": [{"title": "t", "description": "d", "severity": "low", "owner": "x"}],
            },
            "findings.0.owner",
        ),
    ],
)
def test_bad_validations_are_400_naming_the_field_and_store_nothing(api, model, body, named):
    response = api("validator").post(VALIDATIONS, body, format="json")
    assert named in assert_json_error(response, 400)
    assert not Validation.objects.exists() and not Finding.objects.exists()


def test_validations_of_an_unknown_model_are_404(api, users):
    assert_json_error(api("validator").get("/api/v1/models/nope/validations/"), 404)
    response = api("validator").post(
        "/api/v1/models/nope/validations/", {"scope": "s", "outcome": "passed"}, format="json"
    )
    assert_json_error(response, 404)


# --- revalidations ------------------------------------------------------------------


def test_revalidations_lists_due_and_overdue_models(api, make_model, users):
    registered_on(make_model("late", risk_tier="high"), days_ago(250))
    registered_on(make_model("soon", risk_tier="high"), days_ago(170))
    registered_on(make_model("fine", risk_tier="low"), days_ago(1))

    everything = api("ci").get("/api/v1/revalidations/").json()
    overdue = api("ci").get("/api/v1/revalidations/?status=overdue").json()
    due = api("ci").get("/api/v1/revalidations/?status=due").json()
    later = (
        api("ci")
        .get(f"/api/v1/revalidations/?as_of={timezone.localdate() + timedelta(days=800)}")
        .json()
    )

    assert [r["model"] for r in everything["results"]] == ["late", "soon"]
    assert everything["within_days"] == 30 and everything["count"] == 2
    late = everything["results"][0]
    assert late["status"] == "overdue" and late["days_overdue"] > 0
    assert (late["risk_level"], late["interval_months"], late["last_validated_on"]) == (
        "high",
        6,
        None,
    )
    assert [r["model"] for r in overdue["results"]] == ["late"]
    assert [r["model"] for r in due["results"]] == ["soon"]
    assert due["results"][0]["days_until_due"] >= 0
    assert {r["model"] for r in later["results"]} == {"late", "soon", "fine"}


@pytest.mark.parametrize("query", ["status=current", "within_days=-1", "as_of=yesterday"])
def test_revalidations_refuse_bad_parameters(api, query):
    assert_json_error(api("ci").get(f"/api/v1/revalidations/?{query}"), 400)


def test_revalidations_need_a_role(api, users):
    assert_json_error(api(None).get("/api/v1/revalidations/"), 401)
    assert_json_error(api("outsider").get("/api/v1/revalidations/"), 403)


# --- findings -----------------------------------------------------------------------


def test_the_board_raises_a_finding_and_everyone_reads_it(api, model):
    response = api("board").post(
        FINDINGS,
        {
            "model": "churn-classifier",
            "version": 1,
            "title": "Explanations unstable",
            "description": "SHAP ranks change between identical calls.",
            "severity": "critical",
            "due_date": str(timezone.localdate() + timedelta(days=14)),
            "links": ["https://board.example.org/2026-q4/minutes#7"],
        },
        format="json",
    )

    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["status"], body["owner"], body["raised_by"]) == ("open", "dana", "bella")
    assert body["timeline"][0]["kind"] == "raised" and body["evidence"] == []
    assert api("ci").get(f"{FINDINGS}{body['id']}/").json()["title"] == "Explanations unstable"


@pytest.mark.parametrize(
    ("body", "named"),
    [
        ({"model": "nope"}, "model"),
        ({"severity": "grave"}, "severity"),
        ({"version": 4}, "version"),
        ({"owner": "ci-bot"}, "owner"),
        ({"owner": "nobody-here"}, "owner"),
        ({"validation": 999}, "validation"),
        ({"links": ["https://ok.example.org", "mailto:x@example.org"]}, "links"),
        ({"due_date": "2001-01-01"}, "due_date"),
        ({"extra": 1}, "extra"),
    ],
)
def test_bad_findings_are_400_naming_the_field_and_store_nothing(api, model, body, named):
    given = {
        "model": "churn-classifier",
        "title": "t",
        "description": "d",
        "severity": "low",
        **body,
    }
    response = api("validator").post(FINDINGS, given, format="json")
    assert named in assert_json_error(response, 400)
    assert not Finding.objects.exists()


@pytest.mark.parametrize("who", ["ds", "ci"])
def test_data_scientists_and_ci_do_not_raise_findings(api, model, who):
    body = {"model": "churn-classifier", "title": "t", "description": "d", "severity": "low"}
    assert_json_error(api(who).post(FINDINGS, body, format="json"), 403)
    assert not Finding.objects.exists()


def test_the_list_filters_by_model_status_severity_and_open(api, model, make_model, users):
    other = make_model("fraud")
    high = raise_finding(model, users["validator"], severity="high")
    low = raise_finding(model, users["validator"], severity="low")
    elsewhere = raise_finding(other, users["validator"], severity="critical")
    raise_finding(other, users["validator"], severity="medium")
    finding_status_change(
        actor=users["board"], finding_id=low.pk, status="accepted_risk", comment="ok"
    )

    def ids(query: str) -> list[int]:
        response = api("ci").get(f"{FINDINGS}?{query}")
        assert response.status_code == 200, response.content
        return [row["id"] for row in response.json()["results"]]

    assert ids("model=churn-classifier") == [low.pk, high.pk]
    assert ids("status=accepted_risk") == [low.pk]
    assert ids("severity=critical") == [elsewhere.pk]
    assert set(ids("min_severity=high")) == {high.pk, elsewhere.pk}
    assert low.pk not in ids("open=true") and ids("open=false") == [low.pk]
    for bad in ("status=fixed", "severity=dire", "open=maybe", "version="):
        assert_json_error(api("ci").get(f"{FINDINGS}?{bad}"), 400)


def test_status_changes_over_the_api(api, model, users):
    finding = raise_finding(model, users["validator"])

    started = api("ds").post(status_url(finding), {"status": "in_remediation"}, format="json")
    no_evidence = api("ds").post(status_url(finding), {"status": "remediated"}, format="json")
    remediated = api("ds").post(
        status_url(finding),
        {
            "status": "remediated",
            "evidence": "Retrained with the 2026 cohort.",
            "links": ["https://mlflow.example.org/runs/abc"],
        },
        format="json",
    )
    ds_closes = api("ds").post(status_url(finding), {"status": "closed", "comment": "x"})
    ci_touches = api("ci").post(status_url(finding), {"status": "closed", "comment": "x"})
    silent_close = api("validator").post(status_url(finding), {"status": "closed"})
    closed = api("validator").post(
        status_url(finding), {"status": "closed", "comment": "Verified."}
    )
    again = api("validator").post(status_url(finding), {"status": "closed", "comment": "x"})

    assert started.status_code == 200 and started.json()["status"] == "in_remediation"
    assert "evidence" in assert_json_error(no_evidence, 400)
    assert remediated.status_code == 200, remediated.content
    assert remediated.json()["evidence"][0]["links"] == ["https://mlflow.example.org/runs/abc"]
    assert_json_error(ds_closes, 403)
    assert_json_error(ci_touches, 403)
    assert "comment" in assert_json_error(silent_close, 400)
    assert closed.status_code == 200 and closed.json()["closed_at"]
    assert_json_error(again, 409)
    kinds = [e["kind"] for e in closed.json()["timeline"]]
    assert kinds == ["raised", "status_changed", "evidence", "status_changed", "status_changed"]


def test_evidence_over_the_api(api, model, users):
    finding = raise_finding(model, users["validator"])
    url = f"{FINDINGS}{finding.pk}/evidence/"

    added = api("ds").post(url, {"evidence": "Fairness report", "links": []}, format="json")

    assert added.status_code == 200 and added.json()["evidence"][0]["message"] == "Fairness report"
    assert_json_error(api("ci").post(url, {"evidence": "x"}, format="json"), 403)
    assert_json_error(api("ds").post(url, {"evidence": ""}, format="json"), 400)
    assert_json_error(api("ds").post(f"{FINDINGS}999/evidence/", {"evidence": "x"}), 404)
    assert_json_error(api("ds").get(f"{FINDINGS}999/"), 404)
    assert Finding.objects.get().timeline.filter(kind="evidence").count() == 1
