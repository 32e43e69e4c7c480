"""Production settings pass Django's deployment checks, and refuse to start unsafe.

Settings are read once per process, so each case runs `manage.py` in a process of its own
with the environment a deployment would give it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

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


def test_production_settings_pass_check_deploy():
    result = manage("check", "--deploy", "--fail-level", "WARNING", **PRODUCTION)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_refuses_debug_and_a_missing_key():
    with_debug = manage("check", **{**PRODUCTION, "DEBUG": "True"})
    assert with_debug.returncode != 0
    assert "DEBUG" in with_debug.stderr
    without_key = manage("check", **{**PRODUCTION, "SECRET_KEY": ""})
    assert without_key.returncode != 0
    assert "SECRET_KEY" in without_key.stderr
