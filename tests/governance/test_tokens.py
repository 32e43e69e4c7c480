"""API tokens: hashed at rest, named, expiring, revocable, bound to the password; rotation
with `governance_user`; last use recorded without a write per call; the admin's view."""

from __future__ import annotations

import importlib
from datetime import timedelta
from io import StringIO
from types import SimpleNamespace
from typing import Any

import pytest
from django.apps import apps
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from django.core import serializers
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from governance.errors import InvalidInput
from governance.models import ApiToken, AuditEvent
from governance.services import sha256_hex, token_create, tokens_revoke
from tests.conftest import assert_json_error, make_user

MODELS = "/api/v1/models/"


def governance_user(*args: str) -> str:
    out = StringIO()
    call_command("governance_user", *args, stdout=out)
    return out.getvalue()


def mint(*args: str) -> str:
    return governance_user("ci-runner", "--role", "ci", *args).splitlines()[-1]


def status_with(client: Client, key: str) -> int:
    return client.get(MODELS, headers={"Authorization": f"Token {key}"}).status_code


def test_the_database_never_holds_a_key(db: Any, client: Client) -> None:
    key = mint("--token")
    assert status_with(client, key) == 200

    for model in apps.get_models():
        dumped = serializers.serialize("json", model._default_manager.all())
        assert key not in dumped, model._meta.label
    token = ApiToken.objects.get()
    assert token.digest == sha256_hex(key)
    assert key.startswith(token.prefix) and len(token.prefix) < len(key) // 3


def test_a_minted_token_has_a_name_and_expires_after_the_default_lifetime(
    db: Any, settings: Any
) -> None:
    mint("--token", "--token-name", "nightly")
    token = ApiToken.objects.get()
    assert token.name == "nightly"
    lifetime = token.expires_at - token.created_at
    assert lifetime == timedelta(days=settings.API_TOKEN_DAYS)
    assert AuditEvent.objects.filter(action="token.created", object_id=str(token.pk)).exists()


def test_an_expired_token_is_refused_with_401(db: Any, client: Client) -> None:
    key = mint("--token", "--expires-days", "7")
    token = ApiToken.objects.get()
    assert token.expires_at - token.created_at == timedelta(days=7)
    ApiToken.objects.update(expires_at=timezone.now() - timedelta(seconds=1))

    response = client.get(MODELS, headers={"Authorization": f"Token {key}"})

    assert assert_json_error(response, 401)["detail"] == "Token expired."


def test_a_revoked_token_is_refused_with_401_and_stays_on_record(db: Any, client: Client) -> None:
    key = mint("--token")
    assert tokens_revoke(tokens=ApiToken.objects.all(), reason="leaked in a log") == 1

    response = client.get(MODELS, headers={"Authorization": f"Token {key}"})

    assert assert_json_error(response, 401)["detail"] == "Token revoked."
    token = ApiToken.objects.get()
    assert token.revoked_at is not None and token.revoked_reason == "leaked in a log"
    assert tokens_revoke(tokens=ApiToken.objects.all(), reason="again") == 0


def test_a_password_change_ends_every_token_of_the_user(users: dict, api: Any) -> None:
    first, second = api("ds"), api("ds")
    others = api("validator")
    user = users["ds"]
    user.set_password("a-new-passphrase-42")
    user.save()

    for client in (first, second):
        body = assert_json_error(client.get(MODELS), 401)
        assert body["detail"] == "Token revoked by a password change."
    assert others.get(MODELS).status_code == 200
    assert api("ds").get(MODELS).status_code == 200  # a token minted afterwards works


def test_a_rehash_of_the_same_password_on_login_keeps_the_tokens(
    db: Any, client: Client, settings: Any
) -> None:
    key = mint("--password", "s3cret-Passw0rd", "--token")
    # A Django upgrade changes the preferred hasher: the next login re-hashes the password.
    settings.PASSWORD_HASHERS = [
        "tests.governance.test_tokens.QuickPBKDF2PasswordHasher",
        "django.contrib.auth.hashers.MD5PasswordHasher",
    ]
    before = make_user_password("ci-runner")
    assert client.post("/login/", {"username": "ci-runner", "password": "s3cret-Passw0rd"})
    assert make_user_password("ci-runner") != before  # re-hashed, same password
    assert status_with(Client(), key) == 200
    governance_user("ci-runner", "--role", "ci", "--password", "an0ther-Passw0rd")
    assert status_with(Client(), key) == 401  # a real change still ends it


class QuickPBKDF2PasswordHasher(PBKDF2PasswordHasher):
    """PBKDF2 at a test's speed: the hasher a Django upgrade would make preferred."""

    iterations = 1000


def make_user_password(username: str) -> str:
    from django.contrib.auth import get_user_model

    return get_user_model().objects.get(username=username).password


def test_setting_the_same_password_again_keeps_the_tokens(db: Any, client: Client) -> None:
    key = mint("--password", "s3cret-Passw0rd", "--token")
    governance_user("ci-runner", "--role", "ci", "--password", "s3cret-Passw0rd")
    assert status_with(client, key) == 200
    governance_user("ci-runner", "--role", "ci", "--password", "an0ther-Passw0rd")
    assert status_with(client, key) == 401


