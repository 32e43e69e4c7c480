"""The reviewer's and the compliance officer's days, in Debian's Chromium (Playwright):

- a board member finds a pending request from the home page, reads the comparison with
  production, approves with a comment and sees the queue update;
- a compliance officer rolls back from the model page after a confirmation and finds the
  record in the admin;
- the sign-off form used with the keyboard alone, its fields found by their labels.

Screenshots go to test-results/journeys/ for a person to look at.
"""

from __future__ import annotations

import re

import pytest
from django.conf import settings

from governance.audit_context import Origin, acting_as
from models_registry.models import DeploymentEvent
from reviews import services as reviews
from tests.reviews.test_browser import browser, log_in, new_page  # noqa: F401 (fixtures)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = settings.BASE_DIR / "test-results" / "journeys"


def shoot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


@pytest.fixture
def candidate(users, make_model, make_version):
    """churn: v1 in production (AUC 0.815), v2 asking to replace it (AUC 0.827)."""
    model = make_model(name="churn", risk_tier="low")
    v1 = make_version(model, metrics={"auc": 0.815}, params={"max_depth": 4})
    v2 = make_version(model, metrics={"auc": 0.827}, params={"max_depth": 6})
    with acting_as(origin=Origin.SYSTEM):
        first = reviews.promotion_request_create(actor=users["ds"], version=v1, justification="x")
        reviews.signoff_create(actor=users["validator"], request_id=first.pk, decision="approve")
        reviews.promotion_execute(actor=users["ds"], request_id=first.pk)
        return reviews.promotion_request_create(
            actor=users["ds"], version=v2, justification="AUC up on the hold-out."
        )


def test_a_board_member_approves_from_home_after_the_comparison(candidate, new_page):  # noqa: F811
    from playwright.sync_api import expect

    page = new_page()
    log_in(page, "bella")
    row = page.locator("#awaiting tbody tr", has_text="churn v2")
    expect(row).to_contain_text("0 of 1")
    shoot(page, "1-home")
    row.get_by_role("link", name=f"#{candidate.pk}").click()

    comparison = page.locator("#compare-metrics")
    expect(comparison).to_contain_text("0.8150")
    expect(comparison).to_contain_text("0.8270")
    expect(comparison).to_contain_text("+0.0120 better")
    expect(page.locator("#compare-params")).to_contain_text("max_depth")
    shoot(page, "2-request-comparison")

    page.get_by_label("Comment").fill("v2 beats production on AUC; parameters checked.")
    page.get_by_role("button", name="Approve").click()
    expect(page.locator(".flash.success")).to_have_text(f"You approved request #{candidate.pk}.")
    assert new_page.asked[-1].startswith("Approve churn v2 for production?")

    page.locator("header nav").get_by_role("link", name="Home").click()
    expect(page.locator("#awaiting")).to_have_count(0)
    expect(page.locator("main")).to_contain_text("Nothing waits for you.")
    shoot(page, "3-home-after")


def test_a_compliance_officer_rolls_back_and_finds_the_record_in_the_admin(
    candidate,
    users,
    new_page,  # noqa: F811
):
    from playwright.sync_api import expect

    with acting_as(origin=Origin.SYSTEM):
        reviews.signoff_create(actor=users["board"], request_id=candidate.pk, decision="approve")
        reviews.promotion_execute(actor=users["ds"], request_id=candidate.pk)  # v2 replaces v1
    page = new_page()
    log_in(page, "carla")
    page.goto("/models/churn/")
    button = page.get_by_role("button", name="Roll back to v1")
    expect(button).to_be_visible()
    page.get_by_label("Reason").fill("AUC fell in production since Monday.")
    new_page.answers.append(False)  # first Cancel: nothing happens
    button.click()
    expect(page.locator(".flash")).to_have_count(0)
    assert not DeploymentEvent.objects.filter(kind="rolled_back").exists()
    button.click()
    expect(page.locator(".flash.success")).to_contain_text(
        "v1 is back in production in place of v2"
    )
    assert new_page.asked[-1] == "Roll back churn: put v1 back in production in place of v2?"
    expect(page.get_by_role("button", name=re.compile("Roll back"))).to_have_count(0)
    shoot(page, "4-model-rolled-back")

    page.get_by_role("link", name="Admin").click()
    page.goto("/admin/models_registry/deploymentevent/?kind__exact=rolled_back")
    rows = page.locator("#result_list tbody tr")
    expect(rows).to_have_count(1)
    expect(rows).to_contain_text("churn")
    rows.locator("a").first.click()
    expect(page.locator("#content")).to_contain_text("AUC fell in production since Monday.")
    shoot(page, "5-admin-record")


def test_the_sign_off_form_works_from_the_keyboard(candidate, new_page):  # noqa: F811
    from playwright.sync_api import expect

    page = new_page()
    log_in(page, "bella")
    page.goto(f"/requests/{candidate.pk}/")
    comment = page.get_by_label("Comment")
    expect(comment).to_be_visible()
    comment.focus()
    page.keyboard.type("Read the card and the comparison.")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent.trim()") == "Approve"
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent.trim()") == "Reject"
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Enter")
    expect(page.locator(".flash.success")).to_have_text(f"You approved request #{candidate.pk}.")
    expect(page.locator("#sign-offs li")).to_contain_text("Read the card and the comparison.")
