"""The ethics dashboard: a fairness breach found by the real check, coverage, retention,
consent, the legal basis and open flags as counted by hand (tests/monitoring/ethics_world.py),
and its cost."""

from __future__ import annotations

import re
from datetime import timedelta
from html import escape

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from governance.audit_context import Origin, acting_as
from models_registry.retention import retention_policy_set
from monitoring.config import config_normalize
from monitoring.models import MonitoringConfig, PredictionFlag
from monitoring.services import flag_close, flag_create
from tests.monitoring.ethics_world import BREACH, seed_ethics_model

SAID = escape(BREACH)  # as the page writes it: breach: ... 0.5 &gt;= 0.2
GAP = '<td class="legal-basis"><span class="badge warn">not recorded</span></td>'

pytestmark = pytest.mark.django_db

OVERVIEW = reverse("monitoring:ethics")


def get(user, url: str) -> tuple[int, str]:
    client = Client()
    client.force_login(user)
    response = client.get(url)
    return response.status_code, response.content.decode()


def model_url(name: str) -> str:
    return reverse("monitoring:model-ethics", args=[name])


def section(html: str, element_id: str, end: str) -> str:
    """The element's content up to its closing `end` tag (no nesting of the same tag)."""
    return re.search(rf'id="{element_id}"(.*?)</{end}>', html, re.S).group(1)


@pytest.fixture
def seeded(users, make_model, make_version):
    return seed_ethics_model(users, make_model, make_version, "churn-classifier")


def test_the_breach_of_the_real_fairness_check_is_said_in_words_on_both_pages(users, seeded):
    model, run = seeded
    status, html = get(users["board"], model_url(model.name))
    assert status == 200
    latest = section(html, "latest-breach", "p")
    assert f"#{run.pk}" in latest and SAID in latest
    row = re.search(
        rf'data-run="{run.pk}">(.*?)</tr>\s*(?:<tr class="fairness-run"|</tbody>)', html, re.S
    )
    cells = row.group(1)
    assert "gender" in cells and "0.500" in cells and SAID in cells
    groups = re.findall(
        r'<th scope="row">(\w)</th><td class="num">(\d+)</td><td class="num">([\d.]+)</td>', cells
    )
    assert groups == [("f", "40", "0.250"), ("m", "40", "0.750")]
    assert "<code>demographic_parity_difference.gender &gt;= 0.2</code>" in html

    status, overview = get(users["ds"], OVERVIEW)
    assert status == 200
    fairness = re.search(
        r'id="ethics-churn-classifier">.*?class="fairness">(.*?)</td>', overview, re.S
    )
    assert SAID in fairness.group(1) and f"#{run.pk}" in fairness.group(1)
    assert reverse("monitoring:model-ethics", args=[model.name]) in overview


def alerts_set(model, alerts: list[dict]) -> None:
    document = config_normalize({"alerts": alerts}, features=None, protected=["gender"])
    MonitoringConfig.objects.filter(model=model).update(document=document)


def test_a_run_within_the_threshold_and_a_model_without_rules_say_so(users, seeded, make_model):
    model, _ = seeded
    rule = {"metric": "demographic_parity_difference.gender", "severity": "critical"}
    alerts_set(model, [{**rule, "threshold": 0.6}])
    html = get(users["board"], model_url(model.name))[1]
    assert "latest-breach" not in html and "within thresholds" in html
    alerts_set(model, [])
    html = get(users["board"], model_url(model.name))[1]
    assert "no threshold: the monitoring config has no fairness alert rule" in html
    make_model(name="unwatched")
    overview = get(users["board"], OVERVIEW)[1]
    unwatched = re.search(r'id="ethics-unwatched">(.*?)</tr>', overview, re.S).group(1)
    assert "no fairness check yet" in unwatched and "no predictions" in unwatched


def test_explainability_coverage_equals_the_hand_count(users, seeded):
    model, _ = seeded
    html = get(users["validator"], model_url(model.name))[1]
    v1 = section(html, "coverage-v1", "tr")
    v2 = section(html, "coverage-v2", "tr")
    cells = lambda row: re.findall(r'<td class="num">([^<]*)</td>', row)  # noqa: E731
    assert "no: no logged MLflow model" in v1 and cells(v1) == ["82", "1", "0", "1.2%"]
    assert "<td>yes</td>" in v2 and cells(v2) == ["4", "2", "1", "75.0%"]
    overview = get(users["validator"], OVERVIEW)[1]
    coverage = re.search(
        r'id="ethics-churn-classifier">.*?class="coverage num">(.*?)</td>', overview, re.S
    )
    assert coverage.group(1) == "4.7% (4 of 86)"


