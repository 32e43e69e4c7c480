"""Real receivers for the notification tests: an SMTP server (aiosmtpd) and an HTTP server
(http.server), each in a thread on a free port of 127.0.0.1; alerts made as the rule
engine makes them, and its signals sent on commit as it sends them."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from email import message_from_bytes
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from django.db import transaction
from django.test import TestCase
from django.utils import timezone

from governance.audit_context import Origin, acting_as
from monitoring.models import Alert, NotificationEndpoint, NotificationRoute
from monitoring.signals import alert_fired, alert_resolved

SECRET = "s3cret-for-the-tests-0123456789"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class SmtpSink:
    """Every message the server accepted, and recipients it is told to refuse."""

    port: int = 0
    messages: list[tuple[str, list[str], Message]] = field(default_factory=list)
    refuse: set[str] = field(default_factory=set)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse:
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        message = message_from_bytes(envelope.content)
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), message))
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp_sink(settings: Any) -> Iterator[SmtpSink]:
    sink = SmtpSink(port=free_port())
    controller = Controller(sink, hostname="127.0.0.1", port=sink.port)
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", sink.port
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_TIMEOUT = 5
    yield sink
    controller.stop()


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class HttpReceiver:
    """Answers each POST with the next of `answers` (status, headers), then with 200."""

    url: str = ""
    requests: list[Received] = field(default_factory=list)
    answers: list[tuple[int, dict[str, str]]] = field(default_factory=list)


@pytest.fixture
def http_receiver() -> Iterator[HttpReceiver]:
    receiver = HttpReceiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            receiver.requests.append(Received(self.path, dict(self.headers.items()), body))
            status, headers = receiver.answers.pop(0) if receiver.answers else (200, {})
            reply = b'{"ok": true}' if status < 300 else b"receiver says no " * 100
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    # A short poll: shutdown() waits for the loop to look again (0.5 s by default, per test).
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/governance"
    yield receiver
    server.shutdown()
    server.server_close()


def webhook(name: str, url: str, **kwargs: Any) -> NotificationEndpoint:
    kwargs.setdefault("secret", SECRET)
    return NotificationEndpoint.objects.create(name=name, kind="webhook", url=url, **kwargs)


def mailbox(name: str, *addresses: str) -> NotificationEndpoint:
    return NotificationEndpoint.objects.create(
        name=name, kind="email", email_addresses=list(addresses)
    )


def route(endpoint: NotificationEndpoint, model: Any = None, min_severity: str = "info") -> Any:
    return NotificationRoute.objects.create(
        endpoint=endpoint, model=model, min_severity=min_severity
    )


def make_alert(version: Any, *, severity: str = "critical", **kwargs: Any) -> Alert:
    """An alert as the rule engine opens it."""
    now = timezone.now()
    values = {
        "rule_key": "drift-share-rule",
        "rule": {"metric": "drift_share", "threshold": 0.5, "severity": severity},
        "metric": "drift_share",
        "value": 0.625,
        "threshold": 0.5,
        "comparison": ">=",
        "first_seen": now - timedelta(minutes=10),
        "last_seen": now,
    }
    values.update(kwargs)
    return Alert.objects.create(model=version.model, version=version, severity=severity, **values)


def fire(alert: Alert, *, created: bool = True) -> None:
    """Send `alert_fired` as the engine does: on the commit of its transaction."""
    with acting_as(origin=Origin.TASK), TestCase.captureOnCommitCallbacks(execute=True):
        transaction.on_commit(lambda: alert_fired.send(sender=Alert, alert=alert, created=created))


def resolve(alert: Alert) -> None:
    alert.status, alert.resolved_at = Alert.Status.RESOLVED, timezone.now()
    alert.save()
    with acting_as(origin=Origin.TASK), TestCase.captureOnCommitCallbacks(execute=True):
        transaction.on_commit(lambda: alert_resolved.send(sender=Alert, alert=alert))


def send_due() -> int:
    """What beat does every minute: queue (here: run) every attempt that is due."""
    from monitoring.tasks import notifications_send_due

    with TestCase.captureOnCommitCallbacks(execute=True):
        return notifications_send_due.delay().get()
