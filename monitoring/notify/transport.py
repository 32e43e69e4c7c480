"""Sending one attempt: an e-mail through Django's mail, or a signed webhook POST.

Neither raises for the other side's failures: each returns an `AttemptResult` the delivery
service stores. A webhook never follows a redirect (to another host or the same): a 3xx is a
failed attempt naming where it pointed, so a moved or hijacked endpoint cannot send the
signed body anywhere the compliance officers did not configure.
"""

from __future__ import annotations

import hashlib
import hmac
import smtplib
import time
from dataclasses import dataclass

import requests
import urllib3
from django.conf import settings
from django.core.mail import EmailMessage

EXCERPT_CHARS = 500
SIGNATURE_HEADER = "X-Governance-Signature"
TIMESTAMP_HEADER = "X-Governance-Timestamp"
DELIVERY_HEADER = "X-Governance-Delivery"


@dataclass(frozen=True)
class AttemptResult:
    delivered: bool
    duration_ms: float
    http_status: int | None = None
    error: str = ""
    response_excerpt: str = ""


def signature(secret: str, body: bytes) -> str:
    """`sha256=` and the hex HMAC-SHA256 of the exact body, keyed with the endpoint's secret."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _elapsed_ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 2)


def email_send(*, to: list[str], subject: str, body: str) -> AttemptResult:
    started = time.perf_counter()
    message = EmailMessage(subject=subject, body=body, to=to)
    try:
        message.send(fail_silently=False)
    except (smtplib.SMTPException, OSError) as exc:
        # SMTPRecipientsRefused and friends carry the server's code and text in str(exc).
        return AttemptResult(False, _elapsed_ms(started), error=f"{type(exc).__name__}: {exc}")
    return AttemptResult(True, _elapsed_ms(started))


def webhook_post(*, url: str, secret: str, body: bytes, delivery_id: int) -> AttemptResult:
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "model-governance-notifications",
        SIGNATURE_HEADER: signature(secret, body),
        TIMESTAMP_HEADER: str(int(time.time())),
        DELIVERY_HEADER: str(delivery_id),
    }
    timeout = settings.NOTIFICATION_TIMEOUT_SECONDS
    started = time.perf_counter()
    try:
        # Streamed, and only the excerpt read: a receiver's answer may be any size.
        with requests.post(
            url,
            data=body,
            headers=headers,
            timeout=(timeout, timeout),
            allow_redirects=False,
            stream=True,
        ) as response:
            head = response.raw.read(EXCERPT_CHARS * 4, decode_content=True)
    except (requests.RequestException, urllib3.exceptions.HTTPError, OSError) as exc:
        return AttemptResult(False, _elapsed_ms(started), error=f"{type(exc).__name__}: {exc}")
    duration = _elapsed_ms(started)
    excerpt = head.decode("utf-8", errors="replace")[:EXCERPT_CHARS]
    if response.is_redirect or 300 <= response.status_code < 400:
        where = response.headers.get("Location", "")
        error = f"HTTP {response.status_code}: redirect to {where[:200]!r} not followed"
        return AttemptResult(False, duration, response.status_code, error, excerpt)
    if not 200 <= response.status_code < 300:
        error = f"HTTP {response.status_code}"
        return AttemptResult(False, duration, response.status_code, error, excerpt)
    return AttemptResult(True, duration, response.status_code, "", excerpt)
