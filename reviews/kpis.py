"""Business KPIs, every change: recorded through the API, corrected in the admin.

- `kpi_record` (the API): one KPI, a batch of periods, all or nothing. A new KPI needs its
  direction; an existing one keeps its unit and direction (sending others is a 400: they
  are changed in the admin, where history keeps the change). A period equal to a stored one
  corrects its value; one that overlaps a stored or another sent period is a 400.
- `kpi_edit` and `kpi_value_edit` (the admin): the same checks, one row at a time.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from governance.errors import Conflict, InvalidInput
from governance.history import set_change_reason
from governance.roles import Capability
from governance.services import audit_record, require
from models_registry.models import RegisteredModel
from reviews.impact_analysis import utc_day
from reviews.impact_models import BusinessKpi, KpiValue

MAX_PERIODS = 1000
MAX_PERIOD_DAYS = 366
MAX_LISTED = 100
ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


@dataclass(frozen=True)
class KpiReceipt:
    kpi: BusinessKpi
    created: int
    updated: int
    unchanged: int


def _date(value: Any) -> date | str:
    """The date, or why it is not one."""
    if isinstance(value, date):
        return value
    if not isinstance(value, str) or not ISO_DATE.fullmatch(value):
        return "A date as YYYY-MM-DD."
    try:
        return date.fromisoformat(value)
    except ValueError:
        return "Not a date of the calendar."


def period_problems(start: Any, end: Any, value: Any) -> dict[str, list[str]]:
    """What is wrong with one period on its own (no other period consulted)."""
    errors: dict[str, list[str]] = {}
    first, last = _date(start), _date(end)
    for key, parsed in (("start", first), ("end", last)):
        if isinstance(parsed, str):
            errors[key] = [parsed]
    if isinstance(first, date) and isinstance(last, date):
        if last < first:
            errors["end"] = ["The period ends before it starts."]
        elif (last - first).days + 1 > MAX_PERIOD_DAYS:
            errors["end"] = [f"A period is at most {MAX_PERIOD_DAYS} days."]
        elif last > utc_day(timezone.now()):
            errors["end"] = ["A KPI reports what happened: the period may not end in the future."]
    if isinstance(value, bool) or not isinstance(value, int | float):
        errors["value"] = ["A number is required."]
    elif not abs(value) <= 1.7976931348623157e308:  # NaN, infinities, ints beyond a float
        errors["value"] = ["Not a finite number."]
    return errors


def _overlaps(a: tuple[date, date], b: tuple[date, date]) -> bool:
    return a[0] <= b[1] and b[0] <= a[1]


def _periods(raw: Any) -> tuple[list[tuple[date, date, float]], dict[str, dict[str, list[str]]]]:
    """The periods sent, checked alone and against each other; errors by index."""
    if not isinstance(raw, list) or not raw:
        return [], {"": {"periods": ["A list of 1 or more periods is required."]}}
    if len(raw) > MAX_PERIODS:
        return [], {"": {"periods": [f"At most {MAX_PERIODS} periods per request."]}}
    errors: dict[str, dict[str, list[str]]] = {}
    parsed: list[tuple[date, date, float]] = []
    seen: list[tuple[int, tuple[date, date]]] = []
    for index, row in enumerate(raw):
        if not isinstance(row, dict):
            errors[str(index)] = {"non_field_errors": ["Expected an object: start, end, value."]}
            continue
        problems = {key: ["Unknown field."] for key in sorted(set(row) - {"start", "end", "value"})}
        problems |= period_problems(row.get("start"), row.get("end"), row.get("value"))
        if not problems:
            span = (_date(row["start"]), _date(row["end"]))
            twin = next((i for i, other in seen if _overlaps(span, other)), None)
            if twin is not None:
                problems["start"] = [f"Overlaps period {twin} of this request."]
            seen.append((index, span))
            parsed.append((span[0], span[1], float(row["value"])))
        if problems:
            errors[str(index)] = problems
    return parsed, errors


def _definition_problems(
    kpi: BusinessKpi | None, unit: Any, direction: Any, description: Any
) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    if unit is not None and (not isinstance(unit, str) or len(unit.strip()) > 50):
        errors["unit"] = ["A text of at most 50 characters."]
    if direction is not None and direction not in BusinessKpi.Direction.values:
        errors["direction"] = ["higher or lower (which way is better)."]
    if description is not None and (not isinstance(description, str) or len(description) > 2000):
        errors["description"] = ["A text of at most 2000 characters."]
    if kpi is None:
        if direction is None:
            errors["direction"] = ["Required for a new KPI: higher or lower (which is better)."]
        return errors
    for field, given in (("unit", unit), ("direction", direction)):
        stored = getattr(kpi, field)
        if isinstance(given, str) and field not in errors and given.strip() != stored:
            errors[field] = [
                f"{kpi.name} is recorded with {field} {stored!r}; change it in the admin "
                "(its history keeps the change), or leave it out."
            ]
    return errors


def _stored_overlaps(
    kpi: BusinessKpi | None, parsed: list[tuple[date, date, float]]
) -> tuple[dict[tuple[date, date], KpiValue], dict[str, dict[str, list[str]]]]:
    stored = {(v.period_start, v.period_end): v for v in kpi.values.all()} if kpi else {}
    errors: dict[str, dict[str, list[str]]] = {}
    for index, (start, end, _) in enumerate(parsed):
        if (start, end) in stored:
            continue
        clash = next((span for span in stored if _overlaps((start, end), span)), None)
        if clash is not None:
            errors[str(index)] = {
                "start": [f"Overlaps the stored period {clash[0]}..{clash[1]} of this KPI."]
            }
    return stored, errors


def _refuse(fields: dict[str, list[str]], periods: dict[str, dict[str, list[str]]]) -> None:
    if not fields and not periods:
        return
    extra: dict[str, Any] = dict(fields)
    if "" in periods:
        extra.update(periods.pop(""))
    if periods:
        extra["periods"] = dict(list(periods.items())[:MAX_LISTED])
    named = ", ".join(sorted(extra))
    raise InvalidInput(f"Invalid KPI ({named}); nothing was stored.", extra=extra)


@transaction.atomic
def kpi_record(
    *,
    actor: Any,
    model: RegisteredModel,
    name: Any,
    periods: Any,
    unit: Any = None,
    direction: Any = None,
    description: Any = None,
) -> KpiReceipt:
    """Store one KPI's values for a batch of periods, all or nothing (see module doc)."""
    require(actor, Capability.RECORD_KPIS, "record business KPIs")
    name = name.strip() if isinstance(name, str) else ""
    fields: dict[str, list[str]] = {}
    if not 1 <= len(name) <= 100:
        fields["name"] = ["A name of 1 to 100 characters."]
    kpi = BusinessKpi.objects.select_for_update().filter(model=model, name=name).first()
    fields |= _definition_problems(kpi, unit, direction, description)
    parsed, period_errors = _periods(periods)
    stored, clashes = _stored_overlaps(kpi, parsed) if not period_errors else ({}, {})
    _refuse(fields, period_errors or clashes)
    created = kpi is None
    if kpi is None:
        kpi = BusinessKpi(
            model=model,
            name=name,
            unit=(unit or "").strip(),
            direction=direction,
            description=description or "",
            created_by=actor,
        )
        set_change_reason(kpi, "recorded through the API")
        try:
            with transaction.atomic():
                kpi.save()
        except IntegrityError:
            raise Conflict(f"{name} was created by another request just now: send again.") from None
    elif description is not None and description != kpi.description:
        kpi.description = description
        set_change_reason(kpi, "description recorded through the API")
        kpi.save(update_fields=["description"])
    added, corrected, unchanged = [], [], 0
    for start, end, value in parsed:
        row = stored.get((start, end))
        if row is not None and row.value == value:
            unchanged += 1
            continue
        if row is None:
            row = KpiValue(kpi=kpi, period_start=start, period_end=end)
            added.append([start.isoformat(), end.isoformat(), value])
        else:
            corrected.append(
                {"period": [start.isoformat(), end.isoformat()], "old": row.value, "new": value}
            )
        row.value, row.recorded_by = value, actor
        set_change_reason(
            row, "recorded through the API" if row.pk is None else "corrected through the API"
        )
        row.save()
    audit_record(
        action="kpi.recorded",
        object_type="business_kpi",
        object_id=kpi.pk,
        data={
            "model": model.name,
            "kpi": kpi.name,
            "unit": kpi.unit,
            "direction": kpi.direction,
            "kpi_created": created,
            "created": added[:MAX_LISTED],
            "updated": corrected[:MAX_LISTED],
            "unchanged": unchanged,
        },
        actor=actor,
    )
    return KpiReceipt(kpi=kpi, created=len(added), updated=len(corrected), unchanged=unchanged)


