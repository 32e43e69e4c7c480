"""What a notification says: the facts of an alert event, and the three ways they are written
(an e-mail, the governance JSON body, a Slack-compatible body).

The facts are taken once, when the event happens, and stored on the delivery: every attempt
renders the same bytes from them, so a retry is the same message, and its signature too.
"""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from django.urls import NoReverseMatch, reverse

from monitoring.alert_models import Alert

SEVERITY_RANK = {severity: rank for rank, severity in enumerate(Alert.Severity.values)}


def _link(name: str, *args: Any) -> str | None:
    """An absolute link to a page, or None where this installation has no such page."""
    try:
        return settings.SITE_URL + reverse(name, args=args)
    except NoReverseMatch:
        return None


def alert_facts(alert: Alert, *, event: str) -> dict[str, Any]:
    """Everything a message about this alert event says, as JSON-ready values."""
    model_name = alert.model.name
    incident = None
    if alert.incident_id is not None:
        # The incident page belongs to the incidents part; without it the id still tells.
        # Its severity is the incident's now: raised to critical when a critical alert
        # joined it, so a warning alert's message says what it is part of.
        incident = {
            "id": alert.incident_id,
            "url": _link("monitoring:incident", alert.incident_id),
            "severity": alert.incident.severity,
        }
    return {
        "event": event,
        "alert": {
            "id": alert.pk,
            "metric": alert.metric,
            "value": alert.value,
            "comparison": alert.comparison,
            "threshold": alert.threshold,
            "severity": alert.severity,
            "status": alert.status,
            "count": alert.count,
            "first_seen": alert.first_seen.isoformat(),
            "last_seen": alert.last_seen.isoformat(),
            "resolved_at": alert.resolved_at.isoformat() if alert.resolved_at else None,
        },
        "model": {
            "name": model_name,
            "version": alert.version.version,
            "url": _link("registry:model", model_name),
        },
        "incident": incident,
    }


def _number(value: float | None) -> str:
    return "none" if value is None else f"{value:.4g}"


def summary(facts: dict[str, Any]) -> str:
    """One line: "[critical] churn v3: drift_share 0.62 >= 0.5 (fired)"."""
    alert, model = facts["alert"], facts["model"]
    return (
        f"[{alert['severity']}] {model['name']} v{model['version']}: {alert['metric']} "
        f"{_number(alert['value'])} {alert['comparison']} {_number(alert['threshold'])} "
        f"({facts['event']})"
    )


def _lines(facts: dict[str, Any]) -> list[str]:
    alert, model, incident = facts["alert"], facts["model"], facts["incident"]
    verb = "resolved" if facts["event"] == "resolved" else "fired"
    lines = [
        f"Alert #{alert['id']} {verb} on {model['name']} version {model['version']}.",
        "",
        f"Metric:    {alert['metric']}",
        f"Value:     {_number(alert['value'])}",
        f"Threshold: {alert['comparison']} {_number(alert['threshold'])}",
        f"Severity:  {alert['severity']}",
        f"Breaches:  {alert['count']} (first {alert['first_seen']}, last {alert['last_seen']})",
    ]
    if alert["resolved_at"]:
        lines.append(f"Resolved:  {alert['resolved_at']}")
    if incident:
        severity = f" ({incident['severity']})" if incident.get("severity") else ""
        lines.append(
            f"Incident:  #{incident['id']}{severity}"
            + (f" {incident['url']}" if incident["url"] else "")
        )
    if model["url"]:
        lines.append(f"Model:     {model['url']}")
    return lines


def email_message(facts: dict[str, Any]) -> tuple[str, str]:
    """(subject, plain-text body) of the e-mail."""
    return f"[governance] {summary(facts)}", "\n".join(_lines(facts)) + "\n"


def webhook_body(facts: dict[str, Any], *, body_format: str, delivery_id: int) -> bytes:
    """The exact bytes POSTed (and signed): compact JSON with sorted keys."""
    if body_format == "slack":
        document: dict[str, Any] = slack_document(facts)
    else:
        document = {"delivery": delivery_id, "text": summary(facts), **facts}
    return json.dumps(document, sort_keys=True, separators=(",", ":")).encode()


def slack_document(facts: dict[str, Any]) -> dict[str, Any]:
    """What Slack's incoming webhooks take: a `text` fallback and Block Kit sections."""
    model, incident = facts["model"], facts["incident"]
    details = "\n".join(line for line in _lines(facts)[2:] if not line.startswith("Model:"))
    context = [f"<{model['url']}|{model['name']} in the registry>"] if model["url"] else []
    if incident:
        label = f"incident #{incident['id']}"
        context.append(f"<{incident['url']}|{label}>" if incident["url"] else label)
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": f"*{summary(facts)}*"}},
        {"type": "section", "text": {"type": "mrkdwn", "text": f"```{details}```"}},
    ]
    if context:
        blocks.append(
            {"type": "context", "elements": [{"type": "mrkdwn", "text": c} for c in context]}
        )
    return {"text": summary(facts), "blocks": blocks}
