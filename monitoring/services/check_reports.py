"""Evidently reports of checks: asked for by a person, rendered by a worker on `checks`."""

from __future__ import annotations

import logging

from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone

from governance.errors import Conflict, NotFound
from governance.roles import Capability
from governance.services import audit_record, require
from monitoring.models import CheckReport, CheckRun

logger = logging.getLogger(__name__)


def _report_queue(report: CheckReport) -> None:
    from monitoring.tasks import check_report_render

    transaction.on_commit(
        lambda: check_report_render.apply_async((report.pk,), queue="checks"), robust=True
    )


@transaction.atomic
def check_report_request(*, actor, run_id: int) -> CheckReport:
    """Queue the rendering of the run's report (again, if one was rendered or failed).

    A report already queued or rendering is returned as it is: asking twice renders once.
    """
    require(actor, Capability.RUN_CHECKS, "render check reports")
    run = CheckRun.objects.select_for_update().select_related("model").filter(pk=run_id).first()
    if run is None:
        raise NotFound(f"No check #{run_id}.")
    if run.status != CheckRun.Status.DONE:
        raise Conflict(
            f"Check #{run.pk} is {run.status}: a report is rendered once it is done.",
            extra={"status": run.status},
        )
    report = CheckReport.objects.filter(run=run).first()
    if report is not None and report.status in (
        CheckReport.Status.QUEUED,
        CheckReport.Status.RUNNING,
    ):
        return report
    if report is None:
        report = CheckReport(run=run)
    elif report.file:
        report.file.delete(save=False)
    report.status = CheckReport.Status.QUEUED
    report.error = ""
    report.sample_rows = None
    report.finished_at = None
    report.requested_by = actor
    report.requested_at = timezone.now()
    report.save()
    audit_record(
        action="check_report.requested",
        object_type="check_run",
        object_id=run.pk,
        data={"report": report.pk, "kind": run.kind, "model": run.model.name},
        actor=actor,
    )
    _report_queue(report)
    return report


def check_report_render(*, report_id: int) -> CheckReport:
    """Render and store the report; a failure is recorded on it, never raised.

    Idempotent: a report already done is left as it is (a re-delivered task).
    """
    from monitoring.reports import ReportUnavailable, report_frames, report_html

    with transaction.atomic():
        report = CheckReport.objects.select_for_update().select_related("run").get(pk=report_id)
        if report.status == CheckReport.Status.DONE:
            return report
        report.status = CheckReport.Status.RUNNING
        report.save(update_fields=["status"])
    run = CheckRun.objects.select_related("model", "version", "reference").get(pk=report.run_id)
    try:
        frames = report_frames(run)
        html = report_html(run=run, frames=frames)
    except ReportUnavailable as exc:
        return _report_failed(report, str(exc))
    except Exception as exc:  # Evidently's or the data's: say so on the report, keep the worker
        logger.exception("report of check #%s failed", run.pk)
        return _report_failed(report, f"Evidently could not render the report: {exc}")
    report.file.save(f"check-{run.pk}.html", ContentFile(html.encode("utf-8")), save=False)
    report.sample_rows = len(frames.current)
    report.status = CheckReport.Status.DONE
    report.finished_at = timezone.now()
    report.save(update_fields=["file", "sample_rows", "status", "finished_at"])
    return report


def _report_failed(report: CheckReport, error: str) -> CheckReport:
    report.status = CheckReport.Status.FAILED
    report.error = error[:2000]
    report.finished_at = timezone.now()
    report.save(update_fields=["status", "error", "finished_at"])
    return report
