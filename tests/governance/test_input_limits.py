"""Bad input is a 400 (or 413) JSON naming what is wrong, never a 500, and stores nothing.

Issue #8, hole 10: NUL and lone surrogates (PostgreSQL refuses NUL in text and jsonb; a lone
surrogate cannot be encoded as UTF-8), numbers beyond a float, JSON nested deeper than the
parser can recurse, bodies over the upload limit, too many form fields, and model names
longer than the audit trail could hold.
"""

from __future__ import annotations

import io
import json
from typing import Any

import pytest

from governance.models import AuditEvent
from models_registry.models import ModelVersion, Prediction, ReferenceDataset, RegisteredModel
from monitoring.models import GroundTruth
from tests.conftest import assert_json_error

pytestmark = pytest.mark.django_db

MODELS = "/api/v1/models/"
VERSIONS = "/api/v1/models/churn-classifier/versions/"
GROUND_TRUTH = "/api/v1/models/churn-classifier/ground-truth/"

NUL = "\x00"
SURROGATE = "\ud800"


def post_json(client: Any, url: str, body: Any) -> Any:
    """json.dumps writes NUL as \\u0000 and a lone surrogate as \\ud800, as a script would."""
    return client.post(url, json.dumps(body), content_type="application/json")


def stored() -> tuple[int, int, int, int, int]:
    """What a refused request must not add to (minting a test client's token is on the chain)."""
    return (
        AuditEvent.objects.exclude(action="token.created").count(),
        RegisteredModel.objects.count(),
        ModelVersion.objects.count(),
        Prediction.objects.count(),
        GroundTruth.objects.count(),
    )


@pytest.fixture
def churn(make_model, make_version) -> Any:
    model = make_model()
    make_version(model)
    return model


@pytest.mark.parametrize("bad", [NUL, SURROGATE], ids=["nul", "surrogate"])
@pytest.mark.parametrize(
    ("url", "body", "field"),
    [
        (VERSIONS, lambda s: {"metrics": {f"auc{s}": 0.9}}, "metrics"),
        (VERSIONS, lambda s: {"params": {f"depth{s}": 3}}, "params"),
        (VERSIONS, lambda s: {"params": {"depth": f"3{s}"}}, "params.depth"),
        (VERSIONS, lambda s: {"mlflow_run_id": f"abc{s}"}, "mlflow_run_id"),
        (GROUND_TRUTH, lambda s: {"records": [{"request_id": f"r{s}", "label": 1}]}, "records"),
        (MODELS, lambda s: {"name": "m", "risk_tier": "low", "description": s}, "description"),
        (MODELS, lambda s: {"name": "m", "risk_tier": "low", f"x{s}": 1}, "x"),
    ],
    ids=["metric-key", "param-key", "param-value", "run-id", "request-id", "text", "field"],
)
def test_nul_and_lone_surrogates_are_a_400_naming_the_field(api, churn, url, body, field, bad):
    before = stored()
    response = post_json(api("ci"), url, body(bad))
    detail = assert_json_error(response, 400)["detail"]
    assert field in detail
    assert stored() == before


@pytest.mark.parametrize("bad", [NUL, SURROGATE], ids=["nul", "surrogate"])
def test_nul_and_surrogates_in_a_sign_off_comment_are_a_400(api, churn, bad):
    request = post_json(
        api("ci"),
        VERSIONS + "1/promotion-requests/",
        {"target_stage": "production", "justification": "ok", "strategy": "direct"},
    )
    assert request.status_code == 201, request.content
    before = stored()
    url = f"/api/v1/promotion-requests/{request.json()['id']}/sign-offs/"
    response = post_json(api("validator"), url, {"decision": "approve", "comment": f"ok{bad}"})
    assert "comment" in assert_json_error(response, 400)["detail"]
    assert stored() == before


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ('{"metrics": {"auc": 1' + "0" * 400 + "}}", "metrics.auc"),
        ('{"metrics": {"auc": -1e400}}', "metrics"),
        ('{"records": [{"request_id": "r", "label": 1' + "0" * 400 + "}]}", "records.0.label"),
    ],
    ids=["huge-int-metric", "overflowing-float-metric", "huge-int-label"],
)
def test_numbers_beyond_a_float_are_a_400(api, churn, raw, field):
    url = GROUND_TRUTH if "records" in raw else VERSIONS
    before = stored()
    response = api("ci").post(url, raw, content_type="application/json")
    assert field in assert_json_error(response, 400)["detail"]
    assert stored() == before


def test_a_label_of_minus_1e308_is_stored_as_the_finite_number_it_is(api, churn):
    response = post_json(
        api("ci"), GROUND_TRUTH, {"records": [{"request_id": "r", "label": -1e308}]}
    )
    assert response.status_code == 202, response.content
    assert GroundTruth.objects.get().label == -1e308


def test_json_nested_100k_deep_is_a_400(api, churn):
    before = stored()
    raw = '{"name": "deep", "risk_tier": "low", "tags": ' + "[" * 100_000 + "]" * 100_000 + "}"
    body = assert_json_error(api("ci").post(MODELS, raw, content_type="application/json"), 400)
    assert "nested" in body["detail"]
    assert stored() == before


