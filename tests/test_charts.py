"""Shared SVG chart helpers: valid XML, accessible, escaped, bars proportional to the values, round axes."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from gtsched_site.charts import bar_chart_svg, fmt, nice_axis_max, num, ordinal

SVG = "{http://www.w3.org/2000/svg}"


def parse_svg(svg: str) -> ET.Element:
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG}svg"
    return root


def chart_bars(root: ET.Element) -> list[ET.Element]:
    return [r for r in root.iter(f"{SVG}rect") if r.get("class") == "chart-bar"]


def assert_proportional(bars: list[ET.Element], values: list[float]) -> None:
    heights = [float(b.get("height")) for b in bars]
    peak = max(values)
    tallest = heights[values.index(peak)]
    assert tallest > 0
    for height, value in zip(heights, values, strict=True):
        assert height == pytest.approx(tallest * value / peak, abs=0.02)


def test_bar_heights_are_proportional_to_the_values():
    values = [12, 3, 0, 7.5, 1]
    root = parse_svg(bar_chart_svg(["a", "b", "c", "d", "e"], values, title="Test"))
    bars = chart_bars(root)
    assert len(bars) == 5
    assert_proportional(bars, values)


def test_bars_stand_on_one_baseline():
    root = parse_svg(bar_chart_svg(["a", "b", "c"], [4, 9, 2], title="Test"))
    bottoms = {round(float(b.get("y")) + float(b.get("height")), 2) for b in chart_bars(root)}
    assert len(bottoms) == 1


def test_a_chart_is_an_accessible_image_with_a_title():
    root = parse_svg(bar_chart_svg(["x"], [1], title="Weeks served"))
    assert root.get("role") == "img"
    assert root.get("aria-label") == "Weeks served"
    assert root.find(f"{SVG}title").text == "Weeks served"
    assert "x: 1" in root.find(f"{SVG}desc").text


def test_text_is_escaped():
    svg = bar_chart_svg(['<script>alert("x")</script>', "A & B"], [1, 2], title="Tom & Jerry's <chart>")
    root = parse_svg(svg)
    assert "<script>" not in svg
    assert root.get("aria-label") == "Tom & Jerry's <chart>"
    assert any(t.text == "A & B" for t in root.iter(f"{SVG}text"))


def test_all_zero_and_empty_charts_still_parse():
    parse_svg(bar_chart_svg(["a", "b"], [0, 0], title="zeros"))
    root = parse_svg(bar_chart_svg([], [], title="empty"))
    assert not chart_bars(root)


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="one label per value"):
        bar_chart_svg(["a"], [1, 2], title="t")
    with pytest.raises(ValueError, match="≥ 0"):
        bar_chart_svg(["a"], [-1], title="t")


@pytest.mark.parametrize(("peak", "expected"), [(0, 1), (1, 1), (7, 8), (13, 15), (100, 100), (101, 150), (0.3, 0.3), (0.33, 0.4)])
def test_axis_maximum_is_a_round_number_at_or_above_the_peak(peak, expected):
    axis_max, step = nice_axis_max(peak)
    assert axis_max == pytest.approx(expected)
    assert axis_max >= peak


@pytest.mark.parametrize(("n", "text"), [(1, "1st"), (2, "2nd"), (3, "3rd"), (4, "4th"), (11, "11th"), (12, "12th"), (21, "21st"), (113, "113th")])
def test_ordinal_suffixes_follow_english_rules(n, text):
    assert ordinal(n) == text



def test_labels_group_thousands_and_coordinates_stay_plain():
    assert (fmt(1234), fmt(2.5), fmt(2.345678), fmt(3.0)) == ("1,234", "2.5", "2.35", "3")
    assert (num(1234.5), num(12.3456), num(3.0)) == ("1234.5", "12.35", "3")
