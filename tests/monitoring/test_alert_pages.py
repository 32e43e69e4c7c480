"""The alert pages, reading: the list (unresolved first, filters, pages, a query count that
does not grow with the rows) and one alert with its rule, check, incident, notifications
and history. The forms are tested in test_alert_page_actions.py."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from monitoring.alert_views import PAGE_SIZE
from monitoring.models import Alert, NotificationDelivery, NotificationEndpoint
from monitoring.services.alerts import alert_acknowledge, alert_silence
from tests.monitoring.alert_page_helpers import (
    ALERTS,
    client_for,
    detail,
    made_alerts,
    plain_alert,
    row_order,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def alerts(users, make_model, make_version) -> dict[str, Alert]:
    return made_alerts(make_model, make_version)


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
    made = [plain_alert(version) for _ in range(PAGE_SIZE + 3)]
    client = client_for(users["board"])

    first = client.get(ALERTS + "?model=churn").content.decode()
    second = client.get(ALERTS + "?model=churn&page=2").content.decode()
    beyond = client.get(ALERTS + "?model=churn&page=99")
    shown_order = [int(pk) for pk in re.findall(r'id="alert-([0-9]+)"', first)]
    assert shown_order == [a.pk for a in made[-PAGE_SIZE:]][::-1]  # the latest breach first

    on_first = {a.pk for a in made if f'id="alert-{a.pk}"' in first}
    on_second = {a.pk for a in made if f'id="alert-{a.pk}"' in second}
    assert len(on_first) == PAGE_SIZE and len(on_second) == 3 and not on_first & on_second
    assert f"page 1 of 2 ({PAGE_SIZE + 3} alerts)" in first
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
