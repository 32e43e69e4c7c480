"""E-mail to a real SMTP server on localhost (aiosmtpd), and `EMAIL_URL`."""

from __future__ import annotations

import time
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured

from governance.email_url import email_settings
from monitoring.models import NotificationAttempt, NotificationDelivery
from tests.monitoring.notification_helpers import (
    fire,
    mailbox,
    make_alert,
    resolve,
    route,
    send_due,
    smtp_sink,
)

__all__ = ["smtp_sink"]


@pytest.fixture
def version(make_model: Any, make_version: Any, settings: Any) -> Any:
    settings.SITE_URL = "https://governance.example.com"
    settings.DEFAULT_FROM_EMAIL = "alerts@governance.example.com"
    settings.NOTIFICATION_RETRY_SECONDS = 0.3
    settings.NOTIFICATION_MAX_ATTEMPTS = 2
    return make_version(make_model("churn"))


def text_of(message: Any) -> str:
    return message.get_payload(decode=True).decode()


def test_a_fired_alert_is_mailed_with_its_facts_and_links(version, smtp_sink):
    route(mailbox("data-science", "ds@example.com", "lead@example.com"), version.model)
    incident = version.model.incidents.create(
        version=version, severity="critical", source="alert", title="drift"
    )
    alert = make_alert(version, incident=incident, count=3)

    fire(alert)

    [(sender, recipients, message)] = smtp_sink.messages
    assert sender == "alerts@governance.example.com"
    assert recipients == ["ds@example.com", "lead@example.com"]
    assert message["Subject"] == (
        f"[governance] [critical] churn v{version.version}: drift_share 0.625 >= 0.5 (fired)"
    )
    body = text_of(message)
    assert f"Alert #{alert.pk} fired on churn version {version.version}." in body
    for line in (
        "Metric:    drift_share",
        "Value:     0.625",
        "Threshold: >= 0.5",
        "Severity:  critical",
        "Breaches:  3",
        f"Incident:  #{incident.pk}",
        "Model:     https://governance.example.com/models/churn/",
    ):
        assert line in body
    delivery = NotificationDelivery.objects.get()
    assert (delivery.status, delivery.attempts) == ("delivered", 1)
    assert delivery.attempt_records.get().outcome == "delivered"


def test_the_resolution_is_mailed_too(version, smtp_sink):
    route(mailbox("data-science", "ds@example.com"), version.model)
    alert = make_alert(version)
    fire(alert)

    resolve(alert)

    subjects = [message["Subject"] for _, _, message in smtp_sink.messages]
    assert subjects[1].endswith("(resolved)")
    assert "Resolved:" in text_of(smtp_sink.messages[1][2])


def test_a_refused_recipient_is_stored_as_the_smtp_error_and_retried(version, smtp_sink):
    smtp_sink.refuse = {"gone@example.com"}
    route(mailbox("data-science", "gone@example.com"), version.model)

    fire(make_alert(version))

    attempt = NotificationAttempt.objects.get()
    assert attempt.outcome == "failed"
    assert attempt.error.startswith("SMTPRecipientsRefused")
    assert "550" in attempt.error and "mailbox unavailable" in attempt.error
    assert attempt.next_retry_at is not None
    time.sleep(0.4)
    smtp_sink.refuse = set()

    send_due()

    delivery = NotificationDelivery.objects.get()
    assert (delivery.status, delivery.attempts) == ("delivered", 2)
    assert len(smtp_sink.messages) == 1


def test_an_unreachable_smtp_server_fails_for_good_after_the_last_attempt(version, settings):
    from tests.monitoring.notification_helpers import free_port

    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", free_port(), 2
    route(mailbox("data-science", "ds@example.com"), version.model)

    fire(make_alert(version))
    time.sleep(0.4)
    send_due()

    delivery = NotificationDelivery.objects.get()
    assert (delivery.status, delivery.attempts) == ("failed", 2)
    assert "ConnectionRefusedError" in delivery.last_error


def test_email_url_sets_the_smtp_settings():
    assert email_settings("smtp://mailer:p%40ss%2Fword@mail.example.com:2525?tls=1") == {
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "EMAIL_HOST": "mail.example.com",
        "EMAIL_PORT": 2525,
        "EMAIL_HOST_USER": "mailer",
        "EMAIL_HOST_PASSWORD": "p@ss/word",
        "EMAIL_USE_TLS": True,
        "EMAIL_USE_SSL": False,
        "EMAIL_TIMEOUT": 10.0,
    }
    smtps = email_settings("smtps://mail.example.com?timeout=3")
    assert (smtps["EMAIL_PORT"], smtps["EMAIL_USE_SSL"], smtps["EMAIL_TIMEOUT"]) == (465, True, 3)
    assert email_settings("smtp://mail.example.com")["EMAIL_PORT"] == 25
    assert email_settings("console://") == {
        "EMAIL_BACKEND": "django.core.mail.backends.console.EmailBackend"
    }


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("smpt://mail.example.com", "unknown scheme"),
        ("smtp://", "needs a host"),
        ("smtp://mail.example.com?tls=maybe", "tls="),
        ("smtp://mail.example.com?starttls=1", "unknown parameter(s) starttls"),
        ("smtps://mail.example.com?tls=1", "not both"),
        ("smtp://mail.example.com?timeout=0", "timeout="),
        ("smtp://mail.example.com:99999", "EMAIL_URL"),
    ],
)
def test_a_wrong_email_url_is_refused_loudly(url, says):
    with pytest.raises(ImproperlyConfigured, match="EMAIL_URL") as raised:
        email_settings(url)
    assert says in str(raised.value)
