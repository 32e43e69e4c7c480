"""Every route of the URL configuration, walked with every role: the declarations hold.

The routes come from the resolver (governance.checks.url_routes), not from a list kept by
hand: a new page or API route is walked as soon as it exists, and fails here until it
declares its capability and its path parameters can be filled below. For each route, each
HTTP method it answers and each principal (anonymous, a user with no role, one user per
role), the status must be what the declaration says:

- anonymous: 401 from the API, a redirect to the login page from a page;
- signed in without the capability: 403;
- with it: anything but 401/403 (a 400 for the empty body is fine), never a 404 or a 500.

The admin keeps Django's staff-only mechanism: everyone but staff is sent to its login.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client, TestCase
from django.urls import resolve
from django.utils import timezone
from rest_framework.test import APIClient

from governance.api.permissions import HasCapability, required_capability
from governance.audit_context import Origin, acting_as
from governance.checks import Route, url_routes
from governance.pages import PUBLIC, page_capability
from governance.roles import Role, user_can
from governance.services import user_token
from models_registry.models import DeploymentEvent
from monitoring.models import (
    Alert,
    CheckRun,
    Incident,
    NotificationDelivery,
    NotificationEndpoint,
    NotificationRoute,
    PredictionFlag,
    RetrainingRun,
)
from monitoring.notify.content import alert_facts
from monitoring.services import incident_open
from reviews.finding_services import finding_raise
from reviews.impact_models import BusinessImpactReview
from reviews.meeting_models import AgendaItem
from reviews.services import promotion_request_create
from reviews.summary.period import previous_week
from reviews.summary.services import review_summary_store
from tests.conftest import make_user
from tests.monitoring.check_data import make_check
from tests.reviews.meeting_world import meeting_rows

# One signed-in principal per role (the `users` fixture's keys), plus `service`.
ROLE_PRINCIPALS = {
    Role.DATA_SCIENTIST: "ds",
    Role.VALIDATOR: "validator",
    Role.BOARD: "board",
    Role.COMPLIANCE: "compliance",
    Role.CI: "ci",
    Role.SERVICE: "service",
}
PRINCIPALS = (None, "outsider", *ROLE_PRINCIPALS.values())  # None: anonymous
# Logging in and out is for everyone (admin_view sends a non-staff logout to the index).
ADMIN_PUBLIC = {"admin:login", "admin:logout"}
PAGE_METHODS = ("get", "post")  # the decorator refuses before any method check


@dataclass
class World:
    users: dict[str, Any]
    values: dict[str, Any]  # path parameter -> a real object's key
    incident: Incident
    finding: Any
    sessions: dict[str | None, Client] = field(default_factory=dict)
    alert: Alert | None = None

    def page_client(self, who: str | None, *, fresh: bool = False) -> Client:
        """A signed-in browser per principal, reused (logging in costs a session row);
        `fresh` for a page that may log the user out."""
        if fresh or who not in self.sessions:
            client = Client()
            if who is not None:
                client.force_login(self.users[who])
            if fresh:
                return client
            self.sessions[who] = client
        return self.sessions[who]


@pytest.fixture
def world(users, make_model, make_version) -> World:
    users = {**users, "service": make_user("sven", "service")}
    model = make_model()
    version = make_version(model)
    with acting_as(origin=Origin.SYSTEM):
        request = promotion_request_create(
            actor=users["ci"], version=version, justification="Better AUC."
        )
        incident = incident_open(
            model=model,
            version=version,
            severity=Incident.Severity.WARNING,
            source=Incident.Source.DRIFT,
            title="Tenure drifted",
            description="",
        )
        finding = finding_raise(
            actor=users["validator"],
            model=model,
            title="Recall drops for new customers",
            description="Recall 0.41 below tenure 3.",
            severity="high",
        )
    alert = stored_alert(version)
    values = {
        "name": model.name,
        "model_name": model.name,
        "version": version.version,
        "request_id": request.pk,
        "pk": request.pk,  # promotion-requests/<pk>/; incidents/<pk>/ get the incident's
        **check_runs(version),  # <kind>-checks/<pk>/ get a run of that kind
        "check_id": make_check(version, "drift", with_report=True).pk,
        "incident_id": incident.pk,
        "alert_id": alert.pk,  # the alert pages; api/v1/alerts/<pk>/ gets it too
        "finding_id": finding.pk,
        "flag_id": stored_flag(version, users["ds"]).pk,  # flags/<flag_id>/resolve/
        "retraining-runs": RetrainingRun.objects.create(
            model=model,
            base_version=version,
            window_start=timezone.now() - timedelta(hours=1),
            window_end=timezone.now(),
        ).pk,
        **meeting_rows(users, model=model),  # boards/, meetings/, action-items/<pk>/
    }
    values.update(meeting_page_values(values))
    values["business-impact-reviews"] = values["review_id"] = impact_review(version).pk
    values["review-summaries"] = values["summary_id"] = stored_summary().pk
    values.update(notification_objects(alert))
    return World(users=users, values=values, incident=incident, finding=finding, alert=alert)


def meeting_page_values(values: dict[str, Any]) -> dict[str, int]:
    """The board and meeting pages' path parameters: the rows meeting_rows made."""
    item = AgendaItem.objects.filter(meeting_id=values["meetings"]).order_by("position").first()
    return {
        "board_id": values["boards"],
        "meeting_id": values["meetings"],
        "item_id": item.pk,
        "decision_id": values["action-items"],
    }


