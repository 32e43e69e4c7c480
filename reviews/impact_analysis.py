"""Business KPIs beside quality metrics: periods aligned, correlations, and what they say.

Pure functions over plain values (no queries), so the rules are tested on their own:

- A check's quality metric belongs to a KPI period when the check's window ended on one of
  the period's days (UTC, start and end inclusive) and the checked version was the one in
  production at that moment (promotions and rollbacks say which); a period's metric value
  is the mean of those checks. Candidates' and canaries' checks say nothing about what
  production did to the business, so they are left out.
- The correlation of a KPI with a metric is Pearson's r over the periods where both have a
  value, as numpy.corrcoef computes it; under MIN_CORRELATION_PERIODS aligned periods, or
  when either side did not move, none is claimed and the reason is given instead.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime

import numpy as np

MIN_CORRELATION_PERIODS = 4

CAUTION = (
    "A correlation says how closely a KPI and a metric moved together over these periods: "
    "from -1 (always opposite) through 0 (no straight-line relation) to 1 (always "
    "together). It does not say that the model moved the KPI: seasons, prices, campaigns, "
    "other releases and the economy move KPIs too, and two numbers that both drift with "
    "time correlate without any link between them. Over few periods one unusual period can "
    "make a correlation or reverse it: under {minimum} aligned periods none is computed, and "
    "even over ten periods a value of 0.6 either way can be chance. Read it as a question "
    "for the review, not as an answer."
)


@dataclass(frozen=True)
class Span:
    """A version served production from `start` until `end` (None: still does)."""

    version_id: int
    start: datetime
    end: datetime | None


def production_spans(changes: Iterable[tuple[datetime, int]]) -> list[Span]:
    """From (moment, version id) of each change of production (promotion or rollback), the
    spans each version served; the last one is open."""
    ordered = sorted(changes)
    return [
        Span(
            version_id=version_id,
            start=start,
            end=ordered[i + 1][0] if i + 1 < len(ordered) else None,
        )
        for i, (start, version_id) in enumerate(ordered)
    ]


def in_production(spans: Sequence[Span], version_id: int, moment: datetime) -> bool:
    return any(
        span.version_id == version_id
        and span.start <= moment
        and (span.end is None or moment < span.end)
        for span in spans
    )


def utc_day(moment: datetime) -> date:
    return moment.astimezone(UTC).date()


@dataclass(frozen=True)
class MetricPoint:
    """One quality metric of one check: its name, value, version and window's end."""

    name: str
    value: float
    version_id: int
    at: datetime


def period_means(
    periods: Sequence[tuple[date, date]], points: Iterable[MetricPoint], spans: Sequence[Span]
) -> dict[str, list[float | None]]:
    """metric name -> its mean per period (None: no production check ended in it)."""
    sums: dict[str, list[list[float]]] = {}
    for point in points:
        if not math.isfinite(point.value) or not in_production(spans, point.version_id, point.at):
            continue
        day = utc_day(point.at)
        for index, (start, end) in enumerate(periods):
            if start <= day <= end:
                sums.setdefault(point.name, [[] for _ in periods])[index].append(point.value)
    return {
        name: [sum(values) / len(values) if values else None for values in per_period]
        for name, per_period in sorted(sums.items())
    }


@dataclass(frozen=True)
class Correlation:
    metric: str
    n: int  # periods where both the KPI and the metric have a value
    r: float | None
    reason: str  # why there is no r; empty when there is one
    reading: str  # what the sign would mean if it held; empty without r


def pearson(xs: Sequence[float], ys: Sequence[float]) -> float | None:
    """Pearson's r of two equally long series, as numpy.corrcoef gives it; None when it is
    undefined (fewer than two values, or a series that does not vary)."""
    if len(xs) < 2 or len(xs) != len(ys) or len(set(xs)) < 2 or len(set(ys)) < 2:
        return None
    return float(np.corrcoef(np.asarray(xs, dtype=float), np.asarray(ys, dtype=float))[0, 1])


def _reading(
    r: float, *, kpi: str, kpi_higher_better: bool, metric: str, metric_direction: str
) -> str:
    together = "higher" if r > 0 else "lower"
    reading = f"higher {metric} went with {together} {kpi}"
    if metric_direction == "unknown":
        return reading
    metric_higher_better = metric_direction == "lower_is_worse"
    hoped = (r > 0) == (metric_higher_better == kpi_higher_better)
    return (
        f"{reading}: {'the way one would hope' if hoped else 'the opposite of what one would hope'}"
    )


def correlate(
    kpi_values: Sequence[float],
    metric_values: Sequence[float | None],
    *,
    kpi: str,
    kpi_higher_better: bool,
    metric: str,
    metric_direction: str,
) -> Correlation:
    """The KPI against one metric over the periods both have a value."""
    pairs = [(k, m) for k, m in zip(kpi_values, metric_values, strict=True) if m is not None]
    n = len(pairs)
    if n < MIN_CORRELATION_PERIODS:
        reason = (
            f"{n} aligned period{'s' if n != 1 else ''}: too few to say anything "
            f"(a correlation needs at least {MIN_CORRELATION_PERIODS})"
        )
        return Correlation(metric=metric, n=n, r=None, reason=reason, reading="")
    r = pearson([k for k, _ in pairs], [m for _, m in pairs])
    if r is None:
        still = kpi if len({k for k, _ in pairs}) < 2 else metric
        reason = f"{still} did not change over these periods, so nothing moved together"
        return Correlation(metric=metric, n=n, r=None, reason=reason, reading="")
    reading = _reading(
        r,
        kpi=kpi,
        kpi_higher_better=kpi_higher_better,
        metric=metric,
        metric_direction=metric_direction,
    )
    return Correlation(metric=metric, n=n, r=r, reason="", reading=reading)


def caution() -> str:
    return CAUTION.format(minimum=MIN_CORRELATION_PERIODS)