def test_retention_and_consent_counts_equal_the_hand_count(users, seeded):
    model, _ = seeded
    html = get(users["compliance"], model_url(model.name))[1]
    log = section(html, "governance-log", "tr")
    assert "30 days" in log and "2 records" in log
    assert "1 subject who withdrew consent still present in 1 record" in log
    assert GAP in log  # the legal basis: a gap, marked as one
    reference = re.search(r'class="governance-reference">(.*?)</tr>', html, re.S).group(1)
    assert "10 days" in reference and "yes: past its period" in reference
    overview = get(users["compliance"], OVERVIEW)[1]
    row = re.search(r'id="ethics-churn-classifier">(.*?)</tr>', overview, re.S).group(1)
    assert re.search(r'class="retention num">2 records, 1 reference data set<', row)
    assert re.search(r'class="consent num">1 subject<', row)
    assert GAP in row


def record_basis(users, model, basis: str = "contract", note: str = "") -> None:
    """The world's retention policy (30 and 10 days) with a legal basis recorded."""
    with acting_as(origin=Origin.SYSTEM):
        retention_policy_set(
            actor=users["compliance"],
            model=model,
            inference_log_days=30,
            reference_data_days=10,
            legal_basis=basis,
            legal_basis_note=note,
        )


def test_a_recorded_legal_basis_is_shown_per_model_with_its_note(users, seeded, make_model):
    model, _ = seeded
    record_basis(users, model, "legitimate_interests", "Keeping subscribers (LIA-2026-07)")
    said = "Legitimate interests (Art. 6(1)(f))"
    html = get(users["board"], model_url(model.name))[1]
    assert "not recorded</span>" not in html
    basis = section(html, "legal-basis", "p")
    assert f"<strong>{said}</strong>: Keeping subscribers (LIA-2026-07)" in basis
    assert f'<td class="legal-basis">{said}</td>' in section(html, "governance-log", "tr")
    make_model(name="unrecorded")
    overview = get(users["board"], OVERVIEW)[1]
    row = re.search(r'id="ethics-churn-classifier">(.*?)</tr>', overview, re.S).group(1)
    assert f'<td class="legal-basis">{said}</td>' in row
    other = re.search(r'id="ethics-unrecorded">(.*?)</tr>', overview, re.S).group(1)
    assert GAP in other


def test_flags_are_counted_by_reason(users, seeded):
    model, _ = seeded
    html = get(users["ds"], model_url(model.name))[1]
    reasons = dict(
        re.findall(
            r'<tr><td>(\w+)</td><td class="num">(\d+)</td></tr>',
            section(html, "flag-reasons", "table"),
        )
    )
    assert reasons == {"wrong": "1", "unfair": "2", "unexplainable": "0", "other": "0"}
    overview = get(users["ds"], OVERVIEW)[1]
    assert re.search(r'id="ethics-churn-classifier">.*?class="flags num">3<', overview, re.S)


def flags_of(model, reason: str | None = None):
    flags = PredictionFlag.objects.filter(model=model).order_by("pk")
    return flags.filter(reason=reason) if reason else flags


def test_the_pages_count_open_flags_by_reason_and_closed_ones_of_90_days_apart(users, seeded):
    model, _ = seeded
    unfair = list(flags_of(model, "unfair"))
    wrong = flags_of(model, "wrong").get()
    with acting_as(origin=Origin.SYSTEM):
        flag_close(
            actor=users["ds"], model=model, flag_id=unfair[0].pk, status="resolved", note="Fixed."
        )
        flag_close(
            actor=users["board"],
            model=model,
            flag_id=wrong.pk,
            status="dismissed",
            note="The call was right.",
        )
        flag_close(actor=users["compliance"], model=model, flag_id=unfair[1].pk, status="resolved")
        # An old flag, still open, counts; one closed 100 days ago is no longer shown.
        old = flag_create(
            actor=users["validator"], model=model, request_id=f"{model.name}-fair-2", reason="other"
        ).flag
        gone = flag_create(
            actor=users["validator"], model=model, request_id=f"{model.name}-fair-3", reason="wrong"
        ).flag
        flag_close(actor=users["ds"], model=model, flag_id=gone.pk, status="resolved")
    long_ago = timezone.now() - timedelta(days=100)
    PredictionFlag.objects.filter(pk=old.pk).update(created_at=long_ago)
    PredictionFlag.objects.filter(pk=gone.pk).update(created_at=long_ago, resolved_at=long_ago)

    html = get(users["ds"], model_url(model.name))[1]
    reasons = dict(
        re.findall(
            r'<tr><td>(\w+)</td><td class="num">(\d+)</td></tr>',
            section(html, "flag-reasons", "table"),
        )
    )
    assert reasons == {"wrong": "0", "unfair": "0", "unexplainable": "0", "other": "1"}
    assert section(html, "flags-closed", "span") == ">2 resolved, 1 dismissed"
    overview = get(users["ds"], OVERVIEW)[1]
    row = re.search(r'id="ethics-churn-classifier">(.*?)</tr>', overview, re.S).group(1)
    assert 'class="flags num">1<' in row
    assert 'class="flags-closed num">2 resolved, 1 dismissed<' in row


