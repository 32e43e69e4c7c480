"""Every main page at a phone's width (390 px, Debian's Chromium): usable without sideways
scrolling. Screenshots go to test-results/phone/ for a person to look at."""

from __future__ import annotations

import pytest
from django.conf import settings

from governance.audit_context import Origin, acting_as
from monitoring.models import Incident
from monitoring.services import incident_open
from reviews import services as reviews
from reviews.finding_services import finding_raise
from tests.reviews.test_browser import browser, log_in, new_page  # noqa: F401 (fixtures)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}
SHOTS = settings.BASE_DIR / "test-results" / "phone"


@pytest.fixture
def world(users, make_model, make_version):
    model = make_model(name="churn-classifier-with-a-long-name", risk_tier="medium")
    first = make_version(model, metrics={"auc": 0.8124192759604787, "f1": 0.7})
    second = make_version(model, metrics={"auc": 0.8271, "f1": 0.72}, params={"max_depth": 6})
    with acting_as(origin=Origin.SYSTEM):
        done = reviews.promotion_request_create(actor=users["ds"], version=first, justification="x")
        reviews.signoff_create(actor=users["validator"], request_id=done.pk, decision="approve")
        reviews.signoff_create(actor=users["board"], request_id=done.pk, decision="approve")
        reviews.promotion_execute(actor=users["ds"], request_id=done.pk)
        pending = reviews.promotion_request_create(
            actor=users["ds"], version=second, justification="AUC up on the hold-out."
        )
        incident = incident_open(
            model=model,
            severity=Incident.Severity.CRITICAL,
            source=Incident.Source.DRIFT,
            title="Tenure drifted beyond the threshold on the last three days",
            description="Drift share 0.62.",
        )
        finding = finding_raise(
            actor=users["validator"],
            model=model,
            title="Recall drops for new customers",
            description="Recall 0.41 below tenure 3.",
            severity="high",
        )
    name = model.name
    return [
        "/",
        "/models/",
        f"/models/{name}/",
        f"/models/{name}/versions/2/",
        f"/models/{name}/versions/2/card/diff/",
        f"/requests/{pending.pk}/",
        "/requests/",
        f"/models/{name}/health/",
        f"/models/{name}/monitoring/",
        f"/models/{name}/business-impact/",
        "/incidents/",
        f"/incidents/{incident.pk}/",
        "/alerts/",
        "/findings/",
        f"/findings/{finding.pk}/",
        "/revalidations/",
        "/boards/",
        "/summaries/",
        "/ethics/",
        f"/models/{name}/ethics/",
    ]


def test_every_main_page_fits_a_phone(world, new_page):  # noqa: F811
    page = new_page()
    log_in(page, "vera")
    page.set_viewport_size(PHONE)
    SHOTS.mkdir(parents=True, exist_ok=True)
    too_wide = {}
    for path in world:
        response = page.goto(path)
        assert response.status == 200, path
        width = page.evaluate("document.documentElement.scrollWidth")
        name = path.strip("/").replace("/", "_") or "home"
        page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)
        if width > PHONE["width"]:
            too_wide[path] = width
    assert too_wide == {}
