"""The alert pages: the list (unresolved first, filters, pages, a query count that does not
grow with the rows), one alert with its rule, check, incident, notifications and history,
and the forms to acknowledge, silence and unsilence it; bad input and forbidden posts
change nothing."""

from __future__ import annotations

import itertools
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from governance.models import AuditEvent
from monitoring.models import Alert, NotificationDelivery, NotificationEndpoint
from monitoring.services.alerts import alert_acknowledge, alert_silence
from tests.monitoring.alert_helpers import configure, evaluate, finished_run

pytestmark = pytest.mark.django_db

ALERTS = "/alerts/"
_keys = itertools.count()


def client_for(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def alerts(users, make_model, make_version) -> dict[str, Alert]:
    """churn v1: a warning drift alert (two breaches, with an incident), an info f1 alert
    and a resolved accuracy alert; fraud v1: a critical drift alert."""
    churn = make_version(make_model("churn"))
    fraud = make_version(make_model("fraud"))
    configure(
        churn.model,
        [
            {"metric": "drift_share", "threshold": 0.3, "severity": "warning"},
            {"metric": "f1", "threshold": 0.8, "severity": "info"},
            {"metric": "accuracy", "threshold": 0.9, "severity": "warning", "clear_after": 1},
        ],
    )
    configure(fraud.model, [{"metric": "drift_share", "threshold": 0.3, "severity": "critical"}])
    drift = evaluate(finished_run(churn, drift_share=0.5))[0].alert
    evaluate(finished_run(churn, drift_share=0.6))
    f1 = evaluate(finished_run(churn, "quality", labelled=100, f1=0.6, accuracy=0.95))[0].alert
    accuracy = next(
        r.alert
        for r in evaluate(finished_run(churn, "quality", labelled=100, f1=0.6, accuracy=0.7))
        if r.alert.metric == "accuracy"
    )
    evaluate(finished_run(churn, "quality", labelled=100, f1=0.6, accuracy=0.95))
    fraud_drift = evaluate(finished_run(fraud, drift_share=0.9))[0].alert
    found = {"drift": drift, "f1": f1, "accuracy": accuracy, "fraud": fraud_drift}
    for alert in found.values():
        alert.refresh_from_db()
    assert found["accuracy"].status == Alert.Status.RESOLVED
    return found


def plain_alert(version: Any, severity: str = "warning", **fields: Any) -> Alert:
    """An open alert stored as the rule engine stores one, with no check and no incident."""
    now = timezone.now()
    return Alert.objects.create(
        model=version.model,
        version=version,
        rule_key=f"{next(_keys):064d}",
        rule={"metric": "error_rate", "threshold": 0.05, "severity": severity},
        metric="error_rate",
        value=0.2,
        threshold=0.05,
        comparison=">=",
        severity=severity,
        first_seen=now,
        last_seen=now,
        **fields,
    )


def detail(alert: Alert) -> str:
    return reverse("monitoring:alert", args=[alert.pk])


def action(alert: Alert, name: str) -> str:
    return reverse(f"monitoring:alert-{name}", args=[alert.pk])


def row_order(page: str, alerts: list[Alert]) -> list[int]:
    return sorted((page.index(f'id="alert-{a.pk}"'), a.pk) for a in alerts)


def alert_actions(alert: Alert) -> list[str]:
    return list(
        AuditEvent.objects.filter(object_type="alert", object_id=str(alert.pk))
        .order_by("id")
        .values_list("action", flat=True)
    )


def test_the_list_shows_firing_then_acknowledged_then_silenced_and_hides_resolved(users, alerts):
    alert_acknowledge(actor=users["board"], alert_id=alerts["f1"].pk)
    alert_silence(
        actor=users["board"],
        alert_id=alerts["drift"].pk,
        until=timezone.now() + timedelta(hours=2),
        reason="vendor outage",
    )

    page = client_for(users["validator"]).get(ALERTS).content.decode()

    order = [pk for _, pk in row_order(page, [alerts["fraud"], alerts["f1"], alerts["drift"]])]
    assert order == [alerts["fraud"].pk, alerts["f1"].pk, alerts["drift"].pk]
    assert f'id="alert-{alerts["accuracy"].pk}"' not in page
    assert "drift_share &gt;= 0.3" in page and "f1 &lt; 0.8" in page  # the rules, described
    assert ">firing<" in page and ">acknowledged<" in page and ">silenced<" in page
    assert "0.6 <span" in page and "vs 0.3" in page  # last value against the threshold
    assert reverse("monitoring:incident", args=[alerts["drift"].incident_id]) in page
    assert 'href="/alerts/"' in page  # in the navigation
    assert "Acknowledge</button>" not in page  # validators only read


def test_the_filters_take_model_severity_and_status(users, alerts):
    client = client_for(users["ds"])

    def shown(query: str) -> set[int]:
        page = client.get(ALERTS + query).content.decode()
        return {a.pk for a in alerts.values() if f'id="alert-{a.pk}"' in page}

    assert shown("?model=fraud") == {alerts["fraud"].pk}
    assert shown("?model=churn&severity=info") == {alerts["f1"].pk}
    assert shown("?status=resolved&model=&severity=") == {alerts["accuracy"].pk}
    assert shown("?status=all") == {a.pk for a in alerts.values()}
    assert shown("?status=open&severity=critical") == {alerts["fraud"].pk}
    refused = client.get(ALERTS + "?severity=loud")
    assert refused.status_code == 200
    assert "Select a valid choice" in refused.content.decode()
    assert shown("?severity=loud") == set()


def test_the_list_is_paginated_and_keeps_its_filters(users, make_model, make_version):
    version = make_version(make_model("churn"))
    made = [plain_alert(version) for _ in range(53)]
    client = client_for(users["board"])

    first = client.get(ALERTS + "?model=churn").content.decode()
    second = client.get(ALERTS + "?model=churn&page=2").content.decode()
    beyond = client.get(ALERTS + "?model=churn&page=99")

    on_first = {a.pk for a in made if f'id="alert-{a.pk}"' in first}
    on_second = {a.pk for a in made if f'id="alert-{a.pk}"' in second}
    assert len(on_first) == 50 and len(on_second) == 3 and not on_first & on_second
    assert "page 1 of 2 (53 alerts)" in first
    assert "?model=churn&amp;page=2" in first
    assert beyond.status_code == 200 and "page 2 of 2" in beyond.content.decode()


def test_the_list_query_count_does_not_grow_with_the_rows(users, make_model, make_version):
    version = make_version(make_model("churn"))
    incident_alert = plain_alert(version)
    client = client_for(users["ds"])
    client.get(ALERTS)  # the session and the roles are read once, like any first page

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(ALERTS).status_code == 200
        return len(captured)

    few = queries()
    for severity in ("info", "warning", "critical") * 10:
        plain_alert(version, severity, acknowledged_at=timezone.now(), acknowledged_by=users["ds"])
    alert_silence(
        actor=users["ds"],
        alert_id=incident_alert.pk,
        until=timezone.now() + timedelta(hours=1),
        reason="x",
    )

    assert queries() == few
    assert few <= 8


def test_the_alert_page_shows_rule_check_incident_notifications_and_history(users, alerts):
    drift = alerts["drift"]
    mail = NotificationEndpoint.objects.create(
        name="ops-mail", kind="email", email_addresses=["ops@example.com"]
    )
    NotificationDelivery.objects.create(
        endpoint=mail,
        alert=drift,
        event="fired",
        severity="warning",
        status="failed",
        content={},
        attempts=6,
        last_error="550 5.1.1 mailbox unavailable",
    )
    alert_acknowledge(actor=users["ds"], alert_id=drift.pk, comment="looking at the feed")
    alert_silence(
        actor=users["board"],
        alert_id=drift.pk,
        until=timezone.now() + timedelta(hours=4),
        reason="vendor outage until Monday",
    )

    response = client_for(users["validator"]).get(detail(drift))

    assert response.status_code == 200
    page = response.content.decode()
    assert "drift_share &gt;= 0.3" in page and drift.rule_key in page
    assert "consecutive" in page and "clear_after" in page  # the rule's definition
    assert reverse("monitoring:incident", args=[drift.incident_id]) in page
    check = reverse("monitoring:check", args=["churn", drift.check_run_id])
    assert check in page and f"Data drift check #{drift.check_run_id}" in page
    assert "ops-mail" in page and "Failed (gave up)" in page
    assert "550 5.1.1 mailbox unavailable" in page
    history = page[page.index('id="alert-history"') :]
    for said in (
        "Opened",
        "Joined an incident",
        "Acknowledged</strong> by dana: looking at the feed",
        "Silenced</strong> by bella until",
        "vendor outage until Monday",
    ):
        assert said in history
    assert "by bella" in page[page.index('id="alert-silence"') :]
    assert 'id="silence-form"' not in page  # validators only read


def test_a_window_alert_says_where_it_came_from(users, make_model, make_version):
    alert = plain_alert(make_version(make_model("churn")))

    page = client_for(users["ds"]).get(detail(alert)).content.decode()

    assert "a window measurement of served calls (no check)" in page
    assert "No notifications about this alert" in page


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
    assert alert_actions(drift)[-1] != "alert.silenced"


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
