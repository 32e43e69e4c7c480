"""Check schedules: defaults when a version reaches production, due or not, run_due_checks."""

from __future__ import annotations

import json
from datetime import timedelta
from io import StringIO
from typing import Any

import pandas as pd
import pytest
from django.core.management import call_command
from django.test import TestCase
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from governance.audit_context import Origin, acting_as
from governance.models import AuditEvent
from models_registry import services as registry
from monitoring.checks.runner import check_kind_register
from monitoring.models import CheckRun
from monitoring.services import check_schedules_ensure
from monitoring.services.check_schedules import SCHEDULED_TASK, due_schedules, schedule_name
from tests.monitoring.check_helpers import check_kinds, counting_kind, upload_reference

__all__ = ["check_kinds"]


def promote(version: Any, actor: Any) -> None:
    with acting_as(origin=Origin.SYSTEM), TestCase.captureOnCommitCallbacks(execute=True):
        registry.deployment_promote(version=version, actor=actor)


def schedules() -> dict[str, dict[str, Any]]:
    return {
        task.name: json.loads(task.kwargs)
        for task in PeriodicTask.objects.filter(task=SCHEDULED_TASK)
    }


def test_a_version_reaching_production_gets_daily_drift_quality_and_fairness(
    users, make_model, make_version
):
    model = make_model()
    version = make_version(model)
    assert schedules() == {}

    promote(version, users["ds"])

    assert schedules() == {
        schedule_name(model.name, kind): {"model": model.name, "kind": kind}
        for kind in ("drift", "quality", "fairness")
    }
    task = PeriodicTask.objects.get(name=schedule_name(model.name, "drift"))
    assert task.enabled and task.crontab is not None
    assert (task.crontab.minute, task.crontab.hour, task.crontab.day_of_week) == ("0", "2", "*")


def test_a_binary_classifier_with_reference_data_gets_estimation_too(
    users, make_model, make_version
):
    model = make_model()
    version = make_version(model)
    upload_reference(users["ds"], version, pd.DataFrame({"x": [1.0, 2.0], "label": [0, 1]}))
    promote(version, users["ds"])
    assert schedule_name(model.name, "estimation") in schedules()


def test_edited_schedules_are_kept_and_none_is_made_twice(users, make_model, make_version):
    model = make_model()
    promote(make_version(model), users["ds"])
    PeriodicTask.objects.filter(name=schedule_name(model.name, "drift")).update(enabled=False)

    promote(make_version(model), users["ds"])  # v2 replaces v1

    assert PeriodicTask.objects.filter(task=SCHEDULED_TASK).count() == 3
    assert not PeriodicTask.objects.get(name=schedule_name(model.name, "drift")).enabled
    assert check_schedules_ensure(model=model) == []


def test_models_without_production_get_none_and_the_command_covers_existing_ones(
    users, make_model, make_version
):
    make_version(make_model(name="candidate-only"))
    in_production = make_model(name="served")
    version = make_version(in_production)
    with acting_as(origin=Origin.SYSTEM):
        # Promoted before schedules existed: its deployment signal (on commit) never came.
        registry.deployment_promote(version=version, actor=users["ds"])
    assert schedules() == {}

    out = StringIO()
    call_command("ensure_check_schedules", stdout=out)

    assert set(schedules()) == {
        schedule_name("served", k) for k in ("drift", "quality", "fairness")
    }
    assert "3 schedule(s) created." in out.getvalue()


@pytest.fixture
def scheduled(users, make_model, make_version, check_kinds) -> Any:
    """A model in production whose quality schedule runs a counting kind."""
    check_kind_register(counting_kind("quality"))
    model = make_model()
    promote(make_version(model), users["ds"])
    PeriodicTask.objects.filter(task=SCHEDULED_TASK).exclude(
        name=schedule_name(model.name, "quality")
    ).delete()
    return PeriodicTask.objects.get(task=SCHEDULED_TASK)


def test_a_schedule_is_due_once_its_next_time_has_passed(scheduled):
    PeriodicTask.objects.filter(pk=scheduled.pk).update(
        last_run_at=timezone.now() - timedelta(days=2)
    )
    assert [entry.name for entry in due_schedules()] == [scheduled.name]

    PeriodicTask.objects.filter(pk=scheduled.pk).update(last_run_at=timezone.now())
    assert due_schedules() == []

    PeriodicTask.objects.filter(pk=scheduled.pk).update(
        last_run_at=timezone.now() - timedelta(days=2), enabled=False
    )
    assert due_schedules() == []


