"""Notifications: deliveries for an alert event, one attempt at a time, and sending one
again that failed for good. (Endpoints and routes are set up in notification_setup.py.)

A delivery is one message (an alert event to one endpoint); each try at sending it is an
attempt, stored with what the other side answered. An attempt runs in three steps so that no
transaction is open while another server is waited on: claim it (row lock: only the attempt
whose turn it is proceeds, so a task delivered twice, or the sweeper racing a scheduled
retry, sends once), send it, store the outcome and schedule the next attempt
(`NOTIFICATION_RETRY_SECONDS` * 2^(n-1), plus up to 10 % jitter) until
`NOTIFICATION_MAX_ATTEMPTS`, after which the delivery is failed for good. A claimed attempt
whose worker died is taken over by the sweeper once its lease has run out, and stored as lost.

Sending again (a compliance officer's act, audited): a failed delivery goes back to pending,
due now, with a fresh round of `NOTIFICATION_MAX_ATTEMPTS` attempts numbered after the ones
already made (so every attempt stays on record). It is the same message: same delivery id
(the receiver's de-duplication still holds), same content, same body bytes.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from governance.errors import Conflict, InvalidInput, NotFound
from governance.services import audit_record
from monitoring.alert_models import Alert
from monitoring.notification_models import (
    NotificationAttempt,
    NotificationDelivery,
    NotificationEndpoint,
)
from monitoring.notify import transport
from monitoring.notify.content import alert_facts, email_message, webhook_body
from monitoring.notify.selectors import endpoints_routed, severities_at_least
from monitoring.services.notification_setup import require_notifications_manager

Event = NotificationDelivery.Event
Status = NotificationDelivery.Status
# A due time this close ahead counts as now: a timer may fire a little early. A message that
# comes too early does nothing and the sweeper sends it (every minute).
CLOCK_SLACK = timedelta(milliseconds=100)


def retry_delay(attempt: int) -> timedelta:
    """How long after failed attempt `attempt` (1, 2, ...) the next one is due."""
    base = settings.NOTIFICATION_RETRY_SECONDS * 2 ** (attempt - 1)
    return timedelta(seconds=base * (1 + random.uniform(0, 0.1)))


def last_attempt(delivery: NotificationDelivery) -> int:
    """The number of the last attempt of the delivery's current round."""
    return delivery.attempts_before_resend + settings.NOTIFICATION_MAX_ATTEMPTS


def _lease() -> timedelta:
    """How long a claimed attempt may take before the sweeper presumes its worker dead."""
    return timedelta(seconds=2 * settings.NOTIFICATION_TIMEOUT_SECONDS + 60)


# --- deliveries for an alert event ---------------------------------------------------------


@transaction.atomic
def notifications_for_alert(*, alert: Alert, event: str) -> list[NotificationDelivery]:
    """The deliveries an alert event calls for, created (pending, due now) and returned.

    Fired: every routed endpoint not yet told of this alert at this severity or above, so a
    repeat breach sends nothing and a rise in severity tells again (and reaches endpoints
    that only take the higher one). A silenced or resolved alert sends nothing. Resolved:
    every enabled endpoint that was told the alert fired. Idempotent: a second call for the
    same event creates nothing.
    """
    alert = Alert.objects.select_related("model", "version").get(pk=alert.pk)
    if event == Event.FIRED:
        if alert.status != Alert.Status.OPEN:
            return []
        told = set(
            NotificationDelivery.objects.filter(
                alert=alert,
                event=Event.FIRED,
                severity__in=severities_at_least(alert.severity),
            ).values_list("endpoint_id", flat=True)
        )
        endpoints = [e for e in endpoints_routed(alert=alert) if e.pk not in told]
    elif event == Event.RESOLVED:
        endpoints = list(
            NotificationEndpoint.objects.filter(
                enabled=True, deliveries__alert=alert, deliveries__event=Event.FIRED
            ).distinct()
        )
    else:
        raise InvalidInput(f"Unknown notification event {event!r}.")
    facts = alert_facts(alert, event=event)
    created = []
    now = timezone.now()
    for endpoint in endpoints:
        try:
            with transaction.atomic():  # a concurrent receiver may have made it first
                created.append(
                    NotificationDelivery.objects.create(
                        endpoint=endpoint,
                        alert=alert,
                        event=event,
                        severity=alert.severity,
                        content=facts,
                        next_attempt_at=now,
                    )
                )
        except IntegrityError:
            continue
    return created


