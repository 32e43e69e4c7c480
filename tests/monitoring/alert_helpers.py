"""What alert tests share: rules in a model's config, runs with chosen metrics, served
calls in a window, and a recorder of the alert signals."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

from django.test import TestCase
from django.utils import timezone

from models_registry.models import ModelVersion, Prediction
from monitoring.config import config_normalize, model_features
from monitoring.models import CheckRun, MonitoringConfig
from monitoring.services.alerts import RuleResult, alerts_evaluate_run
from monitoring.signals import alert_fired, alert_resolved, retraining_wanted
from tests.monitoring.check_data import make_check

_numbers = itertools.count()


def configure(model: Any, alerts: list[dict[str, Any]], **document: Any) -> dict[str, Any]:
    """Store a validated monitoring config with these alert rules; returns the document."""
    normalized = config_normalize(
        {"alerts": alerts, **document},
        features=model_features(model),
        protected=list(model.protected_attributes),
    )
    MonitoringConfig.objects.update_or_create(model=model, defaults={"document": normalized})
    return normalized


def finished_run(
    version: ModelVersion,
    kind: str = "drift",
    *,
    rows: int = 500,
    labelled: int | None = None,
    **metrics: float | None,
) -> CheckRun:
    """A done run of `kind` with these metric rows and `rows`, as every check stores it
    (dotted names: pass a dict with **)."""
    metrics.setdefault("rows", float(rows))
    return make_check(version, kind, metrics=metrics, current_rows=rows, labelled_rows=labelled)


def evaluate(run: CheckRun, **kwargs: Any) -> list[RuleResult]:
    """The run's rules, with the on-commit signals delivered."""
    with TestCase.captureOnCommitCallbacks(execute=True):
        return alerts_evaluate_run(run=run, **kwargs)


def served_calls(
    version: ModelVersion,
    count: int,
    *,
    errors: int = 0,
    latency_ms: float = 100.0,
    minutes_ago: float = 5,
) -> None:
    """`count` calls served by `version` `minutes_ago` minutes ago, the first `errors` failed."""
    at = timezone.now() - timedelta(minutes=minutes_ago)
    Prediction.objects.bulk_create(
        Prediction(
            model=version.model,
            version=version,
            request_id=f"served-{next(_numbers)}",
            source=Prediction.Source.SERVED,
            occurred_at=at,
            features={"tenure": 3},
            prediction=None if i < errors else 0.8,
            latency_ms=latency_ms,
            error="model raised ValueError" if i < errors else "",
        )
        for i in range(count)
    )


@contextmanager
def signals_sent() -> Iterator[list[tuple[str, Any, Any]]]:
    """(signal name, alert, created) for every alert signal sent inside the block."""
    sent: list[tuple[str, Any, Any]] = []
    receivers = {
        "fired": lambda sender, alert, created, **kw: sent.append(("fired", alert, created)),
        "resolved": lambda sender, alert, **kw: sent.append(("resolved", alert, None)),
        "retrain": lambda sender, alert, **kw: sent.append(("retrain", alert, None)),
    }
    pairs = [
        (alert_fired, receivers["fired"]),
        (alert_resolved, receivers["resolved"]),
        (retraining_wanted, receivers["retrain"]),
    ]
    for signal, receiver in pairs:
        signal.connect(receiver, weak=False)
    try:
        yield sent
    finally:
        for signal, receiver in pairs:
            signal.disconnect(receiver)
