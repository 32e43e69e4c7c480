"""Sending again a notification that failed for good: a fresh round of attempts on the same
message, asked for by a compliance officer (audited), never for one that is pending or was
delivered; through the service, the API and the admin action, to a real HTTP server."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse

from governance.audit_context import Origin, acting_as
from governance.errors import Conflict, NotAllowed
from governance.models import AuditEvent
from monitoring.models import NotificationDelivery
from monitoring.services import notification_delivery_send_again
from tests.conftest import assert_json_error, is_postgres, skip_unless
from tests.monitoring.notification_helpers import (
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
def version(make_model: Any, make_version: Any, settings: Any) -> Any:
    settings.NOTIFICATION_RETRY_SECONDS = 0.3
    settings.NOTIFICATION_MAX_ATTEMPTS = 1  # the first failure is the last
    settings.NOTIFICATION_TIMEOUT_SECONDS = 2
    return make_version(make_model("churn"))


@pytest.fixture
def failed(version: Any, http_receiver: Any) -> NotificationDelivery:
    """A fired alert whose only attempt got a 503: failed for good."""
    http_receiver.answers = [(503, {})]
    route(webhook("ops", http_receiver.url), version.model)
    fire(make_alert(version))
    delivery = NotificationDelivery.objects.get()
    assert (delivery.status, delivery.attempts) == ("failed", 1)
    return delivery


def send_again(api: Any, who: str, delivery: NotificationDelivery, **body: Any) -> Any:
    url = f"/api/v1/notification-deliveries/{delivery.pk}/send-again/"
    return api(who).post(url, body, format="json")


def test_a_failed_delivery_is_sent_again_as_the_same_message(api, users, failed, http_receiver):
    response = send_again(api, "compliance", failed, comment="receiver is back")

    assert response.status_code == 202, response.content
    body = response.json()  # answered before the queued attempt ran
    assert (body["status"], body["attempts"], body["resent_by"]) == ("pending", 1, "carla")
    assert body["resent_at"] is not None and body["last_error"] == ""
    after = api("compliance").get(f"/api/v1/notification-deliveries/{failed.pk}/").json()
    assert (after["status"], after["attempts"]) == ("delivered", 2)
    assert [a["number"] for a in after["attempts_made"]] == [1, 2]
    assert [a["outcome"] for a in after["attempts_made"]] == ["failed", "delivered"]
    first, second = http_receiver.requests
    assert first.body == second.body  # same content, same bytes, same signature
    assert second.headers["X-Governance-Delivery"] == first.headers["X-Governance-Delivery"]
    assert second.headers["X-Governance-Signature"] == first.headers["X-Governance-Signature"]
    failed.refresh_from_db()
    assert (failed.attempts_before_resend, failed.resent_by) == (1, users["compliance"])
    audit = AuditEvent.objects.get(action="notification_delivery.sent_again")
    assert audit.actor == users["compliance"] and audit.origin == "api"
    assert audit.data["comment"] == "receiver is back"
    assert audit.data["previous_error"].startswith("Gave up after 1 attempt(s)")
    assert audit.data["attempts_before"] == 1


def test_a_new_round_that_fails_again_gives_up_after_its_own_attempts(
    users, failed, http_receiver, settings
):
    settings.NOTIFICATION_MAX_ATTEMPTS = 2
    http_receiver.answers = [(500, {}), (502, {})]

    with acting_as(origin=Origin.ADMIN, user=users["compliance"]):
        notification_delivery_send_again(actor=users["compliance"], delivery_id=failed.pk)
    # The run on commit happens only in a committing test: do what the queue would.
    from monitoring.services.notifications import notification_deliver

    notification_deliver(delivery_id=failed.pk, attempt=2)
    failed.refresh_from_db()
    assert (failed.status, failed.attempts) == ("pending", 2)
    wait = failed.next_attempt_at - failed.attempt_records.get(number=2).created_at
    assert 0.29 <= wait.total_seconds() <= 0.34  # the first retry's delay again
    failed.next_attempt_at = failed.attempt_records.get(number=2).created_at
    failed.save(update_fields=["next_attempt_at"])
    assert send_due() == 1

    failed.refresh_from_db()
    assert (failed.status, failed.attempts) == ("failed", 3)
    assert failed.last_error == "Gave up after 3 attempt(s): HTTP 502"
    assert [a.number for a in failed.attempt_records.all()] == [1, 2, 3]
    assert send_due() == 0


def test_pending_and_delivered_deliveries_are_not_sent_again(api, version, http_receiver):
    route(webhook("ops", http_receiver.url), version.model)
    fire(make_alert(version))
    delivered = NotificationDelivery.objects.get()
    pending = NotificationDelivery.objects.create(
        endpoint=delivered.endpoint,
        alert=make_alert(version, rule_key="other-rule"),
        event="fired",
        severity="critical",
        content=delivered.content,
    )

    for delivery in (delivered, pending):
        response = send_again(api, "compliance", delivery)
        assert "only a delivery that failed" in assert_json_error(response, 409)["detail"]
    assert len(http_receiver.requests) == 1
    assert not AuditEvent.objects.filter(action="notification_delivery.sent_again").exists()


def test_a_fired_message_is_not_sent_again_once_the_resolution_was_delivered(
    api, version, failed, http_receiver
):
    resolve(failed.alert)  # the receiver answers 200 now
    told = NotificationDelivery.objects.get(event="resolved")
    assert told.status == "delivered"

    response = send_again(api, "compliance", failed)

    body = assert_json_error(response, 409)
    assert body["delivery"] == told.pk
    failed.refresh_from_db()
    assert failed.status == "failed" and failed.resent_at is None


def test_a_disabled_endpoint_is_enabled_first(api, failed):
    failed.endpoint.enabled = False
    failed.endpoint.save()

    assert "disabled" in assert_json_error(send_again(api, "compliance", failed), 409)["detail"]


@pytest.mark.parametrize("who", ["ds", "board", "validator", "ci"])
def test_only_compliance_sends_again(api, users, failed, who):
    assert_json_error(send_again(api, who, failed), 403)
    with pytest.raises(NotAllowed):
        notification_delivery_send_again(actor=users[who], delivery_id=failed.pk)
    failed.refresh_from_db()
    assert failed.status == "failed"


def test_unknown_deliveries_and_bad_bodies(api, failed):
    assert_json_error(
        api("compliance").post("/api/v1/notification-deliveries/999999/send-again/", {}), 404
    )
    assert "surprise" in assert_json_error(send_again(api, "compliance", failed, surprise=1), 400)
    failed.refresh_from_db()
    assert failed.status == "failed"


def test_the_admin_action_sends_the_failed_ones_and_says_why_not_the_others(
    users, failed, http_receiver, version
):
    fire(make_alert(version, rule_key="second-rule"))  # the receiver answers 200: delivered
    delivered = NotificationDelivery.objects.get(status="delivered")
    client = Client()
    client.force_login(users["compliance"])
    changelist = reverse("admin:monitoring_notificationdelivery_changelist")

    response = client.post(
        changelist,
        {"action": "send_again", "_selected_action": [failed.pk, delivered.pk]},
        follow=True,
    )

    text = response.content.decode()
    assert "Sending 1 delivery(ies) again." in text
    assert f"#{delivered.pk}: Delivery #{delivered.pk} is delivered" in text
    failed.refresh_from_db()
    assert failed.resent_by == users["compliance"] and failed.status == "pending"
    assert AuditEvent.objects.get(action="notification_delivery.sent_again").origin == "admin"


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_people_sending_again_at_once_send_it_once(users, make_model, make_version):
    skip_unless(is_postgres(), "row-lock races need PostgreSQL (set DATABASE_URL)")
    version = make_version(make_model("churn"))
    endpoint = webhook("ops", "http://127.0.0.1:9/unreachable")  # refused at once
    delivery = NotificationDelivery.objects.create(
        endpoint=endpoint,
        alert=make_alert(version),
        event="fired",
        severity="critical",
        content={},
        status="failed",
        attempts=6,
    )
    barrier = threading.Barrier(2)
    outcomes: list[Any] = [None, None]

    def body(index: int, who: str) -> None:
        try:
            barrier.wait(timeout=30)
            outcomes[index] = notification_delivery_send_again(
                actor=users[who], delivery_id=delivery.pk
            ).status
        except Conflict as error:
            outcomes[index] = error
        finally:
            connection.close()

    threads = [
        threading.Thread(target=body, args=(i, who))
        for i, who in enumerate(["compliance", "compliance2"])
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    assert sorted("refused" if isinstance(o, Conflict) else str(o) for o in outcomes) == [
        "pending",
        "refused",
    ]
    assert AuditEvent.objects.filter(action="notification_delivery.sent_again").count() == 1
