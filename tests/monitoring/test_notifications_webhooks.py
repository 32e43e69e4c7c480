"""Webhooks to a real HTTP server on localhost: signed bodies, the Slack format, retries with
backoff, giving up, and redirects that are never followed."""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import time
from datetime import timedelta
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from monitoring.models import NotificationAttempt, NotificationDelivery
from monitoring.notify.selectors import failed_deliveries
from monitoring.services.notifications import notification_deliver, retry_delay
from tests.monitoring.notification_helpers import (
    SECRET,
    fire,
    http_receiver,
    make_alert,
    resolve,
    route,
    send_due,
    webhook,
)

__all__ = ["http_receiver"]


@pytest.fixture
def version(make_model: Any, make_version: Any) -> Any:
    return make_version(make_model("churn"))


@pytest.fixture
def fast_retries(settings: Any) -> Any:
    settings.NOTIFICATION_RETRY_SECONDS = 0.3
    settings.NOTIFICATION_MAX_ATTEMPTS = 3
    settings.NOTIFICATION_TIMEOUT_SECONDS = 2
    settings.SITE_URL = "https://governance.example.com"
    return settings


def expected_signature(body: bytes) -> str:
    return "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()


def test_a_fired_alert_is_posted_signed_with_the_endpoint_secret(
    version, http_receiver, fast_retries
):
    endpoint = webhook("ops", http_receiver.url)
    route(endpoint, version.model, "warning")
    alert = make_alert(version, severity="critical")

    fire(alert)

    [request] = http_receiver.requests
    delivery = NotificationDelivery.objects.get()
    assert request.path == "/hooks/governance"
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["X-Governance-Signature"] == expected_signature(request.body)
    assert request.headers["X-Governance-Delivery"] == str(delivery.pk)
    assert abs(int(request.headers["X-Governance-Timestamp"]) - time.time()) < 60
    body = json.loads(request.body)
    assert body["delivery"] == delivery.pk
    assert body["event"] == "fired"
    assert body["alert"] | {"first_seen": None, "last_seen": None} == {
        "id": alert.pk,
        "metric": "drift_share",
        "value": 0.625,
        "comparison": ">=",
        "threshold": 0.5,
        "severity": "critical",
        "status": "open",
        "count": 1,
        "first_seen": None,
        "last_seen": None,
        "resolved_at": None,
    }
    assert body["model"] == {
        "name": "churn",
        "version": version.version,
        "url": "https://governance.example.com/models/churn/",
    }
    assert body["incident"] is None
    assert body["text"] == f"[critical] churn v{version.version}: drift_share 0.625 >= 0.5 (fired)"
    assert delivery.status == "delivered" and delivery.attempts == 1
    [attempt] = delivery.attempt_records.all()
    assert (attempt.outcome, attempt.http_status) == ("delivered", 200)
    assert attempt.response_excerpt == '{"ok": true}'
    assert attempt.duration_ms > 0 and attempt.next_retry_at is None


def test_a_signature_made_with_another_secret_does_not_match(version, http_receiver, fast_retries):
    route(webhook("ops", http_receiver.url, secret="another-secret-0123456789"), version.model)

    fire(make_alert(version))

    [request] = http_receiver.requests
    assert request.headers["X-Governance-Signature"] != expected_signature(request.body)


def test_the_slack_body_has_text_and_blocks_with_the_links(version, http_receiver, fast_retries):
    route(webhook("slack", http_receiver.url, body_format="slack"), version.model)
    incident = version.model.incidents.create(
        version=version, severity="critical", source="alert", title="drift"
    )
    alert = make_alert(version, incident=incident)

    fire(alert)

    [request] = http_receiver.requests
    body = json.loads(request.body)
    assert set(body) == {"text", "blocks"}
    assert body["text"].startswith(f"[critical] churn v{version.version}: drift_share 0.625")
    assert body["blocks"][0] == {
        "type": "section",
        "text": {"type": "mrkdwn", "text": f"*{body['text']}*"},
    }
    details = body["blocks"][1]["text"]["text"]
    assert "Threshold: >= 0.5" in details and f"Incident:  #{incident.pk}" in details
    context = [element["text"] for element in body["blocks"][2]["elements"]]
    assert context[0] == "<https://governance.example.com/models/churn/|churn in the registry>"
    assert f"incident #{incident.pk}" in context[1]
    assert request.headers["X-Governance-Signature"] == expected_signature(request.body)


