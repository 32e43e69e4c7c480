"""governance.charts: where points land in the box, the value scale, the text alternative,
and what an empty, single-point or flat series draws."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from governance.charts import (
    Bar,
    Event,
    Series,
    Threshold,
    bar_chart_svg,
    line_chart_svg,
)
from governance.charts.frame import value_range
from governance.charts.lines import BOTTOM, LEFT, RIGHT, TOP

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def polyline_points(svg: str) -> list[list[tuple[float, float]]]:
    return [
        [tuple(float(n) for n in pair.split(",")) for pair in found.split()]
        for found in re.findall(r'<polyline points="([^"]*)"', svg)
    ]


def hours(*values: float) -> list[tuple[datetime, float]]:
    return [(T0 + timedelta(hours=i), v) for i, v in enumerate(values)]


def test_points_scale_into_the_plot_box_first_left_last_right_high_up():
    svg = line_chart_svg(title="Latency", series=[Series("p95", hours(10, 40, 20))])
    (points,) = polyline_points(svg)
    width, height = 640, 240
    xs, ys = [x for x, _ in points], [y for _, y in points]
    assert xs[0] == LEFT and xs[-1] == width - RIGHT
    assert all(TOP <= y <= height - BOTTOM for y in ys)
    assert ys[1] < ys[2] < ys[0]  # 40 highest on the page, then 20, then 10


def test_the_scale_starts_at_zero_pads_the_top_and_keeps_shares_on_zero_to_one():
    assert value_range([10, 40]) == (0.0, 42.0)  # 5% headroom above the highest
    assert value_range([-10, 30]) == (-12.0, 32.0)  # padded on both sides off zero
    assert value_range([0.2, 0.7]) == (0.0, 1.0)  # shares and rates share one scale
    assert value_range([0, 0]) == (0.0, 1.0)


def test_a_threshold_outside_the_data_widens_the_scale_and_is_labelled_where_drawn():
    svg = line_chart_svg(
        title="Errors",
        series=[Series("production", hours(2, 3))],
        thresholds=[Threshold("alert on errors", 8)],
    )
    (points,) = polyline_points(svg)
    found = re.search(r'<line x1="52" x2="624" y1="([\d.]+)"[^>]*stroke-dasharray="10 4"', svg)
    line_y = float(found.group(1))
    assert line_y < min(y for _, y in points)  # drawn above both points, inside the box
    assert line_y >= TOP
    assert ">alert on errors 8</text>" in svg and "threshold: alert on errors 8" in svg


def test_no_point_at_all_gives_a_message_instead_of_an_svg():
    html = line_chart_svg(title="Accuracy", series=[Series("production", [])])
    assert "<svg" not in html
    assert html == '<p class="chart-empty">Accuracy: no data yet.</p>'
    assert "<svg" not in bar_chart_svg(title="Recall by group", bars=[])


def test_a_single_point_sits_in_the_middle_and_events_are_left_out():
    svg = line_chart_svg(
        title="Calls",
        series=[Series("production", hours(5))],
        events=[Event("v3 to production", T0)],
    )
    (points,) = polyline_points(svg)
    assert points == [(LEFT + (640 - LEFT - RIGHT) / 2, points[0][1])]
    assert "v3 to production" not in svg  # no time range to place it in


def test_all_equal_values_draw_a_flat_line_inside_the_box():
    svg = line_chart_svg(title="Calls", series=[Series("production", hours(7, 7, 7))])
    (points,) = polyline_points(svg)
    assert len({y for _, y in points}) == 1
    assert TOP <= points[0][1] <= 240 - BOTTOM


def test_series_differ_by_marker_and_dash_and_deployments_are_labelled():
    svg = line_chart_svg(
        title="Error rate",
        series=[Series("production", hours(0.1, 0.2, 0.1)), Series("canary", hours(0.3, 0.4))],
        events=[Event("v3 to production", T0 + timedelta(hours=1))],
    )
    assert svg.count("<polyline") == 2
    assert svg.count("<circle") == 3 + 1 and svg.count("<rect") - 1 == 2 + 1  # + legend
    assert 'stroke-dasharray="6 3"' in svg  # the canary's line is dashed
    assert ">v3 to production</text>" in svg
    assert "production (circle markers)" in svg and "canary (square markers)" in svg


def test_the_svg_names_and_describes_itself_for_assistive_technology():
    svg = line_chart_svg(
        title="Latency", series=[Series("p95", hours(10, 40))], chart_id="health-latency"
    )
    assert svg.startswith(
        '<svg class="chart" role="img" aria-labelledby="health-latency-title health-latency-desc"'
    )
    assert '<title id="health-latency-title">Latency: p95</title>' in svg
    assert '<desc id="health-latency-desc">p95: 2 point(s) from 10 to 40. ' in svg
    assert " style=" not in svg and "<script" not in svg


def test_steps_work_as_the_horizontal_axis_too():
    svg = line_chart_svg(title="Loss", series=[Series("loss", [(0, 0.9), (5, 0.4), (10, 0.2)])])
    (points,) = polyline_points(svg)
    assert [x for x, _ in points] == [LEFT, LEFT + (640 - LEFT - RIGHT) / 2, 640 - RIGHT]


def test_names_and_labels_are_escaped():
    svg = line_chart_svg(
        title="<b>t</b>",
        series=[Series("<script>alert(1)</script>", hours(1, 2))],
        thresholds=[Threshold('"><img>', 1.5)],
        events=[Event("<i>v3</i>", T0 + timedelta(minutes=30))],
    )
    bars = bar_chart_svg(
        title="<b>", bars=[Bar("<script>", 0.5)], reference=Threshold("<all>", 0.4)
    )
    for html in (svg, bars):
        assert "<script" not in html and "<img" not in html and "<b>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in svg and "&lt;i&gt;v3&lt;/i&gt;" in svg
    assert "&lt;script&gt;: 0.5" in bars and "&amp;lt;" not in bars


def test_bars_run_from_zero_in_proportion_with_a_labelled_reference_line():
    svg = bar_chart_svg(
        title="Accuracy by gender",
        bars=[Bar("f", 0.5), Bar("m", 0.25)],
        reference=Threshold("overall", 0.4),
        chart_id="bars",
    )
    widths = [
        float(w) for w in re.findall(r'<rect x="[\d.]+" y="\d+" width="([\d.]+)" height="16"', svg)
    ]
    assert len(widths) == 2 and abs(widths[0] - 2 * widths[1]) < 0.2
    assert ">overall 0.4</text>" in svg and 'stroke-dasharray="10 4"' in svg
    assert "f: 0.5; m: 0.25; dashed line: overall 0.4." in svg
    assert 'aria-labelledby="bars-title bars-desc"' in svg