def impact_review(version: Any) -> BusinessImpactReview:
    """A pending business-impact review of a promotion of `version` (stages left alone)."""
    event = DeploymentEvent.objects.create(
        model=version.model, kind=DeploymentEvent.Kind.PROMOTED, version=version
    )
    return BusinessImpactReview.objects.create(
        model=version.model,
        version=version,
        deployment_event=event,
        promoted_at=event.occurred_at,
        due_on=event.occurred_at.date() + timedelta(days=30),
    )


def stored_summary() -> Any:
    """Last week's review summary, stored as the weekly task stores it."""
    with acting_as(origin=Origin.TASK):
        return review_summary_store(period=previous_week())[0]


def notification_objects(alert: Alert) -> dict[str, int]:
    """An endpoint (with a delivery, so DELETE is a 409, not gone), its route and a delivery
    that failed for good (send-again sends it to a port that refuses at once), by route."""
    endpoint = NotificationEndpoint.objects.create(
        name="ops", kind="webhook", url="http://127.0.0.1:9/refused", secret="s" * 20
    )
    route = NotificationRoute.objects.create(endpoint=endpoint, model=alert.model)
    delivery = NotificationDelivery.objects.create(
        endpoint=endpoint,
        alert=alert,
        event="fired",
        severity=alert.severity,
        content=alert_facts(alert, event="fired"),
        status="failed",
        attempts=6,
    )
    return {
        "notification-endpoints": endpoint.pk,
        "notification-routes": route.pk,
        "notification-deliveries": delivery.pk,
    }


def stored_flag(version: Any, user: Any) -> PredictionFlag:
    """An open flag on a prediction of `version` (resolving it once, then 409s, is fine)."""
    return PredictionFlag.objects.create(
        model=version.model, version=version, request_id="r-1", reason="wrong", flagged_by=user
    )


def stored_alert(version: Any) -> Alert:
    """An open alert of `version`, as the rule engine stores one."""
    now = timezone.now()
    return Alert.objects.create(
        model=version.model,
        version=version,
        rule_key="0" * 64,
        rule={"metric": "drift_share", "threshold": 0.3, "severity": "warning"},
        metric="drift_share",
        value=0.5,
        threshold=0.3,
        comparison=">=",
        severity="warning",
        first_seen=now,
        last_seen=now,
    )


def check_runs(version: Any) -> dict[str, int]:
    """One stored run per kind of check, by its route: {"drift-checks": id, ...}."""
    now = timezone.now()
    return {
        f"{kind}-checks": CheckRun.objects.create(
            model=version.model,
            version=version,
            kind=kind,
            window_start=now - timedelta(hours=1),
            window_end=now,
        ).pk
        for kind in CheckRun.Kind.values
    }


# The admin refuses non-staff before it looks anything up: placeholders fill its routes.
ADMIN_VALUES = {
    "app_label": "reviews",
    "object_id": "1",
    "content_type_id": 1,
    "id": 1,
    "model_id": 1,
}


def route_url(route: Route, world: World) -> str:
    """The route's URL with its parameters filled by real objects; it must resolve back."""
    values = dict(world.values)
    if "incidents/" in route.route:
        values["pk"] = world.incident.pk
    if "alerts/" in route.route:
        values["pk"] = world.alert.pk
    if "findings/" in route.route:
        values["pk"] = world.finding.pk
    if "business-impact-reviews/" in route.route:
        values["pk"] = world.values["business-impact-reviews"]
    check_route = re.search(
        r"(boards|meetings|action-items|review-summaries)/\(\?P<pk>|"
        r"(\w+-checks|retraining-runs)/<int:pk>",
        route.route,
    )
    notification = re.search(r"(notification-\w+)/\(\?P<pk>", route.route)
    if notification:
        values["pk"] = world.values[notification.group(1)]
    if check_route:
        values["pk"] = world.values[check_route.group(1) or check_route.group(2)]
    if route.is_admin:
        values = {**values, **ADMIN_VALUES, "url": "nowhere/"}

    def fill(match: re.Match[str]) -> str:
        name = match.group(1)
        assert name in values, (
            f"/{route.route}: no object for the path parameter {name!r}; "
            "add one to the `world` fixture of this test"
        )
        return str(values[name])

    path = re.sub(r"\(\?P<(\w+)>[^)]*\)", fill, route.route)  # regex groups first
    path = re.sub(r"<(?:\w+:)?(\w+)>", fill, path)
    path = re.sub(r"\((?!\?)[^)]*\)", "1", path)  # unnamed groups (simple-history's admin)
    url = "/" + path.replace("^", "").replace("$", "")
    assert resolve(url).func is route.view, f"{url} does not resolve to /{route.route}"
    return url


