"""What served calls of one version did in a time window, computed by the database.

Requests, errors, p95 latency, accuracy against ground truth, positive rates per protected
group: canary gates compare two versions with these, and later checks (performance,
fairness over time) will reuse them. Every statistic is an aggregate, a join or one ordered
two-row slice, so a busy window costs the database a scan and a sort, never a Python loop
over its rows. By default only calls served here count (`served_only=True`): the canary
compares slots, and logged calls of models served elsewhere are not split by slot. Alert
rules pass `served_only=False` to measure what the version did whichever way its calls
reached us; logged calls carry no latency and no error, so the error rate is over served
calls only (None without any) and p95 over calls with a latency (None without any).

slot_measure measures one version in one window; windows_measure measures every version in
many windows at once (the health page's hours), in three queries however many there are.
Both count with CALL_COUNTS, place p95 with p95_position, join labels with _labelled_totals
and turn the totals into a SlotMeasurement with `measurement`, so a window is measured one
way whichever of them reads it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from django.db import connections
from django.db.models import (
    Case,
    Count,
    F,
    FloatField,
    IntegerField,
    Max,
    Min,
    Q,
    QuerySet,
    Value,
    When,
    Window,
)
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Coalesce, Floor, RowNumber

from models_registry.models import ModelVersion, Prediction, RegisteredModel
from monitoring.models import GroundTruth

# A prediction at or above this is the positive class (binary classifiers output P(y=1)).
POSITIVE_THRESHOLD = 0.5

# A group this small says more about chance than about the model: it takes no part in the
# fairness gap (so a handful of calls cannot roll a canary back on its own).
MIN_GROUP_CALLS = 10


@dataclass(frozen=True)
class SlotMeasurement:
    """What one version did in the window."""

    version: int
    requests: int
    errors: int
    error_rate: float | None
    p95_latency_ms: float | None
    labelled: int
    binary_labels: bool
    accuracy: float | None


@dataclass(frozen=True)
class GroupRates:
    """Positive-prediction rate per value of one protected attribute, on the canary."""

    attribute: str
    groups: dict[str, dict[str, float]]
    gap: float
    highest: str
    lowest: str


def window_rows(
    *,
    model: RegisteredModel,
    version: ModelVersion,
    start: datetime,
    end: datetime,
    served_only: bool = True,
) -> QuerySet[Prediction]:
    """Calls of `version` in (start, end]: served here only, or logged ones too; uses the
    (version, occurred_at) index either way."""
    return _calls(model=model, start=start, end=end, served_only=served_only).filter(
        version=version
    )


def _calls(
    *, model: RegisteredModel, start: datetime, end: datetime, served_only: bool
) -> QuerySet[Prediction]:
    rows = Prediction.objects.filter(model=model, occurred_at__gt=start, occurred_at__lte=end)
    return rows.filter(source=Prediction.Source.SERVED) if served_only else rows


ANSWERED = Q(error="", prediction__isnull=False)

# What a measurement counts of its calls, as aggregates: `requests` every call, `served`
# those served here (the only ones that can report an error), `timed` those with a latency.
CALL_COUNTS = {
    "requests": Count("pk"),
    "served": Count("pk", filter=Q(source=Prediction.Source.SERVED)),
    "errors": Count("pk", filter=~Q(error="")),
    "timed": Count("latency_ms"),
}

# numpy.percentile's default method: linear interpolation between the two values around
# position (n - 1) * q of the sorted values.
P95 = 0.95


def p95_position(timed: int) -> tuple[int, float]:
    """(index of the lower of the two sorted latencies p95 lies between, how far towards
    the next one), among `timed` latencies."""
    position = (timed - 1) * P95
    lower = math.floor(position)
    return lower, position - lower


def p95_between(values: Sequence[float], towards_next: float) -> float:
    """p95 from the latency at its lower index and the next one (absent when it is the last)."""
    if len(values) == 1:
        return values[0]
    return values[0] + (values[1] - values[0]) * towards_next


def _p95(rows: QuerySet[Prediction], timed: int) -> float | None:
    """The 95th percentile of latency_ms: two rows of the sorted window, found by offset."""
    if timed == 0:
        return None
    lower, towards_next = p95_position(timed)
    values = list(
        rows.filter(latency_ms__isnull=False)
        .order_by("latency_ms")
        .values_list("latency_ms", flat=True)[lower : lower + 2]
    )
    return p95_between(values, towards_next)


@dataclass(frozen=True)
class Labelled:
    """Answered calls with ground truth: how many, how many labels are not 0 or 1, and how
    many predictions were right."""

    labelled: int = 0
    non_binary: int = 0
    correct: int = 0


def _labelled_totals(
    rows: QuerySet[Prediction], keys: Sequence[str] = ()
) -> dict[tuple[int, ...], Labelled]:
    """Labelled totals of the answered calls among `rows`, per value of their integer
    annotations `keys` (one total under () without keys).

    GroundTruth has no relation to Prediction that the ORM could join on, and a correlated
    subquery looks a label up per row; a plain join on (model, request_id) lets the database
    hash-join instead (ten times faster on a million-call window).
    """
    answered = (
        rows.filter(ANSWERED).order_by().values("model_id", "request_id", "prediction", *keys)
    )
    sql, params = answered.query.get_compiler(using=rows.db).as_sql()
    connection = connections[rows.db]
    truth = connection.ops.quote_name(GroundTruth._meta.db_table)
    columns = "".join(f"p.{connection.ops.quote_name(key)}, " for key in keys)
    group_by = f" GROUP BY {columns[:-2]}" if keys else ""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {columns}COUNT(*), "
            "COALESCE(SUM(CASE WHEN g.label IN (0, 1) THEN 0 ELSE 1 END), 0), "
            "COALESCE(SUM(CASE WHEN (g.label = 1 AND p.prediction >= %s) "
            "OR (g.label = 0 AND p.prediction < %s) THEN 1 ELSE 0 END), 0) "
            f"FROM ({sql}) p JOIN {truth} g "
            f"ON g.model_id = p.model_id AND g.request_id = p.request_id{group_by}",
            [POSITIVE_THRESHOLD, POSITIVE_THRESHOLD, *params],
        )
        found = cursor.fetchall()
    width = len(keys)
    return {
        tuple(int(k) for k in row[:width]): Labelled(*(int(n) for n in row[width:]))
        for row in found
        if row[width]
    }


def measurement(
    *, version: int, counts: dict[str, int], p95: float | None, labelled: Labelled
) -> SlotMeasurement:
    """The measurement of a window from its CALL_COUNTS, p95 and labelled totals: the error
    rate is over the served calls, accuracy only over binary labels."""
    served, errors = counts["served"], counts["errors"]
    binary = labelled.non_binary == 0
    return SlotMeasurement(
        version=version,
        requests=counts["requests"],
        errors=errors,
        error_rate=errors / served if served else None,
        p95_latency_ms=p95,
        labelled=labelled.labelled,
        binary_labels=binary,
        accuracy=labelled.correct / labelled.labelled if labelled.labelled and binary else None,
    )


def slot_measure(
    *,
    model: RegisteredModel,
    version: ModelVersion,
    start: datetime,
    end: datetime,
    served_only: bool = True,
) -> SlotMeasurement:
    """Requests, errors, p95 latency and, joined with ground truth, accuracy of one version.

    `requests` counts every call in `rows`; the error rate is over the served ones, since
    only a call served here can report that it failed (all of them when served_only)."""
    rows = window_rows(model=model, version=version, start=start, end=end, served_only=served_only)
    counts = rows.aggregate(**CALL_COUNTS)
    return measurement(
        version=version.version,
        counts=counts,
        p95=_p95(rows, counts["timed"]),
        labelled=_labelled_totals(rows).get((), Labelled()),
    )


def window_case(windows: Sequence[tuple[datetime, datetime]]) -> Case:
    """The index of the window (start, end] among `windows` that a call's occurred_at falls
    in, NULL in none: the same boundaries as window_rows, in any database."""
    return Case(
        *(
            When(occurred_at__gt=start, occurred_at__lte=end, then=Value(index))
            for index, (start, end) in enumerate(windows)
        ),
        output_field=IntegerField(),
    )


@dataclass(frozen=True)
class WindowOfVersion:
    """What one version did in one of windows_measure's windows, and from which slots."""

    window: int
    slots: frozenset[str]
    measured: SlotMeasurement


