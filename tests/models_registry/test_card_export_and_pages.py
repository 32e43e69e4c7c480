"""`export_cards --git`, and the card pages: rendered card, revisions, diff, edits."""

from __future__ import annotations

import subprocess

import pytest
import yaml
from django.core.management import CommandError, call_command
from django.test import TestCase

from models_registry.models import ModelCardRevision

pytestmark = pytest.mark.django_db


def git(directory, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(directory), *args], capture_output=True, text=True, check=True
    ).stdout


@pytest.fixture
def repository(tmp_path):
    git(tmp_path, "init", "-q")
    git(tmp_path, "config", "user.email", "ci@example.com")
    git(tmp_path, "config", "user.name", "CI")
    git(tmp_path, "commit", "-q", "--allow-empty", "-m", "start")
    return tmp_path


@pytest.fixture
def two_versions(make_model, make_version):
    model = make_model(description="Churn")
    return make_version(model), make_version(model, metrics={"auc": 0.95})


def test_export_cards_writes_one_yaml_per_version_and_commits_them(repository, two_versions):
    call_command("export_cards", str(repository / "cards"), "--git")
    first = yaml.safe_load((repository / "cards/churn-classifier/1.yaml").read_text())
    assert first["model_name"] == "churn-classifier"
    assert first["metrics"] == {"auc": 0.91}
    log = git(repository, "log", "-1", "--format=%B")
    assert "churn-classifier v1 r1" in log and "churn-classifier v2 r1" in log
    assert git(repository, "status", "--porcelain") == ""


def test_a_second_export_without_changes_commits_nothing(repository, two_versions, capsys):
    call_command("export_cards", str(repository), "--git")
    head = git(repository, "rev-parse", "HEAD")
    call_command("export_cards", str(repository), "--git")
    assert git(repository, "rev-parse", "HEAD") == head
    assert "All cards are up to date." in capsys.readouterr().out


def test_only_the_changed_card_is_committed_again(repository, two_versions, users):
    from models_registry.services import version_update_notes

    call_command("export_cards", str(repository), "--git")
    with TestCase.captureOnCommitCallbacks(execute=True):
        version_update_notes(actor=users["ds"], version=two_versions[1], limitations="Small data.")
    call_command("export_cards", str(repository), "--git")
    changed = git(repository, "show", "--name-only", "--format=%s", "HEAD").split()
    assert "churn-classifier/2.yaml" in changed
    assert "churn-classifier/1.yaml" not in changed
    assert "churn-classifier v2 r2" in git(repository, "log", "-1", "--format=%s")


def test_export_cards_git_outside_a_repository_fails_clearly(tmp_path, two_versions):
    with pytest.raises(CommandError, match="git"):
        call_command("export_cards", str(tmp_path / "cards"), "--git")


@pytest.fixture
def browser_as(client, users):
    def login(who: str):
        client.force_login(users[who])
        return client

    return login


def test_the_version_page_renders_the_card_and_its_revisions(browser_as, two_versions):
    page = browser_as("board").get("/models/churn-classifier/versions/2/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "Model card" in html and "r1" in html
    assert two_versions[1].card_hash in html
    assert "?format=yaml" in html


def test_a_board_member_edits_limitations_and_a_new_revision_appears(browser_as, two_versions):
    client = browser_as("board")
    with TestCase.captureOnCommitCallbacks(execute=True):
        response = client.post(
            "/models/churn-classifier/versions/1/notes/",
            {"limitations": "Not for business accounts.", "ethical_considerations": ""},
        )
    assert response.status_code == 302
    latest = ModelCardRevision.objects.filter(model_version=two_versions[0]).first()
    assert latest.revision == 2
    assert latest.content["limitations"] == "Not for business accounts."
    diff = client.get("/models/churn-classifier/versions/1/card/diff/?from=1&to=2")
    assert diff.status_code == 200
    assert "Not for business accounts." in diff.content.decode()


def test_ci_users_and_outsiders_cannot_edit_the_card_text(browser_as, two_versions):
    client = browser_as("outsider")
    response = client.post(
        "/models/churn-classifier/versions/1/notes/", {"limitations": "x"}, follow=True
    )
    assert "do not allow" in response.content.decode()
    assert ModelCardRevision.objects.filter(model_version=two_versions[0]).count() == 1


def test_the_regenerate_button_is_for_registrants(browser_as, two_versions):
    response = browser_as("board").post("/models/churn-classifier/versions/1/card/regenerate/")
    assert response.status_code == 403  # the page declares Capability.REGISTER, as the API does
    assert "do not allow you to register models" in response.content.decode()
    response = browser_as("ds").post(
        "/models/churn-classifier/versions/1/card/regenerate/", follow=True
    )
    assert "Regeneration requested" in response.content.decode()
    assert ModelCardRevision.objects.filter(model_version=two_versions[0]).count() == 1


def test_pages_need_a_login(client, two_versions):
    response = client.get("/models/churn-classifier/versions/1/")
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")
