"""Existing DRF tokens (rest_framework.authtoken, plain text) become hashed ApiTokens.

The keys CI pipelines already hold keep working (as tokens named "migrated", expiring
API_TOKEN_DAYS from now); the plain-text table is then dropped, with authtoken's migration
records, since the app is no longer installed. Not reversible: the keys are gone.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import migrations
from django.db.migrations.recorder import MigrationRecorder
from django.utils import timezone

DRF_TABLE = "authtoken_token"


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def hash_drf_tokens(apps: Any, schema_editor: Any) -> None:
    connection = schema_editor.connection
    if DRF_TABLE not in connection.introspection.table_names():
        return
    api_token = apps.get_model("governance", "ApiToken")
    user_model = apps.get_model(*settings.AUTH_USER_MODEL.split("."))
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT key, user_id, created FROM {DRF_TABLE}")
        rows = cursor.fetchall()
    passwords = dict(
        user_model.objects.filter(pk__in=[user_id for _, user_id, _ in rows]).values_list(
            "pk", "password"
        )
    )
    expires_at = timezone.now() + timedelta(days=settings.API_TOKEN_DAYS)
    api_token.objects.bulk_create(
        api_token(
            user_id=user_id,
            name="migrated",
            prefix=key[:8],
            digest=_sha256(key),
            password_fingerprint=_sha256(passwords[user_id]),
            created_at=created,
            expires_at=expires_at,
        )
        for key, user_id, created in rows
    )
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE {DRF_TABLE}")
    MigrationRecorder(connection).migration_qs.filter(app="authtoken").delete()


class Migration(migrations.Migration):
    dependencies = [("governance", "0002_api_tokens")]

    operations = [migrations.RunPython(hash_drf_tokens, migrations.RunPython.noop)]