@transaction.atomic
def kpi_edit(
    *, actor: Any, kpi: BusinessKpi, unit: str, direction: str, description: str
) -> BusinessKpi:
    """Change a KPI's unit, direction or description (the admin), on record."""
    require(actor, Capability.RECORD_KPIS, "change business KPIs")
    stored = BusinessKpi.objects.select_for_update().get(pk=kpi.pk)
    problems = _definition_problems(None, unit, direction or None, description)
    if problems:
        raise InvalidInput("Invalid KPI: " + ", ".join(problems) + ".", extra=problems)
    new = {"unit": unit.strip(), "direction": direction, "description": description}
    changes = {
        key: {"old": getattr(stored, key), "new": value}
        for key, value in new.items()
        if getattr(stored, key) != value
    }
    if changes:
        for key, value in new.items():
            setattr(stored, key, value)
        set_change_reason(stored, "edited in the admin")
        stored.save()
        audit_record(
            action="kpi.edited",
            object_type="business_kpi",
            object_id=stored.pk,
            data={"model": stored.model.name, "kpi": stored.name, "changes": changes},
            actor=actor,
        )
    return stored


def kpi_value_problems(
    *, kpi: BusinessKpi, start: Any, end: Any, value: Any, pk: int | None
) -> dict[str, list[str]]:
    """What is wrong with one (edited) value of `kpi`, other stored periods included."""
    problems = period_problems(start, end, value)
    if problems:
        return problems
    others = KpiValue.objects.filter(kpi=kpi).exclude(pk=pk)
    clash = others.filter(period_start__lte=end, period_end__gte=start).first()
    if clash is not None:
        return {"period_start": [f"Overlaps {clash.period_start}..{clash.period_end}."]}
    return {}


