"""Business impact: KPIs beside production's quality metrics (aligned, correlated as
numpy.corrcoef does, cautioned), and the review each promotion to production schedules."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np
import pytest
from django.test import TestCase
from django.utils import timezone

from governance.audit_context import Origin, acting_as
from governance.models import AuditEvent
from models_registry import services as registry
from models_registry.models import DeploymentEvent
from models_registry.signals import deployment_changed
from reviews.impact_analysis import (
    MIN_CORRELATION_PERIODS,
    MetricPoint,
    correlate,
    pearson,
    period_means,
    production_spans,
)
from reviews.impact_models import BusinessImpactReview, BusinessKpi, KpiValue
from reviews.impact_selectors import business_impact, impact_reviews_due
from tests.conftest import assert_json_error, make_user
from tests.governance.test_headers import assert_strict
from tests.monitoring.check_data import make_check
from tests.monitoring.test_check_pages import assert_nothing_inline

NOW = timezone.now()
TODAY = NOW.astimezone(UTC).date()


def promote(version: Any, actor: Any, days_ago: float | None = None) -> DeploymentEvent:
    """Promote `version` with the signals delivered; optionally move the event back."""
    with acting_as(origin=Origin.SYSTEM), TestCase.captureOnCommitCallbacks(execute=True):
        event = registry.deployment_promote(version=version, actor=actor)
    if days_ago is not None:
        moved = timezone.now() - timedelta(days=days_ago)
        DeploymentEvent.objects.filter(pk=event.pk).update(occurred_at=moved)
        event.refresh_from_db()
    return event


def kpi(
    model: Any, user: Any, values: list[float], *, days: int = 10, **fields: Any
) -> BusinessKpi:
    """A KPI with one value per `days`-day period, the last one ending yesterday."""
    fields.setdefault("direction", BusinessKpi.Direction.LOWER)
    stored = BusinessKpi.objects.create(
        model=model, name=fields.pop("name", "churn"), created_by=user, **fields
    )
    count = len(values)
    for i, value in enumerate(values):
        end = TODAY - timedelta(days=1 + days * (count - 1 - i))
        KpiValue.objects.create(
            kpi=stored,
            period_start=end - timedelta(days=days - 1),
            period_end=end,
            value=value,
            recorded_by=user,
        )
    return stored


def check_on(version: Any, day: date, **metrics: float) -> None:
    """A quality check of `version` whose window ended at noon (UTC) of `day`."""
    moment = datetime.combine(day, datetime.min.time(), tzinfo=UTC) + timedelta(hours=12)
    make_check(version, "quality", metrics=metrics, ago=timezone.now() - moment)


@pytest.fixture
def world(users, make_model, make_version) -> dict[str, Any]:
    """v1 in production since 300 days, v2 a candidate."""
    model = make_model()
    v1, v2 = make_version(model), make_version(model)
    promote(v1, users["ds"], days_ago=300)
    return {"model": model, "v1": v1, "v2": v2}


# --- the correlation ------------------------------------------------------------------


def test_the_correlation_of_a_kpi_with_a_metric_equals_numpys_over_aligned_periods(world, users):
    churn = [3.2, 3.0, 3.1, 2.7, 2.5, 2.6]
    stored = kpi(world["model"], users["ds"], churn)
    periods = list(stored.values.order_by("period_start"))
    accuracy_by_period = [[0.80, 0.82], [0.83], [0.81, 0.85], [0.86], [0.88, 0.90], [0.87]]
    for period, values in zip(periods, accuracy_by_period, strict=True):
        for offset, value in enumerate(values):
            check_on(
                world["v1"], period.period_start + timedelta(days=2 + 3 * offset), accuracy=value
            )
        check_on(world["v2"], period.period_start + timedelta(days=1), accuracy=0.1)  # a candidate
    check_on(world["v1"], periods[0].period_start - timedelta(days=1), accuracy=0.2)  # before

    impact = business_impact(model=world["model"]).kpis[0]

    means = [float(np.mean(values)) for values in accuracy_by_period]
    assert impact.metrics["accuracy"] == pytest.approx(means, abs=1e-12)
    found = {c.metric: c for c in impact.correlations}["accuracy"]
    assert found.n == 6
    assert found.r == pytest.approx(np.corrcoef(churn, means)[0, 1], abs=1e-12)
    assert found.r < 0  # accuracy up, churn (lower is better) down
    assert "the way one would hope" in found.reading


def test_pearson_is_numpys_corrcoef_on_random_series():
    generator = np.random.default_rng(7)
    for size in (2, 4, 10, 50):
        xs, ys = generator.normal(size=size), generator.normal(size=size) * 1e6 + 3
        assert pearson(list(xs), list(ys)) == pytest.approx(np.corrcoef(xs, ys)[0, 1], abs=1e-12)
    assert pearson([1.0, 1.0, 1.0], [1.0, 2.0, 3.0]) is None
    assert pearson([1.0], [2.0]) is None


def test_no_correlation_is_claimed_under_four_periods_or_when_nothing_moved():
    def one(kpi_values: list[float], metric: list[float | None]) -> Any:
        return correlate(
            kpi_values,
            metric,
            kpi="churn",
            kpi_higher_better=False,
            metric="accuracy",
            metric_direction="lower_is_worse",
        )

    few = one([1, 2, 3, 4, 5], [0.8, 0.9, None, None, 0.7])
    flat = one([2, 2, 2, 2], [0.8, 0.9, 0.7, 0.6])
    enough = one([1, 2, 3, 4], [0.8, 0.9, 0.7, 0.95])

    assert MIN_CORRELATION_PERIODS == 4
    assert (few.n, few.r) == (3, None) and "too few" in few.reason
    assert flat.r is None and "churn did not change" in flat.reason
    assert enough.n == 4 and enough.r == pytest.approx(
        np.corrcoef([1, 2, 3, 4], [0.8, 0.9, 0.7, 0.95])[0, 1]
    )
    assert "the opposite of what one would hope" in enough.reading


def test_only_checks_of_the_version_in_production_at_the_time_count():
    t = datetime(2026, 6, 1, tzinfo=UTC)
    spans = production_spans([(t, 1), (t + timedelta(days=10), 2), (t + timedelta(days=20), 1)])
    points = [
        MetricPoint("f1", 0.5, 1, t + timedelta(days=5)),  # v1 in production: counts
        MetricPoint("f1", 0.9, 2, t + timedelta(days=5)),  # v2 still a candidate
        MetricPoint("f1", 0.7, 2, t + timedelta(days=15)),  # v2 in production: counts
        MetricPoint("f1", 0.1, 1, t + timedelta(days=15)),  # v1 archived meanwhile
        MetricPoint("f1", 0.3, 2, t + timedelta(days=25)),  # v2 rolled back
        MetricPoint("f1", 0.6, 1, t + timedelta(days=25)),  # v1 restored: counts
        MetricPoint("f1", float("nan"), 1, t + timedelta(days=26)),
    ]
    periods = [
        (date(2026, 6, 1), date(2026, 6, 10)),
        (date(2026, 6, 11), date(2026, 6, 20)),
        (date(2026, 6, 21), date(2026, 6, 30)),
        (date(2026, 7, 1), date(2026, 7, 31)),
    ]

    assert period_means(periods, points, spans) == {"f1": [0.5, 0.7, 0.6, None]}


# --- the page -------------------------------------------------------------------------


def test_the_page_shows_kpis_quality_deployments_the_correlation_and_the_caution(
    world, users, client
):
    stored = kpi(world["model"], users["ds"], [3.2, 3.0, 2.8, 2.9, 2.5], unit="%")
    promote(world["v2"], users["ds"], days_ago=25)  # in the third period
    for i, period in enumerate(stored.values.order_by("period_start")):
        version = world["v1"] if i < 2 else world["v2"]
        check_on(version, period.period_start + timedelta(days=7), f1=0.6 + 0.05 * i)
    client.force_login(users["board"])

    response = client.get("/models/churn-classifier/business-impact/")
    page = response.content.decode()

    assert "churn (%)" in page and "Lower is better" in page
    assert page.count('<svg class="chart"') == 2  # the KPI and the quality per period
    assert page.count("deployment (1; see the table)") == 2
    for chart in (f"kpi-{stored.pk}-values", f"kpi-{stored.pk}-quality"):
        assert f'aria-labelledby="{chart}-title {chart}-desc"' in page
    assert '<link rel="stylesheet" href="/static/css/charts.css">' in page
    assert_strict(response)
    assert_nothing_inline(page)
    assert "does not say that the model moved the KPI" in page
    assert "<td>f1</td><td>5</td>" in page
    assert 'id="deployments"' in page and "Promoted to production" in page


def test_a_kpi_without_quality_checks_draws_only_the_kpi_and_says_why(world, users, client):
    kpi(world["model"], users["ds"], [3.2, 3.0, 2.8])
    client.force_login(users["validator"])

    page = client.get("/models/churn-classifier/business-impact/").content.decode()

    assert page.count('<svg class="chart"') == 1
    assert "No quality check of the production version ended in these periods." in page
    assert "no data yet." not in page


def test_a_kpi_with_three_periods_shows_no_correlation(world, users, client):
    stored = kpi(world["model"], users["ds"], [3.2, 3.0, 2.8])
    for period in stored.values.all():
        check_on(world["v1"], period.period_start, accuracy=0.8)
    client.force_login(users["validator"])

    page = client.get("/models/churn-classifier/business-impact/").content.decode()

    assert "No correlation: 3 aligned periods: too few to say anything" in page


def test_the_page_needs_read_and_an_unknown_model_is_404(world, users, client):
    client.force_login(make_user("checkout-app", "service"))
    assert client.get("/models/churn-classifier/business-impact/").status_code == 403
    client.force_login(users["ds"])
    assert client.get("/models/nope/business-impact/").status_code == 404
    empty = client.get("/models/churn-classifier/business-impact/").content.decode()
    assert 'id="no-kpis"' in empty


# --- reviews --------------------------------------------------------------------------


def test_each_promotion_to_production_schedules_a_review_due_30_days_later(world, users):
    review = BusinessImpactReview.objects.get()  # v1's, from the fixture

    event = promote(world["v2"], users["ds"])

    new = BusinessImpactReview.objects.get(deployment_event=event)
    assert (new.version, new.status) == (world["v2"], "pending")
    assert new.due_on == event.occurred_at.astimezone(UTC).date() + timedelta(days=30)
    assert review.version == world["v1"]
    scheduled = AuditEvent.objects.filter(action="impact_review.scheduled").order_by("id").last()
    assert scheduled.data["version"] == 2 and scheduled.data["due_on"] == new.due_on.isoformat()
    assert new.history.get().history_change_reason == "scheduled by promoted to production"


def test_the_delay_is_a_setting_and_a_repeated_signal_schedules_once(world, users, settings):
    settings.BUSINESS_IMPACT_REVIEW_DAYS = 7
    event = promote(world["v2"], users["ds"])

    deployment_changed.send(sender=None, model=world["model"], event=event)

    review = BusinessImpactReview.objects.get(deployment_event=event)
    assert review.due_on == event.occurred_at.astimezone(UTC).date() + timedelta(days=7)
    assert BusinessImpactReview.objects.filter(deployment_event=event).count() == 1


def test_canary_starts_and_rollbacks_schedule_nothing_a_canary_promotion_does(world, users):
    with acting_as(origin=Origin.SYSTEM), TestCase.captureOnCommitCallbacks(execute=True):
        registry.deployment_start_canary(version=world["v2"], actor=users["ds"], traffic=10)
    assert BusinessImpactReview.objects.count() == 1
    promote(world["v2"], users["ds"])  # the canary's promotion
    assert BusinessImpactReview.objects.filter(version=world["v2"]).count() == 1
    with acting_as(origin=Origin.SYSTEM), TestCase.captureOnCommitCallbacks(execute=True):
        registry.deployment_rollback(model=world["model"], actor=users["ds"], reason="worse")
    assert BusinessImpactReview.objects.count() == 2


def test_reviews_due_are_the_pending_ones_due_by_the_day(world, users, make_version):
    first = BusinessImpactReview.objects.get()
    promote(world["v2"], users["ds"])
    second = BusinessImpactReview.objects.exclude(pk=first.pk).get()
    BusinessImpactReview.objects.filter(pk=first.pk).update(due_on=TODAY - timedelta(days=3))
    v3 = make_version(world["model"])
    promote(v3, users["ds"])
    done = BusinessImpactReview.objects.get(version=v3)
    BusinessImpactReview.objects.filter(pk=done.pk).update(
        due_on=TODAY - timedelta(days=9), status="done"
    )

    due_now = impact_reviews_due(as_of=TODAY)
    due_later = impact_reviews_due(as_of=second.due_on)
    due_as_moment = impact_reviews_due(as_of=NOW)

    assert list(due_now) == [first]
    assert list(due_later) == [first, second]
    assert list(due_as_moment) == [first]


def test_the_board_completes_a_review_once_through_the_api(api, world, users):
    review = BusinessImpactReview.objects.get()
    url = f"/api/v1/business-impact-reviews/{review.pk}/complete/"

    response = api("board").post(url, {"notes": "Churn fell 0.4 points; no side effects."})
    again = api("compliance").post(url, {"notes": "Also fine."})

    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["status"], body["reviewed_by"], body["version"]) == ("done", "bella", 1)
    assert "bella" in assert_json_error(again, 409)["detail"]
    event = AuditEvent.objects.get(action="impact_review.completed")
    assert event.actor == users["board"] and event.data["notes"].startswith("Churn fell")
    listed = api("validator").get("/api/v1/business-impact-reviews/", {"status": "done"}).json()
    assert [r["id"] for r in listed["results"]] == [review.pk]


@pytest.mark.parametrize("who", ["ds", "validator", "ci"])
def test_other_roles_may_not_complete_a_review(api, world, who):
    review = BusinessImpactReview.objects.get()

    response = api(who).post(
        f"/api/v1/business-impact-reviews/{review.pk}/complete/", {"notes": "ok"}
    )

    assert_json_error(response, 403)
    assert BusinessImpactReview.objects.get().status == "pending"


def test_a_review_without_notes_or_unknown_is_refused(api, world):
    review = BusinessImpactReview.objects.get()

    blank = api("board").post(
        f"/api/v1/business-impact-reviews/{review.pk}/complete/", {"notes": "  "}
    )
    unknown = api("board").post("/api/v1/business-impact-reviews/999999/complete/", {"notes": "x"})
    bad_filter = api("board").get("/api/v1/business-impact-reviews/", {"due_by": "soon"})

    assert "notes" in assert_json_error(blank, 400)
    assert_json_error(unknown, 404)
    assert_json_error(bad_filter, 400)
    assert_json_error(api("board").get("/api/v1/business-impact-reviews/999999/"), 404)
    assert BusinessImpactReview.objects.get().status == "pending"


def test_the_page_completes_a_review_for_the_board_and_not_for_others(world, users, client):
    review = BusinessImpactReview.objects.get()
    url = f"/models/churn-classifier/business-impact/reviews/{review.pk}/complete/"
    client.force_login(users["ds"])
    page = client.get("/models/churn-classifier/business-impact/").content.decode()
    assert "Complete the review" not in page
    assert client.post(url, {"notes": "fine"}).status_code == 403

    client.force_login(users["board"])
    assert (
        "Complete the review"
        in client.get("/models/churn-classifier/business-impact/").content.decode()
    )
    blank = client.post(url, {"notes": ""}, follow=True).content.decode()
    done = client.post(url, {"notes": "Revenue held up."}, follow=True).content.decode()

    assert "Say what the review found" in blank
    assert "recorded as done" in done and "Revenue held up." in done
    assert BusinessImpactReview.objects.get().reviewed_by == users["board"]


def test_another_models_page_does_not_complete_a_review(world, users, client, make_model):
    review = BusinessImpactReview.objects.get()
    make_model(name="fraud-detector")
    client.force_login(users["board"])

    refused = client.post(
        f"/models/fraud-detector/business-impact/reviews/{review.pk}/complete/",
        {"notes": "Wrong page."},
        follow=True,
    ).content.decode()

    assert f"No business-impact review #{review.pk} of fraud-detector." in refused
    assert BusinessImpactReview.objects.get().status == BusinessImpactReview.Status.PENDING
