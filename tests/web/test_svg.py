"""The SVG line chart: scaling onto the plot area, NaN gaps, empty series, ticks, escaping."""

from __future__ import annotations

import math
import re

from kektrade.web.svg import (
    MARGIN_BOTTOM,
    MARGIN_LEFT,
    MARGIN_RIGHT,
    MARGIN_TOP,
    Line,
    line_chart,
    nice_ticks,
    scale,
    segments,
    stack,
)


def polylines(svg: str) -> list[list[tuple[float, float]]]:
    """Points of every data polyline (the axes polyline carries class="axis")."""
    found = re.findall(r'<polyline points="([^"]+)" fill="none" stroke="[^"]+" stroke-width', svg)
    return [[tuple(map(float, p.split(","))) for p in pts.split()] for pts in found]  # type: ignore[misc]


def test_scale_maps_linearly_and_centres_a_flat_range() -> None:
    assert scale(5, 0, 10, 100, 200) == 150
    assert scale(0, 0, 10, 240, 40) == 240  # y axes point down in SVG
    assert scale(3, 3, 3, 0, 10) == 5


def test_points_fill_the_plot_area() -> None:
    svg = line_chart([0, 1, 2], [Line("a", [0.0, 5.0, 10.0], "#fff")], width=400, height=200)
    (points,) = polylines(svg)
    left, right, top, bottom = MARGIN_LEFT, 400 - MARGIN_RIGHT, MARGIN_TOP, 200 - MARGIN_BOTTOM
    assert points == [(left, bottom), ((left + right) / 2, (top + bottom) / 2), (right, top)]


def test_nan_none_and_inf_split_the_line() -> None:
    values = [1.0, 2.0, math.nan, 3.0, 4.0, None, math.inf, 5.0, 6.0]
    svg = line_chart(list(range(9)), [Line("a", values, "#fff")])
    assert [len(p) for p in polylines(svg)] == [2, 2, 2]
    assert "nan" not in svg.lower().replace("no data", "") and "inf" not in svg


def test_isolated_point_is_a_dot() -> None:
    svg = line_chart([0, 1, 2], [Line("a", [math.nan, 7.0, math.nan], "#fff")])
    assert polylines(svg) == [] and svg.count("<circle") == 1


def test_empty_and_all_nan_series_say_no_data() -> None:
    for xs, values in (([], []), ([0, 1], [math.nan, None])):
        svg = line_chart(xs, [Line("a", values, "#fff")], title="t")
        assert svg.startswith("<svg") and svg.endswith("</svg>")
        assert "no data" in svg and "<polyline" not in svg


def test_segments_ignore_excess_values() -> None:
    assert segments([0, 1], [1.0, 2.0, 3.0]) == [[(0, 1.0), (1, 2.0)]]


def test_nice_ticks_are_round_and_inside() -> None:
    assert nice_ticks(0, 10, 5) == [0, 2, 4, 6, 8, 10]
    assert nice_ticks(32_700, 34_400, 4) == [33_000, 33_500, 34_000]
    assert nice_ticks(0.12, 0.18, 3) == [0.12, 0.14, 0.16, 0.18]
    assert nice_ticks(5, 5) == [5] and nice_ticks(1, 0) == [] and nice_ticks(0, math.nan) == []


def test_labels_and_legend_are_escaped_and_ticks_labelled() -> None:
    svg = line_chart([0, 100], [Line("<b>&", [1000.0, 2000.0], "#fff")], title="a<b", x_format=lambda x: f"t{x:.0f}")
    assert "<b>" not in svg and "&lt;b&gt;&amp;" in svg and "a&lt;b" in svg
    assert ">t0</text>" in svg and ">t100</text>" in svg
    assert ">1,000</text>" in svg and ">2,000</text>" in svg


def test_stack_offsets_each_chart() -> None:
    one = line_chart([0, 1], [Line("a", [1.0, 2.0], "#fff")], width=300, height=100)
    svg = stack([(one, 100), (one, 100)], 300)
    assert 'height="200"' in svg and "translate(0,100)" in svg and svg.count("<polyline") == 4
