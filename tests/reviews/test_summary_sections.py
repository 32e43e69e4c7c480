"""The weekly summary says what happened in the week: each section from a prepared state,
read back from the Markdown a board member receives."""

from __future__ import annotations

import re
from datetime import UTC, timedelta

import markdown
import pytest
from django.utils import timezone

from reviews.summary.period import summary_period
from reviews.summary.services import review_summary_build

pytestmark = pytest.mark.django_db

TODAY = timezone.now().astimezone(UTC).date()


def this_week() -> str:
    return review_summary_build(period=summary_period(since=TODAY - timedelta(days=6))).markdown


def section(text: str, title: str) -> str:
    """The lines of one `## title (n)` section."""
    found = re.search(rf"^## {re.escape(title)} \((\d+)\)\n\n(.*?)(?=\n## |\Z)", text, re.S | re.M)
    assert found, f"no section {title!r} in:\n{text}"
    return found.group(2)


def test_every_section_says_what_happened_in_the_week(summary_world):
    world = summary_world
    model = world.board.model.name
    text = this_week()

    assert text.startswith(f"# Model review: {TODAY - timedelta(days=6)} to {TODAY}\n")
    promotions = section(text, "Promotions")
    assert f"[{model} v2](<http://testserver" not in promotions  # links use SITE_URL
    assert f"{model} v2](<http://127.0.0.1:8000/models/{model}/versions/2/>)" in promotions
    assert "Promoted to production" in promotions and "by dana" in promotions
    assert f"{model} v3](" in promotions and "replacing v2" in promotions
    rollbacks = section(text, "Rollbacks")
    assert f"{model} v2](" in rollbacks
    assert "Rolled back" in rollbacks and "by bella, taking v3 out of production" in rollbacks
    assert "AUC fell to 0.71" in rollbacks
    pending = section(text, "Pending promotion requests")
    assert f"[Promotion request #{world.request.pk}]" in pending
    assert "requested by rita" in pending and "waiting 3.0 days" in pending
    incidents = section(text, "Incidents")
    assert f"[Incident #{world.incident.pk}]" in incidents
    # A title is shown as written, its markup escaped.
    assert r"Scores \[all\] \*zero\* for tenure 0 (critical, open)" in incidents
    alerts = section(text, "Alerts")
    assert (
        f"[Alert #{world.alert.pk}]" in alerts
        and r"drift\_share at or above 0.3 (warning, open)" in alerts
    )
    changes = section(text, "Drift, quality and fairness changes")
    assert "drift\\_share (drift, v2): 0.1 → 0.35 (+0.25)" in changes
    assert "demographic\\_parity\\_difference.gender (fairness, v2): 0.12 (first measured)" in (
        changes
    )
    assert "estimated\\_roc\\_auc (estimation, v2): 0.81 (first measured)" in changes
    assert "drift.age" not in changes and "tpr" not in changes and "rows" not in changes
    flags = section(text, "Flags from people")
    assert "2 flag(s) (1 wrong, 1 unfair) on 2 prediction(s); flag rate 100.00%" in flags
    findings = section(text, "Findings due")
    assert f"[Finding #{world.finding.pk}]" in findings
    assert f"Recall drops for new customers (high, open); {model}" in findings
    assert f"due {TODAY + timedelta(days=3)}" in findings
    action_items = section(text, "Action items due")
    assert f"Action item #{world.action_item.pk}: Retrain on the autumn data; owner dana" in (
        action_items
    )
    assert "(Model risk board)" in action_items
    revalidations = section(text, "Revalidations due")
    assert f"[{model}](<http://127.0.0.1:8000/models/{model}/>): revalidation" in revalidations
    assert "days overdue" in revalidations and "last validated never" in revalidations


def test_an_earlier_week_leaves_out_what_happened_after_it(summary_world):
    week = summary_period(since=TODAY - timedelta(days=60), until=TODAY - timedelta(days=54))
    text = review_summary_build(period=week).markdown

    for title in ("Promotions", "Rollbacks", "Pending promotion requests", "Incidents", "Alerts"):
        assert section(text, title) == "None.\n", title
    assert section(text, "Flags from people") == "None.\n"
    # The check of 30 days ago is after that week, too.
    assert section(text, "Drift, quality and fairness changes") == "None.\n"


def test_the_markdown_renders_one_list_per_section_with_working_links(summary_world):
    html = markdown.markdown(this_week())

    assert html.count("<h2>") == 10
    assert '<a href="http://127.0.0.1:8000/reviews/' not in html
    assert f'<a href="http://127.0.0.1:8000/incidents/{summary_world.incident.pk}/">' in html
    assert "<em>" not in html  # the incident's *zero* is text, not emphasis


def test_a_quiet_week_says_none_under_every_heading(db):
    text = this_week()

    assert text.count("\nNone.\n") == 10
