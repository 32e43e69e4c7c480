"""POST /models/{name}/predictions/: predictions of a model served elsewhere, all or nothing."""

from __future__ import annotations

import json
import random
import threading
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from governance.models import AuditEvent
from governance.services import audit_chain_verify
from models_registry.models import Prediction
from models_registry.serving.inference_log_verify import inference_log_verify
from models_registry.serving.inference_records import as_stored
from tests.conftest import assert_json_error, is_postgres, skip_unless
from tests.models_registry.serving_data import ROW

pytestmark = pytest.mark.django_db

URL = "/api/v1/models/churn-classifier/predictions/"


@pytest.fixture
def logged_model(make_model, make_version, churn_run) -> Any:
    """A model served elsewhere: registered with a signature, never deployed here."""
    model = make_model(risk_tier="low")
    make_version(model, mlflow_run_id=churn_run["run_id"], metrics={})
    return model


def an_hour_ago() -> str:
    return (timezone.now() - timedelta(hours=1)).isoformat()


def record(i: int, **changes: Any) -> dict[str, Any]:
    body = {
        "request_id": f"ext-{i}",
        "features": {**ROW, "age": 20 + i},
        "prediction": 0.25 + i / 100,
        "timestamp": "2026-11-27T10:00:00Z",
    }
    body.update(changes)
    return {key: value for key, value in body.items() if value is not None}


def post(api: Any, records: list[Any], who: str = "ci", version: int = 1) -> Any:
    return api(who).post(URL, {"version": version, "records": records}, format="json")


def post_raw(api: Any, text: str) -> Any:
    return api("ci").post(URL, text, content_type="application/json")


def events() -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action="predictions.recorded").order_by("id"))


def test_a_batch_is_stored_as_logged_rows_with_one_audit_event(api, users, logged_model):
    records = [record(i) for i in range(3)]
    records[1]["attributes"] = {"gender": "f", "age_band": "30-39", "vip": True, "score": 2}
    records[2]["subject_id"] = "customer-7"
    del records[2]["timestamp"]
    response = post(api, records)
    assert response.status_code == 202, response.content
    assert response.json() == {"accepted": 3, "stored": 3, "duplicates": 0}
    rows = {row.request_id: row for row in Prediction.objects.all()}
    assert set(rows) == {"ext-0", "ext-1", "ext-2"}
    first = rows["ext-0"]
    assert (first.source, first.slot, first.actor, first.prediction) == (
        "logged",
        "",
        users["ci"],
        0.25,
    )
    assert first.features == {**ROW, "age": 20, "monthly_charges": 89.5}
    assert first.occurred_at.isoformat() == "2026-11-27T10:00:00+00:00"
    assert rows["ext-1"].attributes == {"gender": "f", "age_band": "30-39", "vip": True, "score": 2}
    assert rows["ext-0"].attributes == {}
    assert rows["ext-2"].subject_id == "customer-7"
    assert abs((timezone.now() - rows["ext-2"].occurred_at).total_seconds()) < 60
    [event] = events()
    assert event.data["count"] == 3 and event.data["format"] == 4
    assert event.data["model_id"] == logged_model.pk
    check = inference_log_verify()
    assert check.intact and check.rows == 3, check.broken
    assert audit_chain_verify() == []


def test_timestamps_in_other_zones_are_stored_as_the_same_instant(api, logged_model):
    response = post(api, [record(0, timestamp="2026-11-27T12:00:00.123456+02:00")])
    assert response.status_code == 202, response.content
    stored = Prediction.objects.get().occurred_at
    assert stored.isoformat() == "2026-11-27T10:00:00.123456+00:00"
    assert inference_log_verify().intact


