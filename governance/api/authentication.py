"""API token authentication (`Authorization: Token <key>`) against hashed, expiring tokens;
for the serving endpoints, remembered briefly in each process."""

from __future__ import annotations

import copy
import threading
import time
from typing import Any

from django.conf import settings
from django.utils import timezone
from rest_framework.authentication import TokenAuthentication
from rest_framework.exceptions import AuthenticationFailed

from governance.models import ApiToken
from governance.roles import user_roles
from governance.services import sha256_hex, token_mark_used

MAX_REMEMBERED = 10_000
_remembered: dict[str, tuple[float, Any, Any]] = {}
_lock = threading.Lock()


class ApiTokenAuthentication(TokenAuthentication):
    """DRF's `Token` header, looked up by the key's SHA-256 (the only thing stored).

    Refused with a 401: unknown keys, revoked or expired tokens, tokens minted before the
    user's password last changed, inactive users. Keys are 256-bit random strings, so a
    fast hash is enough and guessing one is out of reach (passwords, which people choose,
    are what the login lockout protects).
    """

    def authenticate_credentials(self, key: str) -> tuple[Any, ApiToken]:
        token = ApiToken.objects.select_related("user").filter(digest=sha256_hex(key)).first()
        if token is None:
            raise AuthenticationFailed("Invalid token.")
        now = timezone.now()
        refusal = token.refusal(now=now)
        if refusal:
            raise AuthenticationFailed(f"Token {refusal}.")
        if not token.user.is_active:
            raise AuthenticationFailed("User inactive or deleted.")
        token_mark_used(token=token, now=now)
        return token.user, token


class ServingTokenAuthentication(ApiTokenAuthentication):
    """The token check, with the caller's roles, kept per process for SERVING_AUTH_SECONDS.

    predict and explain are the hot path: without this, every call costs a token and a
    group lookup. Within the bound, a revoked token, a deactivated user or a changed role
    may still be served; after it, every process has read them afresh: the same promise a
    rollback makes. Only the serving endpoints use it; every governance action reads the
    caller afresh.
    """

    def authenticate_credentials(self, key: str) -> tuple[Any, Any]:
        seconds = settings.SERVING_AUTH_SECONDS
        now = time.monotonic()
        digest = sha256_hex(key)  # the process keeps no key it was shown
        remembered = _remembered.get(digest)
        if remembered is not None and now - remembered[0] < seconds:
            return copy.copy(remembered[1]), remembered[2]
        user, token = super().authenticate_credentials(key)
        if seconds > 0:
            user_roles(user)  # read now, and remembered on the user object with it
            with _lock:
                if len(_remembered) >= MAX_REMEMBERED:
                    _forget_older_than(now - seconds)
                _remembered[digest] = (now, user, token)
            user = copy.copy(user)  # each request gets its own object
        return user, token


def _forget_older_than(moment: float) -> None:
    for key in [k for k, (at, _, _) in _remembered.items() if at < moment]:
        del _remembered[key]
    if len(_remembered) >= MAX_REMEMBERED:  # all fresh: a flood of distinct tokens
        _remembered.clear()


def forget_remembered_tokens() -> None:
    """Drop every remembered token (tests; after revoking tokens in a running process)."""
    with _lock:
        _remembered.clear()