@transaction.atomic
def kpi_value_edit(
    *, actor: Any, value_id: int, period_start: date, period_end: date, value: float
) -> KpiValue:
    """Correct one KPI value or its period (the admin), on record; overlaps refused."""
    require(actor, Capability.RECORD_KPIS, "correct business KPIs")
    row = KpiValue.objects.select_for_update().select_related("kpi__model").get(pk=value_id)
    BusinessKpi.objects.select_for_update().filter(pk=row.kpi_id).first()  # one edit at a time
    problems = kpi_value_problems(
        kpi=row.kpi, start=period_start, end=period_end, value=value, pk=row.pk
    )
    if problems:
        raise InvalidInput("Invalid KPI value: " + ", ".join(problems) + ".", extra=problems)
    new = {"period_start": period_start, "period_end": period_end, "value": float(value)}
    changes = {
        key: {"old": str(getattr(row, key)), "new": str(new_value)}
        for key, new_value in new.items()
        if getattr(row, key) != new_value
    }
    if changes:
        for key, new_value in new.items():
            setattr(row, key, new_value)
        row.recorded_by = actor
        set_change_reason(row, "corrected in the admin")
        row.save()
        audit_record(
            action="kpi.value_edited",
            object_type="business_kpi",
            object_id=row.kpi_id,
            data={
                "model": row.kpi.model.name,
                "kpi": row.kpi.name,
                "value": row.pk,
                "changes": changes,
            },
            actor=actor,
        )
    return row
