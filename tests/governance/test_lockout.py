"""Login lockout (django-axes): after LOGIN_FAILURE_LIMIT wrong passwords a username is
refused, right password or not, until the cool-off has passed; browser and admin logins."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from tests.conftest import make_user

PASSWORD = "the-right-passphrase-7"
LOGINS = [
    pytest.param("login", {}, id="browser"),
    pytest.param("admin:login", {"next": "/admin/"}, id="admin"),
]


@pytest.fixture
def officer(db: Any) -> Any:
    return make_user("carla", "compliance", password=PASSWORD)


def log_in(client: Client, url: str, password: str, username: str = "carla", **extra: str) -> Any:
    return client.post(url, {"username": username, "password": password, **extra})


def logged_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


@pytest.mark.parametrize(("url_name", "extra"), LOGINS)
def test_forty_wrong_passwords_then_the_right_one_is_refused(
    officer: Any, url_name: str, extra: dict
) -> None:
    client = Client()
    url = reverse(url_name)
    for attempt in range(40):
        log_in(client, url, f"guess-{attempt}", **extra)

    response = log_in(client, url, PASSWORD, **extra)

    assert response.status_code == 429
    assert "Too many failed logins" in response.content.decode()
    assert not logged_in(client)


def test_the_fifth_failure_locks_and_says_so(officer: Any, settings: Any) -> None:
    client = Client()
    url = reverse("login")
    limit = settings.AXES_FAILURE_LIMIT
    statuses = [log_in(client, url, "wrong").status_code for _ in range(limit)]
    assert statuses == [200] * (limit - 1) + [429]
    page = log_in(client, url, PASSWORD).content.decode()
    assert "locked for 0:15:00 after the last attempt" in page


def test_the_lockout_holds_for_the_username_from_another_address(officer: Any) -> None:
    url = reverse("login")
    for _ in range(5):
        log_in(Client(REMOTE_ADDR="10.0.0.1"), url, "wrong")

    elsewhere = Client(REMOTE_ADDR="10.0.0.2")
    assert log_in(elsewhere, url, PASSWORD).status_code == 429
    assert not logged_in(elsewhere)


def test_other_users_still_log_in(officer: Any) -> None:
    make_user("vera", "validator", password=PASSWORD)
    client = Client()
    url = reverse("login")
    for _ in range(5):
        log_in(client, url, "wrong")

    assert log_in(client, url, PASSWORD, username="vera").status_code == 302
    assert logged_in(client)


def test_the_right_password_works_again_after_the_cool_off(officer: Any, settings: Any) -> None:
    from axes.models import AccessAttempt

    client = Client()
    url = reverse("login")
    for _ in range(5):
        log_in(client, url, "wrong")
    AccessAttempt.objects.update(
        attempt_time=AccessAttempt.objects.get().attempt_time
        - settings.AXES_COOLOFF_TIME
        - timedelta(seconds=1)
    )

    assert log_in(client, url, PASSWORD).status_code == 302
    assert logged_in(client)


def test_a_success_below_the_limit_clears_the_count(officer: Any) -> None:
    client = Client()
    url = reverse("login")
    for _ in range(4):
        log_in(client, url, "wrong")
    assert log_in(client, url, PASSWORD).status_code == 302
    client.logout()
    for _ in range(4):
        log_in(client, url, "wrong")

    assert log_in(client, url, PASSWORD).status_code == 302


def test_a_compliance_officer_sees_the_lockout_and_unlocks_in_the_admin(officer: Any) -> None:
    from axes.models import AccessAttempt

    vera = make_user("vera", "validator", password=PASSWORD)
    url = reverse("login")
    for _ in range(5):
        log_in(Client(), url, "wrong", username=vera.username)
    attempt = AccessAttempt.objects.get(username="vera")
    admin = Client()
    admin.force_login(officer)

    listing = admin.get(reverse("admin:axes_accessattempt_changelist"))
    assert listing.status_code == 200 and "vera" in listing.content.decode()
    admin.post(reverse("admin:axes_accessattempt_delete", args=[attempt.pk]), {"post": "yes"})

    assert log_in(Client(), url, PASSWORD, username="vera").status_code == 302
