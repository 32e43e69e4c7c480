"""The ethics dashboard in a real browser (Debian's Chromium driven by Playwright): a board
member opens Ethics from the nav, sees the breach the real fairness check found, follows
the model's row to its page and sees the breach there too. Screenshots of both pages go
to var/shots/ (gitignored). Runs on SQLite and PostgreSQL alike."""

from __future__ import annotations

import re

import pytest
from django.conf import settings

from tests.monitoring.ethics_world import BREACH, seed_ethics_model
from tests.reviews import test_browser as kit

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

browser = kit.browser
new_page = kit.new_page
SHOTS = settings.BASE_DIR / "var" / "shots"


def test_board_member_sees_the_fairness_breach_on_both_ethics_pages(
    users, make_model, make_version, new_page
):
    from playwright.sync_api import expect

    model, run = seed_ethics_model(users, make_model, make_version, "churn-model")
    SHOTS.mkdir(parents=True, exist_ok=True)
    page = new_page()
    kit.log_in(page, "bella")

    page.locator("header nav").get_by_role("link", name="Ethics").click()
    expect(page).to_have_url(re.compile(r"/ethics/$"))
    row = page.locator("#ethics-models tbody tr", has_text="churn-model")
    expect(row).to_have_count(1)
    expect(row.locator("td.fairness")).to_contain_text(BREACH)
    # (no coverage or consent numbers here: with real commits the withdrawal of `waiting` is
    # erased at once, so those counts differ from the hand count of ethics_world.py)
    expect(row.locator("td.flags")).to_have_text("3")
    page.screenshot(path=str(SHOTS / "ethics-overview.png"), full_page=True)

    row.get_by_role("link", name="churn-model").click()
    expect(page).to_have_url(re.compile(rf"/models/{model.name}/ethics/$"))
    expect(page.locator("#latest-breach")).to_contain_text(f"#{run.pk}")
    expect(page.locator("#latest-breach")).to_contain_text(BREACH)
    expect(page.locator(f'#fairness-runs tr[data-run="{run.pk}"] td.verdict')).to_have_text(BREACH)
    expect(page.locator("#coverage-v1")).to_contain_text("no: no logged MLflow model")
    page.screenshot(path=str(SHOTS / "ethics-model.png"), full_page=True)
