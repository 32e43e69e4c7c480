"""Card exports carry what people wrote as text: it never becomes HTML or a section of its own.

Issue #8, hole 7: a description holding `## Approvals` added an approvals section to the
Markdown card, and `<script>` passed through as HTML.
"""

from __future__ import annotations

import re
from typing import Any

import markdown
import pytest
import yaml

from tests.conftest import assert_json_error

pytestmark = pytest.mark.django_db

MODEL = "/api/v1/models/churn-classifier/"
CARD = MODEL + "versions/1/card/"

HOSTILE = (
    "Predicts churn.\n"
    "## Approvals\n"
    "- Request #1 (executed), requested by ceo\n"
    "<script>alert(1)</script>\n"
    "<img src=x onerror=alert(2)>\n"
    "\n"
    "Limitations\n"
    "===========\n"
    "1. [click](javascript:alert(3)) ![x](http://evil/x.png) `code` **bold**\n"
    "> quoted\n"
    "| a | b |\n"
    "|---|---|\n"
    "    indented code\n"
    "&lt;b&gt; stays text"
)


@pytest.fixture
def hostile_card(api: Any, make_model: Any) -> str:
    """A version whose every user-written field holds markup, with a rejected request."""
    make_model(risk_tier="low", description=HOSTILE, intended_use="<b>x</b>\n## Monitoring")
    registered = api("ci").post(
        MODEL + "versions/",
        {"metrics": {"auc|<i>": 0.9}, "params": {"## depth\n<b>": "<script>x</script>|"}},
        format="json",
    )
    assert registered.status_code == 201, registered.content
    edited = api("ds").patch(
        MODEL + "versions/1/",
        {"limitations": "# Model card: forged\n<iframe>", "ethical_considerations": HOSTILE},
        format="json",
    )
    assert edited.status_code == 200, edited.content
    request = api("ci").post(
        MODEL + "versions/1/promotion-requests/",
        {"target_stage": "production", "justification": "ok", "strategy": "direct"},
        format="json",
    )
    rejected = api("validator").post(
        f"/api/v1/promotion-requests/{request.json()['id']}/sign-offs/",
        {"decision": "reject", "comment": "no\n\n## Ethical considerations\n<script>x</script>"},
        format="json",
    )
    assert rejected.status_code == 201, rejected.content
    response = api("board").get(CARD, {"format": "markdown"})
    assert response.status_code == 200
    return response.content.decode()


def headings(html: str) -> list[str]:
    return re.findall(r"<h[1-6]>(.*?)</h[1-6]>", html)


def test_user_text_makes_no_heading_section_or_html_in_the_markdown_card(hostile_card):
    html = markdown.markdown(hostile_card, extensions=["tables"])
    assert headings(html) == [
        "Model card: churn-classifier v1",
        "Model details",
        "Training",
        "Parameters",
        "Model files",
        "Evaluation",
        "Explainability",
        "Monitoring",
        "Approvals",
        "Limitations",
        "Ethical considerations",
    ]
    for tag in ("<script", "<img", "<iframe", "<a ", "<blockquote", "<ol", "<pre", "<code>code"):
        assert tag not in html, tag
    assert html.count("<table>") == 2  # parameters and metrics, none from the description
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "## Approvals" in html and "&amp;lt;b&amp;gt; stays text" in html


def test_table_cells_keep_their_columns(hostile_card):
    html = markdown.markdown(hostile_card, extensions=["tables"])
    rows = re.findall(r"<tr>(.*?)</tr>", html, flags=re.S)
    cells = [re.findall(r"<td>(.*?)</td>", row, flags=re.S) for row in rows]
    assert ["## depth &lt;b&gt;", "&lt;script&gt;x&lt;/script&gt;|"] in cells
    assert ["auc|&lt;i&gt;", "0.9"] in cells


def test_the_yaml_and_json_cards_hold_the_text_exactly(api, hostile_card):
    card = api("board").get(CARD).json()
    assert card["model_details"]["description"] == HOSTILE
    as_yaml = api("board").get(CARD, {"format": "yaml"}).content.decode()
    assert yaml.safe_load(as_yaml) == card
    assert "!!python" not in as_yaml


def test_an_unknown_format_is_still_a_400(api, hostile_card):
    assert_json_error(api("board").get(CARD, {"format": "html"}), 400)


def test_a_sign_off_reads_as_a_sentence_nested_under_its_request(hostile_card):
    assert "vera rejected on " in hostile_card and "rejectd" not in hostile_card
    html = markdown.markdown(hostile_card, extensions=["tables"])
    approvals = html.split("<h2>Approvals</h2>", 1)[1].split("<h2>", 1)[0]
    # The sign-off is a list inside the request's item, not a sibling of it.
    assert re.search(r"<li>Request #\d+ .*?<ul>\s*<li>vera rejected on ", approvals, re.S)
