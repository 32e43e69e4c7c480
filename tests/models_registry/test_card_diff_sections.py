"""The card diff grouped by section, with fields and numbers as people read them."""

from __future__ import annotations

import pytest
from django.test import TestCase

from models_registry.card_formats import card_diff, card_diff_by_section
from models_registry.services import version_update_notes

OLD = {
    "evaluation": {"metrics": {"auc": 0.8124192759604787, "f1": 0.7}},
    "metadata": {"updated": "2026-12-01T10:00:00+00:00"},
    "model_details": {"protected_attributes": ["gender"]},
}
NEW = {
    "evaluation": {"metrics": {"auc": 0.8271, "f1": 0.7}},
    "metadata": {"updated": "2026-12-02T10:00:00+00:00"},
    "model_details": {"protected_attributes": ["gender", "age_band"]},
    "limitations": "Consumers only.",
}


def test_changes_are_grouped_by_section_with_metadata_last():
    sections = card_diff_by_section(card_diff(OLD, NEW))
    assert [(s.title, [c.field for c in s.changes]) for s in sections] == [
        ("Evaluation", ["metrics / auc"]),
        ("Limitations", ["limitations"]),
        ("Model details", ["protected attributes"]),
        ("Metadata", ["updated"]),
    ]


@pytest.mark.django_db
def test_the_page_shows_sections_and_formatted_values(client, users, make_model, make_version):
    version = make_version(make_model(name="churn"))
    with TestCase.captureOnCommitCallbacks(execute=True):
        version_update_notes(actor=users["ds"], version=version, limitations="Consumers only.")
    client.force_login(users["board"])
    html = client.get("/models/churn/versions/1/card/diff/?from=1&to=2").content.decode()
    assert 'id="section-limitations"' in html
    assert "Limitations <span" in html
    assert '<th scope="row" title="limitations">limitations</th>' in html
    assert "Consumers only." in html
    assert "<code>limitations</code>" not in html  # no dotted paths as the field's name