BAD_RECORDS = [
    ({"features": {k: v for k, v in ROW.items() if k != "age"}}, "features", {"age": "missing"}),
    ({"features": {**ROW, "height": 180}}, "features", {"height": "unknown feature"}),
    ({"features": {**ROW, "age": "old"}}, "features", {"age": "expected a number"}),
    ({"features": {**ROW, "age": 33.5}}, "features", {"age": "expected an integer"}),
    ({"features": {**ROW, "contract": 12}}, "features", {"contract": "expected a string"}),
    ({"features": [1, 2]}, "features", "expected an object"),
    ({"prediction": "high"}, "prediction", "expected a number"),
    ({"prediction": True}, "prediction", "expected a number"),
    ({"prediction": None}, "prediction", "missing"),
    ({"request_id": None}, "request_id", "missing"),
    ({"request_id": ""}, "request_id", "a string of 1 to 100 characters"),
    ({"request_id": "x" * 101}, "request_id", "a string of 1 to 100 characters"),
    ({"timestamp": "2026-11-27T10:00:00"}, "timestamp", "must carry a time zone (Z or +hh:mm)"),
    ({"timestamp": "yesterday"}, "timestamp", "not an ISO 8601 date and time"),
    ({"timestamp": 1764237600}, "timestamp", "expected an ISO 8601 string"),
    (
        {"attributes": {"gender": ["f"]}},
        "attributes",
        {"gender": "expected a string, a number or true/false"},
    ),
    ({"attributes": {"region": "x" * 201}}, "attributes", {"region": "at most 200 characters"}),
    ({"attributes": {"": 1}}, "attributes", {"": "a name of 1 to 50 characters"}),
    ({"attributes": {f"a{i}": i for i in range(21)}}, "attributes", "at most 20 attributes"),
    ({"attributes": "female"}, "attributes", "expected an object"),
    ({"subject_id": 17}, "subject_id", "a string of 0 to 100 characters"),
    ({"label": 1}, "label", "unknown field"),
]


@pytest.mark.parametrize(("change", "field", "problem"), BAD_RECORDS)
def test_one_bad_record_is_a_400_naming_its_index_and_field_and_nothing_is_stored(
    api, logged_model, change, field, problem
):
    records = [record(i) for i in range(5)]
    records[3] = record(3, **change)
    if None in change.values():
        records[3] = {k: v for k, v in record(3).items() if k not in change}
    body = assert_json_error(post(api, records), 400)
    assert body["records"] == {"3": {field: problem}}
    assert body["detail"].startswith("Record 3: ")
    assert not Prediction.objects.exists() and not events()


def test_the_detail_names_the_record_and_the_feature(api, logged_model):
    records = [record(i) for i in range(5)]
    del records[3]["features"]["age"]
    body = assert_json_error(post(api, records), 400)
    assert body["detail"] == "Record 3: features.age is missing."


def test_every_bad_record_is_listed(api, logged_model):
    records = [record(i) for i in range(4)]
    records[0]["prediction"] = "x"
    records[2]["features"] = {**ROW, "age": None}
    body = assert_json_error(post(api, records), 400)
    assert set(body["records"]) == {"0", "2"}
    assert body["records"]["2"] == {"features": {"age": "expected a number"}}


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinite_features_and_predictions_are_named(api, logged_model, constant):
    feature = record(0)
    feature["features"]["monthly_charges"] = "@"
    text = json.dumps({"version": 1, "records": [record(1), feature]}).replace('"@"', constant)
    body = assert_json_error(post_raw(api, text), 400)
    assert body["records"] == {"1": {"features": {"monthly_charges": "must be a finite number"}}}
    prediction = record(0, prediction="@")
    text = json.dumps({"version": 1, "records": [prediction]}).replace('"@"', constant)
    body = assert_json_error(post_raw(api, text), 400)
    assert body["records"] == {"0": {"prediction": "must be a finite number"}}
    text = json.dumps({"version": 1, "records": [record(0, attributes={"s": "@"})]})
    body = assert_json_error(post_raw(api, text.replace('"@"', constant)), 400)
    assert body["records"] == {"0": {"attributes": {"s": "must be a finite number"}}}
    assert not Prediction.objects.exists()


def test_a_timestamp_ahead_within_the_clock_skew_is_accepted_beyond_it_refused(
    api, logged_model, settings
):
    ahead = (timezone.now() + timedelta(seconds=100)).isoformat()
    assert post(api, [record(0, timestamp=ahead)]).status_code == 202
    settings.INGEST_CLOCK_SKEW_SECONDS = 10
    body = assert_json_error(post(api, [record(1, timestamp=ahead)]), 400)
    assert body["records"] == {"0": {"timestamp": "lies in the future (more than 10 s ahead)"}}
    far = (timezone.now() + timedelta(days=1)).isoformat()
    settings.INGEST_CLOCK_SKEW_SECONDS = 300
    body = assert_json_error(post(api, [record(2, timestamp=far)]), 400)
    assert "future" in body["records"]["0"]["timestamp"]
    assert Prediction.objects.count() == 1


