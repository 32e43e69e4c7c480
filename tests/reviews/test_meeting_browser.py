"""A review-board meeting walked in a real browser (Debian's Chromium, Playwright): prepare,
the agenda with the pending request, start, attendance, minutes, a decision that approves
the request as the present members' sign-offs, the request approved, close.

Screenshots of each stage go to var/screenshots/ (gitignored) for a person to look at.
"""

from __future__ import annotations

import re

import pytest
from django.conf import settings

from reviews.models import PromotionRequest
from tests.reviews.test_browser import browser, log_in, new_page  # noqa: F401 (fixtures)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SCREENSHOTS = settings.BASE_DIR / "var" / "screenshots"


def shoot(page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"meeting-{name}.png"), full_page=True)


def test_a_meeting_from_prepare_to_close_approves_a_request(board_world, new_page):  # noqa: F811
    from playwright.sync_api import expect

    request = board_world.request
    page = new_page()
    log_in(page, "bella")

    page.get_by_role("link", name="Board", exact=True).click()
    boards = page.locator("#boards")
    expect(boards).to_contain_text("Model risk board")
    expect(boards).to_contain_text("bella chair")
    shoot(page, "1-boards")
    boards.get_by_role("link", name="Model risk board").click()
    expect(page.locator("#members")).to_contain_text("rita")
    shoot(page, "2-board")
    page.locator("#meetings").get_by_role("link", name=board_world.meeting.title).click()
    expect(page.locator("#meeting-status")).to_have_text("Scheduled")

    page.get_by_role("button", name="Prepare agenda").click()
    expect(page.locator("#meeting-status")).to_have_text("Agenda prepared")
    item = page.locator("#agenda li", has_text=f"Promotion request #{request.pk}")
    expect(item).to_contain_text("Pending promotion request")
    expect(item.get_by_role("link", name=f"Request #{request.pk}")).to_have_attribute(
        "href", f"/requests/{request.pk}/"
    )
    shoot(page, "3-prepared")

    page.get_by_role("button", name="Start meeting").click()
    assert "agenda is frozen" in new_page.asked[-1]
    expect(page.locator("#meeting-status")).to_have_text("In progress")
    expect(page.locator("#stage-note")).to_contain_text("The agenda is frozen.")

    for who in ("bella", "bruno", "rita"):
        page.locator(f"#attendance-{who}").get_by_role("button", name="Present").click()
        expect(page.locator(f"#attendance-{who} .presence")).to_have_text("present")
    page.locator("#attendance-carla").get_by_role("button", name="Absent").click()
    expect(page.locator("#quorum")).to_contain_text("3 voting members present")
    expect(page.locator("#quorum")).to_contain_text("it can decide.")
    shoot(page, "4-attendance")

    item = page.locator("#agenda li", has_text=f"Promotion request #{request.pk}")
    item.get_by_label("Minutes").fill("Holdout AUC checked; the card is complete.")
    item.get_by_role("button", name="Save minutes").click()
    expect(page.locator(".flash.success")).to_have_text("Minutes saved.")

    item = page.locator("#agenda li", has_text=f"Promotion request #{request.pk}")
    item.locator("summary", has_text="Record a decision").click()
    item.get_by_label("Decision").select_option("approve")
    item.get_by_label("What the board decided").fill("Approved for production.")
    shoot(page, "5-decision-form")
    item.get_by_role("button", name="Record decision").click()
    assert f"signs off request #{request.pk}" in new_page.asked[-1]
    flash = page.locator(".flash.warning")
    expect(flash).to_contain_text("Signed by bella, bruno.")
    expect(flash).to_contain_text(f"Request #{request.pk} is approved.")
    decision = page.locator("#agenda .decision")
    expect(decision.locator(".refused")).to_contain_text(
        "Could not sign for rita: You requested this promotion; someone else must sign it off."
    )
    expect(decision).to_contain_text("approved")
    shoot(page, "6-decided")

    decision.get_by_role("link", name=f"#{request.pk}").click()
    expect(page).to_have_url(re.compile(rf"/requests/{request.pk}/$"))
    expect(page.locator("#request-status")).to_have_text("approved")
    sign_offs = page.locator("#sign-offs li")
    expect(sign_offs).to_have_count(2)
    expect(sign_offs.locator("> strong")).to_have_text(["bella", "bruno"])
    expect(sign_offs.locator("blockquote").first).to_contain_text("Board decision at meeting")
    shoot(page, "7-request")
    request.refresh_from_db()
    assert request.status == PromotionRequest.Status.APPROVED

    page.go_back()
    page.reload()
    page.get_by_role("button", name="Close meeting").click()
    expect(page.locator("#meeting-status")).to_have_text("Closed")
    expect(page.locator(".flash.success")).to_contain_text("The meeting is closed. Next:")
    expect(page.locator(".minutes")).to_contain_text("Holdout AUC checked")
    shoot(page, "8-closed")
