"""Retraining: a clone of the production model refitted on labelled traffic becomes a
candidate with its card and a pending canary request; the API starts and reads runs."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import override_settings
from django.utils import timezone

from governance.models import AuditEvent
from models_registry.models import ModelCardRevision, ModelVersion
from monitoring.models import Incident, IncidentEvent, RetrainingRun
from monitoring.retraining import retraining_account
from reviews.duties import signoff_refusal
from reviews.models import PromotionRequest
from tests.conftest import assert_json_error
from tests.monitoring.retraining_data import (
    churn_in_production,
    drifted_traffic,
    execute_again,
    run_retraining,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def production(users, make_model, make_version, churn_run) -> ModelVersion:
    trained = churn_run["trained"]
    version = churn_in_production(
        users, make_model, make_version, churn_run["run_id"], trained.train
    )
    drifted_traffic(version, trained.model, rows=320, labelled=300)
    return version


@pytest.fixture
def incident(production) -> Incident:
    return Incident.objects.create(
        model=production.model,
        version=production,
        severity=Incident.Severity.WARNING,
        source=Incident.Source.DRIFT,
        title="Charges drifted",
        description="monthly_charges moved up",
    )


@override_settings(RETRAINING_MIN_LABELS=200)
def test_a_run_registers_the_next_version_with_its_card_and_a_pending_canary_request(
    users, production, incident
) -> None:
    run = run_retraining(users["compliance"], production.model, incident_id=incident.pk)

    assert run.status == RetrainingRun.Status.DONE, run.reason
    assert run.labelled_rows == 300
    assert run.reference_rows == production.reference_datasets.first().rows
    candidate = run.candidate_version
    assert candidate.version == production.version + 1
    assert candidate.stage == ModelVersion.Stage.CANDIDATE
    assert candidate.mlflow_run_id == run.mlflow_run_id
    assert candidate.registered_by == retraining_account()
    # Its card was generated from the retraining's MLflow run: tags name the window and incident.
    assert candidate.card_status == ModelVersion.CardStatus.READY
    assert ModelCardRevision.objects.filter(model_version=candidate).exists()
    tags = candidate.run_facts["tags"]
    assert tags["governance.incident"] == str(incident.pk)
    assert tags["governance.window_start"] == run.window_start.isoformat()
    assert candidate.run_facts["logged_model"]["signature"]["inputs"]
    assert candidate.run_facts["logged_model"]["format"]["serialization"] == "skops"
    assert set(candidate.metrics) >= {"accuracy", "roc_auc", "f1", "current_accuracy"}
    # New and current were measured on the same hold-out.
    assert run.metrics["holdout_rows"] == 75
    assert set(run.metrics["new"]) == {"accuracy", "roc_auc", "f1"}
    assert set(run.metrics["current"]) == {"accuracy", "roc_auc", "f1"}

    request = PromotionRequest.objects.get(pk=run.promotion_request_id)
    assert request.model_version == candidate
    assert request.strategy == PromotionRequest.Strategy.CANARY
    assert request.status == PromotionRequest.Status.PENDING
    assert request.requested_by == retraining_account()
    new, current = run.metrics["new"], run.metrics["current"]
    assert f"roc_auc {new['roc_auc']:.4f} vs {current['roc_auc']:.4f}" in request.justification
    assert f"incident #{incident.pk}" in request.justification
    # Neither the account that asked nor the officer who started the run may approve it.
    assert signoff_refusal(actor=retraining_account(), request=request) is not None
    assert "MLflow run" in str(signoff_refusal(actor=users["compliance"], request=request).detail)
    assert signoff_refusal(actor=users["compliance2"], request=request) is None

    timeline = list(
        IncidentEvent.objects.filter(incident=incident, kind__startswith="retraining").order_by(
            "id"
        )
    )
    assert [e.kind for e in timeline] == [
        "retraining_started",
        "retraining_finished",
        "retraining_finished",
    ]
    assert {e.data["retraining_run"] for e in timeline} == {run.pk}
    assert [e.message.split(" ")[0] for e in timeline] == ["Retraining", "Retraining", "Promotion"]
    assert f"registered candidate v{candidate.version}" in timeline[1].message
    actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {"retraining.requested", "retraining.completed"} <= actions
    assert run.history.count() >= 3


@override_settings(RETRAINING_MIN_LABELS=200)
def test_a_redelivered_run_that_is_done_is_not_redone(users, production) -> None:
    run = run_retraining(users["ds"], production.model)
    again = execute_again(run)
    assert again.status == RetrainingRun.Status.DONE
    assert again.attempts == 1
    assert production.model.versions.count() == 2
    assert PromotionRequest.objects.count() == 1


@override_settings(RETRAINING_MIN_LABELS=200)
def test_the_api_starts_a_run_and_reads_it_back(api, production) -> None:
    name = production.model.name
    response = api("ci").post(
        f"/api/v1/models/{name}/retraining-runs/", {"version": 1}, format="json"
    )
    assert response.status_code == 202, response.content
    body = response.json()
    assert body["status"] == "queued"

    detail = api("validator").get(f"/api/v1/retraining-runs/{body['id']}/").json()
    assert detail["status"] == "done", detail["reason"]
    assert detail["version"] == 2
    assert detail["mlflow_run_id"]
    assert detail["promotion_request"] == PromotionRequest.objects.get().pk
    assert detail["reason"] == ""

    listed = api("board").get(f"/api/v1/models/{name}/retraining-runs/").json()
    rows = listed["results"] if isinstance(listed, dict) else listed
    assert [row["id"] for row in rows] == [body["id"]]


@pytest.mark.parametrize("role", ["validator", "board", "outsider"])
def test_roles_without_request_retraining_are_refused(api, production, role) -> None:
    response = api(role).post(
        f"/api/v1/models/{production.model.name}/retraining-runs/", {}, format="json"
    )
    assert_json_error(response, 403)
    assert not RetrainingRun.objects.exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"version": "three"}, "version"),
        ({"window_start": "2026-11-01T10:00:00"}, "window_start"),
        (
            {"window_start": "2026-11-02T10:00:00Z", "window_end": "2026-11-01T10:00:00Z"},
            "window_start",
        ),
        ({"window_end": "2999-01-01T00:00:00Z"}, "window_end"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_bad_input_is_a_400_naming_the_field(api, production, body, field) -> None:
    response = api("ds").post(
        f"/api/v1/models/{production.model.name}/retraining-runs/", body, format="json"
    )
    assert field in assert_json_error(response, 400)
    assert not RetrainingRun.objects.exists()


def test_an_incident_of_another_model_is_a_400(api, make_model, production) -> None:
    other = make_model(name="other-model")
    incident = Incident.objects.create(
        model=other, severity="warning", source="manual", title="x", description="x"
    )
    response = api("ds").post(
        f"/api/v1/models/{production.model.name}/retraining-runs/",
        {"incident": incident.pk},
        format="json",
    )
    assert "incident" in assert_json_error(response, 400)


def test_unknown_model_version_or_incident_is_a_404(api, production) -> None:
    name = production.model.name
    assert_json_error(api("ds").post("/api/v1/models/nope/retraining-runs/", {}), 404)
    assert_json_error(api("ds").get("/api/v1/models/nope/retraining-runs/"), 404)
    assert_json_error(
        api("ds").post(f"/api/v1/models/{name}/retraining-runs/", {"version": 9}), 404
    )
    assert_json_error(
        api("ds").post(f"/api/v1/models/{name}/retraining-runs/", {"incident": 999}), 404
    )
    assert_json_error(api("ds").get("/api/v1/retraining-runs/999/"), 404)
    assert not RetrainingRun.objects.exists()


def test_a_version_not_in_production_or_a_second_active_run_is_a_409(
    api, users, make_version, production
) -> None:
    name = production.model.name
    make_version(production.model)
    body = assert_json_error(
        api("ds").post(f"/api/v1/models/{name}/retraining-runs/", {"version": 2}), 409
    )
    assert body["production_version"] == 1
    RetrainingRun.objects.create(
        model=production.model,
        base_version=production,
        window_start=timezone.now() - timedelta(hours=1),
        window_end=timezone.now(),
    )
    body = assert_json_error(api("ds").post(f"/api/v1/models/{name}/retraining-runs/", {}), 409)
    assert "queued" in body["detail"]
