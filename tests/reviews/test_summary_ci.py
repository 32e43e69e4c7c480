"""The chapter's workflow and the script for other CI systems fetch the summary from a
running server with bash and curl, as a CI job would: both run here against a live server."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from datetime import UTC, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from django.conf import settings
from django.utils import timezone

from governance.services import user_token
from reviews.models import ReviewSummary
from tests.conftest import make_user, skip_unless

pytestmark = pytest.mark.django_db(transaction=True)

SCRIPT = settings.BASE_DIR / "scripts" / "model-review-summary"
WORKFLOW = settings.BASE_DIR / ".github" / "workflows" / "model-review.yml"


def today() -> Any:
    return timezone.now().astimezone(UTC).date()


@pytest.fixture
def ci_env(live_server: Any, users: dict[str, Any]) -> dict[str, str]:
    skip_unless(bool(shutil.which("curl") and shutil.which("bash")), "needs curl and bash")
    return {
        "PATH": os.environ["PATH"],
        "GOVERNANCE_URL": live_server.url + "/",  # a trailing slash is fine
        "GOVERNANCE_TOKEN": user_token(user=users["ci"]),
    }


def run(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        args, cwd=cwd, env=env, capture_output=True, text=True, timeout=120, check=False
    )


def test_the_script_writes_last_weeks_summary_where_the_workflow_does(ci_env, tmp_path):
    done = run(["bash", str(SCRIPT)], ci_env, tmp_path)

    assert done.returncode == 0, done.stderr
    path = f"reviews/summaries/{today()}.md"
    assert done.stdout == f"{path}\n"
    text = (tmp_path / path).read_text()
    week = (today() - timedelta(days=7), today() - timedelta(days=1))
    assert text.startswith(f"# Model review: {week[0]} to {week[1]}\n")
    assert "## Pending promotion requests (0)" in text
    assert not ReviewSummary.objects.exists()  # a preview: nothing stored


def test_the_script_fetches_the_days_asked_and_prints_with_out_dash(
    ci_env, tmp_path, summary_world
):
    since = str(today() - timedelta(days=6))

    args = ["--since", since, "--until", str(today()), "--out", "-"]

    done = run(["bash", str(SCRIPT), *args], ci_env, tmp_path)

    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"# Model review: {since} to {today()}\n")
    assert "AUC fell to 0.71" in done.stdout
    assert f"[Promotion request #{summary_world.request.pk}]" in done.stdout
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize(
    ("change", "args", "error"),
    [
        ({"GOVERNANCE_TOKEN": "not-a-token"}, [], "401"),
        ({}, ["--since", "2026-13-01"], "400"),
        ({}, ["--since", str(today()), "--until", "2020-01-01"], "400"),
        ({"GOVERNANCE_URL": ""}, [], "set GOVERNANCE_URL"),
        ({}, ["--sinse", "2026-11-01"], "unknown argument: --sinse"),
    ],
)
def test_the_script_fails_and_writes_nothing_when_refused(ci_env, tmp_path, change, args, error):
    out = tmp_path / "summary.md"

    done = run(["bash", str(SCRIPT), *args, "--out", str(out)], {**ci_env, **change}, tmp_path)

    assert done.returncode != 0
    assert error in done.stderr
    assert list(tmp_path.iterdir()) == []


def test_a_user_without_read_gets_nothing(ci_env, tmp_path):
    service = make_user("sven", "service")
    env = {**ci_env, "GOVERNANCE_TOKEN": user_token(user=service)}

    done = run(["bash", str(SCRIPT), "--out", "-"], env, tmp_path)

    assert done.returncode != 0 and "403" in done.stderr


def workflow() -> dict[str, Any]:
    document = yaml.safe_load(WORKFLOW.read_text())
    document["on"] = document.pop(True, document.get("on"))  # YAML 1.1 reads `on` as true
    return document


def test_the_workflow_runs_on_mondays_at_three_utc_with_the_secrets_the_readme_names():
    document = workflow()
    readme = (settings.BASE_DIR / "README.md").read_text().split("### Weekly review summary")[1]

    assert document["on"]["schedule"] == [{"cron": "0 3 * * 1"}]
    assert "workflow_dispatch" in document["on"]
    assert "`0 3 * * 1`" in readme
    secrets = set(re.findall(r"secrets\.(\w+)", WORKFLOW.read_text()))
    assert secrets == {"GOVERNANCE_URL", "GOVERNANCE_TOKEN"}
    assert all(f"`{name}`" in readme for name in secrets)
    steps = document["jobs"]["review"]["steps"]
    uses = [step["uses"] for step in steps if "uses" in step]
    assert all(re.fullmatch(r"[\w-]+/[\w-]+@[0-9a-f]{40}", use) for use in uses), uses
    pull_request = next(s for s in steps if s.get("uses", "").startswith("peter-evans/"))
    assert pull_request["with"]["body-path"] == "${{ steps.summary.outputs.file }}"


def test_the_workflows_fetch_step_runs_as_written(ci_env, tmp_path, summary_world):
    step = next(s for s in workflow()["jobs"]["review"]["steps"] if s.get("id") == "summary")
    outputs = tmp_path / "github-output"
    env = {**ci_env, "GITHUB_OUTPUT": str(outputs)}

    done = run(["bash", "-c", step["run"]], env, tmp_path)

    assert done.returncode == 0, done.stderr
    path = f"reviews/summaries/{today()}.md"
    assert outputs.read_text() == f"date={today()}\nfile={path}\n"
    text = (tmp_path / path).read_text()
    assert text.startswith(f"# Model review: {today() - timedelta(days=7)} to ")
    # Last week's summary: the world's request was made three days ago and still waits.
    assert f"[Promotion request #{summary_world.request.pk}]" in text
