"""Notification endpoints and routes through the API: compliance officers only; a webhook's
secret is write-only (never in a response, history or audit record) and can be rotated;
only http(s) webhook URLs; every change audited, as in the admin."""

from __future__ import annotations

import json
from typing import Any

import pytest

from governance.models import AuditEvent
from monitoring.models import NotificationDelivery, NotificationEndpoint, NotificationRoute
from tests.conftest import assert_json_error
from tests.monitoring.notification_helpers import make_alert

ENDPOINTS = "/api/v1/notification-endpoints/"
ROUTES = "/api/v1/notification-routes/"
SECRET = "write-only-secret-0123456789abcdef"


def hook(**values: Any) -> dict[str, Any]:
    body = {
        "name": "ops-hook",
        "kind": "webhook",
        "url": "https://hooks.example.com/governance",
        "secret": SECRET,
        "body_format": "slack",
    }
    body.update(values)
    return body


def create(api: Any, **values: Any) -> Any:
    return api("compliance").post(ENDPOINTS, hook(**values), format="json")


def no_secret_anywhere(*texts: Any) -> bool:
    return all(SECRET not in (t if isinstance(t, str) else json.dumps(t)) for t in texts)


def test_compliance_creates_a_webhook_and_never_sees_its_secret_again(api, users):
    response = create(api)

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["has_secret"] is True and "secret" not in body
    assert (body["kind"], body["url"], body["body_format"]) == (
        "webhook",
        "https://hooks.example.com/governance",
        "slack",
    )
    endpoint = NotificationEndpoint.objects.get()
    assert endpoint.secret == SECRET and endpoint.secret_set_at is not None
    listed = api("compliance").get(ENDPOINTS)
    detail = api("compliance").get(f"{ENDPOINTS}{endpoint.pk}/")
    audit = AuditEvent.objects.get(action="notification_endpoint.created")
    assert audit.actor == users["compliance"] and audit.origin == "api"
    history = list(endpoint.history.values())
    assert no_secret_anywhere(
        response.content.decode(),
        listed.content.decode(),
        detail.content.decode(),
        audit.data,
        [str(row) for row in history],
    )


def test_an_email_endpoint_takes_addresses_and_no_secret(api):
    response = api("compliance").post(
        ENDPOINTS,
        {"name": "ds-team", "kind": "email", "email_addresses": ["ds@example.com"]},
        format="json",
    )

    assert response.status_code == 201, response.content
    assert response.json()["has_secret"] is False
    assert response.json()["email_addresses"] == ["ds@example.com"]


@pytest.mark.parametrize(
    "url",
    [
        "ftp://files.example.com/hook",
        "file:///etc/passwd",
        "javascript:alert(1)",
        "gopher://example.com/",
        "hooks.example.com/governance",
        "https://",
        "",
    ],
)
def test_a_webhook_url_must_be_http_or_https(api, url):
    response = create(api, url=url)

    assert "http:// or https://" in assert_json_error(response, 400)["url"][0]
    assert not NotificationEndpoint.objects.exists()


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"secret": "short"}, "secret"),
        ({"secret": None}, "secret"),
        ({"kind": "pager"}, "kind"),
        ({"name": ""}, "name"),
        ({"name": "x" * 101}, "name"),
        ({"body_format": "xml"}, "body_format"),
        ({"email_addresses": ["ops@example.com"]}, "email_addresses"),
        ({"url": "https://example.com/" + "a" * 1000}, "url"),
        ({"surprise": True}, "surprise"),
    ],
)
def test_a_bad_endpoint_is_a_400_naming_the_field_and_stores_nothing(api, values, field):
    response = create(api, **values)

    assert field in assert_json_error(response, 400)
    assert not NotificationEndpoint.objects.exists()
    assert not AuditEvent.objects.filter(action__startswith="notification_endpoint").exists()


def test_a_name_in_use_is_refused(api):
    create(api)

    response = create(api, url="https://other.example.com/")

    assert "name" in assert_json_error(response, 400)
    assert NotificationEndpoint.objects.count() == 1


