"""Retention: whole batches past the period go, on record; a legal hold keeps everything."""

from __future__ import annotations

import uuid
from datetime import timedelta
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.utils import timezone

from governance.errors import NotAllowed
from governance.models import AuditEvent
from governance.services import audit_chain_verify
from models_registry.models import Prediction
from models_registry.retention import retention_apply_all, retention_policy_set
from models_registry.serving.inference_log import inference_log_write
from models_registry.serving.inference_log_verify import inference_log_verify

pytestmark = pytest.mark.django_db


@pytest.fixture
def log(users, make_model, make_version) -> dict[str, Any]:
    """Batches of churn-classifier written 40, 35 and 5 days ago, and one of another model."""
    model = make_model()
    version = make_version(model)
    other = make_model(name="fraud")
    other_version = make_version(other)
    now = timezone.now()

    def batch(days: float, count: int = 3, on: Any = None) -> None:
        target, target_version = on or (model, version)
        inference_log_write(
            [
                Prediction(
                    model=target,
                    version=target_version,
                    request_id=str(uuid.uuid4()),
                    source=Prediction.Source.LOGGED,
                    occurred_at=now - timedelta(days=days, seconds=i),
                    features={"age": 30 + i},
                    prediction=0.5,
                )
                for i in range(count)
            ]
        )

    batch(40)
    batch(35)
    batch(5)
    batch(40, on=(other, other_version))
    return {"model": model, "other": other, "now": now, "batch": batch}


def test_batches_past_the_period_are_deleted_on_record_and_the_log_still_verifies(log, users):
    retention_policy_set(actor=users["compliance"], model=log["model"], inference_log_days=30)
    outcomes = retention_apply_all()
    assert [o.summary() for o in outcomes] == ["churn-classifier: 6 row(s) in 2 batch(es) deleted"]
    assert Prediction.objects.filter(model=log["model"]).count() == 3
    assert Prediction.objects.filter(model=log["other"]).count() == 3  # no policy: kept
    event = AuditEvent.objects.get(action="retention.deleted")
    assert event.object_id == "churn-classifier"
    assert (event.data["rows"], event.data["batches"], event.data["days"]) == (6, 2, 30)
    check = inference_log_verify()
    assert check.intact, check.broken
    assert (check.deleted_batches, check.deleted_rows, check.batches) == (2, 6, 2)
    assert "6 row(s) in 2 batch(es) older than" in check.deletions[0]
    assert audit_chain_verify() == []


def test_a_second_run_finds_nothing_more_to_delete(log, users):
    retention_policy_set(actor=users["compliance"], model=log["model"], inference_log_days=30)
    retention_apply_all()
    assert retention_apply_all()[0].rows == 0
    assert AuditEvent.objects.filter(action="retention.deleted").count() == 1


def test_a_legal_hold_blocks_deletion(log, users):
    retention_policy_set(
        actor=users["compliance"],
        model=log["model"],
        inference_log_days=30,
        legal_hold=True,
        legal_hold_reason="litigation 2026-114",
    )
    out = StringIO()
    call_command("apply_retention", stdout=out)
    assert "churn-classifier: on legal hold, nothing deleted" in out.getvalue()
    assert Prediction.objects.filter(model=log["model"]).count() == 9
    assert not AuditEvent.objects.filter(action="retention.deleted").exists()


def test_a_batch_straddling_the_cutoff_is_kept_whole(log, users):
    now = log["now"]
    log["batch"](30, count=2)  # 30 days ago, and 30 days + 1 s ago: either side of the cutoff
    retention_policy_set(actor=users["compliance"], model=log["model"], inference_log_days=30)
    retention_apply_all(now=now - timedelta(seconds=0.5))
    assert Prediction.objects.filter(model=log["model"]).count() == 5
    assert inference_log_verify().intact


def test_rows_deleted_off_the_record_still_show(log, users):
    retention_policy_set(actor=users["compliance"], model=log["model"], inference_log_days=30)
    retention_apply_all()
    Prediction.objects.filter(model=log["other"]).delete()  # by hand (the tests may; see triggers)
    broken = inference_log_verify().broken
    assert len(broken) == 1 and "all 3 row(s) missing" in broken[0]