def test_a_user_without_a_role_is_refused_and_an_unknown_model_is_a_404(users, seeded):
    model, _ = seeded
    assert get(users["outsider"], OVERVIEW)[0] == 403
    assert get(users["outsider"], model_url(model.name))[0] == 403
    assert get(users["board"], model_url("no-such-model"))[0] == 404
    response = Client().get(OVERVIEW)
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_the_model_page_and_the_nav_link_to_the_dashboard(users, seeded):
    model, _ = seeded
    html = get(users["ds"], reverse("registry:model", args=[model.name]))[1]
    assert f'href="{model_url(model.name)}" id="ethics-link"' in html
    assert f'<a href="{OVERVIEW}">Ethics</a>' in html


def more_of_everything(users, model) -> None:
    """A recorded legal basis, a closed flag and a new open one: nothing a page reads per row."""
    record_basis(users, model, "consent", "Opt-in at sign-up")
    with acting_as(origin=Origin.SYSTEM):
        first = flags_of(model).first()
        flag_close(actor=users["ds"], model=model, flag_id=first.pk, status="dismissed", note="No.")
        flag_create(
            actor=users["validator"], model=model, request_id=f"{model.name}-fair-2", reason="other"
        )


def test_the_overview_costs_as_many_queries_for_five_models_as_for_one(
    users, make_model, make_version, django_assert_num_queries
):
    seed_ethics_model(users, make_model, make_version, "model-0")
    client = Client()
    client.force_login(users["board"])
    with CaptureQueriesContext(connection) as one:
        assert client.get(OVERVIEW).status_code == 200
    for i in range(1, 5):
        model, _ = seed_ethics_model(users, make_model, make_version, f"model-{i}")
        more_of_everything(users, model)
    with django_assert_num_queries(len(one)):
        html = client.get(OVERVIEW).content.decode()
    assert html.count(SAID) == 5
    assert html.count("Consent (Art. 6(1)(a))") == 4 and html.count(GAP) == 1
    assert html.count('class="flags-closed num">0 resolved, 1 dismissed<') == 4


def test_the_model_page_costs_the_same_with_a_basis_and_more_flags_open_and_closed(
    users, seeded, django_assert_num_queries
):
    model, _ = seeded
    client = Client()
    client.force_login(users["board"])
    with CaptureQueriesContext(connection) as before:
        assert client.get(model_url(model.name)).status_code == 200
    more_of_everything(users, model)
    with django_assert_num_queries(len(before)):
        html = client.get(model_url(model.name)).content.decode()
    assert "Consent (Art. 6(1)(a))" in html
    assert section(html, "flags-closed", "span") == ">0 resolved, 1 dismissed"


def test_the_overview_pages_by_name_and_searches(users, make_model, monkeypatch):
    from monitoring import ethics_views

    monkeypatch.setattr(ethics_views, "PAGE_SIZE", 2)
    for name in ("credit", "churn", "fraud"):
        make_model(name=name)
    client = Client()
    client.force_login(users["board"])
    rows = lambda html: re.findall(r'<tr id="ethics-([a-z-]+)"', html)  # noqa: E731
    first = client.get(OVERVIEW).content.decode()
    assert rows(first) == ["churn", "credit"] and "page 1 of 2 (3 models)" in first
    assert rows(client.get(OVERVIEW + "?page=2").content.decode()) == ["fraud"]
    assert rows(client.get(OVERVIEW + "?search=RED").content.decode()) == ["credit"]
