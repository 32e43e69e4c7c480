"""Compliance officers set up endpoints and routes in the admin; a secret is never shown back;
other roles cannot add or change them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from governance.errors import NotAllowed
from governance.models import AuditEvent
from monitoring.models import NotificationEndpoint, NotificationRoute
from monitoring.services import notification_endpoint_save

SECRET = "never-show-me-0123456789abcdef"


def client_for(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def webhook_form(**values: Any) -> dict[str, Any]:
    form = {
        "name": "ops-hook",
        "kind": "webhook",
        "enabled": "on",
        "email_addresses": "",
        "url": "https://hooks.example.com/governance",
        "new_secret": SECRET,
        "body_format": "slack",
        "routes-TOTAL_FORMS": "0",
        "routes-INITIAL_FORMS": "0",
    }
    form.update(values)
    return form


def add_url() -> str:
    return reverse("admin:monitoring_notificationendpoint_add")


def test_compliance_adds_a_webhook_whose_secret_is_never_shown(users):
    client = client_for(users["compliance"])

    response = client.post(add_url(), webhook_form())

    assert response.status_code == 302, response.content.decode()[:3000]
    endpoint = NotificationEndpoint.objects.get()
    assert (endpoint.secret, endpoint.body_format) == (SECRET, "slack")
    assert endpoint.secret_set_at is not None
    pages = [
        reverse("admin:monitoring_notificationendpoint_changelist"),
        reverse("admin:monitoring_notificationendpoint_change", args=[endpoint.pk]),
        reverse("admin:monitoring_notificationendpoint_history", args=[endpoint.pk]),
    ]
    history = endpoint.history.get()
    pages.append(
        reverse(
            "admin:monitoring_notificationendpoint_simple_history",
            args=[endpoint.pk, history.history_id],
        )
    )
    for page in pages:
        response = client.get(page)
        assert response.status_code == 200, page
        assert SECRET not in response.content.decode(), page
    change = client.get(pages[1]).content.decode()
    assert "set (not shown)" in change
    assert not hasattr(history, "secret")
    event = AuditEvent.objects.get(action="notification_endpoint.created")
    assert SECRET not in json.dumps(event.data)
    assert event.data["secret_changed"] is True
    assert history.history_origin == "admin"


def test_an_empty_secret_field_keeps_the_secret_and_a_new_one_replaces_it(users):
    client = client_for(users["compliance"])
    client.post(add_url(), webhook_form())
    endpoint = NotificationEndpoint.objects.get()
    change = reverse("admin:monitoring_notificationendpoint_change", args=[endpoint.pk])

    kept = client.post(change, webhook_form(new_secret="", url="https://hooks.example.com/v2"))
    endpoint.refresh_from_db()
    assert kept.status_code == 302
    assert (endpoint.secret, endpoint.url) == (SECRET, "https://hooks.example.com/v2")

    client.post(
        change,
        webhook_form(
            new_secret="a-brand-new-secret-0123456789", url="https://hooks.example.com/v2"
        ),
    )
    endpoint.refresh_from_db()
    assert endpoint.secret == "a-brand-new-secret-0123456789"
    edits = AuditEvent.objects.filter(action="notification_endpoint.edited").order_by("id")
    assert [e.data["changed"] for e in edits] == [["url"], ["secret"]]


@pytest.mark.parametrize(
    ("values", "field", "says"),
    [
        ({"new_secret": ""}, "new_secret", "needs a secret"),
        ({"new_secret": "short"}, "new_secret", "At least 16"),
        ({"url": "ftp://hooks.example.com/x"}, "url", "http:// or https://"),
        ({"kind": "email", "url": "", "new_secret": ""}, "email_addresses", "at least one"),
        (
            {
                "kind": "email",
                "url": "",
                "new_secret": "",
                "email_addresses": "ds@x.com\nnot-an-address",
            },
            "email_addresses",
            "not an e-mail address",
        ),
    ],
)
def test_an_invalid_endpoint_is_refused_naming_the_field(users, values, field, says):
    client = client_for(users["compliance"])

    response = client.post(add_url(), webhook_form(**values))

    assert response.status_code == 200
    assert says in str(response.context["adminform"].form.errors[field])
    assert not NotificationEndpoint.objects.exists()


def test_compliance_routes_an_endpoint_and_removes_the_route(users, make_model):
    model = make_model("churn")
    endpoint = NotificationEndpoint.objects.create(
        name="ds", kind="email", email_addresses=["ds@example.com"]
    )
    client = client_for(users["compliance"])

    added = client.post(
        reverse("admin:monitoring_notificationroute_add"),
        {"endpoint": endpoint.pk, "model": model.pk, "min_severity": "critical"},
    )
    clash = client.post(
        reverse("admin:monitoring_notificationroute_add"),
        {"endpoint": endpoint.pk, "model": model.pk, "min_severity": "info"},
    )

    assert added.status_code == 302
    assert clash.status_code == 200
    route = NotificationRoute.objects.get()
    assert (route.model, route.min_severity) == (model, "critical")
    assert AuditEvent.objects.filter(action="notification_route.created").count() == 1
    delete = reverse("admin:monitoring_notificationroute_delete", args=[route.pk])
    assert client.post(delete, {"post": "yes"}).status_code == 302
    assert not NotificationRoute.objects.exists()
    assert AuditEvent.objects.get(action="notification_route.deleted").data["model"] == "churn"


@pytest.mark.parametrize("role", ["ds", "validator", "board", "ci", "outsider"])
def test_other_roles_cannot_add_endpoints_or_routes(users, role):
    client = client_for(users[role])

    response = client.post(add_url(), webhook_form())
    routes = client.get(reverse("admin:monitoring_notificationroute_add"))

    assert response.status_code in (302, 403)
    assert routes.status_code in (302, 403)
    assert not NotificationEndpoint.objects.exists()
    with pytest.raises(NotAllowed):
        notification_endpoint_save(
            actor=users[role],
            endpoint=NotificationEndpoint(name="x", kind="email", email_addresses=["a@b.co"]),
        )


def test_deliveries_are_read_only_and_endpoints_are_never_deleted(users):
    client = client_for(users["compliance"])
    client.post(add_url(), webhook_form())
    endpoint = NotificationEndpoint.objects.get()

    delete = client.get(reverse("admin:monitoring_notificationendpoint_delete", args=[endpoint.pk]))
    deliveries_add = client.get(reverse("admin:monitoring_notificationdelivery_add"))

    assert delete.status_code == 403
    assert deliveries_add.status_code == 403


def test_the_settings_read_email_url():
    env = {
        **os.environ,
        "EMAIL_URL": "smtp://mailer:pw@mail.example.com:2525?tls=1",
        "SITE_URL": "https://governance.example.com/",
    }
    code = (
        "import django; django.setup(); from django.conf import settings as s; "
        "print(s.EMAIL_BACKEND, s.EMAIL_HOST, s.EMAIL_PORT, s.EMAIL_USE_TLS, s.SITE_URL)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert out == [
        "django.core.mail.backends.smtp.EmailBackend",
        "mail.example.com",
        "2525",
        "True",
        "https://governance.example.com",
    ]
