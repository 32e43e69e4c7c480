"""The alert pages in a real browser (Debian's Chromium driven by Playwright): a board
member finds an alert in the list, opens it, is refused a silence in the past, silences
it with a reason and sees it silenced. Runs on SQLite and PostgreSQL alike."""

from __future__ import annotations

import re

import pytest

from governance.audit_context import Origin, acting_as
from monitoring.models import Alert
from tests.monitoring.alert_helpers import configure, evaluate, finished_run
from tests.reviews import test_browser as kit

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# The reviewer pages' Chromium and pages (module-scoped browser, a context per page).
browser = kit.browser
new_page = kit.new_page


def test_board_member_silences_an_alert_with_a_reason(users, make_model, make_version, new_page):
    from playwright.sync_api import expect

    version = make_version(make_model("churn-model"))
    configure(version.model, [{"metric": "drift_share", "threshold": 0.3, "severity": "warning"}])
    with acting_as(origin=Origin.SYSTEM):
        alert = evaluate(finished_run(version, drift_share=0.55))[0].alert
    page = new_page()
    kit.log_in(page, "bella")

    page.locator("header nav").get_by_role("link", name="Alerts").click()
    expect(page).to_have_url(re.compile(r"/alerts/$"))
    row = page.locator("#alerts tbody tr", has_text="churn-model")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("drift_share >= 0.3")
    expect(row).to_contain_text("firing")
    row.get_by_role("link", name=f"#{alert.pk}", exact=True).click()

    expect(page).to_have_url(re.compile(rf"/alerts/{alert.pk}/$"))
    expect(page.locator("#alert-state")).to_have_text("firing")
    expect(page.locator("#alert-incident")).to_contain_text(f"#{alert.incident_id}")

    form = page.locator("#silence-form")
    form.get_by_label("For").select_option("until")
    form.get_by_label("Until").fill("2020-01-01T09:00")
    form.get_by_label("Reason (required)").fill("Vendor feed outage, fixed Monday.")
    form.get_by_role("button", name="Silence").click()
    expect(page.locator("#until-error")).to_have_text("Must lie in the future.")
    alert.refresh_from_db()
    assert alert.status == Alert.Status.OPEN

    form = page.locator("#silence-form")
    form.get_by_label("For").select_option("24h")
    form.get_by_label("Reason (required)").fill("Vendor feed outage, fixed Monday.")
    form.get_by_role("button", name="Silence").click()

    expect(page).to_have_url(re.compile(rf"/alerts/{alert.pk}/$"))
    expect(page.locator(".flash.success")).to_contain_text(f"Alert #{alert.pk} silenced until")
    expect(page.locator("#alert-state")).to_have_text("silenced")
    expect(page.locator("#alert-silence")).to_contain_text("bella")
    expect(page.locator("#alert-silence")).to_contain_text("Vendor feed outage, fixed Monday.")
    expect(page.locator("#alert-history")).to_contain_text("Silenced by bella until")
    expect(page.get_by_role("button", name="Unsilence now")).to_have_count(1)

    page.locator("header nav").get_by_role("link", name="Alerts").click()
    expect(page.locator("#alerts tbody tr", has_text="churn-model")).to_contain_text("silenced")

    alert.refresh_from_db()
    assert alert.status == Alert.Status.SILENCED and alert.silenced_by == users["board"]
    assert alert.silence_reason == "Vendor feed outage, fixed Monday."
    assert alert.history.first().history_origin == Origin.PAGE