def api_methods(route: Route) -> dict[str, str]:
    """HTTP method -> the action HasCapability sees."""
    actions = getattr(route.view, "actions", None)
    if actions:
        return dict(actions)
    cls = route.api_view_class
    return {m: m for m in cls.http_method_names if m not in ("options", "head") and hasattr(cls, m)}


def allowed(user: Any, capability: Any) -> bool:
    if capability is None:
        return True
    capabilities = capability if isinstance(capability, tuple) else (capability,)
    return any(user_can(user, one) for one in capabilities)


def api_client(user: Any) -> APIClient:
    client = APIClient()
    if user is not None:
        client.credentials(HTTP_AUTHORIZATION=f"Token {user_token(user=user)}")
    return client


def redirects_to(response: Any, prefix: str) -> bool:
    return response.status_code == 302 and response["Location"].startswith(prefix)


def check_page(route: Route, url: str, world: World) -> list[str]:
    declared = page_capability(route.view)
    wrong = []
    for who in PRINCIPALS:
        user = world.users[who] if who else None
        for method in PAGE_METHODS:
            client = world.page_client(who, fresh=declared == PUBLIC)
            response = getattr(client, method)(url)
            status = response.status_code
            if declared == PUBLIC:
                ok = status not in (401, 403, 404) and status < 500
            elif user is not None and allowed(user, declared):
                ok = status not in (401, 403, 404) and status < 500
                ok = ok and not redirects_to(response, "/login/")
            elif user is None:
                ok = redirects_to(response, "/login/")
            else:
                ok = status == 403
            if not ok:
                wrong.append(f"{method.upper()} {url} as {who or 'anonymous'}: {status}")
    return wrong


def check_api(route: Route, url: str, world: World) -> list[str]:
    declarations = getattr(route.api_view_class, "required_capabilities", {})
    wrong = []
    # DELETE last: once it succeeds, the object the other methods address is gone.
    methods = sorted(api_methods(route).items(), key=lambda pair: pair[0] == "delete")
    for method, action in methods:
        capability = required_capability(declarations, action=action, method=method)
        for who in PRINCIPALS:
            user = world.users[who] if who else None
            response = getattr(api_client(user), method)(url, {}, format="json")
            status = response.status_code
            if user is None:
                ok = status == 401
            elif allowed(user, capability):
                # A service may still refuse this object (separation of duties), but the
                # capability check itself must have let the user through.
                refused = status == 403 and response.json()["detail"] == HasCapability.message
                ok = status not in (401, 404) and status < 500 and not refused
            else:
                ok = status == 403
            if not ok:
                wrong.append(f"{method.upper()} {url} as {who or 'anonymous'}: {status}")
    return wrong


def check_admin(route: Route, url: str, world: World) -> list[str]:
    wrong = []
    for who in PRINCIPALS:
        user = world.users[who] if who else None
        response = world.page_client(who, fresh=route.name in ADMIN_PUBLIC).get(url)
        status = response.status_code
        if route.name in ADMIN_PUBLIC or (user is not None and user.is_staff):
            ok = status < 500 and not redirects_to(response, "/admin/login/")
        else:
            ok = redirects_to(response, "/admin/login/")
        if not ok:
            wrong.append(f"GET {url} as {who or 'anonymous'}: {status}")
    return wrong


def test_one_principal_per_role_is_walked():
    assert set(ROLE_PRINCIPALS) == set(Role)


def test_every_route_answers_every_role_as_it_declares(world):
    routes = list(url_routes())
    assert any(r.api_view_class for r in routes) and any(r.is_admin for r in routes)
    wrong: list[str] = []
    with TestCase.captureOnCommitCallbacks(execute=True):
        for route in routes:
            url = route_url(route, world)
            if route.is_admin:
                wrong += check_admin(route, url, world)
            elif route.api_view_class is not None:
                wrong += check_api(route, url, world)
            else:
                assert page_capability(route.view) is not None, f"/{route.route} declares nothing"
                wrong += check_page(route, url, world)
    assert not wrong, "\n".join(wrong)


def test_users_without_a_role_and_the_service_role_see_no_page(world, client):
    for who in ("outsider", "service"):
        client.force_login(world.users[who])
        for url in ("/", f"/requests/{world.values['request_id']}/", "/models/churn-classifier/"):
            response = client.get(url)
            assert response.status_code == 403
            assert "Your roles do not allow you to read the registry." in response.content.decode()
