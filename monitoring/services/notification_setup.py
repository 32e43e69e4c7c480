"""Notification set-up by compliance officers: endpoints (where alerts go) and routes (which
alerts go where), from the admin or the API. Every change is kept in history and recorded
in the audit chain; a webhook's secret never is (history excludes it, the audit records only
that it changed).

An endpoint with deliveries is never deleted (its deliveries refer to it): disable it. One
without any may be deleted, its routes with it, each deletion audited.
"""

from __future__ import annotations

import secrets
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator, validate_email
from django.db import IntegrityError, transaction
from django.utils import timezone

from governance.errors import Conflict, InvalidInput, NotAllowed, NotFound
from governance.history import set_change_reason
from governance.roles import Capability, user_can
from governance.services import audit_record
from monitoring.alert_models import Alert
from monitoring.notification_models import NotificationEndpoint, NotificationRoute

MIN_SECRET_CHARS = 16
MAX_URL_CHARS = 1000
MAX_NAME_CHARS = 100
ENDPOINT_FIELDS = ("name", "kind", "enabled", "email_addresses", "url", "body_format")


def require_notifications_manager(actor: Any, what: str) -> None:
    """Compliance officers (MANAGE_NOTIFICATIONS), and superusers in the admin."""
    if not user_can(actor, Capability.MANAGE_NOTIFICATIONS) and not getattr(
        actor, "is_superuser", False
    ):
        raise NotAllowed(f"Only compliance officers {what}.")


def _name_taken(endpoint: NotificationEndpoint) -> bool:
    return NotificationEndpoint.objects.filter(name=endpoint.name).exclude(pk=endpoint.pk).exists()


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
        if not isinstance(url, str) or len(url) > MAX_URL_CHARS:
            raise ValidationError("too long")
        URLValidator(schemes=["http", "https"])(url)  # ftp:, file:, javascript: are refused
    except ValidationError:
        problems["url"] = [f"An http:// or https:// URL, at most {MAX_URL_CHARS} characters."]
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
    require_notifications_manager(actor, "set up notification endpoints")
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
    endpoint.name = (endpoint.name or "").strip()
    if not endpoint.name:
        problems["name"] = ["This field may not be blank."]
    elif len(endpoint.name) > MAX_NAME_CHARS:
        problems["name"] = [f"At most {MAX_NAME_CHARS} characters."]
    elif _name_taken(endpoint):
        problems["name"] = ["Another endpoint has this name."]
    if endpoint.body_format not in NotificationEndpoint.BodyFormat.values:
        problems["body_format"] = [f"One of: {', '.join(NotificationEndpoint.BodyFormat.values)}."]
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
    try:
        with transaction.atomic():
            endpoint.save()
    except IntegrityError:  # the same name, saved by someone else a moment ago
        raise InvalidInput(
            "The notification endpoint is not valid.",
            extra={"name": ["Another endpoint has this name."]},
        ) from None
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
    require_notifications_manager(actor, "route notifications")
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
    try:
        with transaction.atomic():
            route.save()
    except IntegrityError:  # the same scope, routed by someone else a moment ago
        raise InvalidInput(
            "The route is not valid.",
            extra={"model": ["This endpoint already has a route for that scope; edit it."]},
        ) from None
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
    require_notifications_manager(actor, "route notifications")
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


@transaction.atomic
def notification_endpoint_secret_rotate(
    *, actor: Any, endpoint_id: int, secret: str | None = None, origin_label: str = ""
) -> str:
    """Give a webhook a new signing secret: `secret`, or a random one (43 URL-safe
    characters) when None. Returns it: the only time it is shown. Messages already queued
    are signed with the new secret from their next attempt on."""
    require_notifications_manager(actor, "set up notification endpoints")
    endpoint = NotificationEndpoint.objects.select_for_update().filter(pk=endpoint_id).first()
    if endpoint is None:
        raise NotFound(f"No notification endpoint #{endpoint_id}.")
    if endpoint.kind != NotificationEndpoint.Kind.WEBHOOK:
        raise Conflict(f"{endpoint.name} is an e-mail endpoint: it has no secret.")
    new = secret if secret is not None else secrets.token_urlsafe(32)
    if new == endpoint.secret:
        raise InvalidInput(
            "The secret is not valid.", extra={"secret": ["That is the current secret."]}
        )
    notification_endpoint_save(
        actor=actor, endpoint=endpoint, secret=new, origin_label=origin_label or "rotation"
    )
    return new


@transaction.atomic
def notification_endpoint_delete(
    *, actor: Any, endpoint: NotificationEndpoint, origin_label: str = ""
) -> None:
    """Delete an endpoint that never had a delivery, and its routes (409 otherwise:
    disable it, so its deliveries stay on record)."""
    require_notifications_manager(actor, "set up notification endpoints")
    endpoint = NotificationEndpoint.objects.select_for_update().get(pk=endpoint.pk)
    if endpoint.deliveries.exists():
        raise Conflict(
            f"{endpoint.name} has deliveries on record: disable it instead of deleting it."
        )
    for route in endpoint.routes.select_related("endpoint", "model"):
        notification_route_delete(actor=actor, route=route, origin_label=origin_label)
    data, pk = {f: getattr(endpoint, f) for f in ENDPOINT_FIELDS}, endpoint.pk
    where = f" in {origin_label}" if origin_label else ""
    set_change_reason(endpoint, f"deleted{where}"[:100])
    endpoint.delete()
    audit_record(
        action="notification_endpoint.deleted",
        object_type="notification_endpoint",
        object_id=pk,
        data=data,
        actor=actor,
    )
