"""`EMAIL_URL` -> Django's EMAIL_* settings, refusing what it does not understand.

    smtp://user:pass@host:587?tls=1      STARTTLS on a submission port
    smtps://user:pass@host:465           TLS from the first byte (EMAIL_USE_SSL)
    smtp://host:25?timeout=5             seconds an SMTP connection may take (default 10)
    console://                           print messages (the embedded default)

User and password are percent-decoded, so a password with `@` or `/` is written `%40`, `%2F`.
Standard library only: a dozen lines do not need a dependency.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from django.core.exceptions import ImproperlyConfigured

BACKENDS = {
    "smtp": "django.core.mail.backends.smtp.EmailBackend",
    "smtps": "django.core.mail.backends.smtp.EmailBackend",
    "console": "django.core.mail.backends.console.EmailBackend",
    "locmem": "django.core.mail.backends.locmem.EmailBackend",
    "dummy": "django.core.mail.backends.dummy.EmailBackend",
}
TRUE, FALSE = ("1", "true", "True", "yes"), ("0", "false", "False", "no")
DEFAULT_TIMEOUT = 10


def _flag(name: str, values: list[str]) -> bool:
    if len(values) != 1 or values[0] not in TRUE + FALSE:
        raise ImproperlyConfigured(f"EMAIL_URL: {name}= takes one of 1/0, true/false, yes/no")
    return values[0] in TRUE


def email_settings(url: str) -> dict[str, Any]:
    """The EMAIL_* settings an `EMAIL_URL` means."""
    parts = urlsplit(url)
    if parts.scheme not in BACKENDS:
        raise ImproperlyConfigured(
            f"EMAIL_URL: unknown scheme {parts.scheme!r}; use one of {', '.join(BACKENDS)}"
        )
    found: dict[str, Any] = {"EMAIL_BACKEND": BACKENDS[parts.scheme]}
    if parts.scheme not in ("smtp", "smtps"):
        return found
    if not parts.hostname:
        raise ImproperlyConfigured("EMAIL_URL: an SMTP URL needs a host")
    try:
        port = parts.port
    except ValueError as exc:
        raise ImproperlyConfigured(f"EMAIL_URL: {exc}") from exc
    query = parse_qs(parts.query, keep_blank_values=True)
    unknown = sorted(set(query) - {"tls", "ssl", "timeout"})
    if unknown:
        raise ImproperlyConfigured(f"EMAIL_URL: unknown parameter(s) {', '.join(unknown)}")
    use_ssl = parts.scheme == "smtps" or ("ssl" in query and _flag("ssl", query["ssl"]))
    use_tls = "tls" in query and _flag("tls", query["tls"])
    if use_ssl and use_tls:
        raise ImproperlyConfigured("EMAIL_URL: choose tls (STARTTLS) or ssl (smtps), not both")
    timeout = query.get("timeout", [str(DEFAULT_TIMEOUT)])
    try:
        seconds = float(timeout[0]) if len(timeout) == 1 else 0.0
    except ValueError:
        seconds = 0.0
    if not seconds > 0:
        raise ImproperlyConfigured("EMAIL_URL: timeout= takes a positive number of seconds")
    found.update(
        EMAIL_HOST=parts.hostname,
        EMAIL_PORT=port or (465 if use_ssl else 587 if use_tls else 25),
        EMAIL_HOST_USER=unquote(parts.username or ""),
        EMAIL_HOST_PASSWORD=unquote(parts.password or ""),
        EMAIL_USE_TLS=use_tls,
        EMAIL_USE_SSL=use_ssl,
        EMAIL_TIMEOUT=seconds,
    )
    return found
