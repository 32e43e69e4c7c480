"""Any admin list exports as CSV: the selected rows (or the whole filtered list) in the
list's columns as shown; formulas quoted; each export on the audit trail."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.test import Client
from django.urls import reverse

from governance.admin_export import csv_cell
from governance.audit_context import Origin, acting_as
from governance.models import AuditEvent
from reviews import services as reviews
from reviews.models import SignOff

pytestmark = pytest.mark.django_db


@pytest.fixture
def sign_offs(users: dict[str, Any], make_model: Any, make_version: Any) -> list[SignOff]:
    made = []
    for name in ("churn", "credit"):
        version = make_version(make_model(name=name, risk_tier="low"))
        with acting_as(origin=Origin.SYSTEM):
            request = reviews.promotion_request_create(
                actor=users["ds"], version=version, justification="x"
            )
            made.append(
                reviews.signoff_create(
                    actor=users["validator"],
                    request_id=request.pk,
                    decision="approve",
                    comment='=HYPERLINK("http://evil")',
                )
            )
    return made


def export(client: Client, url: str, pks: list[int], **params: str) -> Any:
    query = "?" + "&".join(f"{k}={v}" for k, v in params.items()) if params else ""
    return client.post(
        url + query,
        {"action": "export_as_csv", ACTION_CHECKBOX_NAME: [str(pk) for pk in pks], "index": 0},
    )


@pytest.mark.parametrize(
    ("value", "cell"),
    [("=1+2", "'=1+2"), ("-3", "'-3"), ("@SUM(A1)", "'@SUM(A1)"), ("plain", "plain"), (3, "3")],
)
def test_cells_a_spreadsheet_would_run_are_quoted(value: Any, cell: str) -> None:
    assert csv_cell(value) == cell


def test_a_compliance_officer_exports_the_selected_sign_offs(users, sign_offs) -> None:
    client = Client()
    client.force_login(users["compliance"])
    url = reverse("admin:reviews_signoff_changelist")
    assert "Export selected as CSV" in client.get(url).content.decode()

    response = export(client, url, [sign_offs[0].pk])

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="signoff-')
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert len(rows) == 2  # the header and the one selected row
    header, row = rows
    assert header == ["sign off", "request", "signer", "decision", "signer roles", "signed at"]
    assert row[2:5] == ["vera", "Approve", "validator"]  # roles as words, not JSON
    event = AuditEvent.objects.get(action="admin.exported")
    assert event.actor_id == users["compliance"].pk
    assert (event.object_type, event.data["rows"]) == ("reviews.signoff", 1)


def test_select_all_exports_the_filtered_list_and_records_the_filter(users, sign_offs) -> None:
    client = Client()
    client.force_login(users["compliance"])
    url = reverse("admin:reviews_signoff_changelist")
    response = client.post(
        url + "?decision__exact=approve",
        {
            "action": "export_as_csv",
            "select_across": "1",
            "index": 0,
            ACTION_CHECKBOX_NAME: [str(sign_offs[0].pk)],
        },
    )
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert len(rows) == 3
    event = AuditEvent.objects.get(action="admin.exported")
    assert event.data["filters"] == {"decision__exact": "approve"}


def test_someone_who_may_not_use_the_admin_exports_nothing(users, sign_offs) -> None:
    client = Client()
    client.force_login(users["board"])
    response = export(client, reverse("admin:reviews_signoff_changelist"), [sign_offs[0].pk])
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
    assert not AuditEvent.objects.filter(action="admin.exported").exists()