# --- one attempt ---------------------------------------------------------------------------


@transaction.atomic
def _claim(delivery_id: int, attempt: int) -> NotificationDelivery | None:
    delivery = (
        NotificationDelivery.objects.select_for_update(of=("self",))
        .select_related("endpoint")
        .filter(pk=delivery_id)
        .first()
    )
    now = timezone.now()
    if (
        delivery is None
        or delivery.status != Status.PENDING
        or delivery.attempts != attempt - 1
        or attempt > last_attempt(delivery)
        or (delivery.next_attempt_at is not None and delivery.next_attempt_at > now + CLOCK_SLACK)
    ):
        return None
    _record_lost(delivery)
    if not delivery.endpoint.enabled:
        delivery.status, delivery.next_attempt_at = Status.FAILED, None
        delivery.last_error = "The endpoint was disabled before the message was sent."
        delivery.save(update_fields=["status", "next_attempt_at", "last_error"])
        return None
    delivery.attempts = attempt
    delivery.next_attempt_at = now + _lease()
    delivery.save(update_fields=["attempts", "next_attempt_at"])
    return delivery


def _record_lost(delivery: NotificationDelivery) -> None:
    """The previous attempt was claimed and never stored: its worker died mid-way."""
    if delivery.attempts and not delivery.attempt_records.filter(number=delivery.attempts).exists():
        NotificationAttempt.objects.create(
            delivery=delivery,
            number=delivery.attempts,
            outcome=NotificationAttempt.Outcome.FAILED,
            error="Lost: the worker stopped during the attempt; whether it arrived is unknown.",
            duration_ms=0,
        )


def _send(delivery: NotificationDelivery) -> transport.AttemptResult:
    endpoint = delivery.endpoint
    if endpoint.kind == NotificationEndpoint.Kind.EMAIL:
        subject, body = email_message(delivery.content)
        return transport.email_send(to=list(endpoint.email_addresses), subject=subject, body=body)
    return transport.webhook_post(
        url=endpoint.url,
        secret=endpoint.secret,
        body=webhook_body(
            delivery.content, body_format=endpoint.body_format, delivery_id=delivery.pk
        ),
        delivery_id=delivery.pk,
    )


@transaction.atomic
def _store(delivery_id: int, attempt: int, result: transport.AttemptResult) -> NotificationDelivery:
    delivery = NotificationDelivery.objects.select_for_update().get(pk=delivery_id)
    now = timezone.now()
    if result.delivered:
        delivery.status, delivery.delivered_at = Status.DELIVERED, now
        delivery.next_attempt_at, delivery.last_error = None, ""
    elif attempt >= last_attempt(delivery):
        delivery.status, delivery.next_attempt_at = Status.FAILED, None
        delivery.last_error = f"Gave up after {attempt} attempt(s): {result.error}"
    else:
        delivery.next_attempt_at = now + retry_delay(attempt - delivery.attempts_before_resend)
        delivery.last_error = result.error
    NotificationAttempt.objects.create(
        delivery=delivery,
        number=attempt,
        outcome=(
            NotificationAttempt.Outcome.DELIVERED
            if result.delivered
            else NotificationAttempt.Outcome.FAILED
        ),
        http_status=result.http_status,
        error=result.error,
        response_excerpt=result.response_excerpt,
        duration_ms=result.duration_ms,
        next_retry_at=delivery.next_attempt_at if delivery.status == Status.PENDING else None,
    )
    delivery.save(update_fields=["status", "delivered_at", "next_attempt_at", "last_error"])
    return delivery


def notification_deliver(*, delivery_id: int, attempt: int) -> NotificationDelivery | None:
    """Make attempt `attempt` of a delivery if it is that attempt's turn and time; None if it
    is not (already sent, already tried, not due yet: a duplicate task does nothing).

    Not atomic as a whole: the send happens between two short transactions.
    """
    delivery = _claim(delivery_id, attempt)
    if delivery is None:
        return None
    return _store(delivery_id, attempt, _send(delivery))


@dataclass(frozen=True)
class DueAttempt:
    delivery_id: int
    attempt: int