def test_only_compliance_officers_set_retention(log, users):
    with pytest.raises(NotAllowed):
        retention_policy_set(actor=users["ds"], model=log["model"], inference_log_days=1)
    policy = retention_policy_set(
        actor=users["compliance"], model=log["model"], inference_log_days=7
    )
    assert policy.history.count() == 1
    assert AuditEvent.objects.get(action="retention.policy_set").data["inference_log_days"] == 7


def test_the_chain_verification_report_shows_what_was_deleted_and_when(log, users):
    from governance.audit.verify import audit_verification_run
    from governance.models import AuditVerification

    retention_policy_set(actor=users["compliance"], model=log["model"], inference_log_days=30)
    retention_apply_all()
    report = AuditVerification.objects.create(full=True)
    report = audit_verification_run(verification_id=report.pk)
    assert report.ok
    assert "Deleted or erased on record:" in report.detail
    assert "deleted 6 row(s) of churn-classifier older than" in report.detail


def test_reference_data_files_past_their_period_are_deleted_keeping_their_hash(
    log, users, settings, tmp_path
):
    from django.core.files.base import ContentFile

    from models_registry.models import ReferenceDataset

    settings.MEDIA_ROOT = tmp_path
    version = log["model"].versions.get()
    dataset = ReferenceDataset(
        model_version=version,
        original_name="ref.csv",
        format="csv",
        sha256="ab" * 32,
        rows=1,
        columns={"age": "int64"},
        feature_columns=["age"],
        uploaded_by=users["ds"],
    )
    dataset.file.save("ref.csv", ContentFile(b"age\n41\n"), save=False)
    dataset.save()
    ReferenceDataset.objects.filter(pk=dataset.pk).update(
        uploaded_at=timezone.now() - timedelta(days=100)
    )
    path = tmp_path / dataset.file.name
    assert path.exists()
    retention_policy_set(
        actor=users["compliance"],
        model=log["model"],
        inference_log_days=None,
        reference_data_days=90,
    )
    assert retention_apply_all()[0].reference_files == 1
    dataset.refresh_from_db()
    assert dataset.erased_at is not None and dataset.sha256 == "ab" * 32
    assert not path.exists()
    event = AuditEvent.objects.get(action="retention.deleted", object_type="reference_data")
    assert event.data["sha256"] == "ab" * 32
    assert retention_apply_all()[0].reference_files == 0


def test_a_batch_from_before_salted_hashes_mixing_models_is_deleted_on_record(log, users):
    """Before this release one batch held every model's rows of a commit, and its event named
    no model: retention deleting one model's share must not read as tampering."""
    from governance.services import audit_record
    from models_registry.serving.inference_log import DIGESTED_FIELDS, inference_log_digest
    from models_registry.serving.inference_log_verify import ROW_FIELDS

    batch, at = uuid.uuid4(), log["now"] - timedelta(days=50)
    for model in (log["model"], log["other"]):
        Prediction.objects.create(
            model=model,
            version=model.versions.get(),
            request_id=str(uuid.uuid4()),
            source=Prediction.Source.LOGGED,
            occurred_at=at,
            features={"age": 50},
            prediction=0.5,
            batch=batch,
        )
    rows = Prediction.objects.filter(batch=batch).order_by("pk").values(*ROW_FIELDS)
    digest = inference_log_digest([tuple(row[f] for f in DIGESTED_FIELDS) for row in rows])
    event = audit_record(
        action="predictions.recorded",
        object_type="inference_log",
        object_id="batch",
        data={"batch": str(batch), "count": 2, "digest": digest},
    )
    # Legacy data as it was written, 50 days ago (this test does not verify the chain).
    type(event).objects.filter(pk=event.pk).update(occurred_at=at)
    assert inference_log_verify().intact

    retention_policy_set(actor=users["compliance"], model=log["model"], inference_log_days=30)
    retention_apply_all()
    assert Prediction.objects.filter(batch=batch).count() == 1  # fraud's row stays
    check = inference_log_verify()
    assert check.intact, check.broken
    assert check.legacy_partly_deleted == 1