def windows_measure(
    *,
    model: RegisteredModel,
    windows: Sequence[tuple[datetime, datetime]],
    served_only: bool = True,
) -> list[WindowOfVersion]:
    """slot_measure of every version with calls in each of `windows` (ascending, not
    overlapping), by window and version, in three queries however many windows and calls
    there are: the counts (per slot, which add up), the labelled totals, and p95 (the
    database ranks each window's latencies and returns the two rows around its p95)."""
    if not windows:
        return []
    rows = (
        _calls(model=model, start=windows[0][0], end=windows[-1][1], served_only=served_only)
        .annotate(window_index=window_case(windows))
        .filter(window_index__isnull=False)
    )
    keys = ("window_index", "version_id")
    counted: dict[tuple[int, int], dict[str, int]] = {}
    slots: dict[tuple[int, int], set[str]] = {}
    numbers: dict[int, int] = {}
    per_slot = rows.values(*keys, "slot", "version__version").annotate(**CALL_COUNTS)
    for row in per_slot.order_by(*keys, "slot"):
        key = (row["window_index"], row["version_id"])
        totals = counted.setdefault(key, dict.fromkeys(CALL_COUNTS, 0))
        for name in CALL_COUNTS:
            totals[name] += row[name]
        slots.setdefault(key, set()).add(row["slot"])
        numbers[row["version_id"]] = row["version__version"]
    labelled = _labelled_totals(rows, keys)
    p95s = _p95_per_group(rows, keys)
    return [
        WindowOfVersion(
            window=key[0],
            slots=frozenset(slots[key]),
            measured=measurement(
                version=numbers[key[1]],
                counts=counts,
                p95=p95s.get(key),
                labelled=labelled.get(key, Labelled()),
            ),
        )
        for key, counts in counted.items()
    ]


