"""Consent withdrawal: a subject's personal fields are erased, on record; the log verifies."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from governance.errors import NotAllowed
from governance.models import AuditEvent
from governance.services import audit_chain_verify, canonical_json
from models_registry.consent import consent_erase_all, consent_withdraw
from models_registry.models import ConsentWithdrawal, Prediction
from models_registry.serving.inference_log import inference_log_write
from models_registry.serving.inference_log_verify import inference_log_verify
from tests.conftest import assert_json_error
from tests.models_registry.serving_data import EXPLAIN, PREDICT, ROW

pytestmark = pytest.mark.django_db


@pytest.fixture
def log(users, make_model, make_version) -> dict[str, Any]:
    model = make_model()
    version = make_version(model)

    def write(*subjects: str) -> None:
        inference_log_write(
            [
                Prediction(
                    model=model,
                    version=version,
                    request_id=str(uuid.uuid4()),
                    source=Prediction.Source.LOGGED,
                    occurred_at=timezone.now(),
                    subject_id=subject,
                    features={"age": 41, "income": 52_000},
                    prediction=0.7,
                    explanation={"base_value": -1.0, "shap": {"age": 0.2}},
                )
                for subject in subjects
            ]
        )

    write("customer-17", "customer-18", "customer-17")
    write("customer-19")
    return {"write": write}


def withdraw(users: dict[str, Any], subject: str, capture: Any) -> ConsentWithdrawal:
    with capture(execute=True):  # the queued erasure task runs after the commit
        return consent_withdraw(actor=users["compliance"], subject_id=subject)


def test_a_withdrawal_erases_the_subjects_personal_fields_and_the_log_still_verifies(
    log, users, django_capture_on_commit_callbacks
):
    withdrawal = withdraw(users, "customer-17", django_capture_on_commit_callbacks)
    withdrawal.refresh_from_db()
    assert withdrawal.records_erased == 2 and withdrawal.erased_at is not None
    erased = Prediction.objects.filter(erased_at__isnull=False)
    assert erased.count() == 2
    for row in erased:
        assert (row.subject_id, row.features, row.explanation, row.salt) == ("", {}, None, "")
        assert row.prediction == 0.7 and len(row.record_hash) == 64  # kept: not personal
    assert Prediction.objects.filter(subject_id="customer-18").get().features["age"] == 41
    check = inference_log_verify()
    assert check.intact, check.broken
    assert check.erased_rows == 2
    assert audit_chain_verify() == []


def test_the_chain_holds_a_salted_hash_of_the_subject_never_the_id(
    log, users, django_capture_on_commit_callbacks
):
    withdraw(users, "customer-17", django_capture_on_commit_callbacks)
    events = AuditEvent.objects.filter(action__startswith="consent.")
    assert {e.action for e in events} == {"consent.withdrawn", "consent.erased"}
    assert all("customer-17" not in canonical_json(e.data) for e in events)
    erased = events.get(action="consent.erased")
    assert erased.data["records"] == 2 and len(erased.data["record_hashes"]) == 2


def test_an_erasure_off_the_record_is_reported(log, users):
    row = Prediction.objects.filter(subject_id="customer-19").get()
    Prediction.objects.filter(pk=row.pk).update(salt="", features={}, record_hash="0" * 64)
    assert inference_log_verify().broken[0].endswith("a row was erased off the record")


def test_records_logged_after_the_withdrawal_are_erased_by_the_daily_run(
    log, users, django_capture_on_commit_callbacks
):
    withdraw(users, "customer-17", django_capture_on_commit_callbacks)
    log["write"]("customer-17")
    assert consent_erase_all() == 1
    assert not Prediction.objects.filter(subject_id="customer-17").exists()
    assert inference_log_verify().intact


def test_only_compliance_officers_record_withdrawals_and_a_bad_id_is_refused(log, users):
    with pytest.raises(NotAllowed):
        consent_withdraw(actor=users["ds"], subject_id="customer-17")
    with pytest.raises(Exception, match="subject_id"):
        consent_withdraw(actor=users["compliance"], subject_id=" ")
    assert not ConsentWithdrawal.objects.exists()


def test_compliance_records_a_withdrawal_in_the_admin(
    log, users, django_capture_on_commit_callbacks
):
    client = Client()
    client.force_login(users["compliance"])
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("admin:models_registry_consentwithdrawal_add"), {"subject_id": "customer-18"}
        )
    assert response.status_code == 302
    assert ConsentWithdrawal.objects.get().requested_by == users["compliance"]
    assert not Prediction.objects.filter(subject_id="customer-18").exists()


def test_predict_and_explain_accept_an_optional_subject_id(api, users, served_model):
    response = api("ci").post(PREDICT, {"features": ROW, "subject_id": "c-1"}, format="json")
    assert response.status_code == 200, response.content
    assert Prediction.objects.get(request_id=response.json()["request_id"]).subject_id == "c-1"
    bad = api("ci").post(EXPLAIN, {"features": ROW, "subject_id": 7}, format="json")
    assert "subject_id" in assert_json_error(bad, 400)
    assert Prediction.objects.count() == 1


@pytest.fixture
def served_model(users, make_model, make_version, churn_run, fresh_serving_process):
    from models_registry import services as registry

    model = make_model(risk_tier="low")
    version = make_version(model, mlflow_run_id=churn_run["run_id"], metrics={})
    registry.deployment_promote(version=version, actor=users["ds"])
    return model
