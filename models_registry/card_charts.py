"""Charts of a model card's own numbers, for the card template (shared by the version page
and the promotion request page): per-group bars against the overall value, and the MLflow
run's per-step metric history. Pure functions of the card content; nothing is read."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.utils.safestring import SafeString
from django.utils.text import slugify

from governance.charts import Bar, Series, Threshold, bar_chart_svg, line_chart_svg

# Per group: how often it is right, and how often it is predicted positive (the quality
# and selection-rate halves of the fairness picture); the error for regression models.
GROUP_MEASURES = ("accuracy", "positive_rate", "mae")
MAX_HISTORY_CHARTS = 12


def group_bar_charts(
    evaluation: dict[str, Any] | None, attribute: str
) -> list[tuple[str, SafeString]]:
    """(caption, chart) per measure the groups of `attribute` carry, the overall value as
    the dashed reference line."""
    evaluation = evaluation or {}
    groups = (evaluation.get("per_group") or {}).get(attribute) or {}
    overall = evaluation.get("overall") or {}
    charts = []
    for measure in GROUP_MEASURES:
        bars = [
            Bar(label=str(group), value=float(values[measure]))
            for group, values in sorted(groups.items())
            if isinstance(values, dict) and isinstance(values.get(measure), int | float)
        ]
        if not bars:
            continue
        whole = overall.get(measure)
        title = f"{measure} by {attribute}"
        charts.append(
            (
                title,
                bar_chart_svg(
                    title=title,
                    bars=bars,
                    reference=Threshold("overall", float(whole))
                    if isinstance(whole, int | float)
                    else None,
                    chart_id=f"card-{attribute}-{measure}",
                ),
            )
        )
    return charts


@dataclass(frozen=True)
class HistoryChart:
    metric: str
    svg: SafeString
    steps: list[tuple[int, float]]


def metric_history_charts(history: dict[str, Any] | None) -> list[HistoryChart]:
    """Each logged metric over the run's steps (MLflow keeps only metrics logged more than
    once in the card's history)."""
    charts = []
    for metric, points in sorted((history or {}).items())[:MAX_HISTORY_CHARTS]:
        steps = [
            (int(p["step"]), float(p["value"]))
            for p in points or []
            if isinstance(p, dict) and isinstance(p.get("value"), int | float)
        ]
        svg = line_chart_svg(
            title=f"{metric} per training step",
            series=[Series(name=metric, points=[(float(s), v) for s, v in steps])],
            height=180,
            chart_id=f"card-history-{slugify(metric)}",
        )
        charts.append(HistoryChart(metric=metric, svg=svg, steps=steps))
    return charts
