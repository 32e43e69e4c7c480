"""The group-commit write path in one process, on PostgreSQL: what is answered is on record.

The writer thread has a database connection of its own, so these tests commit for real
(transaction=True) and stop the writer at the end, which closes that connection.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection
from django.utils import timezone

from governance.models import AuditEvent
from governance.services import audit_chain_verify
from models_registry import services as registry
from models_registry.models import Prediction
from models_registry.serving.inference_log import inference_log_stop
from tests.conftest import assert_json_error, is_postgres, skip_unless
from tests.models_registry.serving_data import PREDICT, ROW

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def group_commit(settings, users, make_model, make_version, churn_run, fresh_serving_process):
    skip_unless(is_postgres(), "the group-commit writer tests need PostgreSQL")
    settings.INFERENCE_LOG_GROUP_COMMIT = True
    model = make_model(risk_tier="low")
    version = make_version(model, mlflow_run_id=churn_run["run_id"], metrics={})
    registry.deployment_promote(version=version, actor=users["ds"])
    yield model
    inference_log_stop()


def recorded_in_chain() -> int:
    events = AuditEvent.objects.filter(action="predictions.recorded")
    return sum(event.data["count"] for event in events)


def test_concurrent_calls_share_commits_and_every_answer_is_on_record(api, group_commit):
    def call(i: int) -> dict:
        features = {**ROW, "monthly_charges": 20.0 + i}
        response = api("ci").post(PREDICT, {"features": features}, format="json")
        assert response.status_code == 200, response.content
        return response.json()

    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(call, range(40)))
    answered = {answer["request_id"] for answer in answers}
    assert set(Prediction.objects.values_list("request_id", flat=True)) == answered
    assert recorded_in_chain() == 40
    assert audit_chain_verify() == []


def test_a_batch_whose_connection_died_is_refused_and_the_next_one_reconnects(api, group_commit):
    client = api("ci")
    assert client.post(PREDICT, {"features": ROW}, format="json").status_code == 200
    with connection.cursor() as cursor:  # what a PostgreSQL restart does to the writer
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        assert cursor.rowcount >= 1
    body = assert_json_error(client.post(PREDICT, {"features": ROW}, format="json"), 503)
    assert "inference log" in body["detail"]
    assert Prediction.objects.count() == 1  # the refused call left nothing behind
    answer = client.post(PREDICT, {"features": ROW}, format="json")
    assert answer.status_code == 200, answer.content
    assert Prediction.objects.filter(request_id=answer.json()["request_id"]).exists()
    assert Prediction.objects.count() == 2 and recorded_in_chain() == 2


def test_a_deployment_holding_its_locks_does_not_hold_up_the_inference_log(users, group_commit):
    """Deployment locks (FOR NO KEY UPDATE) and the log's foreign-key checks never wait on
    each other: a batch commits at once while a rollback's transaction holds the model."""
    import threading

    from django.db import transaction

    from models_registry.locking import lock_model_for_change
    from models_registry.serving.inference_log import inference_log_write

    version = group_commit.versions.get()
    locked, release = threading.Event(), threading.Event()

    def hold_deployment_locks() -> None:
        try:
            with transaction.atomic():
                lock_model_for_change(group_commit.pk)
                locked.set()
                release.wait(10)
        finally:
            connection.close()

    holder = threading.Thread(target=hold_deployment_locks)
    holder.start()
    try:
        assert locked.wait(10)
        with connection.cursor() as cursor:
            cursor.execute("SET lock_timeout = '500ms'")  # waiting would raise, not hang
        row = Prediction(
            model=group_commit,
            version=version,
            request_id="while-locked",
            source=Prediction.Source.LOGGED,
            occurred_at=timezone.now(),
            features=ROW,
            prediction=0.5,
        )
        inference_log_write([row])
    finally:
        release.set()
        holder.join(10)
        with connection.cursor() as cursor:
            cursor.execute("SET lock_timeout = 0")
    assert Prediction.objects.filter(request_id="while-locked").exists()


def test_copy_stores_exactly_what_insert_stores(users, group_commit):
    """COPY's text format has its own escaping: awkward values come back unchanged."""
    from models_registry.serving.inference_log import inference_log_write

    version = group_commit.versions.get()
    awkward = {
        "contract": 'tab\there, newline\nthere, back\\slash, quote", NUL-free ünïcode ✓',
        "monthly_charges": 1e-300,
        "age": -0,
    }

    def row(request_id: str, **extra) -> Prediction:
        return Prediction(
            model=group_commit,
            version=version,
            request_id=request_id,
            source=Prediction.Source.LOGGED,
            slot=Prediction.Slot.UNKNOWN,
            actor=users["ci"] if extra.pop("actor", True) else None,
            occurred_at=timezone.now(),
            features=awkward,
            **extra,
        )

    variants = [
        {"prediction": 0.731, "explanation": {"base_value": -1.5, "shap": {"age": 0.25}}},
        {"prediction": None, "error": "ValueError: bad\tinput\n\\N", "actor": False},
        {"prediction": 1.0, "latency_ms": 3.25},
    ]
    for i, extra in enumerate(variants):
        inference_log_write([row(f"copy-{i}", **dict(extra))], use_copy=True)
        inference_log_write([row(f"insert-{i}", **dict(extra))], use_copy=False)
    fields = ["features", "prediction", "explanation", "error", "actor_id", "slot", "source"]
    for i in range(len(variants)):
        copied = Prediction.objects.values(*fields, "latency_ms").get(request_id=f"copy-{i}")
        inserted = Prediction.objects.values(*fields, "latency_ms").get(request_id=f"insert-{i}")
        assert copied == inserted
    assert Prediction.objects.get(request_id="copy-1").error == "ValueError: bad\tinput\n\\N"
    assert Prediction.objects.get(request_id="copy-0").features == awkward
    assert audit_chain_verify() == []
