"""Allocation charts: rank distributions and the comparison of mechanisms, proportional and self-contained."""

from __future__ import annotations

from allocation.charts import comparison_svg, metric_bars_svg, rank_distribution_svg
from gtsched_site.charts import ordinal
from tests.test_charts import SVG, assert_proportional, chart_bars, parse_svg


def test_nothing_is_loaded_from_outside():
    svg = comparison_svg({"rsd": {"1": 3, "2": 1}, "vcg": {"1": 4}}) + rank_distribution_svg({"1": 2}, title="t")
    for needle in ("http://", "https://", "@import", "url(", "<image", "href"):
        assert needle not in svg.replace('xmlns="http://www.w3.org/2000/svg"', "")


def test_empty_domain_charts_still_parse():
    assert parse_svg(rank_distribution_svg({}, title="none")) is not None
    assert parse_svg(comparison_svg({})) is not None


def test_rank_distribution_fills_gaps_and_orders_ranks_numerically():
    root = parse_svg(rank_distribution_svg({"10": 1, "1": 8, "3": 2}, title="Ranks"))
    bars = chart_bars(root)
    assert [b.get("data-label") for b in bars] == [ordinal(r) for r in range(1, 11)]
    values = [float(b.get("data-value")) for b in bars]
    assert values == [8, 0, 2, 0, 0, 0, 0, 0, 0, 1]
    assert_proportional(bars, values)


def test_comparison_groups_every_mechanism_on_one_scale():
    series = {"rsd": {"1": 10, "2": 4, "3": 2}, "least_regret": {"1": 12, "2": 4}, "vcg": {"1": 6, "4": 1}}
    root = parse_svg(comparison_svg(series))
    bars = chart_bars(root)
    assert len(bars) == 3 * 4
    assert {b.get("data-series") for b in bars} == set(series)
    values = [float(b.get("data-value")) for b in bars]
    assert_proportional(bars, values)
    legend = " ".join(t.text or "" for t in root.iter(f"{SVG}text"))
    assert "Random serial dictatorship" in legend and "Least regret" in legend and "VCG" in legend


def test_metric_small_multiple_is_proportional():
    values = {"rsd": 31.5, "least_regret": 40.0, "cp_sat": 10.0}
    root = parse_svg(metric_bars_svg(values, title="Welfare"))
    assert_proportional(chart_bars(root), list(values.values()))