@transaction.atomic
def notifications_due(*, now: datetime | None = None) -> list[DueAttempt]:
    """The attempts due now (the sweeper queues them). A delivery whose last attempt was
    claimed and never stored (its worker died) is failed for good here."""
    now = now or timezone.now()
    due = []
    pending = NotificationDelivery.objects.select_for_update().filter(
        status=Status.PENDING, next_attempt_at__lte=now
    )
    for delivery in pending.order_by("next_attempt_at", "id"):
        if delivery.attempts >= last_attempt(delivery):
            _record_lost(delivery)
            delivery.status, delivery.next_attempt_at = Status.FAILED, None
            delivery.last_error = (
                f"Gave up after {delivery.attempts} attempt(s): the last was lost."
            )
            delivery.save(update_fields=["status", "next_attempt_at", "last_error"])
        else:
            due.append(DueAttempt(delivery.pk, delivery.attempts + 1))
    return due


# --- sending again -------------------------------------------------------------------------


def _deliver_queue(delivery_id: int, attempt: int) -> None:
    """Queue the attempt once the transaction commits (as the receivers do)."""
    from monitoring.tasks import notification_deliver as deliver_task

    transaction.on_commit(lambda: deliver_task.delay(delivery_id, attempt), robust=True)


def _told_since(delivery: NotificationDelivery) -> NotificationDelivery | None:
    """Another message to the same endpoint about the same alert that is pending or
    delivered and says as much (the same event), or more (its resolution, for a fired one):
    sending this one again would duplicate it or contradict it."""
    events = [delivery.event]
    if delivery.event == Event.FIRED:
        events.append(Event.RESOLVED)
    return (
        NotificationDelivery.objects.filter(
            endpoint_id=delivery.endpoint_id,
            alert_id=delivery.alert_id,
            event__in=events,
            status__in=(Status.PENDING, Status.DELIVERED),
        )
        .exclude(pk=delivery.pk)
        .order_by("id")
        .first()
    )


@transaction.atomic
def notification_delivery_send_again(
    *, actor: Any, delivery_id: int, comment: str = ""
) -> NotificationDelivery:
    """Send a delivery that failed for good again: pending, due now, a fresh round of
    attempts; who asked (and why) in the audit chain and on the delivery.

    409 for a delivery that is pending or delivered (that would duplicate it), for one whose
    endpoint has been told about the alert since (see _told_since), and for a disabled
    endpoint (enable it first)."""
    require_notifications_manager(actor, "send notifications again")
    delivery = (
        NotificationDelivery.objects.select_for_update(of=("self",))
        .select_related("endpoint", "alert", "alert__model")
        .filter(pk=delivery_id)
        .first()
    )
    if delivery is None:
        raise NotFound(f"No notification delivery #{delivery_id}.")
    if delivery.status != Status.FAILED:
        raise Conflict(
            f"Delivery #{delivery.pk} is {delivery.status}: only a delivery that failed for "
            "good is sent again.",
            extra={"status": delivery.status},
        )
    if not delivery.endpoint.enabled:
        raise Conflict(f"The endpoint {delivery.endpoint.name} is disabled: enable it first.")
    other = _told_since(delivery)
    if other is not None:
        raise Conflict(
            f"{delivery.endpoint.name} has been sent delivery #{other.pk} ({other.event}, "
            f"{other.status}) about alert #{delivery.alert_id} since: not sent again.",
            extra={"delivery": other.pk},
        )
    comment = (comment or "").strip()[:5000]
    now = timezone.now()
    previous_error = delivery.last_error
    delivery.attempts_before_resend = delivery.attempts
    delivery.status, delivery.next_attempt_at, delivery.last_error = Status.PENDING, now, ""
    delivery.resent_at, delivery.resent_by = now, actor
    delivery.save(
        update_fields=[
            "attempts_before_resend",
            "status",
            "next_attempt_at",
            "last_error",
            "resent_at",
            "resent_by",
        ]
    )
    audit_record(
        action="notification_delivery.sent_again",
        object_type="notification_delivery",
        object_id=delivery.pk,
        data={
            "endpoint": delivery.endpoint.name,
            "alert": delivery.alert_id,
            "model": delivery.alert.model.name,
            "event": delivery.event,
            "severity": delivery.severity,
            "attempts_before": delivery.attempts,
            "previous_error": previous_error[:500],
            "comment": comment,
        },
        actor=actor,
    )
    _deliver_queue(delivery.pk, delivery.attempts + 1)
    return delivery
