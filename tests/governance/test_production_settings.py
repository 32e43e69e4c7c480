"""Production settings pass Django's deployment checks, and refuse to start unsafe.

Settings are read once per process, so each case runs `manage.py` in a process of its own
with the environment a deployment would give it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION = {
    "PRODUCTION": "True",
    "SECRET_KEY": "x" * 30 + "-a-long-random-production-key-for-the-check-" + "y" * 20,
    "ALLOWED_HOSTS": "governance.example.com",
}


def manage(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k not in {"DEBUG", "PRODUCTION"}}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture(scope="module")
def production() -> dict[str, str]:
    """A deployment's environment, with an audit signing key made as the docs say."""
    printed = manage("audit_checkpoint", "--generate-key", "governance-test")
    assert printed.returncode == 0, printed.stderr
    name, key = printed.stdout.strip().splitlines()[-1].split("=", 1)
    assert name == "AUDIT_SIGNING_KEY"
    return {**PRODUCTION, "AUDIT_SIGNING_KEY": key}


def test_production_settings_pass_check_deploy(production):
    result = manage("check", "--deploy", "--fail-level", "WARNING", **production)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_refuses_debug_and_missing_secrets(production):
    with_debug = manage("check", **{**production, "DEBUG": "True"})
    assert with_debug.returncode != 0
    assert "DEBUG" in with_debug.stderr
    for secret in ("SECRET_KEY", "AUDIT_SIGNING_KEY"):
        without = manage("check", **{**production, secret: ""})
        assert without.returncode != 0
        assert secret in without.stderr


def test_an_audit_key_that_does_not_parse_fails_the_check(production):
    result = manage("check", **{**production, "AUDIT_SIGNING_KEY": "PRIVATE+KEY+nonsense"})
    assert result.returncode != 0
    assert "governance.E002" in result.stdout + result.stderr
