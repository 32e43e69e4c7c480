"""Export any admin list as CSV: the rows a compliance officer selected (or, with "select
all", every row of the filtered list), in the list's columns as the list shows them.

A site-wide admin action, so every list has it; it reads, never writes. Each export is an
audit event (who, which list, how many rows, the filters), and a cell that a spreadsheet
would run as a formula is quoted.

An admin keeps it by leaving `actions` alone: `actions = None` would hide it too. To offer
no bulk delete, an admin refuses delete permission; Django then leaves "Delete selected" out.
"""

from __future__ import annotations

import csv
from typing import Any

from django.contrib import admin
from django.contrib.admin.utils import (
    display_for_field,
    display_for_value,
    label_for_field,
    lookup_field,
)
from django.db.models import Model, QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.html import strip_tags

from governance.audit.chain import audit_record

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
EMPTY = ""


def csv_cell(value: Any) -> str:
    """Text for one cell; a leading =, +, -, @ would run as a formula in a spreadsheet."""
    text = strip_tags(str(value)).strip()
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def _columns(model_admin: admin.ModelAdmin, request: HttpRequest) -> list[str]:
    return [name for name in model_admin.get_list_display(request) if name != "action_checkbox"]


def _cell(name: str, obj: Model, model_admin: admin.ModelAdmin) -> str:
    field, attr, value = lookup_field(name, obj, model_admin)
    if field is not None and not getattr(field, "many_to_many", False):
        shown = display_for_field(value, field, EMPTY)
    else:
        boolean = getattr(attr, "boolean", False)
        shown = display_for_value(value, EMPTY, boolean=boolean)
    return csv_cell(shown)


@admin.action(description="Export selected as CSV")
def export_as_csv(
    model_admin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet
) -> HttpResponse:
    opts = model_admin.model._meta
    columns = _columns(model_admin, request)
    stamp = timezone.now().strftime("%Y%m%dT%H%M%SZ")
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{opts.model_name}-{stamp}.csv"'
    writer = csv.writer(response)
    writer.writerow(
        [csv_cell(label_for_field(name, model_admin.model, model_admin)) for name in columns]
    )
    count = 0
    for obj in queryset:
        writer.writerow([_cell(name, obj, model_admin) for name in columns])
        count += 1
    filters = {key: value for key, value in request.GET.items() if key != "o"}
    audit_record(
        action="admin.exported",
        object_type=opts.label_lower,
        object_id="",
        data={"rows": count, "columns": columns, "filters": filters},
        actor=request.user,
    )
    return response