def test_the_batch_size_is_bounded(api, logged_model, settings):
    settings.INGEST_MAX_RECORDS = 3
    body = assert_json_error(post(api, [record(i) for i in range(4)]), 400)
    assert body["records"] == ["A list of at most 3 records."]
    assert post(api, []).json() == {"accepted": 0, "stored": 0, "duplicates": 0}
    assert post(api, [record(i) for i in range(3)]).status_code == 202


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"records": [record(0)]}, "version"),
        ({"version": 1}, "records"),
        ({"version": "1", "records": [record(0)]}, "version"),
        ({"version": 1, "records": {"0": record(0)}}, "records"),
        ({"version": 1, "records": [record(0)], "model": "x"}, "model"),
    ],
)
def test_a_bad_envelope_is_a_400_naming_the_field(api, logged_model, body, field):
    assert field in assert_json_error(api("ci").post(URL, body, format="json"), 400)
    assert not Prediction.objects.exists()


def test_an_unknown_version_or_model_is_a_404(api, logged_model):
    body = assert_json_error(post(api, [record(0)], version=7), 404)
    assert body["version"] == ["churn-classifier has no version 7."]
    response = api("ci").post(
        "/api/v1/models/nobody/predictions/", {"version": 1, "records": [record(0)]}, format="json"
    )
    assert_json_error(response, 404)


def test_only_roles_that_log_predictions_may(api, logged_model):
    assert_json_error(post(api, [record(0)], who=None), 401)
    for role in ("ds", "validator", "board", "compliance", "outsider"):
        assert_json_error(post(api, [record(0)], who=role), 403)
    assert not Prediction.objects.exists()


def test_a_retry_is_accepted_and_stored_once(api, logged_model):
    records = [record(i) for i in range(3)]
    records[2]["attributes"] = {"gender": "m"}
    del records[1]["timestamp"]  # took the time it arrived: a retry matches any time
    assert post(api, records).json()["stored"] == 3
    again = post(api, [*records, record(3)])
    assert again.status_code == 202, again.content
    assert again.json() == {"accepted": 4, "stored": 1, "duplicates": 3}
    assert Prediction.objects.count() == 4
    assert post(api, records).json() == {"accepted": 3, "stored": 0, "duplicates": 3}
    assert [event.data["count"] for event in events()] == [3, 1]  # nothing new, no event
    assert inference_log_verify().intact


@pytest.mark.parametrize(
    "change",
    [
        {"prediction": 0.99},
        {"timestamp": "2026-11-27T10:00:01Z"},
        {"features": {**ROW, "age": 99}},
        {"attributes": {"gender": "f"}},
        {"subject_id": "customer-9"},
    ],
)
def test_the_same_request_id_with_other_content_is_a_409_and_nothing_of_the_batch_is_stored(
    api, logged_model, change
):
    assert post(api, [record(0)]).status_code == 202
    body = assert_json_error(post(api, [record(5), record(0, **change)]), 409)
    assert "ext-0" in body["detail"] and body["request_ids"] == ["ext-0"]
    assert list(Prediction.objects.values_list("request_id", flat=True)) == ["ext-0"]
    assert len(events()) == 1


def test_the_same_id_twice_in_a_batch_is_stored_once_or_with_other_content_a_400(api, logged_model):
    response = post(api, [record(0), record(1), record(0)])
    assert response.json() == {"accepted": 3, "stored": 2, "duplicates": 1}
    body = assert_json_error(post(api, [record(7), record(8), record(7, prediction=0.9)]), 400)
    assert body["records"] == {"2": {"request_id": "repeats record 0 with other content"}}
    assert "Record 2" in body["detail"] and "record 0" in body["detail"]
    assert Prediction.objects.count() == 2


def test_a_version_of_another_kind_of_model_is_checked_by_its_own_schema(
    api, logged_model, make_version
):
    """A version without a signature or reference data cannot have its inputs checked."""
    make_version(logged_model)
    assert_json_error(post(api, [record(0)], version=2), 409)


def test_consent_withdrawal_erases_logged_attributes_and_the_log_still_verifies(
    api, users, logged_model, django_capture_on_commit_callbacks
):
    from models_registry.consent import consent_withdraw

    records = [
        record(0, subject_id="customer-7", attributes={"gender": "f"}),
        record(1, attributes={"gender": "m"}),
    ]
    assert post(api, records).status_code == 202
    with django_capture_on_commit_callbacks(execute=True):
        consent_withdraw(actor=users["compliance"], subject_id="customer-7")
    erased = Prediction.objects.get(request_id="ext-0")
    assert (erased.features, erased.attributes, erased.subject_id) == ({}, {}, "")
    assert Prediction.objects.get(request_id="ext-1").attributes == {"gender": "m"}
    check = inference_log_verify()
    assert check.intact and check.erased_rows == 1, check.broken
    # A retry of the erased record is still a duplicate: what is left of it matches.
    assert post(api, records).json()["duplicates"] == 2


