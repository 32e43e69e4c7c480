"""What the alert page tests share: three models' worth of alerts made by the rule engine
(firing, info, resolved, critical), a plain stored one, and the pages' URLs."""

from __future__ import annotations

import itertools
from typing import Any

from django.test import Client
from django.urls import reverse
from django.utils import timezone

from governance.models import AuditEvent
from monitoring.models import Alert
from tests.monitoring.alert_helpers import configure, evaluate, finished_run

ALERTS = "/alerts/"
_keys = itertools.count()


def client_for(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def made_alerts(make_model: Any, make_version: Any) -> dict[str, Alert]:
    """churn v1: a warning drift alert (two breaches, with an incident), an info f1 alert
    and a resolved accuracy alert; fraud v1: a critical drift alert."""
    churn = make_version(make_model("churn"))
    fraud = make_version(make_model("fraud"))
    configure(
        churn.model,
        [
            {"metric": "drift_share", "threshold": 0.3, "severity": "warning"},
            {"metric": "f1", "threshold": 0.8, "severity": "info"},
            {"metric": "accuracy", "threshold": 0.9, "severity": "warning", "clear_after": 1},
        ],
    )
    configure(fraud.model, [{"metric": "drift_share", "threshold": 0.3, "severity": "critical"}])
    drift = evaluate(finished_run(churn, drift_share=0.5))[0].alert
    evaluate(finished_run(churn, drift_share=0.6))
    f1 = evaluate(finished_run(churn, "quality", labelled=100, f1=0.6, accuracy=0.95))[0].alert
    accuracy = next(
        r.alert
        for r in evaluate(finished_run(churn, "quality", labelled=100, f1=0.6, accuracy=0.7))
        if r.alert.metric == "accuracy"
    )
    evaluate(finished_run(churn, "quality", labelled=100, f1=0.6, accuracy=0.95))
    fraud_drift = evaluate(finished_run(fraud, drift_share=0.9))[0].alert
    found = {"drift": drift, "f1": f1, "accuracy": accuracy, "fraud": fraud_drift}
    for alert in found.values():
        alert.refresh_from_db()
    assert found["accuracy"].status == Alert.Status.RESOLVED
    return found


def plain_alert(version: Any, severity: str = "warning", **fields: Any) -> Alert:
    """An open alert stored as the rule engine stores one, with no check and no incident."""
    now = timezone.now()
    return Alert.objects.create(
        model=version.model,
        version=version,
        rule_key=f"{next(_keys):064d}",
        rule={"metric": "error_rate", "threshold": 0.05, "severity": severity},
        metric="error_rate",
        value=0.2,
        threshold=0.05,
        comparison=">=",
        severity=severity,
        first_seen=now,
        last_seen=now,
        **fields,
    )


def detail(alert: Alert) -> str:
    return reverse("monitoring:alert", args=[alert.pk])


def action(alert: Alert, name: str) -> str:
    return reverse(f"monitoring:alert-{name}", args=[alert.pk])


def row_order(page: str, alerts: list[Alert]) -> list[int]:
    return sorted((page.index(f'id="alert-{a.pk}"'), a.pk) for a in alerts)


def alert_actions(alert: Alert) -> list[str]:
    return list(
        AuditEvent.objects.filter(object_type="alert", object_id=str(alert.pk))
        .order_by("id")
        .values_list("action", flat=True)
    )
