"""The README's CI walkthrough ("What a CI pipeline does") runs as written, with curl and
bash against a live server that already holds the demo's models: every call succeeds but
the last, which is the contract's 409 for a request nobody has approved yet."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import textwrap
from typing import Any

import pytest
from django.conf import settings

from governance.services import user_token
from models_registry.models import ModelVersion
from reviews.models import PromotionRequest
from tests.conftest import skip_unless

pytestmark = pytest.mark.django_db(transaction=True)

TOKEN_LINE = "TOKEN=$(.venv/bin/python manage.py governance_user ci-bot --role ci --token"


def walkthrough() -> str:
    """The first indented block after the section's heading, as a shell script."""
    readme = (settings.BASE_DIR / "README.md").read_text()
    section = readme.split("## What a CI pipeline does", 1)[1]
    block = re.search(r"\n\n((?: {4}.*\n|\n)+)", section)
    assert block is not None
    return textwrap.dedent(block.group(1))


def json_values(output: str) -> list[Any]:
    """curl prints each body without a newline: read the JSON values one after another."""
    decoder, values, at = json.JSONDecoder(), [], 0
    while at < len(output):
        if output[at].isspace():
            at += 1
            continue
        value, at = decoder.raw_decode(output, at)
        values.append(value)
    return values


def test_the_ci_walkthrough_runs_as_written_beside_the_demo_models(
    live_server: Any, users: dict[str, Any], make_model: Any
) -> None:
    skip_unless(bool(shutil.which("curl") and shutil.which("bash")), "needs curl and bash")
    make_model(name="churn-classifier", risk_tier="high")  # the demo's model of that name
    first, *rest = walkthrough().splitlines()
    assert first.startswith(TOKEN_LINE), first
    script = "\n".join([f"TOKEN={user_token(user=users['ci'])}", *rest])
    script = script.replace("http://127.0.0.1:8000", live_server.url)

    done = subprocess.run(
        ["bash", "-e", "-o", "pipefail", "-c", script],
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert done.returncode == 0, done.stderr
    model, version, request, execute = json_values(done.stdout)
    assert (model["name"], model["risk_tier"]) == ("ci-example", "high")
    assert (version["version"], version["stage"]) == (1, "candidate")
    assert request["status"] == "pending" and request["sign_offs"] == []
    assert "approved" in execute["detail"]
    stored = PromotionRequest.objects.get(model_version__model__name="ci-example")
    assert (stored.pk, stored.status) == (request["id"], "pending")
    assert ModelVersion.objects.get(model__name="ci-example").stage == "candidate"
