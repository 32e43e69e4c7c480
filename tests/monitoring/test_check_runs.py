"""Check runs end to end in the services: requested, validated, executed once, recorded."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pandas as pd
import pytest
from django.test import TestCase
from django.utils import timezone

from governance.audit.chain import audit_sequence
from governance.errors import Conflict, InvalidInput, NotAllowed, NotFound
from governance.models import AuditEvent
from monitoring.checks.runner import CheckKind, CheckOutcome, check_kind_register
from monitoring.config import config_normalize, model_features
from monitoring.models import CheckMetric, CheckRun, GroundTruth, MonitoringConfig
from monitoring.services import check_execute, check_request
from monitoring.signals import check_completed
from tests.monitoring.check_helpers import check_kinds, counting_kind, log_window, upload_reference

__all__ = ["check_kinds"]


@pytest.fixture
def version(make_model, make_version) -> Any:
    model = make_model(protected_attributes=["gender"])
    return make_version(model)


def configure(model: Any, data: dict[str, Any], **raw: Any) -> None:
    """A normalized config document; `raw` keys bypass validation (a task no kind knows)."""
    document = config_normalize(
        data, features=model_features(model), protected=list(model.protected_attributes)
    )
    MonitoringConfig.objects.update_or_create(
        model=model, defaults={"document": {**document, **raw}}
    )


def request(users: dict[str, Any], version: Any, kind: str = "test", **kwargs: Any) -> CheckRun:
    kwargs.setdefault("actor", users["ds"])
    with TestCase.captureOnCommitCallbacks(execute=True):
        return check_request(model=version.model, version=version.version, kind=kind, **kwargs)


def test_a_requested_check_is_queued_audited_and_run_on_commit(users, version, check_kinds):
    check_kind_register(counting_kind())
    ids = log_window(version, [{"features": {}, "prediction": 0.2 * i} for i in range(4)])
    GroundTruth.objects.create(model=version.model, request_id=ids[1], label=1)
    GroundTruth.objects.create(model=version.model, request_id=ids[3], label=0)
    GroundTruth.objects.create(model=version.model, request_id="elsewhere", label=1)
    completed: list[CheckRun] = []

    def listen(sender: Any, run: CheckRun, **kwargs: Any) -> None:
        completed.append(run)

    check_completed.connect(listen)
    try:
        run = request(users, version)
    finally:
        check_completed.disconnect(listen)

    assert run.status == CheckRun.Status.QUEUED  # as it was answered
    run.refresh_from_db()
    assert run.status == CheckRun.Status.DONE
    assert (run.current_rows, run.labelled_rows, run.attempts) == (4, 2, 1)
    assert run.results["request_ids"] == ids
    assert run.results["labels"] == [None, 1.0, None, 0.0]  # NaN stored as null
    assert run.requested_by == users["ds"] and run.trigger == CheckRun.Trigger.API
    assert run.started_at and run.finished_at and run.duration_ms >= 0
    metrics = dict(CheckMetric.objects.filter(run=run).values_list("name", "value"))
    assert metrics == {"rows": 4.0, "labelled": 2.0, "nan": None}
    assert [r.pk for r in completed] == [run.pk]
    audit_sequence()
    actions = list(
        AuditEvent.objects.filter(object_type="check_run", object_id=str(run.pk))
        .order_by("id")
        .values_list("action", flat=True)
    )
    assert actions == ["check.requested", "check.completed"]


def test_the_default_window_is_the_configs_window_hours_ending_now(users, version, check_kinds):
    check_kind_register(counting_kind())
    log_window(version, [{"features": {}, "prediction": 0.5}], minutes_ago=60 * 25, prefix="old")
    log_window(version, [{"features": {}, "prediction": 0.5}], minutes_ago=60 * 23, prefix="new")

    run = request(users, version)

    run.refresh_from_db()
    assert run.results["request_ids"] == ["new-0"]
    assert abs((timezone.now() - run.window_end).total_seconds()) < 60
    assert run.window_end - run.window_start == timedelta(hours=24)

    configure(version.model, {"window": {"hours": 48}})
    wider = request(users, version)
    wider.refresh_from_db()
    assert wider.window_end - wider.window_start == timedelta(hours=48)
    assert wider.results["request_ids"] == ["old-0", "new-0"]


def test_an_explicit_window_is_used_as_given(users, version, check_kinds):
    check_kind_register(counting_kind())
    log_window(version, [{"features": {}, "prediction": 0.5}] * 3, minutes_ago=90)
    end = timezone.now() - timedelta(minutes=60)
    run = request(users, version, window_start=end - timedelta(hours=1), window_end=end)
    run.refresh_from_db()
    assert run.current_rows == 3
    assert run.window_end == end


@pytest.mark.parametrize(
    ("start", "end", "field"),
    [
        (datetime(2026, 11, 1, 10), None, "window_start"),
        (None, datetime(2026, 11, 1, 10), "window_end"),
        (timezone.now() - timedelta(hours=1), timezone.now() - timedelta(hours=2), "window_start"),
        (None, timezone.now() + timedelta(days=1), "window_end"),
        (timezone.now() - timedelta(days=400), None, "window_start"),
    ],
    ids=["naive-start", "naive-end", "start-after-end", "future-end", "too-long"],
)
def test_a_bad_window_is_refused_naming_the_field_and_stores_nothing(
    users, version, check_kinds, start, end, field
):
    check_kind_register(counting_kind())
    with pytest.raises(InvalidInput) as refused:
        request(users, version, window_start=start, window_end=end)
    assert field in refused.value.extra
    assert not CheckRun.objects.exists()


def test_an_unknown_version_is_not_found_and_an_unknown_kind_is_invalid(users, version):
    with pytest.raises(NotFound):
        check_request(actor=users["ds"], model=version.model, version=9, kind="drift")
    with pytest.raises(InvalidInput) as refused:
        check_request(actor=users["ds"], model=version.model, version=1, kind="astrology")
    assert "kind" in refused.value.extra
    assert not CheckRun.objects.exists()


def test_only_roles_that_run_checks_may_request_one(users, version, check_kinds):
    check_kind_register(counting_kind())
    for who in ("outsider",):
        with pytest.raises(NotAllowed):
            request(users, version, actor=users[who])
    for who in ("validator", "ci", "compliance", "board"):
        request(users, version, actor=users[who])
    assert CheckRun.objects.count() == 4


def test_drift_and_estimation_need_reference_data(users, version):
    for kind in ("drift", "estimation"):
        with pytest.raises(Conflict, match="reference data"):
            request(users, version, kind=kind)
    assert not CheckRun.objects.exists()


def test_estimation_needs_labels_in_the_reference(users, version):
    upload_reference(users["ds"], version, pd.DataFrame({"tenure": [1.0, 2.0, 3.0]}))
    with pytest.raises(Conflict, match="label column"):
        request(users, version, kind="estimation")


def test_quality_fairness_and_estimation_need_a_task_they_apply_to(users, version):
    configure(version.model, {}, task="ranking")
    for kind in ("quality", "fairness", "estimation"):
        with pytest.raises(Conflict, match="ranking"):
            request(users, version, kind=kind)
    configure(version.model, {"task": "regression"})
    with pytest.raises(Conflict, match="binary classification"):
        request(users, version, kind="estimation")


def test_fairness_needs_protected_attributes(users, make_model, make_version):
    version = make_version(make_model(name="no-attributes"))
    with pytest.raises(Conflict, match="protected attributes"):
        request(users, version, kind="fairness")


def test_executing_a_finished_run_again_changes_nothing(users, version, check_kinds):
    check_kind_register(counting_kind())
    log_window(version, [{"features": {}, "prediction": 0.5}] * 2)
    run = request(users, version)
    run.refresh_from_db()
    finished = run.finished_at

    again = check_execute(run_id=run.pk)

    assert again.status == CheckRun.Status.DONE and again.attempts == 1
    assert again.finished_at == finished
    assert CheckMetric.objects.filter(run=run).count() == 3


def test_a_run_another_attempt_finished_meanwhile_is_stored_once(users, version, check_kinds):
    """Two workers on one run (a re-delivery while the first still computes): one stores."""
    calls: list[int] = []

    def racing(run: CheckRun, settings: Any) -> CheckOutcome:
        calls.append(run.attempts)
        if len(calls) == 1:
            check_execute(run_id=run.pk)  # the other attempt starts and finishes first
        return CheckOutcome(results={"attempt": len(calls)}, metrics={"rows": 0.0}, current_rows=0)

    check_kind_register(CheckKind("test", racing))
    run = request(users, version)

    run.refresh_from_db()
    assert calls == [1, 2]
    assert run.status == CheckRun.Status.DONE and run.attempts == 2
    assert run.results == {"attempt": 2}
    assert CheckMetric.objects.filter(run=run).count() == 1
    audit_sequence()
    completed = AuditEvent.objects.filter(action="check.completed", object_id=str(run.pk))
    assert completed.count() == 1


def test_a_failing_check_ends_failed_with_a_readable_error(users, version, check_kinds):
    def broken(run: CheckRun, settings: Any) -> CheckOutcome:
        raise ValueError("The reference data set has no column(s) tenure.")

    check_kind_register(CheckKind("test", broken))
    run = request(users, version)

    run.refresh_from_db()
    assert run.status == CheckRun.Status.FAILED
    assert run.error == "ValueError: The reference data set has no column(s) tenure."
    assert run.finished_at and run.attempts == 1
    assert not CheckMetric.objects.filter(run=run).exists()
    audit_sequence()
    failed = AuditEvent.objects.get(action="check.failed", object_id=str(run.pk))
    assert failed.data["error"] == run.error
    assert check_execute(run_id=run.pk).status == CheckRun.Status.FAILED  # not retried


def test_a_drift_check_whose_reference_lacks_a_feature_fails_readably(users, version):
    frame = pd.DataFrame({"tenure": [1.0, 2.0, 3.0], "age": [30.0, 40.0, 50.0]})
    upload_reference(users["ds"], version, frame)
    configure(version.model, {"drift": {"features": ["age"]}})
    # A later reference data set (the one checks read) lacks the configured feature.
    upload_reference(users["ds"], version, frame[["tenure"]])
    log_window(version, [{"features": {"tenure": 1.0}, "prediction": 0.5}])
    run = request(users, version, kind="drift")
    run.refresh_from_db()
    assert run.status == CheckRun.Status.FAILED
    assert "age" in run.error


def test_scheduled_requests_need_no_person(version, check_kinds):
    check_kind_register(counting_kind())
    with TestCase.captureOnCommitCallbacks(execute=True):
        run = check_request(
            actor=None, model=version.model, version=1, kind="test", trigger="schedule"
        )
    run.refresh_from_db()
    assert run.status == CheckRun.Status.DONE and run.requested_by is None
    with pytest.raises(NotAllowed):
        check_request(actor=None, model=version.model, version=1, kind="test", trigger="api")


def test_attributes_of_the_window_reach_the_check(users, version, check_kinds):
    check_kind_register(counting_kind())
    log_window(
        version,
        [
            {"features": {}, "prediction": 0.9, "attributes": {"gender": "f"}},
            {"features": {}, "prediction": 0.1},
        ],
    )
    run = request(users, version)
    run.refresh_from_db()
    assert run.results["attributes"] == {"gender": ["f", None]}
