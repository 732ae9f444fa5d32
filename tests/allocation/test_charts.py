"""Server-side SVG charts: valid XML, accessible, escaped, bars proportional to the values, no external resources."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from allocation.charts import (
    bar_chart_svg,
    comparison_svg,
    metric_bars_svg,
    nice_axis_max,
    ordinal,
    rank_distribution_svg,
)

SVG = "{http://www.w3.org/2000/svg}"


def _parse(svg: str) -> ET.Element:
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG}svg"
    return root


def _bars(root: ET.Element) -> list[ET.Element]:
    return [r for r in root.iter(f"{SVG}rect") if r.get("class") == "chart-bar"]


def _assert_proportional(bars: list[ET.Element], values: list[float]) -> None:
    heights = [float(b.get("height")) for b in bars]
    peak = max(values)
    tallest = heights[values.index(peak)]
    assert tallest > 0
    for height, value in zip(heights, values, strict=True):
        assert height == pytest.approx(tallest * value / peak, abs=0.02)


def test_bar_heights_are_proportional_to_the_values():
    values = [12, 3, 0, 7.5, 1]
    root = _parse(bar_chart_svg(["a", "b", "c", "d", "e"], values, title="Test"))
    bars = _bars(root)
    assert len(bars) == 5
    _assert_proportional(bars, values)


def test_bars_stand_on_one_baseline():
    root = _parse(bar_chart_svg(["a", "b", "c"], [4, 9, 2], title="Test"))
    bottoms = {round(float(b.get("y")) + float(b.get("height")), 2) for b in _bars(root)}
    assert len(bottoms) == 1


def test_a_chart_is_an_accessible_image_with_a_title():
    root = _parse(bar_chart_svg(["x"], [1], title="Weeks served"))
    assert root.get("role") == "img"
    assert root.get("aria-label") == "Weeks served"
    assert root.find(f"{SVG}title").text == "Weeks served"
    assert "x: 1" in root.find(f"{SVG}desc").text


def test_text_is_escaped():
    svg = bar_chart_svg(['<script>alert("x")</script>', "A & B"], [1, 2], title="Tom & Jerry's <chart>")
    root = _parse(svg)
    assert "<script>" not in svg
    assert root.get("aria-label") == "Tom & Jerry's <chart>"
    assert any(t.text == "A & B" for t in root.iter(f"{SVG}text"))


def test_nothing_is_loaded_from_outside():
    svg = comparison_svg({"rsd": {"1": 3, "2": 1}, "vcg": {"1": 4}}) + rank_distribution_svg({"1": 2}, title="t")
    for needle in ("http://", "https://", "@import", "url(", "<image", "href"):
        assert needle not in svg.replace('xmlns="http://www.w3.org/2000/svg"', "")


def test_all_zero_and_empty_charts_still_parse():
    _parse(bar_chart_svg(["a", "b"], [0, 0], title="zeros"))
    root = _parse(bar_chart_svg([], [], title="empty"))
    assert not _bars(root)
    assert _parse(rank_distribution_svg({}, title="none")) is not None
    assert _parse(comparison_svg({})) is not None


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="one label per value"):
        bar_chart_svg(["a"], [1, 2], title="t")
    with pytest.raises(ValueError, match="≥ 0"):
        bar_chart_svg(["a"], [-1], title="t")


def test_rank_distribution_fills_gaps_and_orders_ranks_numerically():
    root = _parse(rank_distribution_svg({"10": 1, "1": 8, "3": 2}, title="Ranks"))
    bars = _bars(root)
    assert [b.get("data-label") for b in bars] == [ordinal(r) for r in range(1, 11)]
    values = [float(b.get("data-value")) for b in bars]
    assert values == [8, 0, 2, 0, 0, 0, 0, 0, 0, 1]
    _assert_proportional(bars, values)


def test_comparison_groups_every_mechanism_on_one_scale():
    series = {"rsd": {"1": 10, "2": 4, "3": 2}, "least_regret": {"1": 12, "2": 4}, "vcg": {"1": 6, "4": 1}}
    root = _parse(comparison_svg(series))
    bars = _bars(root)
    assert len(bars) == 3 * 4
    assert {b.get("data-series") for b in bars} == set(series)
    values = [float(b.get("data-value")) for b in bars]
    _assert_proportional(bars, values)
    legend = " ".join(t.text or "" for t in root.iter(f"{SVG}text"))
    assert "Random serial dictatorship" in legend and "Least regret" in legend and "VCG" in legend


def test_metric_small_multiple_is_proportional():
    values = {"rsd": 31.5, "least_regret": 40.0, "cp_sat": 10.0}
    root = _parse(metric_bars_svg(values, title="Welfare"))
    _assert_proportional(_bars(root), list(values.values()))


@pytest.mark.parametrize(("peak", "expected"), [(0, 1), (1, 1), (7, 8), (13, 15), (100, 100), (101, 150), (0.3, 0.3), (0.33, 0.4)])
def test_axis_maximum_is_a_round_number_at_or_above_the_peak(peak, expected):
    axis_max, step = nice_axis_max(peak)
    assert axis_max == pytest.approx(expected)
    assert axis_max >= peak


@pytest.mark.parametrize(("n", "text"), [(1, "1st"), (2, "2nd"), (3, "3rd"), (4, "4th"), (11, "11th"), (12, "12th"), (21, "21st"), (113, "113th")])
def test_ordinal_suffixes_follow_english_rules(n, text):
    assert ordinal(n) == text
