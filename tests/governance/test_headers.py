"""Response headers and error bodies: the Content-Security-Policy on pages, admin, docs and
API; JSON errors under /api/ even with DEBUG on (Django's HTML technical pages otherwise).

This module is also a URL configuration for the DEBUG tests: the project's routes plus two
plain Django views under /api/ that fail the way only non-DRF code can.
"""

from __future__ import annotations

import re

import pytest
from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string
from django.test import Client, override_settings
from django.urls import include, path
from django.views.decorators.http import require_POST

from governance.pages import page_public
from tests.conftest import assert_json_error


@page_public
def exploding(request: HttpRequest) -> HttpResponse:
    raise RuntimeError("a bug outside any DRF view")


@page_public
@require_POST
def post_only(request: HttpRequest) -> HttpResponse:
    return HttpResponse("posted")


urlpatterns = [
    path("api/v1/test-explodes/", exploding),
    path("api/v1/test-post-only/", post_only),
    path("", include("governance.urls")),
]
handler404 = "governance.views.not_found"
handler500 = "governance.views.server_error"


def policy(response) -> dict[str, str]:
    header = response["Content-Security-Policy"]
    return {
        name: value.strip()
        for name, _, value in (part.strip().partition(" ") for part in header.split(";"))
    }


def assert_strict(response) -> None:
    directives = policy(response)
    assert directives["default-src"] == "'self'"
    assert directives["script-src"] == "'self'"  # no 'unsafe-inline', no 'unsafe-eval'
    assert directives["style-src"] == "'self'"
    assert directives["object-src"] == "'none'"
    assert directives["base-uri"] == "'none'"
    assert directives["form-action"] == "'self'"
    assert directives["frame-ancestors"] == "'none'"


def test_pages_and_the_admin_carry_the_policy(client, users):
    assert_strict(client.get("/login/"))
    client.force_login(users["compliance"])
    assert_strict(client.get("/"))
    assert_strict(client.get("/admin/"))


def test_api_answers_carry_the_policy_too(api):
    response = api("ds").get("/api/v1/models/")
    assert response.status_code == 200
    assert_strict(response)
    assert_strict(api(None).get("/api/v1/models/"))  # and its 401


def test_the_api_docs_load_without_inline_script_or_style(client, users):
    client.force_login(users["ds"])
    page = client.get("/api/v1/docs/")
    assert page.status_code == 200
    assert_strict(page)
    html = page.content.decode()
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), "an inline <script>"
    assert "<style" not in html and "style=" not in html
    start = re.search(r'<script src="([^"]*\?[^"]*script=[^"]*)"', html).group(1)
    script = client.get(start.replace("&amp;", "&"))
    assert script.status_code == 200
    assert script["Content-Type"].startswith("application/javascript")
    assert "SwaggerUIBundle" in script.content.decode()


def test_the_model_card_draws_its_bars_without_inline_style():
    card = {
        "revision": 1,
        "content": {
            "explainability": {
                "status": "available",
                "method": "shap.TreeExplainer",
                "sample_rows": 100,
                "global_importance": {"tenure": 2.0, "age": 1.0},
            }
        },
    }
    html = render_to_string("models_registry/_card.html", {"card": card})
    assert '<meter min="0" max="100" value="50">' in html
    assert "style=" not in html


@pytest.fixture
def debug(settings):
    settings.DEBUG = True
    settings.ROOT_URLCONF = __name__


def test_an_unknown_api_path_is_a_json_404_even_with_debug_on(debug, api):
    body = assert_json_error(api("ds").get("/api/v1/no-such-thing/"), 404)
    assert body["detail"] == "Not found."
    assert_json_error(api(None).get("/api/v1/models/nope/versions/x/"), 404)


def test_pages_keep_django_s_debug_404_page(debug, client, users):
    client.force_login(users["ds"])
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


def test_a_405_and_a_500_outside_drf_are_json_under_api(debug):
    client = Client(raise_request_exception=False)
    not_allowed = client.get("/api/v1/test-post-only/")
    assert_json_error(not_allowed, 405)
    assert not_allowed["Allow"] == "POST"
    body = assert_json_error(client.get("/api/v1/test-explodes/"), 500)
    assert "Traceback" not in body["detail"]


@override_settings(ROOT_URLCONF=__name__)
def test_with_debug_off_the_error_handlers_answer_json(api):
    assert_json_error(api("ds").get("/api/v1/no-such-thing/"), 404)
    assert_json_error(Client(raise_request_exception=False).get("/api/v1/test-explodes/"), 500)
