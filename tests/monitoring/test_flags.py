"""Flags from people: POST/GET /api/v1/models/{name}/flags/, the summary, the window metrics
`flags` and `flag_rate`, and the comment's erasure with the prediction's personal data."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import TestCase
from django.utils import timezone

from governance.errors import Conflict
from governance.models import AuditEvent
from governance.services import audit_chain_verify, sha256_hex
from models_registry.consent import consent_withdraw
from models_registry.models import Prediction
from models_registry.retention import retention_apply_all, retention_policy_set
from monitoring.flag_selectors import flags_summary
from monitoring.models import Alert, PredictionFlag
from monitoring.rules import window_values
from monitoring.services.alerts import alerts_evaluate_window
from monitoring.services.flags import flag_comments_erase, flag_create
from tests.conftest import assert_json_error, make_user
from tests.monitoring.alert_helpers import configure, served_calls

URL = "/api/v1/models/churn-classifier/flags/"


@pytest.fixture
def log(users, make_model, make_version) -> dict[str, Any]:
    """churn-classifier v1 with three answered calls, one failed call and one call about a
    subject; another model with a call of its own."""
    model = make_model()
    version = make_version(model)
    other = make_model(name="fraud")
    other_version = make_version(other)
    now = timezone.now()

    def row(request_id: str, on: Any = version, **fields: Any) -> Prediction:
        fields.setdefault("prediction", 0.8)
        return Prediction(
            model=on.model,
            version=on,
            request_id=request_id,
            source=Prediction.Source.SERVED,
            occurred_at=now - timedelta(minutes=10),
            features={"tenure": 3},
            **fields,
        )

    Prediction.objects.bulk_create(
        [
            row("r-1"),
            row("r-2"),
            row("r-3"),
            row("failed", prediction=None, error="model raised ValueError"),
            row("about-ann", subject_id="customer-ann", salt="0" * 32),
            row("fraud-1", on=other_version),
        ]
    )
    return {"model": model, "version": version, "other": other}


def post(api: Any, body: Any, who: str = "ds", url: str = URL) -> Any:
    return api(who).post(url, body, format="json")


# --- flagging -------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["ds", "validator", "board", "compliance", "ci"])
def test_every_role_flags_a_prediction(api, log, users, who):
    response = post(api, {"request_id": "r-1", "reason": "unfair"}, who=who)

    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["model"], body["version"], body["request_id"]) == ("churn-classifier", 1, "r-1")
    assert (body["reason"], body["comment"], body["comment_erased"]) == ("unfair", "", False)
    assert body["flagged_by"] == users[who].username


def test_an_application_with_the_service_role_flags_for_its_users(api, log, users):
    users["service"] = make_user("checkout-app", "service")

    response = post(
        api, {"request_id": "r-2", "reason": "wrong", "comment": "I never left"}, "service"
    )

    assert response.status_code == 201, response.content
    assert PredictionFlag.objects.get().flagged_by == users["service"]


def test_a_user_without_a_role_gets_403_and_anonymous_401(api, log):
    assert_json_error(post(api, {"request_id": "r-1", "reason": "wrong"}, who="outsider"), 403)
    assert_json_error(post(api, {"request_id": "r-1", "reason": "wrong"}, who=None), 401)
    assert not PredictionFlag.objects.exists()


def test_the_flag_is_on_record_with_a_salted_hash_of_the_comment_never_the_text(api, log, users):
    comment = "Ann Example, account 123, was refused"
    post(api, {"request_id": "r-1", "reason": "unfair", "comment": comment})

    flag = PredictionFlag.objects.get()
    event = AuditEvent.objects.get(action="flag.created")
    assert event.actor == users["ds"] and event.object_id == str(flag.pk)
    assert event.data == {
        "model": "churn-classifier",
        "version": 1,
        "request_id": "r-1",
        "reason": "unfair",
        "comment_sha256": sha256_hex(flag.salt + comment),
    }
    assert "Ann" not in str(event.data) and len(flag.salt) == 32
    assert audit_chain_verify() == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"request_id": "nope", "reason": "wrong"}, "request_id"),  # not logged
        ({"request_id": "fraud-1", "reason": "wrong"}, "request_id"),  # another model's
        ({"request_id": "failed", "reason": "wrong"}, "request_id"),  # no prediction given
        ({"request_id": "r-1", "reason": "boring"}, "reason"),
        ({"request_id": "r-1"}, "reason"),
        ({"reason": "wrong"}, "request_id"),
        ({"request_id": "r-1", "reason": "wrong", "comment": "x" * 2001}, "comment"),
        ({"request_id": "r-1", "reason": "wrong", "comment": 5}, "comment"),
        ({"request_id": "r-1", "reason": "wrong", "severity": "high"}, "severity"),
        ({"request_id": "x" * 101, "reason": "wrong"}, "request_id"),
    ],
)
def test_bad_input_is_a_400_naming_the_field_and_stores_nothing(api, log, body, field):
    response = post(api, body)

    assert field in assert_json_error(response, 400)
    assert not PredictionFlag.objects.exists()
    assert not AuditEvent.objects.filter(action="flag.created").exists()


def test_an_unknown_model_is_a_404(api, log):
    response = post(api, {"request_id": "r-1", "reason": "wrong"}, url="/api/v1/models/nope/flags/")

    assert_json_error(response, 404)


def test_the_same_flag_again_is_a_safe_retry_answered_with_the_stored_one(api, log):
    body = {"request_id": "r-1", "reason": "wrong", "comment": "churned? no"}
    first = post(api, body)

    again = post(api, body)

    assert again.status_code == 200 and again.json()["id"] == first.json()["id"]
    assert PredictionFlag.objects.count() == 1
    assert AuditEvent.objects.filter(action="flag.created").count() == 1


def test_another_reason_from_the_same_person_is_a_409_naming_the_stored_flag(api, log):
    first = post(api, {"request_id": "r-1", "reason": "wrong"})

    changed = post(api, {"request_id": "r-1", "reason": "unfair"})
    commented = post(api, {"request_id": "r-1", "reason": "wrong", "comment": "also"})

    assert assert_json_error(changed, 409)["flag"] == first.json()["id"]
    assert_json_error(commented, 409)
    assert PredictionFlag.objects.get().reason == "wrong"


def test_different_people_each_flag_the_same_prediction(api, log):
    post(api, {"request_id": "r-1", "reason": "wrong"}, who="ds")
    post(api, {"request_id": "r-1", "reason": "unexplainable"}, who="board")

    assert PredictionFlag.objects.filter(request_id="r-1").count() == 2


def test_a_concurrent_duplicate_meets_the_unique_constraint_and_is_the_same_retry(
    log, users, monkeypatch
):
    flag_create(actor=users["ds"], model=log["model"], request_id="r-1", reason="wrong")
    stored = PredictionFlag.objects.get()
    # As if the read ran before another request of the same person inserted its flag.
    monkeypatch.setattr("monitoring.services.flags._stored", lambda *args: None)

    again = flag_create(actor=users["ds"], model=log["model"], request_id="r-1", reason="wrong")

    assert (again.created, again.flag.pk) == (False, stored.pk)
    assert PredictionFlag.objects.count() == 1
    with pytest.raises(Conflict):
        flag_create(actor=users["ds"], model=log["model"], request_id="r-1", reason="other")


# --- reading --------------------------------------------------------------------------


def test_readers_list_a_models_flags_with_filters(api, log, users):
    post(api, {"request_id": "r-1", "reason": "wrong"}, who="ds")
    post(api, {"request_id": "r-2", "reason": "unfair"}, who="board")
    flag_create(actor=users["ci"], model=log["other"], request_id="fraud-1", reason="wrong")

    everything = api("validator").get(URL).json()
    unfair = api("validator").get(URL, {"reason": "unfair"}).json()
    by_dana = api("validator").get(URL, {"flagged_by": "dana"}).json()
    later = api("validator").get(URL, {"since": timezone.now().isoformat()}).json()
    earlier = api("validator").get(URL, {"until": timezone.now().isoformat()}).json()

    assert [f["request_id"] for f in everything["results"]] == ["r-2", "r-1"]
    assert [f["request_id"] for f in unfair["results"]] == ["r-2"]
    assert [f["request_id"] for f in by_dana["results"]] == ["r-1"]
    assert later["count"] == 0 and earlier["count"] == 2


def test_listing_needs_read_and_bad_filters_are_400(api, log, users):
    users["service"] = make_user("checkout-app", "service")

    assert_json_error(api("service").get(URL), 403)
    assert_json_error(api("ds").get(URL, {"since": "yesterday"}), 400)
    assert_json_error(api("ds").get(URL, {"reason": "boring"}), 400)
    assert_json_error(api("ds").get(URL, {"version": ""}), 400)
    assert_json_error(api("ds").get(URL, {"since": "0001-01-01T00:00:00+14:00"}), 400)
    # An offset PostgreSQL would refuse is the same moment in UTC.
    assert api("ds").get(URL, {"until": "0632-03-07T02:07:01-21:07"}).json()["count"] == 0


def test_the_summary_counts_flags_per_reason_in_the_window_beside_its_predictions(log, users):
    for who, request_id, reason in [
        ("ds", "r-1", "wrong"),
        ("board", "r-1", "wrong"),
        ("ci", "r-2", "unfair"),
    ]:
        flag_create(actor=users[who], model=log["model"], request_id=request_id, reason=reason)
    old = PredictionFlag.objects.create(
        model=log["model"],
        version=log["version"],
        request_id="r-3",
        reason="other",
        flagged_by=users["validator"],
    )
    PredictionFlag.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=3))
    end = timezone.now()

    summary = flags_summary(model=log["model"], start=end - timedelta(days=1), end=end)

    assert summary.by_reason == {"wrong": 2, "unfair": 1, "unexplainable": 0, "other": 0}
    assert (summary.flags, summary.flagged_predictions, summary.predictions) == (3, 2, 5)
    assert summary.flag_rate == pytest.approx(3 / 5)
    assert summary.as_dict()["flag_rate"] == pytest.approx(0.6)
    wider = flags_summary(model=log["model"], start=end - timedelta(days=4), end=end)
    assert wider.by_reason["other"] == 1
    empty = flags_summary(model=log["other"], start=end, end=end + timedelta(days=1))
    assert (empty.flags, empty.flag_rate) == (0, None)


# --- the window metrics ---------------------------------------------------------------


def test_flags_and_flag_rate_are_window_values_of_the_version(log, users):
    for who in ("ds", "board"):
        flag_create(actor=users[who], model=log["model"], request_id="r-1", reason="wrong")
    end = timezone.now()
    start = end - timedelta(hours=1)

    values = window_values(model=log["model"], version=log["version"], start=start, end=end)
    quiet = window_values(
        model=log["other"], version=log["other"].versions.get(), start=end, end=end + timedelta(1)
    )

    assert values.values["flags"] == 2.0
    assert values.values["flag_rate"] == pytest.approx(2 / 5)  # 5 calls, the failed one too
    assert (quiet.values["flags"], quiet.values["flag_rate"]) == (0.0, None)


def test_an_alert_rule_on_flag_rate_fires_on_the_window(log, users):
    configure(log["model"], [{"metric": "flag_rate", "threshold": 0.08, "severity": "warning"}])
    served_calls(log["version"], 15)
    flag_create(actor=users["ds"], model=log["model"], request_id="r-1", reason="unfair")

    with TestCase.captureOnCommitCallbacks(execute=True):
        quiet = alerts_evaluate_window(model=log["model"], version=log["version"])
    flag_create(actor=users["board"], model=log["model"], request_id="r-2", reason="unfair")
    with TestCase.captureOnCommitCallbacks(execute=True):
        alerts_evaluate_window(model=log["model"], version=log["version"])

    assert [r.action.value for r in quiet] == ["clean"]  # 1 flag in 20 calls: 0.05
    alert = Alert.objects.get()
    assert (alert.metric, alert.value) == ("flag_rate", pytest.approx(2 / 20))


def test_the_config_accepts_flag_rules_and_keeps_a_rate_between_0_and_1(api, log):
    url = "/api/v1/models/churn-classifier/monitoring-config/"
    good = {
        "alerts": [
            {"metric": "flag_rate", "threshold": 0.02, "severity": "warning"},
            {"metric": "flags", "threshold": 25, "severity": "info"},
        ]
    }
    bad = {"alerts": [{"metric": "flag_rate", "threshold": 2, "severity": "warning"}]}

    accepted = api("ds").put(url, good, format="json")
    refused = api("ds").put(url, bad, format="json")

    assert accepted.status_code == 200, accepted.content
    assert accepted.json()["document"]["alerts"][0]["comparison"] == ">="
    assert "alerts[0].threshold" in assert_json_error(refused, 400)


# --- personal data --------------------------------------------------------------------


def test_a_consent_withdrawal_erases_the_comments_on_the_subjects_predictions(
    log, users, django_capture_on_commit_callbacks
):
    flag_create(
        actor=users["ds"],
        model=log["model"],
        request_id="about-ann",
        reason="unfair",
        comment="Ann called: refused twice",
    )
    flag_create(
        actor=users["ds"], model=log["model"], request_id="r-1", reason="wrong", comment="kept"
    )
    flag = PredictionFlag.objects.get(request_id="about-ann")
    digest = sha256_hex(flag.salt + flag.comment)

    with django_capture_on_commit_callbacks(execute=True):
        consent_withdraw(actor=users["compliance"], subject_id="customer-ann")

    flag.refresh_from_db()
    assert (flag.comment, flag.salt, flag.reason) == ("", "", "unfair")
    assert flag.comment_erased_at is not None
    assert PredictionFlag.objects.get(request_id="r-1").comment == "kept"
    event = AuditEvent.objects.get(action="flag.comments_erased")
    assert event.data == {"flags": [flag.pk], "comment_sha256": [digest]}
    assert audit_chain_verify() == []


def test_a_flag_on_an_erased_prediction_may_not_carry_a_comment(
    api, log, users, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        consent_withdraw(actor=users["compliance"], subject_id="customer-ann")

    refused = post(api, {"request_id": "about-ann", "reason": "wrong", "comment": "Ann again"})
    plain = post(api, {"request_id": "about-ann", "reason": "wrong"})

    assert "comment" in assert_json_error(refused, 400)
    assert plain.status_code == 201


def test_retention_deleting_a_prediction_erases_the_comments_on_it_and_keeps_the_count(
    log, users, django_capture_on_commit_callbacks
):
    flag_create(
        actor=users["ds"],
        model=log["model"],
        request_id="r-1",
        reason="wrong",
        comment="my neighbour Bob",
    )
    Prediction.objects.filter(request_id="r-1").update(
        occurred_at=timezone.now() - timedelta(days=40)
    )
    retention_policy_set(actor=users["compliance"], model=log["model"], inference_log_days=30)

    with django_capture_on_commit_callbacks(execute=True):
        retention_apply_all()

    flag = PredictionFlag.objects.get()
    assert not Prediction.objects.filter(request_id="r-1").exists()
    assert flag.comment == "" and flag.comment_erased_at is not None
    end = timezone.now()
    assert flags_summary(model=log["model"], start=end - timedelta(days=1), end=end).flags == 1


def test_the_daily_run_erases_what_the_receiver_missed_and_is_idempotent(log, users):
    flag_create(
        actor=users["ds"],
        model=log["model"],
        request_id="r-2",
        reason="wrong",
        comment="about Carol",
    )
    Prediction.objects.filter(request_id="r-2").update(erased_at=timezone.now())

    assert flag_comments_erase() == 1
    assert flag_comments_erase() == 0
    assert PredictionFlag.objects.get().comment == ""


# --- pages and admin ------------------------------------------------------------------


def test_the_monitoring_page_shows_flags_per_reason(client, log, users):
    flag_create(
        actor=users["ds"],
        model=log["model"],
        request_id="r-1",
        reason="unexplainable",
        comment="why 0.8?",
    )
    client.force_login(users["validator"])

    page = client.get("/models/churn-classifier/monitoring/").content.decode()

    assert 'id="flag-counts"' in page
    assert "<td>unexplainable</td><td>1</td>" in page
    assert "why 0.8?" in page


def test_compliance_reads_flags_in_the_admin_and_cannot_change_them(client, log, users):
    flag_create(actor=users["ds"], model=log["model"], request_id="r-1", reason="wrong")
    flag = PredictionFlag.objects.get()
    client.force_login(users["compliance"])

    listing = client.get("/admin/monitoring/predictionflag/?reason=wrong")
    change = client.post(f"/admin/monitoring/predictionflag/{flag.pk}/change/", {"reason": "other"})

    assert listing.status_code == 200 and "r-1" in listing.content.decode()
    assert change.status_code == 403
    assert PredictionFlag.objects.get().reason == "wrong"