def test_a_500_is_retried_with_backoff_and_then_delivered(version, http_receiver, fast_retries):
    http_receiver.answers = [(500, {})]
    route(webhook("ops", http_receiver.url), version.model)

    fire(make_alert(version))

    delivery = NotificationDelivery.objects.get()
    assert (delivery.status, delivery.attempts) == ("pending", 1)
    [first] = delivery.attempt_records.all()
    assert (first.outcome, first.http_status, first.error) == ("failed", 500, "HTTP 500")
    assert (
        first.response_excerpt.startswith("receiver says no") and len(first.response_excerpt) == 500
    )
    wait = (first.next_retry_at - first.created_at).total_seconds()
    assert 0.29 <= wait <= 0.34
    assert send_due() == 0  # not due yet: nothing is sent early
    assert len(http_receiver.requests) == 1

    time.sleep(0.4)
    assert send_due() == 1

    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.last_error) == ("delivered", 2, "")
    assert [a.outcome for a in delivery.attempt_records.all()] == ["failed", "delivered"]
    first_try, second_try = http_receiver.requests
    assert first_try.body == second_try.body  # the same message, so the same signature
    assert second_try.headers["X-Governance-Delivery"] == str(delivery.pk)
    assert second_try.headers["X-Governance-Signature"] == expected_signature(second_try.body)


def test_it_gives_up_after_the_last_attempt_and_shows_the_failure(
    users, version, http_receiver, fast_retries
):
    http_receiver.answers = [(503, {})] * 5
    route(webhook("ops", http_receiver.url), version.model)

    fire(make_alert(version))
    for _ in range(2):
        delivery = NotificationDelivery.objects.get()
        time.sleep(
            (delivery.next_attempt_at - delivery.attempt_records.last().created_at).total_seconds()
            + 0.05
        )
        send_due()

    delivery.refresh_from_db()
    attempts = list(delivery.attempt_records.all())
    assert (delivery.status, delivery.attempts, delivery.next_attempt_at) == ("failed", 3, None)
    assert delivery.last_error == "Gave up after 3 attempt(s): HTTP 503"
    assert [a.number for a in attempts] == [1, 2, 3]
    assert [a.outcome for a in attempts] == ["failed"] * 3
    waits = [(a.next_retry_at - a.created_at).total_seconds() for a in attempts[:2]]
    assert 0.29 <= waits[0] <= 0.34 and 0.59 <= waits[1] <= 0.67  # doubled
    assert attempts[2].next_retry_at is None
    assert len(http_receiver.requests) == 3
    assert send_due() == 0
    assert list(failed_deliveries(version.model)) == [delivery]

    client = Client()
    client.force_login(users["compliance"])
    changelist = reverse("admin:monitoring_notificationdelivery_changelist")
    failed = client.get(changelist + "?status__exact=failed").content.decode()
    delivered = client.get(changelist + "?status__exact=delivered").content.decode()
    assert "Gave up after 3 attempt(s)" in failed
    assert "Gave up after" not in delivered
    page = client.get(reverse("monitoring:model-monitoring", args=["churn"])).content.decode()
    assert "Notifications that failed" in page and "Gave up after 3 attempt(s)" in page


def test_a_connection_refused_is_a_failed_attempt(version, fast_retries):
    from tests.monitoring.notification_helpers import free_port

    route(webhook("gone", f"http://127.0.0.1:{free_port()}/hook"), version.model)

    fire(make_alert(version))

    attempt = NotificationAttempt.objects.get()
    assert attempt.outcome == "failed" and attempt.http_status is None
    assert "ConnectionError" in attempt.error


def test_a_redirect_is_never_followed(version, http_receiver, fast_retries):
    http_receiver.answers = [(307, {"Location": "http://attacker.example/steal"})]
    route(webhook("ops", http_receiver.url), version.model)

    fire(make_alert(version))

    attempt = NotificationAttempt.objects.get()
    assert attempt.outcome == "failed" and attempt.http_status == 307
    assert "redirect to 'http://attacker.example/steal' not followed" in attempt.error
    assert len(http_receiver.requests) == 1


def test_a_duplicate_task_sends_nothing(version, http_receiver, fast_retries):
    route(webhook("ops", http_receiver.url), version.model)
    fire(make_alert(version))
    delivery = NotificationDelivery.objects.get()

    assert notification_deliver(delivery_id=delivery.pk, attempt=1) is None
    assert notification_deliver(delivery_id=delivery.pk, attempt=2) is None
    assert len(http_receiver.requests) == 1