def test_patch_changes_what_it_names_and_keeps_the_secret_unless_given(api):
    endpoint_id = create(api).json()["id"]
    url = f"{ENDPOINTS}{endpoint_id}/"
    set_at = NotificationEndpoint.objects.get().secret_set_at

    disabled = api("compliance").patch(url, {"enabled": False}, format="json")
    endpoint = NotificationEndpoint.objects.get()
    assert disabled.status_code == 200, disabled.content
    assert disabled.json()["enabled"] is False
    assert (endpoint.secret, endpoint.secret_set_at) == (SECRET, set_at)

    replaced = api("compliance").patch(url, {"secret": "another-secret-0123456789"}, "json")
    endpoint.refresh_from_db()
    assert replaced.status_code == 200 and "another-secret" not in replaced.content.decode()
    assert endpoint.secret == "another-secret-0123456789" and endpoint.secret_set_at > set_at
    edits = AuditEvent.objects.filter(action="notification_endpoint.edited").order_by("id")
    assert [e.data["changed"] for e in edits] == [["enabled"], ["secret"]]
    assert edits[1].data["secret_changed"] is True and "another-secret" not in str(edits[1].data)

    bad = api("compliance").patch(url, {"url": "ftp://example.com/"}, format="json")
    assert "url" in assert_json_error(bad, 400)
    endpoint.refresh_from_db()
    assert endpoint.url == "https://hooks.example.com/governance"


def test_rotating_generates_a_secret_shown_once(api):
    endpoint_id = create(api).json()["id"]
    rotate = f"{ENDPOINTS}{endpoint_id}/rotate-secret/"

    generated = api("compliance").post(rotate, {}, format="json")

    assert generated.status_code == 200, generated.content
    secret = generated.json()["secret"]
    endpoint = NotificationEndpoint.objects.get()
    assert len(secret) >= 40 and endpoint.secret == secret != SECRET
    assert secret not in api("compliance").get(f"{ENDPOINTS}{endpoint_id}/").content.decode()
    assert secret not in json.dumps(AuditEvent.objects.order_by("id").last().data)

    given = api("compliance").post(rotate, {"secret": SECRET + "-v2"}, format="json")
    assert given.status_code == 200 and given.json()["secret"] is None
    endpoint.refresh_from_db()
    assert endpoint.secret == SECRET + "-v2"

    short = api("compliance").post(rotate, {"secret": "short"}, format="json")
    assert "secret" in assert_json_error(short, 400)
    same = api("compliance").post(rotate, {"secret": SECRET + "-v2"}, format="json")
    assert "secret" in assert_json_error(same, 400)
    assert_json_error(api("compliance").post(f"{ENDPOINTS}999999/rotate-secret/", {}), 404)


def test_an_email_endpoint_has_no_secret_to_rotate(api):
    response = api("compliance").post(
        ENDPOINTS, {"name": "ds", "kind": "email", "email_addresses": ["a@example.com"]}, "json"
    )
    rotate = f"{ENDPOINTS}{response.json()['id']}/rotate-secret/"

    assert_json_error(api("compliance").post(rotate, {}, format="json"), 409)


def test_an_endpoint_without_deliveries_is_deleted_with_its_routes(api, make_model):
    make_model("churn")
    endpoint_id = create(api).json()["id"]
    api("compliance").post(ROUTES, {"endpoint": endpoint_id, "model": "churn"}, format="json")

    response = api("compliance").delete(f"{ENDPOINTS}{endpoint_id}/")

    assert response.status_code == 204, response.content
    assert not NotificationEndpoint.objects.exists() and not NotificationRoute.objects.exists()
    actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {"notification_route.deleted", "notification_endpoint.deleted"} <= actions