def test_rotate_revokes_every_old_key_and_prints_a_working_new_one(db: Any, client: Client) -> None:
    old = [mint("--token"), mint("--token", "--token-name", "laptop")]

    output = governance_user("ci-runner", "--role", "ci", "--rotate")

    new = output.splitlines()[-1]
    assert "Revoked 2 API token(s)" in output
    assert [status_with(client, key) for key in old] == [401, 401]
    assert status_with(client, new) == 200
    assert ApiToken.objects.filter(revoked_at__isnull=True).count() == 1


def test_revoke_prints_no_key_and_ends_them_all(db: Any, client: Client) -> None:
    key = mint("--token")

    output = governance_user("ci-runner", "--role", "ci", "--revoke")

    assert output.splitlines()[-1] == "Revoked 1 API token(s) of ci-runner."
    assert status_with(client, key) == 401


def test_token_options_without_a_token_are_refused(db: Any) -> None:
    with pytest.raises(CommandError, match="go with --token"):
        governance_user("ci-runner", "--role", "ci", "--expires-days", "7")
    with pytest.raises(CommandError):
        governance_user("ci-runner", "--role", "ci", "--token", "--revoke")


def test_a_refused_lifetime_changes_nothing(db: Any, client: Client) -> None:
    key = mint("--token")
    with pytest.raises(CommandError, match="at least one day"):
        governance_user("ci-runner", "--role", "validator", "--rotate", "--expires-days", "0")
    assert status_with(client, key) == 200  # the rotation rolled back with it
    assert ApiToken.objects.count() == 1
    with pytest.raises(InvalidInput, match="name"):
        token_create(user=ApiToken.objects.get().user, name="  ")


def test_last_use_is_recorded_at_most_once_a_minute(users: dict, api: Any) -> None:
    client = api("ci")
    token = ApiToken.objects.get(user=users["ci"])
    assert token.last_used_at is None

    client.get(MODELS)
    token.refresh_from_db()
    first_use = token.last_used_at
    assert first_use is not None
    with CaptureQueriesContext(connection) as queries:
        client.get(MODELS)
    token.refresh_from_db()
    assert token.last_used_at == first_use
    assert not [q for q in queries if q["sql"].startswith("UPDATE") and "apitoken" in q["sql"]]

    ApiToken.objects.update(last_used_at=first_use - timedelta(seconds=61))
    client.get(MODELS)
    token.refresh_from_db()
    assert token.last_used_at > first_use


def test_a_bad_or_missing_token_is_a_json_401(db: Any, client: Client) -> None:
    for header in ("Token " + "0" * 40, "Token gov_not-a-key", "Token"):
        response = client.get(MODELS, headers={"Authorization": header})
        assert_json_error(response, 401)
        assert response["WWW-Authenticate"].startswith("Token")


def test_a_drf_token_from_before_the_upgrade_keeps_working_hashed(db: Any, client: Client) -> None:
    """The data migration: plain-text keys become digests, the plain-text table is dropped."""
    user = make_user("legacy-ci", "ci")
    legacy_key = "a" * 40
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TABLE authtoken_token (key varchar(40) PRIMARY KEY, "
            "created timestamp with time zone NOT NULL, user_id bigint NOT NULL)"
            if connection.vendor == "postgresql"
            else "CREATE TABLE authtoken_token (key varchar(40) PRIMARY KEY, "
            "created datetime NOT NULL, user_id bigint NOT NULL)"
        )
        cursor.execute(
            "INSERT INTO authtoken_token (key, created, user_id) VALUES (%s, %s, %s)",
            [legacy_key, timezone.now(), user.pk],
        )
    migration = importlib.import_module("governance.migrations.0003_api_tokens_from_drf_tokens")

    migration.hash_drf_tokens(apps, SimpleNamespace(connection=connection))

    assert "authtoken_token" not in connection.introspection.table_names()
    token = ApiToken.objects.get(user=user)
    assert (token.name, token.digest) == ("migrated", sha256_hex(legacy_key))
    assert status_with(client, legacy_key) == 200


# --- the admin ---------------------------------------------------------------------------


def test_compliance_sees_tokens_in_the_admin_but_never_a_key(users: dict, api: Any) -> None:
    key = mint("--token", "--token-name", "nightly")
    officer = Client()
    officer.force_login(users["compliance"])
    token = ApiToken.objects.get(name="nightly")

    listing = officer.get(reverse("admin:governance_apitoken_changelist")).content.decode()
    detail = officer.get(reverse("admin:governance_apitoken_change", args=[token.pk]))

    assert "nightly" in listing and token.prefix in listing and "ci-runner" in listing
    for page in (listing, detail.content.decode()):
        assert key not in page and token.digest not in page
    assert "active" in detail.content.decode()


def test_compliance_revokes_a_token_in_the_admin(users: dict, client: Client) -> None:
    key = mint("--token")
    token = ApiToken.objects.get()
    officer = Client()
    officer.force_login(users["compliance"])

    response = officer.post(
        reverse("admin:governance_apitoken_changelist"),
        {"action": "revoke", "_selected_action": [token.pk]},
        follow=True,
    )

    assert "Revoked 1 token(s)." in response.content.decode()
    assert status_with(client, key) == 401
    token.refresh_from_db()
    assert token.revoked_reason == "revoked in the admin by carla"
    event = AuditEvent.objects.get(action="token.revoked")
    assert (event.actor_username, event.origin) == ("carla", "admin")
