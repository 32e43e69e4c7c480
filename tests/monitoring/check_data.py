"""Check runs and their metrics as the checks store them, made directly for page tests.

Results follow the shapes of the brief: the drift engine's `as_results()` (per feature
method, statistic, threshold, verdict and picture), the contract's fairness attributes.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.utils import timezone

from monitoring.models import CheckMetric, CheckReport, CheckRun

DRIFT_RESULTS: dict[str, Any] = {
    "dataset_drift": True,
    "drift_share": 0.5,
    "drift_share_threshold": 0.5,
    "number_of_columns": 2,
    "number_of_drifted_columns": 1,
    "features": {
        "age": {
            "method": "wasserstein",
            "statistic": 0.4321,
            "threshold": 0.1,
            "drifted": True,
            "column_type": "num",
            "reference_rows": 5000,
            "current_rows": 4000,
            "picture": {
                "kind": "histogram",
                "edges": [18.0, 30.0, 42.0, 54.0, 66.0],
                "reference": [0.4, 0.3, 0.2, 0.1],
                "current": [0.1, 0.2, 0.3, 0.4],
            },
        },
        "contract": {
            "method": "jensenshannon",
            "statistic": 0.0123,
            "threshold": 0.1,
            "drifted": False,
            "column_type": "cat",
            "reference_rows": 5000,
            "current_rows": 4000,
            "picture": {
                "kind": "categories",
                "categories": ["month-to-month", "<one-year>"],
                "reference": [0.6, 0.4],
                "current": [0.58, 0.42],
            },
        },
    },
    "untested": {"customer_note": "text column: Evidently tests it with a domain classifier"},
}

FAIRNESS_RESULTS: dict[str, Any] = {
    "attributes": {
        "gender": {
            "groups": {
                "f": {"count": 120, "selection_rate": 0.30, "tpr": 0.70, "fpr": 0.10},
                "m": {"count": 130, "selection_rate": 0.45, "tpr": 0.80, "fpr": 0.20},
            },
            "demographic_parity_difference": 0.15,
            "demographic_parity_ratio": 0.6667,
            "equalized_odds_difference": 0.10,
        }
    }
}


def make_check(
    version,
    kind: str,
    *,
    results: dict[str, Any] | None = None,
    metrics: dict[str, float | None] | None = None,
    status: str = CheckRun.Status.DONE,
    ago: timedelta = timedelta(0),
    requested_by=None,
    with_report: bool = False,
    **fields: Any,
) -> CheckRun:
    """A finished run of `kind` on `version`, `ago` in the past, with its metric rows (and
    a report that failed, `with_report`)."""
    end = timezone.now() - ago
    run = CheckRun.objects.create(
        model=version.model,
        version=version,
        kind=kind,
        status=status,
        window_start=end - timedelta(hours=24),
        window_end=end,
        results=results or {},
        requested_by=requested_by,
        trigger=CheckRun.Trigger.API if requested_by else CheckRun.Trigger.SCHEDULE,
        started_at=end,
        finished_at=end,
        duration_ms=fields.pop("duration_ms", 1234.0),
        **fields,
    )
    CheckMetric.objects.bulk_create(
        CheckMetric(
            run=run,
            model=version.model,
            version=version,
            kind=kind,
            name=name,
            value=value,
            computed_at=end,
        )
        for name, value in (metrics or {}).items()
    )
    if with_report:
        CheckReport.objects.create(
            run=run, status=CheckReport.Status.FAILED, error="No labels yet."
        )
    return run