def test_run_due_checks_runs_the_due_ones_in_process_and_records_it(scheduled):
    PeriodicTask.objects.filter(pk=scheduled.pk).update(
        last_run_at=timezone.now() - timedelta(days=2)
    )
    out = StringIO()

    with TestCase.captureOnCommitCallbacks(execute=True):  # the embedded mode runs it on commit
        call_command("run_due_checks", stdout=out)

    run = CheckRun.objects.get()
    assert run.kind == "quality" and run.status == CheckRun.Status.DONE
    assert run.trigger == CheckRun.Trigger.SCHEDULE and run.requested_by is None
    assert run.window_end - run.window_start == timedelta(hours=24)
    assert f"{scheduled.name}: run #{run.pk}" in out.getvalue()  # done, outside a test
    task = PeriodicTask.objects.get(pk=scheduled.pk)
    assert timezone.now() - task.last_run_at < timedelta(minutes=1)
    assert task.total_run_count == 1

    again = StringIO()
    call_command("run_due_checks", stdout=again)
    assert again.getvalue().strip() == "No check is due."
    assert CheckRun.objects.count() == 1


def test_a_due_check_that_cannot_run_is_skipped_with_the_reason(scheduled):
    PeriodicTask.objects.filter(pk=scheduled.pk).update(
        last_run_at=timezone.now() - timedelta(days=2),
        kwargs=json.dumps({"model": "churn-classifier", "kind": "drift"}),
    )
    out = StringIO()
    call_command("run_due_checks", stdout=out)
    assert "skipped" in out.getvalue() and "reference data" in out.getvalue()
    assert not CheckRun.objects.exists()


def test_the_scheduled_task_checks_the_production_version(scheduled):
    from monitoring.tasks import check_scheduled

    with TestCase.captureOnCommitCallbacks(execute=True):
        message = check_scheduled.delay(model="churn-classifier", kind="quality").get()
    run = CheckRun.objects.get()
    assert message == f"queued run {run.pk}"
    assert run.version.stage == "production"
    assert (
        check_scheduled.delay(model="nope", kind="quality").get() == "skipped: no model named nope"
    )


def test_compliance_officers_may_edit_schedules_in_the_admin(users):
    from governance.services import role_groups_sync

    role_groups_sync()
    officer = users["compliance"]
    officer.refresh_from_db()
    assert officer.has_perm("django_celery_beat.change_periodictask")
    assert officer.has_perm("django_celery_beat.add_crontabschedule")
    assert not users["ds"].has_perm("django_celery_beat.change_periodictask")


def test_compliance_changes_when_a_check_runs_but_not_what_it_runs(users, make_model, make_version):
    """A periodic task's task name and arguments could call any task: fixed in the admin."""
    from django.test import Client
    from django.urls import reverse
    from django_celery_beat.models import CrontabSchedule

    model = make_model()
    promote(make_version(model), users["ds"])
    task = PeriodicTask.objects.get(name=schedule_name(model.name, "drift"))
    hourly = CrontabSchedule.objects.create(minute="0", hour="*")
    client = Client()
    client.force_login(users["compliance"])
    url = reverse("admin:django_celery_beat_periodictask_change", args=[task.pk])

    page = client.get(url)
    assert page.status_code == 200
    assert b'name="task"' not in page.content and b'name="regtask"' not in page.content
    assert b'name="kwargs"' not in page.content

    response = client.post(
        url,
        {
            "task": "reviews.promotion_execute",
            "regtask": "reviews.promotion_execute",
            "kwargs": '{"request_id": 1}',
            "enabled": "on",
            "crontab": hourly.pk,
            "priority": "",
            "expire_seconds": "",
            "headers": "{}",
            "description": "hourly now",
        },
    )
    assert response.status_code == 302, response.content[:2000]
    task.refresh_from_db()
    assert task.crontab_id == hourly.pk and task.description == "hourly now"
    assert task.task == SCHEDULED_TASK
    assert json.loads(task.kwargs) == {"model": model.name, "kind": "drift"}
    assert client.get(reverse("admin:django_celery_beat_periodictask_add")).status_code == 403
    event = AuditEvent.objects.get(action="check_schedule.changed")
    assert event.actor_username == users["compliance"].username
    assert event.object_id == str(task.pk)
    assert set(event.data["changed"]) == {"crontab", "description"}
    assert event.data["changed"]["description"] == "hourly now"
    delete = reverse("admin:django_celery_beat_periodictask_delete", args=[task.pk])
    assert client.post(delete, {"post": "yes"}).status_code == 403
    assert PeriodicTask.objects.filter(pk=task.pk).exists()