def _p95_per_group(rows: QuerySet[Prediction], keys: Sequence[str]) -> dict[tuple, float]:
    """p95 of the latencies of each group of `keys` among `rows`: each group's latencies are
    numbered in order and only the one or two rows around its p95 position leave the
    database (p95_position, computed there on the same floating-point numbers)."""
    group = [F(key) for key in keys]
    timed = rows.filter(latency_ms__isnull=False).annotate(
        rank=Window(RowNumber(), partition_by=group, order_by=F("latency_ms").asc()),
        timed=Window(Count("pk"), partition_by=group),
    )
    lower = Floor((F("timed") - 1) * Value(P95, output_field=FloatField()))
    around = timed.filter(rank__gt=lower, rank__lte=lower + 2)
    values: dict[tuple, list[float]] = {}
    counts: dict[tuple, int] = {}
    for *key, timed_count, latency in around.order_by(*keys, "rank").values_list(
        *keys, "timed", "latency_ms"
    ):
        values.setdefault(tuple(key), []).append(latency)
        counts[tuple(key)] = timed_count
    return {key: p95_between(found, p95_position(counts[key])[1]) for key, found in values.items()}


def group_rates(*, rows: QuerySet[Prediction], attribute: str) -> GroupRates | None:
    """Positive-prediction rate per group of `attribute`; None unless two groups appear.

    A call's group is in its `attributes` (what predict takes beside the features, unseen by
    the model), or in its features for a model that takes the attribute as an input."""
    group = Coalesce(
        KeyTextTransform(attribute, "attributes"), KeyTextTransform(attribute, "features")
    )
    per_group = (
        rows.filter(ANSWERED)
        .annotate(group=group)
        .filter(group__isnull=False)
        .values("group")
        .annotate(
            calls=Count("pk"), positives=Count("pk", filter=Q(prediction__gte=POSITIVE_THRESHOLD))
        )
        .order_by("group")
    )
    groups = {
        str(row["group"]): {
            "calls": row["calls"],
            "positive_rate": row["positives"] / row["calls"],
        }
        for row in per_group
        if row["calls"] >= MIN_GROUP_CALLS
    }
    if len(groups) < 2:
        return None
    highest = max(groups, key=lambda g: groups[g]["positive_rate"])
    lowest = min(groups, key=lambda g: groups[g]["positive_rate"])
    gap = groups[highest]["positive_rate"] - groups[lowest]["positive_rate"]
    return GroupRates(attribute=attribute, groups=groups, gap=gap, highest=highest, lowest=lowest)


def positive_rate_gaps(
    *, rows: QuerySet[Prediction], attributes: list[str]
) -> tuple[list[GroupRates], str | None]:
    """The positive-rate gap of every protected attribute with two groups among `rows`,
    and, when there is none, why (no attributes, scores that are not probabilities, too
    few calls per group)."""
    names = [a for a in attributes if isinstance(a, str) and a]
    if not names:
        return [], "the model has no protected attributes"
    bounds = rows.filter(ANSWERED).aggregate(low=Min("prediction"), high=Max("prediction"))
    if bounds["low"] is not None and (bounds["low"] < 0 or bounds["high"] > 1):
        return [], "predictions are not probabilities, so there is no positive rate"
    rates = [r for a in names if (r := group_rates(rows=rows, attribute=a)) is not None]
    if not rates:
        return [], (
            f"no protected attribute ({', '.join(names)}) with two groups of "
            f"{MIN_GROUP_CALLS} or more answered calls"
        )
    return rates, None