def test_a_disabled_endpoint_gets_nothing_more(version, http_receiver, fast_retries):
    http_receiver.answers = [(500, {})]
    endpoint = webhook("ops", http_receiver.url)
    route(endpoint, version.model)
    fire(make_alert(version))
    endpoint.enabled = False
    endpoint.save()

    time.sleep(0.4)
    send_due()

    delivery = NotificationDelivery.objects.get()
    assert delivery.status == "failed"
    assert delivery.last_error == "The endpoint was disabled before the message was sent."
    assert len(http_receiver.requests) == 1


def test_the_resolved_event_goes_to_the_endpoints_told_it_fired(
    version, http_receiver, fast_retries
):
    route(webhook("ops", http_receiver.url), version.model, "warning")
    alert = make_alert(version)
    fire(alert)
    route(webhook("late", http_receiver.url + "/late"))  # routed after it fired: not told

    resolve(alert)
    resolve(alert)  # a second signal for the same event sends nothing more

    fired, resolved = (json.loads(r.body) for r in http_receiver.requests)
    assert (fired["event"], resolved["event"]) == ("fired", "resolved")
    assert resolved["alert"]["status"] == "resolved" and resolved["alert"]["resolved_at"]
    assert resolved["text"].endswith("(resolved)")
    assert len(http_receiver.requests) == 2


def test_the_backoff_doubles_with_at_most_ten_percent_jitter(settings):
    settings.NOTIFICATION_RETRY_SECONDS = 30
    for attempt, base in [(1, 30), (2, 60), (3, 120), (4, 240), (5, 480)]:
        delays = [retry_delay(attempt) for _ in range(20)]
        assert all(timedelta(seconds=base) <= d <= timedelta(seconds=base * 1.1) for d in delays)


def test_the_command_sends_what_is_due(version, http_receiver, fast_retries):
    http_receiver.answers = [(502, {})]
    route(webhook("ops", http_receiver.url), version.model)
    fire(make_alert(version))
    delivery = NotificationDelivery.objects.get()
    out = io.StringIO()

    time.sleep(0.4)
    call_command("send_due_notifications", stdout=out)
    call_command("send_due_notifications", stdout=out)

    assert out.getvalue().splitlines() == [
        f"delivery #{delivery.pk} attempt 2: delivered",
        "No notification is due.",
    ]
    assert len(http_receiver.requests) == 2


def test_an_attempt_whose_worker_died_is_stored_as_lost_and_the_next_one_sent(
    version, http_receiver, fast_retries
):
    from monitoring.services.notifications import _claim

    endpoint = webhook("ops", http_receiver.url)
    alert = make_alert(version)
    delivery = NotificationDelivery.objects.create(
        endpoint=endpoint,
        alert=alert,
        event="fired",
        severity="critical",
        content=make_content(alert),
    )
    assert _claim(delivery.pk, 1) is not None  # a worker claims attempt 1, then dies
    delivery.refresh_from_db()
    lease = (delivery.next_attempt_at - delivery.created_at).total_seconds()
    assert 60 <= lease <= 70
    assert send_due() == 0  # within its lease the attempt is left alone
    # The lease runs out.
    NotificationDelivery.objects.filter(pk=delivery.pk).update(
        next_attempt_at=delivery.next_attempt_at - timedelta(seconds=lease)
    )

    assert send_due() == 1

    delivery.refresh_from_db()
    lost, sent = delivery.attempt_records.all()
    assert (lost.number, lost.outcome, lost.duration_ms) == (1, "failed", 0)
    assert lost.error.startswith("Lost: the worker stopped during the attempt")
    assert (sent.number, sent.outcome) == (2, "delivered")
    assert delivery.status == "delivered"


def test_a_lost_last_attempt_fails_the_delivery_for_good(version, fast_retries, http_receiver):
    from monitoring.services.notifications import _claim

    endpoint = webhook("ops", http_receiver.url)
    alert = make_alert(version)
    delivery = NotificationDelivery.objects.create(
        endpoint=endpoint,
        alert=alert,
        event="fired",
        severity="critical",
        content=make_content(alert),
        attempts=2,
    )
    assert _claim(delivery.pk, 3) is not None  # the last attempt, and its worker dies
    NotificationDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at=delivery.created_at)

    assert send_due() == 0

    delivery.refresh_from_db()
    assert (delivery.status, delivery.next_attempt_at) == ("failed", None)
    assert delivery.last_error == "Gave up after 3 attempt(s): the last was lost."
    assert [(a.number, a.error[:5]) for a in delivery.attempt_records.all()] == [
        (2, "Lost:"),  # claimed without a record: lost too
        (3, "Lost:"),
    ]
    assert http_receiver.requests == []


def make_content(alert):
    from monitoring.notify.content import alert_facts

    return alert_facts(alert, event="fired")
