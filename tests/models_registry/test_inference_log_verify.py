"""The inference log checked against the audit chain: a changed, lost or extra row shows."""

from __future__ import annotations

import uuid
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from governance.models import AuditEvent
from models_registry.models import Prediction
from models_registry.serving.inference_log import inference_log_write
from models_registry.serving.inference_log_verify import inference_log_verify

pytestmark = pytest.mark.django_db

FEATURES = {"tenure_months": 3, "monthly_charges": 89.5, "contract": "month-to-month"}


@pytest.fixture
def logged(users, make_model, make_version) -> list[Prediction]:
    """Two batches (3 rows, then 1) written by the inference log's own write path.

    Rows written with COPY (PostgreSQL) get no pk on the Python side: find them by request_id.
    """
    model = make_model()
    version = make_version(model)

    def row(i: int) -> Prediction:
        return Prediction(
            model=model,
            version=version,
            request_id=str(uuid.uuid4()),
            source=Prediction.Source.SERVED,
            slot=Prediction.Slot.PRODUCTION,
            actor=users["ci"],
            occurred_at=timezone.now(),
            features={**FEATURES, "age": 20 + i},
            prediction=0.1 * i,
            explanation={"base_value": -1.5, "shap": {"age": 0.01 * i}} if i % 2 else None,
            latency_ms=3.5,
        )

    rows = [row(i) for i in range(4)]
    inference_log_write(rows[:3])
    inference_log_write(rows[3:])
    return rows


def batch_event(row: Prediction) -> AuditEvent:
    return AuditEvent.objects.get(action="predictions.recorded", object_id=str(row.batch))


def test_an_untouched_log_matches_the_chain(logged):
    check = inference_log_verify()
    assert check.intact and (check.batches, check.rows, check.outside) == (2, 4, 0)
    assert batch_event(logged[0]).data["count"] == 3
    out = StringIO()
    call_command("verify_inference_log", stdout=out)
    assert "4 row(s) in 2 batch(es) match" in out.getvalue()


def test_a_changed_row_breaks_its_batch_and_names_its_event(logged):
    Prediction.objects.filter(request_id=logged[1].request_id).update(prediction=0.99)
    check = inference_log_verify()
    assert check.broken == [
        f"#{batch_event(logged[1]).sequence}: rows changed since they were written"
    ]
    with pytest.raises(CommandError, match="1 batch"):
        call_command("verify_inference_log", stderr=StringIO())


def test_deleted_rows_show_as_a_count_mismatch_or_a_missing_batch(logged):
    Prediction.objects.filter(request_id__in=[logged[0].request_id, logged[3].request_id]).delete()
    broken = sorted(inference_log_verify().broken)
    assert broken == sorted(
        [
            f"#{batch_event(logged[0]).sequence}: 2 row(s) where 3 were written",
            f"#{batch_event(logged[3]).sequence}: all 1 row(s) missing",
        ]
    )


def test_a_row_slipped_in_by_hand_belongs_to_no_batch(logged):
    extra = Prediction.objects.create(
        model=logged[0].model,
        version=logged[0].version,
        request_id="by-hand",
        source=Prediction.Source.LOGGED,
        occurred_at=timezone.now(),
        features=FEATURES,
        prediction=0.5,
    )
    check = inference_log_verify()
    assert check.outside == 1 and not check.intact and check.broken == []
    Prediction.objects.filter(pk=extra.pk).update(batch=logged[3].batch)  # or into a batch
    assert inference_log_verify().broken == [
        f"#{batch_event(logged[3]).sequence}: 2 row(s) where 1 were written"
    ]


def test_compliance_verifies_in_the_admin_and_finds_a_call_by_request_id(users, logged):
    client = Client()
    client.force_login(users["compliance"])
    changelist = reverse("admin:models_registry_prediction_changelist")
    page = client.get(changelist, {"q": logged[2].request_id})
    assert page.status_code == 200
    assert page.context["cl"].result_count == 1
    verify = reverse("admin:models_registry_prediction_verify")
    assert verify in page.content.decode()
    done = client.get(verify, follow=True).content.decode()
    assert "The inference log matches the audit chain: 4 row(s) in 2 batch(es)" in done
    Prediction.objects.filter(request_id=logged[0].request_id).update(features={"forged": True})
    done = client.get(verify, follow=True).content.decode()
    assert "does not match the audit chain in 1 batch(es)" in done
    stored = Prediction.objects.get(request_id=logged[1].request_id)  # COPY sets no pk
    detail = client.get(reverse("admin:models_registry_prediction_change", args=[stored.pk]))
    assert detail.status_code == 200 and "base_value" in detail.content.decode()


def test_a_board_member_cannot_verify_or_read_the_log_in_the_admin(users, logged):
    client = Client()
    client.force_login(users["board"])
    response = client.get(reverse("admin:models_registry_prediction_verify"))
    assert response.status_code == 302 and "login" in response["Location"]


def test_served_rows_with_numbers_jsonb_rewrites_still_verify(users, make_model, make_version):
    """PostgreSQL gives -0.0 back as 0.0 and 3.4e+38 as 34 followed by 37 zeros: the record
    hash (format 4) covers the numbers as they come back, so such rows verify there too."""
    model = make_model()
    version = make_version(model)
    row = Prediction(
        model=model,
        version=version,
        request_id=str(uuid.uuid4()),
        source=Prediction.Source.SERVED,
        slot=Prediction.Slot.PRODUCTION,
        actor=users["ci"],
        occurred_at=timezone.now(),
        features={**FEATURES, "age": 3.4e38, "tenure": -0.0},
        attributes={"score": 1e20},
        prediction=-0.0,
        explanation={"base_value": -0.0, "shap": {"age": 1e16, "tenure": -0.0}},
        latency_ms=3.5,
    )
    inference_log_write([row])
    check = inference_log_verify()
    assert check.intact and check.rows == 1, check.broken
    assert batch_event(row).data["format"] == 4
