"""Notifications: deliveries for an alert event, one attempt at a time, and their set-up.

A delivery is one message (an alert event to one endpoint); each try at sending it is an
attempt, stored with what the other side answered. An attempt runs in three steps so that no
transaction is open while another server is waited on: claim it (row lock: only the attempt
whose turn it is proceeds, so a task delivered twice, or the sweeper racing a scheduled
retry, sends once), send it, store the outcome and schedule the next attempt
(`NOTIFICATION_RETRY_SECONDS` * 2^(n-1), plus up to 10 % jitter) until
`NOTIFICATION_MAX_ATTEMPTS`, after which the delivery is failed for good. A claimed attempt
whose worker died is taken over by the sweeper once its lease has run out, and stored as lost.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator, validate_email
from django.db import IntegrityError, transaction
from django.utils import timezone

from governance.errors import InvalidInput, NotAllowed
from governance.history import set_change_reason
from governance.roles import Capability, user_can
from governance.services import audit_record
from monitoring.alert_models import Alert
from monitoring.notification_models import (
    NotificationAttempt,
    NotificationDelivery,
    NotificationEndpoint,
    NotificationRoute,
)
from monitoring.notify import transport
from monitoring.notify.content import alert_facts, email_message, webhook_body
from monitoring.notify.selectors import endpoints_routed, severities_at_least

Event = NotificationDelivery.Event
Status = NotificationDelivery.Status
MIN_SECRET_CHARS = 16
# A due time this close ahead counts as now: a timer may fire a little early. A message that
# comes too early does nothing and the sweeper sends it (every minute).
CLOCK_SLACK = timedelta(milliseconds=100)
ENDPOINT_FIELDS = ("name", "kind", "enabled", "email_addresses", "url", "body_format")


def retry_delay(attempt: int) -> timedelta:
    """How long after failed attempt `attempt` (1, 2, ...) the next one is due."""
    base = settings.NOTIFICATION_RETRY_SECONDS * 2 ** (attempt - 1)
    return timedelta(seconds=base * (1 + random.uniform(0, 0.1)))


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
        or attempt > settings.NOTIFICATION_MAX_ATTEMPTS
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
    elif attempt >= settings.NOTIFICATION_MAX_ATTEMPTS:
        delivery.status, delivery.next_attempt_at = Status.FAILED, None
        delivery.last_error = f"Gave up after {attempt} attempt(s): {result.error}"
    else:
        delivery.next_attempt_at = now + retry_delay(attempt)
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
        if delivery.attempts >= settings.NOTIFICATION_MAX_ATTEMPTS:
            _record_lost(delivery)
            delivery.status, delivery.next_attempt_at = Status.FAILED, None
            delivery.last_error = (
                f"Gave up after {delivery.attempts} attempt(s): the last was lost."
            )
            delivery.save(update_fields=["status", "next_attempt_at", "last_error"])
        else:
            due.append(DueAttempt(delivery.pk, delivery.attempts + 1))
    return due


# --- set-up by compliance officers ---------------------------------------------------------


def _require_compliance(actor: Any, what: str) -> None:
    if not user_can(actor, Capability.USE_ADMIN) and not getattr(actor, "is_superuser", False):
        raise NotAllowed(f"Only compliance officers {what}.")


def notification_endpoint_problems(
    *, kind: str, email_addresses: Any, url: str, secret_given: bool, secret: str | None
) -> dict[str, list[str]]:
    """Field -> errors of an endpoint's settings (the admin form shows them beside fields).

    `secret_given`: whether the endpoint will have a secret (a new one or the stored one).
    """
    problems: dict[str, list[str]] = {}
    if kind not in NotificationEndpoint.Kind.values:
        return {"kind": [f"One of: {', '.join(NotificationEndpoint.Kind.values)}."]}
    if kind == NotificationEndpoint.Kind.EMAIL:
        if not isinstance(email_addresses, list) or not email_addresses:
            problems["email_addresses"] = ["Give at least one e-mail address."]
        else:
            for address in email_addresses:
                try:
                    validate_email(address)
                except ValidationError:
                    problems.setdefault("email_addresses", []).append(
                        f"{str(address)[:100]!r} is not an e-mail address."
                    )
        if url:
            problems["url"] = ["E-mail endpoints have no URL."]
        if secret:
            problems["secret"] = ["E-mail endpoints have no secret."]
        return problems
    if email_addresses:
        problems["email_addresses"] = ["Webhook endpoints have no e-mail addresses."]
    try:
        URLValidator(schemes=["http", "https"])(url)
    except ValidationError:
        problems["url"] = ["Give an http:// or https:// URL."]
    if secret is not None and len(secret) < MIN_SECRET_CHARS:
        problems["secret"] = [f"At least {MIN_SECRET_CHARS} characters."]
    elif not secret_given:
        problems["secret"] = ["A webhook needs a secret to sign its messages."]
    return problems


@transaction.atomic
def notification_endpoint_save(
    *, actor: Any, endpoint: NotificationEndpoint, secret: str | None = None, origin_label: str = ""
) -> bool:
    """Store a new or edited endpoint; `secret` replaces the webhook's secret (None keeps the
    stored one). False if nothing changed. The secret is never in history or the audit."""
    _require_compliance(actor, "set up notification endpoints")
    before = (
        NotificationEndpoint.objects.filter(pk=endpoint.pk)
        .values(*ENDPOINT_FIELDS, "secret")
        .first()
    )
    stored_secret = before["secret"] if before else ""
    problems = notification_endpoint_problems(
        kind=endpoint.kind,
        email_addresses=endpoint.email_addresses,
        url=endpoint.url,
        secret_given=bool(secret or stored_secret),
        secret=secret,
    )
    if not endpoint.name.strip():
        problems["name"] = ["This field may not be blank."]
    if problems:
        raise InvalidInput("The notification endpoint is not valid.", extra=problems)
    if endpoint.kind == NotificationEndpoint.Kind.EMAIL:
        endpoint.secret, endpoint.secret_set_at, endpoint.body_format = "", None, "json"
        secret_changed = bool(stored_secret)
    else:
        secret_changed = secret is not None and secret != stored_secret
        endpoint.secret = secret if secret is not None else stored_secret
        if secret_changed:
            endpoint.secret_set_at = timezone.now()
    changed = [f for f in ENDPOINT_FIELDS if before is None or before[f] != getattr(endpoint, f)]
    if secret_changed:
        changed.append("secret")
    if not changed:
        return False
    where = f" in {origin_label}" if origin_label else ""
    reason = (f"edited{where}: " + ", ".join(changed)) if before else f"created{where}"
    set_change_reason(endpoint, reason[:100])
    endpoint.save()
    audit_record(
        action="notification_endpoint.edited" if before else "notification_endpoint.created",
        object_type="notification_endpoint",
        object_id=endpoint.pk,
        data={
            **{f: getattr(endpoint, f) for f in ENDPOINT_FIELDS},
            "changed": changed,
            "secret_changed": secret_changed,
        },
        actor=actor,
    )
    return True


def _route_data(route: NotificationRoute) -> dict[str, Any]:
    return {
        "endpoint": route.endpoint.name,
        "model": route.model.name if route.model_id else None,
        "min_severity": route.min_severity,
    }


@transaction.atomic
def notification_route_save(
    *, actor: Any, route: NotificationRoute, origin_label: str = ""
) -> bool:
    """Store a new or edited route; False if nothing changed."""
    _require_compliance(actor, "route notifications")
    if route.min_severity not in Alert.Severity.values:
        raise InvalidInput(
            "The route is not valid.",
            extra={"min_severity": [f"One of: {', '.join(Alert.Severity.values)}."]},
        )
    clash = NotificationRoute.objects.filter(endpoint=route.endpoint_id, model=route.model_id)
    if clash.exclude(pk=route.pk).exists():
        raise InvalidInput(
            "The route is not valid.",
            extra={"model": ["This endpoint already has a route for that scope; edit it."]},
        )
    before_row = (
        NotificationRoute.objects.filter(pk=route.pk).select_related("endpoint", "model").first()
    )
    before = _route_data(before_row) if before_row else None
    after = _route_data(route)
    if before == after:
        return False
    where = f" in {origin_label}" if origin_label else ""
    set_change_reason(route, (f"edited{where}" if before else f"created{where}")[:100])
    route.save()
    audit_record(
        action="notification_route.edited" if before else "notification_route.created",
        object_type="notification_route",
        object_id=route.pk,
        data={**after, "previous": before},
        actor=actor,
    )
    return True


@transaction.atomic
def notification_route_delete(
    *, actor: Any, route: NotificationRoute, origin_label: str = ""
) -> None:
    """Stop routing: the endpoint no longer gets these alerts (deliveries made stay)."""
    _require_compliance(actor, "route notifications")
    data, pk = _route_data(route), route.pk
    where = f" in {origin_label}" if origin_label else ""
    set_change_reason(route, f"deleted{where}"[:100])
    route.delete()
    audit_record(
        action="notification_route.deleted",
        object_type="notification_route",
        object_id=pk,
        data=data,
        actor=actor,
    )
