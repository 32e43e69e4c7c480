"""The stored summaries in the browser (list, page, download) and over the API (list,
detail, a preview of any period that stores nothing), for readers only."""

from __future__ import annotations

from datetime import UTC, timedelta

import pytest
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from governance.audit_context import Origin, acting_as
from governance.services import user_token
from reviews.models import ReviewSummary
from reviews.summary.period import summary_period
from reviews.summary.services import review_summary_store
from tests.conftest import assert_json_error, make_user

pytestmark = pytest.mark.django_db

TODAY = timezone.now().astimezone(UTC).date()
PREVIEW = "/api/v1/review-summaries/preview/"


@pytest.fixture
def stored(summary_world) -> ReviewSummary:
    """This week's summary (the world's events happened today), stored as the task does."""
    with acting_as(origin=Origin.TASK):
        return review_summary_store(period=summary_period(since=TODAY - timedelta(days=6)))[0]


def browser(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_list_links_each_summary_and_its_markdown(stored, users):
    page = browser(users["validator"]).get("/summaries/")

    assert page.status_code == 200
    html = page.content.decode()
    assert f'href="/summaries/{stored.pk}/"' in html
    assert f"{stored.period_start:%Y-%m-%d} to {stored.period_end:%Y-%m-%d}" in html
    assert f'href="/summaries/{stored.pk}/download/"' in html
    assert '<a href="/summaries/">Summaries</a>' in html  # in the navigation


def test_the_page_shows_every_section_with_its_links(stored, users, summary_world):
    page = browser(users["ds"]).get(f"/summaries/{stored.pk}/")

    html = page.content.decode()
    assert page.status_code == 200
    assert html.count('<section class="summary-section"') == 10
    assert "Rollbacks (1)" in html and "AUC fell to 0.71" in html
    incident = summary_world.incident.pk
    assert f'<a href="http://127.0.0.1:8000/incidents/{incident}/">Incident #{incident}</a>' in html
    # Titles are text, escaped once by the template (no Markdown escapes on the page).
    assert "Scores [all] *zero* for tenure 0" in html


def test_the_download_is_the_stored_markdown(stored, users):
    response = browser(users["board"]).get(f"/summaries/{stored.pk}/download/")

    assert response.status_code == 200
    assert response["Content-Type"] == "text/markdown; charset=utf-8"
    assert f'filename="{stored.filename}"' in response["Content-Disposition"]
    assert response.content.decode() == stored.markdown


def test_pages_are_for_readers_only(stored, users):
    service = make_user("sven", "service")
    for path in ("/summaries/", f"/summaries/{stored.pk}/", f"/summaries/{stored.pk}/download/"):
        assert browser(users["outsider"]).get(path).status_code == 403
        assert browser(service).get(path).status_code == 403
        assert Client().get(path)["Location"].startswith("/login/")
    assert browser(users["ds"]).get("/summaries/999999/").status_code == 404


def test_the_api_lists_summaries_and_gives_one_with_its_markdown(stored, api):
    listed = api("ci").get("/api/v1/review-summaries/")
    detail = api("ci").get(f"/api/v1/review-summaries/{stored.pk}/")
    as_markdown = api("ci").get(f"/api/v1/review-summaries/{stored.pk}/?format=markdown")

    assert listed.status_code == 200
    assert [row["id"] for row in listed.json()["results"]] == [stored.pk]
    row = listed.json()["results"][0]
    assert (row["since"], row["until"]) == (str(stored.period_start), str(stored.period_end))
    assert "markdown" not in row
    body = detail.json()
    assert body["markdown"] == stored.markdown
    assert body["created_by"] is None and body["origin"] == "task"
    assert body["emailed"] == 0 and "emailed_to" not in body  # addresses stay in the admin
    assert body["sections"][1]["key"] == "rollbacks"
    assert "AUC fell to 0.71" in body["sections"][1]["entries"][0]["text"]
    assert as_markdown["Content-Type"] == "text/markdown; charset=utf-8"
    assert as_markdown.content.decode() == stored.markdown
    assert_json_error(api("ci").get("/api/v1/review-summaries/999999/"), 404)


def test_the_preview_renders_any_period_without_storing_it(summary_world, api):
    since = TODAY - timedelta(days=6)

    response = api("compliance").get(PREVIEW, {"since": str(since)})
    markdown = api("board").get(PREVIEW, {"since": str(since), "format": "markdown"})

    assert response.status_code == 200
    body = response.json()
    assert (body["since"], body["until"]) == (str(since), str(TODAY))
    assert body["markdown"].startswith(f"# Model review: {since} to {TODAY}\n")
    assert "## Rollbacks (1)" in body["markdown"]
    assert [s["key"] for s in body["sections"]][-1] == "revalidations"
    assert markdown["Content-Type"] == "text/markdown; charset=utf-8"
    assert markdown.content.decode().startswith(f"# Model review: {since} to {TODAY}\n")
    assert not ReviewSummary.objects.exists()


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({}, "since"),
        ({"since": ""}, "since"),
        ({"since": "2026-13-01"}, "since"),
        ({"since": "last monday"}, "since"),
        ({"since": str(TODAY), "until": ""}, "until"),
        ({"since": str(TODAY), "until": str(TODAY - timedelta(days=1))}, "until"),
        ({"since": str(TODAY), "until": str(TODAY + timedelta(days=1))}, "until"),
        ({"since": str(TODAY - timedelta(days=400)), "until": str(TODAY)}, "since"),
        ({"since": str(TODAY), "format": "pdf"}, "format"),
    ],
)
def test_a_bad_period_is_a_400_naming_the_field_and_stores_nothing(db, api, query, field):
    body = assert_json_error(api("ci").get(PREVIEW, query), 400)

    assert field in body
    assert not ReviewSummary.objects.exists()


def test_the_api_is_for_readers_only(stored, api):
    service = make_user("sven", "service")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {user_token(user=service)}")
    for path in ("/api/v1/review-summaries/", f"/api/v1/review-summaries/{stored.pk}/", PREVIEW):
        assert_json_error(api("outsider").get(path, {"since": str(TODAY)}), 403)
        assert_json_error(client.get(path, {"since": str(TODAY)}), 403)
        assert_json_error(api(None).get(path, {"since": str(TODAY)}), 401)
    # Read-only: nothing to post.
    assert_json_error(api("compliance").post("/api/v1/review-summaries/", {}), 405)
