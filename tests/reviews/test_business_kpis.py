"""POST/GET /api/v1/models/{name}/kpis/: one KPI, a batch of periods, all or nothing; and
corrections in the admin, with history and an audit event."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from django.utils import timezone

from governance.models import AuditEvent
from reviews.impact_models import BusinessKpi, KpiValue
from tests.conftest import assert_json_error, make_user

URL = "/api/v1/models/churn-classifier/kpis/"
TODAY = timezone.now().date()


def month(offset: int) -> tuple[str, str]:
    """A 30-day period ending `offset` periods before yesterday."""
    end = TODAY - timedelta(days=1 + 30 * offset)
    return (end - timedelta(days=29)).isoformat(), end.isoformat()


def periods(*values: float) -> list[dict[str, Any]]:
    """One period per value, oldest first, each 30 days, the last ending yesterday."""
    count = len(values)
    return [
        {"start": month(count - 1 - i)[0], "end": month(count - 1 - i)[1], "value": value}
        for i, value in enumerate(values)
    ]


@pytest.fixture
def model(make_model, make_version) -> Any:
    model = make_model()
    make_version(model)
    return model


def post(api: Any, body: Any, who: str = "ci") -> Any:
    return api(who).post(URL, body, format="json")


CHURN = {"name": "monthly_churn", "unit": "%", "direction": "lower"}


def test_ci_records_a_new_kpi_with_its_periods(api, model, users):
    response = post(
        api, {**CHURN, "description": "Share of customers lost", "periods": periods(3.1, 2.9)}
    )

    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["created"], body["updated"], body["unchanged"]) == (2, 0, 0)
    assert body["kpi"]["name"] == "monthly_churn" and body["kpi"]["direction"] == "lower"
    assert [v["value"] for v in body["kpi"]["values"]] == [3.1, 2.9]
    kpi = BusinessKpi.objects.get()
    assert (kpi.unit, kpi.created_by) == ("%", users["ci"])
    assert kpi.history.count() == 1 and KpiValue.history.count() == 2
    event = AuditEvent.objects.get(action="kpi.recorded")
    assert event.actor == users["ci"] and event.data["kpi_created"] is True
    assert len(event.data["created"]) == 2


@pytest.mark.parametrize("who", ["ds", "compliance"])
def test_data_scientists_and_compliance_record_kpis_too(api, model, who):
    assert post(api, {**CHURN, "periods": periods(3.0)}, who=who).status_code == 201


@pytest.mark.parametrize("who", ["validator", "board", "outsider"])
def test_other_roles_get_403_and_store_nothing(api, model, who):
    assert_json_error(post(api, {**CHURN, "periods": periods(3.0)}, who=who), 403)
    assert not BusinessKpi.objects.exists()


def test_the_service_role_and_anonymous_callers_are_refused(api, model, users):
    users["service"] = make_user("checkout-app", "service")

    assert_json_error(post(api, {**CHURN, "periods": periods(3.0)}, who="service"), 403)
    assert_json_error(post(api, {**CHURN, "periods": periods(3.0)}, who=None), 401)
    assert_json_error(api("service").get(URL), 403)


def test_an_unknown_model_is_a_404(api, model):
    response = api("ci").post("/api/v1/models/nope/kpis/", {**CHURN, "periods": periods(1)})

    assert_json_error(response, 404)


FUTURE = (TODAY + timedelta(days=3)).isoformat()


@pytest.mark.parametrize(
    ("period", "field"),
    [
        ({"start": "2025-10-10", "end": "2025-10-01", "value": 1}, "end"),
        ({"start": "2025-10-01", "end": FUTURE, "value": 1}, "end"),
        ({"start": "01/10/2025", "end": "2025-10-31", "value": 1}, "start"),
        ({"start": "2025-02-30", "end": "2025-03-31", "value": 1}, "start"),
        ({"start": "2024-01-01", "end": "2025-06-30", "value": 1}, "end"),
        ({"start": "2025-10-01", "end": "2025-10-31", "value": "3.2"}, "value"),
        ({"start": "2025-10-01", "end": "2025-10-31", "value": True}, "value"),
        ({"start": "2025-10-01", "end": "2025-10-31"}, "value"),
        ({"start": "2025-10-01", "end": "2025-10-31", "value": 1, "note": "x"}, "note"),
    ],
)
def test_one_bad_period_is_a_400_naming_its_index_and_nothing_is_stored(api, model, period, field):
    good = {"start": "2025-09-01", "end": "2025-09-30", "value": 2.0}

    response = post(api, {**CHURN, "periods": [good, period]})

    body = assert_json_error(response, 400)
    assert field in body["periods"]["1"], body
    assert "0" not in body["periods"]
    assert not BusinessKpi.objects.exists() and not KpiValue.objects.exists()


def test_overlapping_periods_in_one_batch_are_refused(api, model):
    response = post(
        api,
        {
            **CHURN,
            "periods": [
                {"start": "2025-09-01", "end": "2025-09-30", "value": 2.0},
                {"start": "2025-09-15", "end": "2025-10-14", "value": 2.5},
            ],
        },
    )

    assert "Overlaps period 0" in assert_json_error(response, 400)["periods"]["1"]["start"][0]
    assert not KpiValue.objects.exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "new_kpi", "periods": periods(1)}, "direction"),  # a new KPI needs it
        ({**CHURN, "direction": "sideways", "periods": periods(1)}, "direction"),
        ({**CHURN, "name": "", "periods": periods(1)}, "name"),
        ({**CHURN, "periods": []}, "periods"),
        ({**CHURN}, "periods"),
        ({**CHURN, "periods": "2026-10"}, "periods"),
        ({**CHURN, "owner": "x", "periods": periods(1)}, "owner"),
    ],
)
def test_a_bad_kpi_is_a_400_naming_the_field(api, model, body, field):
    assert field in assert_json_error(post(api, body), 400)
    assert not BusinessKpi.objects.exists()


def test_an_existing_kpi_keeps_its_unit_and_direction(api, model):
    post(api, {**CHURN, "periods": periods(3.0)})

    other_unit = post(api, {**CHURN, "unit": "per mille", "periods": periods(3.0, 2.0)})
    other_direction = post(api, {**CHURN, "direction": "higher", "periods": periods(3.0, 2.0)})
    left_out = post(api, {"name": "monthly_churn", "periods": periods(3.0, 2.0)})

    assert "admin" in assert_json_error(other_unit, 400)["unit"][0]
    assert "direction" in assert_json_error(other_direction, 400)
    assert left_out.status_code == 201 and left_out.json()["created"] == 1
    assert BusinessKpi.objects.get().unit == "%"


def test_a_period_sent_again_corrects_its_value_and_an_overlapping_one_is_refused(api, model):
    post(api, {**CHURN, "periods": periods(3.0, 2.0)})
    before = list(KpiValue.objects.values_list("pk", flat=True))

    corrected = post(api, {**CHURN, "periods": periods(3.0, 2.4)})
    start, end = month(0)
    shifted = post(api, {**CHURN, "periods": [{"start": start, "end": FUTURE, "value": 1}]})
    overlap_start = (date.fromisoformat(start) + timedelta(days=5)).isoformat()
    overlapping = post(
        api, {**CHURN, "periods": [{"start": overlap_start, "end": end, "value": 1}]}
    )

    assert corrected.json()["updated"] == 1 and corrected.json()["unchanged"] == 1
    assert assert_json_error(shifted, 400)["periods"]["0"]["end"]
    assert (
        "Overlaps the stored period"
        in assert_json_error(overlapping, 400)["periods"]["0"]["start"][0]
    )
    assert list(KpiValue.objects.values_list("pk", flat=True)) == before
    latest = KpiValue.objects.get(period_end=end)
    assert latest.value == 2.4 and latest.history.count() == 2
    event = AuditEvent.objects.filter(action="kpi.recorded").order_by("id").last()
    assert event.data["updated"] == [{"period": [start, end], "old": 2.0, "new": 2.4}]


def test_readers_list_the_models_kpis_with_their_values(api, model):
    post(api, {**CHURN, "periods": periods(3.0, 2.0)})
    post(api, {"name": "revenue", "unit": "EUR", "direction": "higher", "periods": periods(9.5)})

    everything = api("validator").get(URL).json()
    revenue = api("board").get(URL, {"name": "revenue"}).json()

    assert [k["name"] for k in everything["results"]] == ["monthly_churn", "revenue"]
    assert revenue["count"] == 1 and revenue["results"][0]["values"][0]["value"] == 9.5


# --- the admin ------------------------------------------------------------------------


def test_compliance_corrects_a_value_in_the_admin_on_record(api, model, users, client):
    post(api, {**CHURN, "periods": periods(3.0, 2.0)})
    value = KpiValue.objects.order_by("period_start").last()
    client.force_login(users["compliance"])
    url = f"/admin/reviews/kpivalue/{value.pk}/change/"
    form = {"period_start": value.period_start, "period_end": value.period_end, "value": "2.2"}

    saved = client.post(url, form)

    assert saved.status_code == 302, saved.content.decode()[:2000]
    value.refresh_from_db()
    assert value.value == 2.2 and value.recorded_by == users["compliance"]
    history = value.history.order_by("history_id").last()
    assert (history.history_change_reason, history.history_origin) == (
        "corrected in the admin",
        "admin",
    )
    event = AuditEvent.objects.get(action="kpi.value_edited")
    assert event.data["changes"] == {"value": {"old": "2.0", "new": "2.2"}}


def test_an_overlapping_correction_is_shown_on_the_form_and_stores_nothing(
    api, model, users, client
):
    post(api, {**CHURN, "periods": periods(3.0, 2.0)})
    first, second = KpiValue.objects.order_by("period_start")
    client.force_login(users["compliance"])
    form = {
        "period_start": first.period_start,
        "period_end": second.period_start + timedelta(days=2),
        "value": "3.0",
    }

    refused = client.post(f"/admin/reviews/kpivalue/{first.pk}/change/", form)

    assert refused.status_code == 200 and "Overlaps" in refused.content.decode()
    first.refresh_from_db()
    assert first.period_end < second.period_start and first.history.count() == 1


def test_compliance_changes_a_kpis_direction_in_the_admin_with_history(api, model, users, client):
    post(api, {**CHURN, "periods": periods(3.0)})
    kpi = BusinessKpi.objects.get()
    client.force_login(users["compliance"])
    form = {
        "unit": "%",
        "direction": "higher",
        "description": "inverted by mistake",
        "values-TOTAL_FORMS": "1",
        "values-INITIAL_FORMS": "1",
        "values-MIN_NUM_FORMS": "0",
        "values-MAX_NUM_FORMS": "1000",
        "values-0-id": KpiValue.objects.get().pk,
        "values-0-kpi": kpi.pk,
    }

    saved = client.post(f"/admin/reviews/businesskpi/{kpi.pk}/change/", form)

    assert saved.status_code == 302, saved.content.decode()[:3000]
    kpi.refresh_from_db()
    assert kpi.direction == "higher" and kpi.history.count() == 2
    changes = AuditEvent.objects.get(action="kpi.edited").data["changes"]
    assert changes["direction"] == {"old": "lower", "new": "higher"}


def test_kpis_cannot_be_added_or_deleted_in_the_admin(api, model, users, client):
    post(api, {**CHURN, "periods": periods(3.0)})
    kpi = BusinessKpi.objects.get()
    client.force_login(users["compliance"])

    assert client.get("/admin/reviews/businesskpi/add/").status_code == 403
    assert (
        client.post(f"/admin/reviews/businesskpi/{kpi.pk}/delete/", {"post": "yes"}).status_code
        == 403
    )
    assert BusinessKpi.objects.exists()