def test_changed_attributes_show_in_the_verification(api, logged_model):
    assert post(api, [record(0, attributes={"gender": "f"}), record(1)]).status_code == 202
    Prediction.objects.filter(request_id="ext-0").update(attributes={"gender": "m"})
    assert inference_log_verify().broken
    Prediction.objects.filter(request_id="ext-0").update(attributes={"gender": "f"})
    Prediction.objects.filter(request_id="ext-1").update(attributes={"gender": "m"})
    assert inference_log_verify().broken


@pytest.mark.django_db(transaction=True)
def test_two_identical_batches_racing_store_each_row_once_and_both_succeed(api, logged_model):
    skip_unless(is_postgres(), "the race meets at PostgreSQL's unique index")
    from django.db import connection

    records = [record(i) for i in range(200)]
    start = threading.Barrier(2)
    answers: list[Any] = []

    def send() -> None:
        client = api("ci")
        start.wait()
        answers.append(client.post(URL, {"version": 1, "records": records}, format="json"))
        connection.close()

    threads = [threading.Thread(target=send) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(a.status_code for a in answers) == [202, 202], [a.content for a in answers]
    assert (
        sorted(a.json()["stored"] for a in answers) in ([0, 200], [100, 100])
        or sum(a.json()["stored"] for a in answers) == 200
    )
    assert Prediction.objects.count() == 200
    assert sum(event.data["count"] for event in events()) == 200
    assert inference_log_verify().intact


FLOAT_NAMES = [f"x{i}" for i in range(6)]
UNUSUAL_FLOATS = [1e-05, -0.0, 1e16, 5e-324, 0.1, -123456.789, 3.4e38, 1.5e-07]


@pytest.fixture
def float_model(make_model, make_version) -> Any:
    """A version whose signature says every input is a double (the ingest's fast path),
    stored the way MLflow writes it: the inputs as a JSON string."""
    model = make_model(name="float-model", risk_tier="low")
    version = make_version(model)
    inputs = json.dumps([{"name": name, "type": "double"} for name in FLOAT_NAMES])
    version.run_facts = {"logged_model": {"signature": {"inputs": inputs}}}
    version.save(update_fields=["run_facts"])
    return model


def float_record(i: int, values: list[Any]) -> dict[str, Any]:
    return {
        "request_id": f"f-{i}",
        "features": dict(zip(FLOAT_NAMES, values, strict=True)),
        "prediction": 0.5,
        "timestamp": "2026-11-27T10:00:00Z",
    }


def test_all_float_records_are_stored_as_sent_and_their_hashes_verify(api, float_model):
    """The fast path's canonical JSON (orjson's text) must be what the verifier recomputes."""
    records = [
        float_record(i, [UNUSUAL_FLOATS[(i + j) % len(UNUSUAL_FLOATS)] for j in range(6)])
        for i in range(len(UNUSUAL_FLOATS))
    ]
    rng = random.Random(4)
    records += [float_record(100 + i, [rng.gauss(0, 1e3) for _ in range(6)]) for i in range(50)]
    records.append(float_record(99, [1, 2, 3.5, 4, 5, 6]))  # integers: the checked path
    records.append({**float_record(98, [0.5] * 6), "prediction": -0.0})
    url = "/api/v1/models/float-model/predictions/"
    response = api("ci").post(url, {"version": 1, "records": records}, format="json")
    assert response.status_code == 202, response.content
    stored = {p.request_id: p.features for p in Prediction.objects.filter(model=float_model)}
    for sent in records:  # PostgreSQL's jsonb gives 3.4e+38 back as a whole number
        assert as_stored(stored[sent["request_id"]]) == as_stored(sent["features"])
    check = inference_log_verify()
    assert check.intact and check.rows == len(records), check.broken
    # A retry of the same records is a duplicate, whatever jsonb made of their numbers.
    again = api("ci").post(url, {"version": 1, "records": records}, format="json")
    assert again.status_code == 202, again.content
    assert again.json()["duplicates"] == len(records)


def test_a_nan_among_float_features_is_named_by_the_checked_path(api, float_model):
    text = json.dumps(
        {"version": 1, "records": [float_record(0, [0.5, 0.5, float("nan"), 0.5, 0.5, 0.5])]}
    )
    response = api("ci").post(
        "/api/v1/models/float-model/predictions/", text, content_type="application/json"
    )
    body = assert_json_error(response, 400)
    assert body["records"]["0"]["features"] == {"x2": "must be a finite number"}
    assert not Prediction.objects.filter(model=float_model).exists()
