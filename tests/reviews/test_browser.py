"""The reviewer pages in a real browser: Debian's Chromium driven by Playwright.

Runs on SQLite and PostgreSQL alike (pytest-django's live server). Never `playwright
install`: it cannot download browsers here; the system Chromium is used. A failing test
leaves a screenshot under test-results/ (gitignored).
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from typing import Any

import pytest
from django.conf import settings

from governance.audit_context import Origin, acting_as
from governance.services import user_set_roles
from models_registry.models import ModelVersion
from reviews import services as reviews
from reviews.models import PromotionRequest, SignOff
from tests.conftest import skip_unless

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PASSWORD = "pw-for-tests-1"  # what the shared `users` fixture gives everyone
RESULTS_DIR = settings.BASE_DIR / "test-results"


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    skip_unless(os.path.exists(CHROMIUM), "needs Debian's Chromium: apt-get install chromium")
    from playwright.sync_api import sync_playwright

    with pytest.MonkeyPatch.context() as patch:
        # Playwright's sync API runs an event loop in this thread; Django's ORM refuses to
        # run while one is running unless told it is safe (the test code is synchronous).
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        with sync_playwright() as playwright:
            chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            yield chromium
            chromium.close()


@pytest.fixture
def new_page(browser: Any, live_server: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
    """new_page() -> a page in a fresh browser context (its own cookies, so its own user).

    The questions buttons ask before they act (static/js/confirm.js) are answered OK and
    kept in `new_page.asked`; put False in `new_page.answers` to press Cancel on the next."""
    contexts = []
    failed_before = request.session.testsfailed

    def answer(dialog: Any) -> None:
        open_page.asked.append(dialog.message)
        if open_page.answers and not open_page.answers.pop(0):
            dialog.dismiss()
        else:
            dialog.accept()

    def open_page() -> Any:
        context = browser.new_context(
            base_url=live_server.url, viewport={"width": 1280, "height": 900}
        )
        context.set_default_timeout(15_000)
        contexts.append(context)
        page = context.new_page()
        page.on("dialog", answer)
        return page

    open_page.asked, open_page.answers = [], []
    yield open_page
    # The call phase's report is logged before teardown: a failure has been counted.
    if request.session.testsfailed > failed_before:
        RESULTS_DIR.mkdir(exist_ok=True)
        name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)
        for index, context in enumerate(contexts):
            for number, page in enumerate(context.pages):
                path = RESULTS_DIR / f"{name}-{index}-{number}.png"
                page.screenshot(path=str(path), full_page=True)
                print(f"screenshot of the failing page: {path}")
    for context in contexts:
        context.close()


def log_in(page: Any, username: str) -> None:
    from playwright.sync_api import expect

    page.goto("/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(re.compile(r"/$"))
    expect(page.locator(".who")).to_contain_text(username)


def pending_request(users: dict[str, Any], make_model: Any, make_version: Any, **kwargs: Any):
    model = make_model(**kwargs)
    version = make_version(model)
    assert version.card_status == ModelVersion.CardStatus.READY
    with acting_as(origin=Origin.SYSTEM):
        return reviews.promotion_request_create(
            actor=users["ds"], version=version, justification="AUC up 3 points on the holdout."
        )


def test_board_member_approves_from_the_queue(users, make_model, make_version, new_page):
    from playwright.sync_api import expect

    request = pending_request(users, make_model, make_version, name="churn-model", risk_tier="low")
    page = new_page()
    log_in(page, "bella")

    awaiting = page.locator("#awaiting")
    row = awaiting.locator("tbody tr", has_text="churn-model")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("v1")
    expect(row).to_contain_text("dana")
    row.get_by_role("link", name=f"#{request.pk}").click()

    expect(page).to_have_url(re.compile(rf"/requests/{request.pk}/$"))
    expect(page.locator("#request-status")).to_have_text("pending")
    expect(page.locator("#policy-summary")).to_have_text("Needs 1 more approval.")
    expect(page.locator("#sign-offs")).to_have_count(0)
    expect(page.locator("#cannot-sign")).to_have_count(0)

    page.fill("#id_comment", "Checked the holdout metrics and the card.")
    page.get_by_role("button", name="Approve").click()

    expect(page.locator(".flash.success")).to_have_text(f"You approved request #{request.pk}.")
    expect(page.locator("#request-status")).to_have_text("approved")
    expect(page.locator("#policy-summary")).to_have_text("Approved: the policy is satisfied.")
    sign_off = page.locator("#sign-offs li")
    expect(sign_off).to_have_count(1)
    expect(sign_off).to_contain_text("bella")
    expect(sign_off).to_contain_text("board")
    expect(sign_off).to_contain_text("approved")
    expect(sign_off.locator("blockquote")).to_have_text("Checked the holdout metrics and the card.")
    expect(page.get_by_role("button", name="Approve")).to_have_count(0)
    expect(page.locator("#cannot-sign")).to_have_text("You have already signed this request.")

    stored = SignOff.objects.get(request=request)
    assert (stored.signer, stored.decision) == (users["board"], SignOff.Decision.APPROVE)
    assert stored.comment == "Checked the holdout metrics and the card."
    assert stored.history.get().history_origin == Origin.PAGE
    request.refresh_from_db()
    assert request.status == PromotionRequest.Status.APPROVED

    page.get_by_role("link", name="Home", exact=True).first.click()
    expect(page.locator("#awaiting")).to_have_count(0)
    expect(page.locator("main")).to_contain_text("Nothing waits for you.")


def test_requester_sees_why_they_cannot_sign(users, make_model, make_version, new_page):
    from playwright.sync_api import expect

    request = pending_request(users, make_model, make_version, name="churn-model", risk_tier="low")
    # A data scientist who also validates: the roles would allow signing, not their own request.
    with acting_as(origin=Origin.SYSTEM):
        both, _ = user_set_roles(
            username="sam", roles=["data_scientist", "validator"], password=PASSWORD
        )
        own = pending_request(
            {"ds": both}, make_model, make_version, name="pricing-model", risk_tier="low"
        )

    dana = new_page()
    log_in(dana, "dana")
    expect(dana.locator("#awaiting")).to_have_count(0)
    expect(dana.locator("main")).to_contain_text("(your roles do not sign off)")
    dana.get_by_role("link", name=f"#{request.pk}").click()
    expect(dana.locator("#request-status")).to_have_text("pending")
    expect(dana.get_by_role("button", name="Approve")).to_have_count(0)
    expect(dana.get_by_role("button", name="Reject")).to_have_count(0)
    expect(dana.locator("#cannot-sign")).to_have_text(
        "Only validators, board members and compliance officers sign off."
    )

    sam = new_page()
    log_in(sam, "sam")
    # The other request waits for sam; his own does not.
    expect(sam.locator("#awaiting tbody tr")).to_have_count(1)
    expect(sam.locator("#awaiting")).to_contain_text("churn-model")
    sam.goto(f"/requests/{own.pk}/")
    expect(sam.locator("#request-status")).to_have_text("pending")
    expect(sam.get_by_role("button", name="Approve")).to_have_count(0)
    expect(sam.locator("#cannot-sign")).to_have_text(
        "You requested this promotion; someone else must sign it off."
    )
    assert not SignOff.objects.exists()


def test_validator_rejects_after_a_board_approval(users, make_model, make_version, new_page):
    from playwright.sync_api import expect

    request = pending_request(
        users, make_model, make_version, name="risk-model", risk_tier="medium"
    )

    bella = new_page()
    log_in(bella, "bella")
    bella.goto(f"/requests/{request.pk}/")
    bella.get_by_role("button", name="Approve").click()
    expect(bella.locator("#sign-offs li")).to_have_count(1)
    # Medium risk: two approvals, one of them from a validator.
    expect(bella.locator("#request-status")).to_have_text("pending")
    expect(bella.locator("#policy-summary")).to_have_text(
        "Needs 1 more approval, including one from a validator."
    )

    vera = new_page()
    log_in(vera, "vera")
    vera.locator("#awaiting").get_by_role("link", name=f"#{request.pk}").click()
    vera.fill("#id_comment", "Recall on the protected group dropped; not ready.")
    vera.get_by_role("button", name="Reject").click()

    expect(vera.locator(".flash.success")).to_have_text(f"You rejected request #{request.pk}.")
    expect(vera.locator("#request-status")).to_have_text("rejected")
    expect(vera.locator("#policy-summary")).to_have_text("Rejected by vera.")
    rejection = vera.locator("#sign-offs li.reject")
    expect(rejection).to_contain_text("vera")
    expect(rejection).to_contain_text("rejected")
    expect(rejection.locator("blockquote")).to_have_text(
        "Recall on the protected group dropped; not ready."
    )
    expect(vera.get_by_role("button", name="Approve")).to_have_count(0)
    # Closing the request changed the card (its approvals section); the approval given on
    # the card the request was decided on does not turn stale after the fact.
    approval = vera.locator("#sign-offs li.approve")
    expect(approval).to_contain_text("bella")
    expect(approval).not_to_have_class(re.compile(r"\bstale\b"))

    bella.reload()
    expect(bella.locator("#request-status")).to_have_text("rejected")
    request.refresh_from_db()
    assert request.status == PromotionRequest.Status.REJECTED
    assert request.model_version.stage == ModelVersion.Stage.REJECTED


def test_pages_and_the_api_docs_work_under_the_content_security_policy(
    users, make_model, make_version, new_page
):
    """The browser enforces the CSP: Swagger UI renders, and no page needs inline code."""
    from playwright.sync_api import expect

    request = pending_request(users, make_model, make_version, name="churn-model", risk_tier="low")
    violations: list[str] = []

    def watched_page(username: str) -> Any:
        page = new_page()
        page.on("console", lambda message: violations.append(message.text))
        log_in(page, username)
        return page

    dana = watched_page("dana")
    for url in ("/models/", "/models/churn-model/", "/models/churn-model/versions/1/"):
        dana.goto(url)
    dana.goto("/api/v1/docs/")
    expect(dana.locator(".swagger-ui .opblock").first).to_be_visible()
    expect(dana.locator(".swagger-ui")).to_contain_text("/api/v1/models/")

    carla = watched_page("carla")
    carla.goto("/admin/reviews/promotionrequest/")
    expect(carla.locator("#result_list")).to_contain_text("churn-model")
    carla.goto(f"/admin/reviews/promotionrequest/{request.pk}/sign-off/")
    expect(carla.locator("#policy-summary")).to_be_visible()
    assert [text for text in violations if "Content Security Policy" in text] == []


def test_acts_ask_first_and_cancel_does_nothing(users, make_model, make_version, new_page):
    """Approve and Execute ask before they act; Cancel leaves everything as it was."""
    from playwright.sync_api import expect

    request = pending_request(users, make_model, make_version, name="acts-model", risk_tier="low")
    bella = new_page()
    log_in(bella, "bella")
    bella.goto(f"/requests/{request.pk}/")
    new_page.answers.append(False)  # Cancel the first question
    bella.get_by_role("button", name="Approve").click()
    expect(bella.locator("#request-status")).to_have_text("pending")
    assert new_page.asked[-1].startswith("Approve acts-model v1 for production?")
    assert not SignOff.objects.filter(request=request).exists()
    bella.get_by_role("button", name="Approve").click()
    expect(bella.locator("#request-status")).to_have_text("approved")

    dana = new_page()
    log_in(dana, "dana")
    dana.goto(f"/requests/{request.pk}/")
    new_page.answers.append(False)
    dana.get_by_role("button", name="Execute").click()
    expect(dana.locator("#request-status")).to_have_text("approved")
    assert (
        new_page.asked[-1] == f"Execute request #{request.pk}: put acts-model v1 in production now?"
    )
    dana.get_by_role("button", name="Execute").click()
    expect(dana.locator(".flash.success")).to_have_text("Executed: acts-model v1 is in production.")
    expect(dana.locator("#request-status")).to_have_text("executed")
    expect(dana.get_by_role("button", name="Execute")).to_have_count(0)
    assert ModelVersion.objects.get(pk=request.model_version_id).stage == "production"


def test_a_request_stuck_on_a_stale_approval_is_requested_again(
    users, make_model, make_version, new_page
):
    from playwright.sync_api import expect

    from models_registry.services import version_update_notes

    request = pending_request(
        users, make_model, make_version, name="stale-model", risk_tier="medium"
    )
    with acting_as(origin=Origin.SYSTEM):
        reviews.signoff_create(actor=users["validator"], request_id=request.pk, decision="approve")
        version_update_notes(
            actor=users["ds"], version=request.model_version, limitations="Consumers only."
        )

    vera = new_page()
    log_in(vera, "vera")
    vera.goto(f"/requests/{request.pk}/")
    expect(vera.locator("#stale-warning")).to_contain_text(
        "ask dana (the requester) to request again"
    )
    expect(vera.locator("#cannot-sign")).to_have_text("You have already signed this request.")

    dana = new_page()
    log_in(dana, "dana")
    dana.goto(f"/requests/{request.pk}/")
    dana.fill("#id_again-reason", "The card gained a limitation after vera's approval.")
    dana.get_by_role("button", name="Request again").click()
    expect(dana.locator(".flash.success")).to_contain_text(f"You withdrew request #{request.pk}")
    expect(dana.locator("#replaces")).to_contain_text(f"request #{request.pk}")
    new_id = int(re.search(r"/requests/(\d+)/$", dana.url).group(1))

    vera.goto(f"/requests/{new_id}/")
    vera.get_by_role("button", name="Approve").click()
    expect(vera.locator(".flash.success")).to_have_text(f"You approved request #{new_id}.")
    expect(vera.locator("#policy-summary")).to_have_text("Needs 1 more approval.")
    vera.screenshot(path=str(RESULTS_DIR / "request-again.png"), full_page=True)
