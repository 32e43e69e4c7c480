"""The alert page's forms: acknowledge, silence (a duration or a time, with a reason) and
unsilence through the services; bad input shown and nothing stored; 403 without
manage_alerts, the login page for visitors, CSRF, 404 and 405."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from monitoring.models import Alert
from monitoring.services.alerts import alert_acknowledge, alert_silence
from tests.monitoring.alert_page_helpers import (
    ALERTS,
    action,
    alert_actions,
    client_for,
    detail,
    made_alerts,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def alerts(users, make_model, make_version) -> dict[str, Alert]:
    return made_alerts(make_model, make_version)


def test_acknowledge_silence_and_unsilence_through_the_page(users, alerts):
    drift = alerts["drift"]
    bella = client_for(users["board"])
    page = bella.get(detail(drift)).content.decode()
    for form in ("acknowledge-form", "silence-form"):
        assert form in page
    assert "unsilence-form" not in page and "csrfmiddlewaretoken" in page

    acked = bella.post(action(drift, "acknowledge"), {"comment": "on it"}, follow=True)
    silenced = bella.post(
        action(drift, "silence"), {"duration": "4h", "reason": "vendor outage"}, follow=True
    )
    drift.refresh_from_db()
    until = drift.silenced_until
    unsilenced = bella.post(action(drift, "unsilence"), {"comment": "vendor back"}, follow=True)

    for response, said in [
        (acked, f"Alert #{drift.pk} acknowledged."),
        (silenced, f"Alert #{drift.pk} silenced until"),
        (unsilenced, f"Alert #{drift.pk} unsilenced"),
    ]:
        assert response.status_code == 200
        assert response.redirect_chain[-1][0] == detail(drift)
        assert said in response.content.decode()
    assert abs((until - timezone.now()) - timedelta(hours=4)) < timedelta(minutes=1)
    drift.refresh_from_db()
    assert drift.status == Alert.Status.OPEN and drift.acknowledged_by == users["board"]
    assert drift.silence_reason == "vendor outage" and drift.silenced_by == users["board"]
    assert alert_actions(drift)[-3:] == ["alert.acknowledged", "alert.silenced", "alert.unsilenced"]
    kinds = set(drift.incident.timeline.values_list("kind", flat=True))
    assert {"alert_acknowledged", "alert_silenced", "alert_unsilenced"} <= kinds
    assert drift.history.first().history_origin == "page"
    after = unsilenced.content.decode()
    assert "acknowledge-form" not in after and "unsilence-form" not in after
    assert "Unsilenced</strong> by bella: vendor back" in after


def test_a_silence_until_an_explicit_time(users, alerts):
    fraud = alerts["fraud"]
    until = (timezone.now() + timedelta(days=2)).replace(second=0, microsecond=0)

    response = client_for(users["compliance"]).post(
        action(fraud, "silence"),
        {"duration": "until", "until": until.strftime("%Y-%m-%dT%H:%M"), "reason": "known"},
        follow=True,
    )

    fraud.refresh_from_db()
    assert fraud.status == Alert.Status.SILENCED and fraud.silenced_until == until
    page = response.content.decode()
    assert ">silenced<" in page and "unsilence-form" in page and "Replace the silence" in page


@pytest.mark.parametrize(
    ("body", "field", "error"),
    [
        ({"duration": "4h", "reason": "  "}, "reason", "This field is required."),
        ({"duration": "until", "until": "", "reason": "x"}, "until", "Give the date and time"),
        ({"duration": "until", "until": "2020-01-01T09:00", "reason": "x"}, "until", "future"),
        ({"duration": "until", "until": "2999-01-01T09:00", "reason": "x"}, "until", "365 days"),
        ({"duration": "until", "until": "next tuesday", "reason": "x"}, "until", "valid date"),
        ({"duration": "3w", "reason": "x"}, "duration", "Select a valid choice"),
    ],
)
def test_a_bad_silence_shows_its_errors_and_stores_nothing(users, alerts, body, field, error):
    drift = alerts["drift"]
    before = alert_actions(drift)

    response = client_for(users["ds"]).post(action(drift, "silence"), body)

    assert response.status_code == 400
    page = response.content.decode()
    assert error in page and 'id="silence-form"' in page
    assert response.context["silence_form"].errors[field]
    drift.refresh_from_db()
    assert drift.status == Alert.Status.OPEN and drift.silenced_until is None
    assert alert_actions(drift) == before


def test_refusals_of_the_services_are_shown_and_nothing_changes(users, alerts):
    client = client_for(users["ds"])
    alert_acknowledge(actor=users["board"], alert_id=alerts["f1"].pk)
    resolved = alerts["accuracy"]
    before = {name: alert_actions(a) for name, a in alerts.items()}

    again = client.post(action(alerts["f1"], "acknowledge"), follow=True).content.decode()
    not_silenced = client.post(action(alerts["drift"], "unsilence"), follow=True).content.decode()
    on_resolved = client.post(
        action(resolved, "silence"), {"duration": "1h", "reason": "x"}, follow=True
    ).content.decode()
    too_long = client.post(
        action(alerts["drift"], "acknowledge"), {"comment": "x" * 5001}, follow=True
    ).content.decode()

    assert "was acknowledged by bella" in again
    assert "is open, not silenced" in not_silenced
    assert "a resolved alert cannot be silenced" in on_resolved
    assert "Nothing was changed. comment:" in too_long
    assert {name: alert_actions(a) for name, a in alerts.items()} == before
    page = client.get(detail(resolved)).content.decode()
    assert 'id="alert-actions"' not in page and ">resolved<" in page


def test_acknowledging_from_the_list_returns_to_the_list(users, alerts):
    client = client_for(users["compliance"])
    listed = client.get(ALERTS + "?model=churn").content.decode()
    assert action(alerts["drift"], "acknowledge") in listed

    back = client.post(
        action(alerts["drift"], "acknowledge"), {"next": "/alerts/?model=churn"}, follow=True
    )
    elsewhere = client.post(action(alerts["fraud"], "acknowledge"), {"next": "https://evil.test/"})

    assert back.redirect_chain[-1][0] == "/alerts/?model=churn"
    assert f"Alert #{alerts['drift'].pk} acknowledged." in back.content.decode()
    assert elsewhere["Location"] == detail(alerts["fraud"])
    alerts["drift"].refresh_from_db()
    assert alerts["drift"].acknowledged_by == users["compliance"]


@pytest.mark.parametrize("who", ["validator", "ci", "outsider"])
@pytest.mark.parametrize(
    ("name", "body"),
    [
        ("acknowledge", {}),
        ("silence", {"duration": "1h", "reason": "x"}),
        ("unsilence", {}),
    ],
)
def test_posts_without_manage_alerts_are_403_and_change_nothing(users, alerts, who, name, body):
    drift = alerts["drift"]
    alert_silence(
        actor=users["ds"],
        alert_id=drift.pk,
        until=timezone.now() + timedelta(hours=1),
        reason="known",
    )
    before = alert_actions(drift)

    response = client_for(users[who]).post(action(drift, name), body)

    assert response.status_code == 403
    assert alert_actions(drift) == before
    drift.refresh_from_db()
    assert drift.status == Alert.Status.SILENCED and drift.acknowledged_at is None


def test_readers_see_no_buttons_outsiders_no_pages_and_visitors_log_in(users, alerts):
    drift = alerts["drift"]
    validator = client_for(users["validator"])
    outsider = client_for(users["outsider"])
    before = alert_actions(drift)

    page = validator.get(detail(drift)).content.decode()
    for form in ("alert-actions", "acknowledge-form", "silence-form", "unsilence-form"):
        assert form not in page
    assert outsider.get(ALERTS).status_code == 403
    assert outsider.get(detail(drift)).status_code == 403
    for url, method in [
        (ALERTS, "get"),
        (detail(drift), "get"),
        (action(drift, "silence"), "post"),
    ]:
        anonymous = getattr(Client(), method)(url)
        assert anonymous.status_code == 302 and anonymous["Location"].startswith("/login/")
    assert alert_actions(drift) == before
    drift.refresh_from_db()
    assert drift.silenced_until is None


def test_a_post_without_the_csrf_token_is_refused(users, alerts):
    client = Client(enforce_csrf_checks=True)
    client.force_login(users["ds"])

    response = client.post(action(alerts["drift"], "acknowledge"), {})

    assert response.status_code == 403
    alerts["drift"].refresh_from_db()
    assert alerts["drift"].acknowledged_at is None


def test_an_unknown_alert_is_404_and_a_get_on_an_action_405(users, alerts):
    client = client_for(users["ds"])

    assert client.get(reverse("monitoring:alert", args=[999999])).status_code == 404
    for name in ("acknowledge", "silence", "unsilence"):
        url = reverse(f"monitoring:alert-{name}", args=[999999])
        assert client.post(url, {"duration": "1h", "reason": "x"}).status_code == 404
        assert client.get(action(alerts["drift"], name)).status_code == 405


def test_the_incident_page_links_its_alerts(users, alerts):
    drift = alerts["drift"]

    page = client_for(users["board"]).get(reverse("monitoring:incident", args=[drift.incident_id]))

    assert f'href="{detail(drift)}"' in page.content.decode()