def test_an_endpoint_with_deliveries_is_disabled_not_deleted(api, make_model, make_version):
    version = make_version(make_model("churn"))
    endpoint_id = create(api).json()["id"]
    NotificationDelivery.objects.create(
        endpoint_id=endpoint_id,
        alert=make_alert(version),
        event="fired",
        severity="critical",
        content={},
        status="delivered",
    )

    response = api("compliance").delete(f"{ENDPOINTS}{endpoint_id}/")

    assert "disable it" in assert_json_error(response, 409)["detail"]
    assert NotificationEndpoint.objects.filter(pk=endpoint_id).exists()


def test_routes_are_created_edited_listed_and_deleted(api, make_model):
    make_model("churn")
    make_model("fraud")
    endpoint_id = create(api).json()["id"]

    churn = api("compliance").post(
        ROUTES, {"endpoint": endpoint_id, "model": "churn", "min_severity": "critical"}, "json"
    )
    every = api("compliance").post(ROUTES, {"endpoint": endpoint_id, "model": None}, "json")
    assert churn.status_code == 201 and every.status_code == 201, (churn.content, every.content)
    assert churn.json()["model"] == "churn" and churn.json()["endpoint_name"] == "ops-hook"
    assert every.json()["model"] is None and every.json()["min_severity"] == "warning"

    again = api("compliance").post(ROUTES, {"endpoint": endpoint_id, "model": "churn"}, "json")
    assert "model" in assert_json_error(again, 400)
    unknown = api("compliance").post(ROUTES, {"endpoint": 999999, "model": None}, "json")
    assert "endpoint" in assert_json_error(unknown, 400)
    nowhere = api("compliance").post(ROUTES, {"endpoint": endpoint_id, "model": "nope"}, "json")
    assert "model" in assert_json_error(nowhere, 400)

    route_url = f"{ROUTES}{churn.json()['id']}/"
    edited = api("compliance").patch(route_url, {"min_severity": "info"}, format="json")
    assert edited.status_code == 200 and edited.json()["min_severity"] == "info"
    filtered = api("compliance").get(f"{ROUTES}?model=churn").json()["results"]
    assert [row["id"] for row in filtered] == [churn.json()["id"]]
    detail = api("compliance").get(f"{ENDPOINTS}{endpoint_id}/").json()
    assert sorted(str(r["model"]) for r in detail["routes"]) == ["None", "churn"]

    assert api("compliance").delete(route_url).status_code == 204
    assert NotificationRoute.objects.count() == 1
    actions = list(
        AuditEvent.objects.filter(object_type="notification_route")
        .order_by("id")
        .values_list("action", flat=True)
    )
    assert actions == [
        "notification_route.created",
        "notification_route.created",
        "notification_route.edited",
        "notification_route.deleted",
    ]


@pytest.mark.parametrize("who", ["ds", "board", "validator", "ci", "outsider"])
def test_other_roles_get_403_on_every_notification_route(api, who, make_model):
    make_model("churn")
    endpoint_id = create(api).json()["id"]
    route_id = (
        api("compliance").post(ROUTES, {"endpoint": endpoint_id, "model": None}, "json").json()
    )["id"]
    client = api(who)

    for response in (
        client.get(ENDPOINTS),
        client.get(f"{ENDPOINTS}{endpoint_id}/"),
        client.post(ENDPOINTS, hook(name="mine"), format="json"),
        client.patch(f"{ENDPOINTS}{endpoint_id}/", {"enabled": False}, format="json"),
        client.delete(f"{ENDPOINTS}{endpoint_id}/"),
        client.post(f"{ENDPOINTS}{endpoint_id}/rotate-secret/", {}, format="json"),
        client.get(ROUTES),
        client.patch(f"{ROUTES}{route_id}/", {"min_severity": "info"}, format="json"),
        client.delete(f"{ROUTES}{route_id}/"),
        client.get("/api/v1/notification-deliveries/"),
    ):
        assert_json_error(response, 403)
    endpoint = NotificationEndpoint.objects.get()
    assert endpoint.enabled and endpoint.secret == SECRET
    assert NotificationRoute.objects.count() == 1