def test_json_nested_deeper_than_the_limit_is_a_400_naming_where(api, churn, settings):
    raw = json.dumps({"params": {"p": [[[[[[[[[[1]]]]]]]]]]}})
    settings.API_JSON_MAX_DEPTH = 8
    body = assert_json_error(api("ci").post(VERSIONS, raw, content_type="application/json"), 400)
    assert "params.p" in body["detail"]
    assert ModelVersion.objects.count() == 1


def test_a_json_body_over_the_limit_is_a_413(api, churn, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    before = stored()
    raw = json.dumps({"name": "big", "risk_tier": "low", "description": "x" * 20_000})
    body = assert_json_error(api("ci").post(MODELS, raw, content_type="application/json"), 413)
    assert "10000 bytes" in body["detail"]
    assert stored() == before


def test_a_form_body_over_the_limit_is_a_413(api, churn, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    before = stored()
    response = api("ci").post(
        VERSIONS + "1/reference-data/",
        "label_column=label&feature_columns=" + "x" * 20_000,
        content_type="application/x-www-form-urlencoded",
    )
    assert_json_error(response, 413)
    assert stored() == before


def test_more_than_1000_form_fields_are_a_400(api, churn):
    before = stored()
    fields = "&".join(f"f{i}=1" for i in range(1001))
    response = api("ci").post(
        VERSIONS + "1/reference-data/", fields, content_type="application/x-www-form-urlencoded"
    )
    assert "fields" in assert_json_error(response, 400)["detail"]
    assert stored() == before


def test_a_form_body_to_a_json_endpoint_is_a_415(api, churn):
    before = stored()
    response = api("ci").post(
        MODELS, "name=m&risk_tier=low", content_type="application/x-www-form-urlencoded"
    )
    assert_json_error(response, 415)
    assert stored() == before


def test_more_than_1000_multipart_fields_are_a_400(api, churn):
    before = stored()
    data = {f"f{i}": "1" for i in range(1001)}
    response = api("ci").post(VERSIONS + "1/reference-data/", data, format="multipart")
    assert "fields" in assert_json_error(response, 400)["detail"]
    assert stored() == before


@pytest.mark.parametrize("length", [63, 64, 100])
def test_model_names_up_to_100_characters_are_registered_and_audited(api, length):
    name = "m" * length
    response = post_json(api("ci"), MODELS, {"name": name, "risk_tier": "low"})
    assert response.status_code == 201, response.content
    version = post_json(api("ci"), f"{MODELS}{name}/versions/", {"metrics": {"auc": 0.9}})
    assert version.status_code == 201, version.content
    assert AuditEvent.objects.filter(object_id=f"{name}:1").exists()


def test_a_model_name_over_100_characters_is_a_400_naming_the_limit(api, users):
    response = post_json(api("ci"), MODELS, {"name": "m" * 101, "risk_tier": "low"})
    body = assert_json_error(response, 400)
    assert "100" in body["name"][0]
    assert RegisteredModel.objects.count() == 0


@pytest.mark.parametrize("text", ["smile \U0001f600", "a literal \\u0000 and \\ud800"])
def test_surrogate_pairs_and_escaped_backslashes_are_text_like_any_other(api, text):
    response = post_json(api("ci"), MODELS, {"name": "m", "risk_tier": "low", "description": text})
    assert response.status_code == 201, response.content
    assert RegisteredModel.objects.get().description == text


def test_a_nul_under_a_field_named_detail_keeps_detail_a_string(api, users):
    response = post_json(api("ci"), MODELS, {"detail": NUL})
    assert "detail" in assert_json_error(response, 400)["detail"]


def test_a_multipart_body_over_the_limit_is_a_413(api, churn, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    before = stored()
    data = {"label_column": "x" * 20_000}
    response = api("ci").post(VERSIONS + "1/reference-data/", data, format="multipart")
    assert_json_error(response, 413)
    assert stored() == before


def test_json_500_deep_parses_but_is_a_400_past_the_default_depth(api, churn):
    raw = '{"params": {"p": ' + "[" * 500 + "]" * 500 + "}}"
    body = assert_json_error(api("ci").post(VERSIONS, raw, content_type="application/json"), 400)
    assert "Nested deeper than 32 levels" in body["detail"]
    assert ModelVersion.objects.count() == 1


def test_a_label_column_longer_than_the_database_holds_is_a_400(api, churn):
    name = "l" * 101
    csv = io.BytesIO(f"x,{name}\n1.0,0\n2.0,1\n".encode())
    csv.name = "data.csv"
    data = {"file": csv, "label_column": name}
    response = api("ci").post(VERSIONS + "1/reference-data/", data, format="multipart")
    assert "label_column" in assert_json_error(response, 400)
    assert not ReferenceDataset.objects.exists()


def test_a_form_body_over_the_limit_to_the_upload_endpoint_is_a_413(api, churn, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    response = api("ci").post(
        VERSIONS + "1/reference-data/",
        "label_column=" + "x" * 20_000,
        content_type="application/x-www-form-urlencoded",
    )
    assert_json_error(response, 413)


def test_an_unknown_field_named_detail_keeps_detail_a_string(api, users):
    response = post_json(api("ci"), MODELS, {"detail": 1, "name": "m", "risk_tier": "low"})
    body = assert_json_error(response, 400)
    assert body["fields"] == {"detail": ["Unknown field."]}
    assert RegisteredModel.objects.count() == 0
