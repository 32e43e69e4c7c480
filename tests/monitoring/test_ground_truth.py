"""POST /api/v1/models/{name}/ground-truth/: all or nothing, bad records named by index."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from governance.models import AuditEvent
from models_registry.models import Prediction
from monitoring.models import GroundTruth
from tests.conftest import assert_json_error

URL = "/api/v1/models/churn-classifier/ground-truth/"


@pytest.fixture
def model(make_model, make_version) -> Any:
    model = make_model()
    version = make_version(model)
    Prediction.objects.bulk_create(
        Prediction(
            model=model,
            version=version,
            request_id=f"req-{i}",
            source=Prediction.Source.SERVED,
            slot=Prediction.Slot.PRODUCTION,
            occurred_at=timezone.now() - timedelta(minutes=1),
            features={"tenure": i},
            prediction=0.7,
        )
        for i in range(3)
    )
    return model


def post(api: Any, body: Any, who: str = "ci") -> Any:
    return api(who).post(URL, body, format="json")


def labels() -> dict[str, float]:
    return dict(GroundTruth.objects.values_list("request_id", "label"))


def test_ci_records_labels_and_gets_202_with_the_count(api, users, model):
    records = [
        {"request_id": "req-0", "label": 1},
        {"request_id": "req-1", "label": 0},
        {"request_id": "req-2", "label": 0.5},
        {"request_id": "not-logged-yet", "label": 1},
    ]

    response = post(api, {"records": records})

    assert response.status_code == 202, response.content
    assert response.json() == {"accepted": 4, "created": 4, "updated": 0, "unmatched": 1}
    assert labels() == {"req-0": 1.0, "req-1": 0.0, "req-2": 0.5, "not-logged-yet": 1.0}
    assert {g.actor for g in GroundTruth.objects.all()} == {users["ci"]}
    audit = AuditEvent.objects.get(action="ground_truth.recorded")
    assert audit.object_id == "churn-classifier"
    assert audit.actor == users["ci"]
    assert audit.origin == "api"
    assert audit.data["accepted"] == 4


def test_a_label_sent_again_replaces_the_earlier_one(api, model):
    post(api, {"records": [{"request_id": "req-0", "label": 1}]})
    first = GroundTruth.objects.get()

    response = post(
        api,
        {"records": [{"request_id": "req-0", "label": 0}, {"request_id": "req-1", "label": 1}]},
    )

    assert response.status_code == 202, response.content
    assert response.json() == {"accepted": 2, "created": 1, "updated": 1, "unmatched": 0}
    assert labels() == {"req-0": 0.0, "req-1": 1.0}
    corrected = GroundTruth.objects.get(request_id="req-0")
    assert corrected.pk == first.pk
    assert corrected.received_at >= first.received_at
    audit = AuditEvent.objects.filter(action="ground_truth.recorded").order_by("id").last()
    assert audit.data["updated_request_ids"] == ["req-0"]


def test_labels_of_one_model_do_not_touch_another(api, model, make_model):
    make_model(name="fraud-detector")
    post(api, {"records": [{"request_id": "req-0", "label": 1}]})

    response = api("ci").post(
        "/api/v1/models/fraud-detector/ground-truth/",
        {"records": [{"request_id": "req-0", "label": 0}]},
        format="json",
    )

    assert response.json() == {"accepted": 1, "created": 1, "updated": 0, "unmatched": 1}
    assert sorted(GroundTruth.objects.values_list("model__name", "label")) == [
        ("churn-classifier", 1.0),
        ("fraud-detector", 0.0),
    ]


@pytest.mark.parametrize(
    ("record", "field", "message"),
    [
        ({"request_id": "req-9"}, "label", "This field is required."),
        ({"request_id": "req-9", "label": None}, "label", "This field is required."),
        ({"request_id": "req-9", "label": "1"}, "label", "A number is required."),
        ({"request_id": "req-9", "label": True}, "label", "A number is required."),
        ({"request_id": "req-9", "label": [1]}, "label", "A number is required."),
        ({"label": 1}, "request_id", "This field is required."),
        ({"request_id": "", "label": 1}, "request_id", "This field may not be blank."),
        ({"request_id": "   ", "label": 1}, "request_id", "This field may not be blank."),
        ({"request_id": 17, "label": 1}, "request_id", "A string is required."),
        ({"request_id": "x" * 101, "label": 1}, "request_id", "At most 100 characters."),
        ({"request_id": "req-9", "label": 1, "lable": 0}, "lable", "Unknown field."),
        ("req-9", "non_field_errors", "Expected an object with request_id and label."),
    ],
)
def test_one_bad_record_is_a_400_naming_its_index_and_nothing_is_stored(
    api, model, record, field, message
):
    records = [{"request_id": f"req-{i}", "label": 1} for i in range(3)] + [record]

    body = assert_json_error(post(api, {"records": records}), 400)

    assert body["records"] == {"3": {field: [message]}}
    assert "nothing was stored" in body["detail"]
    assert not GroundTruth.objects.exists()
    assert not AuditEvent.objects.filter(action="ground_truth.recorded").exists()


def test_an_infinite_label_is_named(api, model):
    raw = '{"records": [{"request_id": "a", "label": 1}, {"request_id": "b", "label": 1e400}]}'

    response = api("ci").post(URL, raw, content_type="application/json")

    body = assert_json_error(response, 400)
    assert body["records"] == {"1": {"label": ["Not a finite number."]}}
    assert not GroundTruth.objects.exists()


def test_a_nan_label_is_a_400(api, model):
    raw = '{"records": [{"request_id": "a", "label": NaN}]}'

    assert_json_error(api("ci").post(URL, raw, content_type="application/json"), 400)
    assert not GroundTruth.objects.exists()


def test_a_request_id_twice_in_one_batch_is_named_with_its_first_index(api, model):
    records = [
        {"request_id": "req-0", "label": 1},
        {"request_id": "req-1", "label": 1},
        {"request_id": "req-0", "label": 0},
    ]

    body = assert_json_error(post(api, {"records": records}), 400)

    assert body["records"] == {"2": {"request_id": ["Duplicate of record 0."]}}
    assert not GroundTruth.objects.exists()


def test_every_bad_record_is_named_up_to_a_hundred(api, model):
    records = [{"request_id": f"r-{i}", "label": "yes"} for i in range(150)]

    body = assert_json_error(post(api, {"records": records}), 400)

    assert len(body["records"]) == 100
    assert body["detail"].startswith("150 of 150 record(s) are invalid, nothing was stored")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "records"),
        ({"records": []}, "records"),
        ({"records": {"request_id": "a", "label": 1}}, "records"),
        ({"records": [{"request_id": "a", "label": 1}], "model": "x"}, "model"),
    ],
)
def test_a_malformed_batch_is_a_400(api, model, body, field):
    response = post(api, body)

    assert field in assert_json_error(response, 400)
    assert not GroundTruth.objects.exists()


def test_more_than_ten_thousand_records_is_a_400(api, model):
    records = [{"request_id": f"r-{i}", "label": 1} for i in range(10_001)]

    assert "records" in assert_json_error(post(api, {"records": records}), 400)
    assert not GroundTruth.objects.exists()


def test_ten_thousand_records_are_stored_with_bulk_queries(
    api, model, django_assert_max_num_queries
):
    records = [{"request_id": f"r-{i}", "label": i % 2} for i in range(10_000)]
    records[5] = {"request_id": "req-1", "label": 1}

    with django_assert_max_num_queries(120):
        response = post(api, {"records": records})

    assert response.status_code == 202, response.content
    assert response.json() == {
        "accepted": 10_000,
        "created": 10_000,
        "updated": 0,
        "unmatched": 9999,
    }
    assert GroundTruth.objects.count() == 10_000


def test_an_anonymous_call_is_401(api, model):
    assert_json_error(post(api, {"records": [{"request_id": "a", "label": 1}]}, who=None), 401)


@pytest.mark.parametrize("who", ["ds", "validator", "board", "compliance", "outsider"])
def test_roles_that_do_not_log_predictions_get_403(api, model, who):
    response = post(api, {"records": [{"request_id": "a", "label": 1}]}, who=who)

    assert_json_error(response, 403)
    assert not GroundTruth.objects.exists()


def test_an_unknown_model_is_404(api, model):
    response = api("ci").post(
        "/api/v1/models/nope/ground-truth/",
        {"records": [{"request_id": "a", "label": 1}]},
        format="json",
    )

    assert "nope" in assert_json_error(response, 404)["detail"]
