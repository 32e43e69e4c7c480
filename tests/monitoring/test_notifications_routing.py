"""Who is told: routes by model (or every model) and minimum severity; a rise in severity
tells again, a repeat does not; silenced alerts are quiet."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import transaction

from monitoring.models import NotificationDelivery
from monitoring.signals import alert_fired
from tests.monitoring.notification_helpers import (
    fire,
    http_receiver,
    make_alert,
    route,
    webhook,
)

__all__ = ["http_receiver"]


@pytest.fixture
def versions(make_model: Any, make_version: Any) -> dict[str, Any]:
    return {"churn": make_version(make_model("churn")), "fraud": make_version(make_model("fraud"))}


@pytest.fixture
def endpoints(versions: dict[str, Any], http_receiver: Any) -> dict[str, Any]:
    """churn-team: churn from warning; on-call: every model, critical only; fraud-team: fraud;
    off: churn, but disabled."""
    found = {
        "churn-team": webhook("churn-team", http_receiver.url + "/churn"),
        "on-call": webhook("on-call", http_receiver.url + "/on-call"),
        "fraud-team": webhook("fraud-team", http_receiver.url + "/fraud"),
        "off": webhook("off", http_receiver.url + "/off", enabled=False),
    }
    route(found["churn-team"], versions["churn"].model, "warning")
    route(found["on-call"], None, "critical")
    route(found["fraud-team"], versions["fraud"].model, "info")
    route(found["off"], versions["churn"].model, "info")
    return found


def told(receiver: Any) -> list[str]:
    return sorted(request.path.rsplit("/", 1)[1] for request in receiver.requests)


def test_routes_pick_endpoints_by_model_and_minimum_severity(versions, endpoints, http_receiver):
    fire(make_alert(versions["churn"], severity="info", rule_key="a"))
    assert told(http_receiver) == []

    fire(make_alert(versions["churn"], severity="warning", rule_key="b"))
    assert told(http_receiver) == ["churn"]

    http_receiver.requests.clear()
    fire(make_alert(versions["churn"], severity="critical", rule_key="c"))
    assert told(http_receiver) == ["churn", "on-call"]

    http_receiver.requests.clear()
    fire(make_alert(versions["fraud"], severity="info", rule_key="d"))
    assert told(http_receiver) == ["fraud"]


def test_a_repeat_breach_tells_nobody_again(versions, endpoints, http_receiver):
    alert = make_alert(versions["churn"], severity="warning")
    fire(alert)
    alert.count, alert.value = 2, 0.7
    alert.save()

    fire(alert, created=False)
    fire(alert, created=True)  # even a receiver run twice for one event sends once

    assert told(http_receiver) == ["churn"]
    assert NotificationDelivery.objects.count() == 1


def test_a_rise_in_severity_tells_again_and_reaches_the_higher_routes(
    versions, endpoints, http_receiver
):
    alert = make_alert(versions["churn"], severity="warning")
    fire(alert)
    alert.severity, alert.count = "critical", 2
    alert.save()

    fire(alert, created=False)

    assert told(http_receiver) == ["churn", "churn", "on-call"]
    assert sorted(NotificationDelivery.objects.values_list("endpoint__name", "severity")) == [
        ("churn-team", "critical"),
        ("churn-team", "warning"),
        ("on-call", "critical"),
    ]


def test_a_silenced_alert_tells_nobody(versions, endpoints, http_receiver):
    alert = make_alert(versions["churn"], severity="critical", status="silenced")

    fire(alert)

    assert http_receiver.requests == []
    assert not NotificationDelivery.objects.exists()


def test_nothing_is_sent_when_the_firing_transaction_rolls_back(versions, endpoints, http_receiver):
    alert = make_alert(versions["churn"], severity="critical")
    with pytest.raises(RuntimeError), transaction.atomic():
        transaction.on_commit(lambda: alert_fired.send(sender=None, alert=alert, created=True))
        raise RuntimeError("the engine failed")

    assert http_receiver.requests == []
    assert not NotificationDelivery.objects.exists()
