"""Allocation charts (DESIGN §11): rank distributions and the side-by-side comparison of mechanisms."""

from __future__ import annotations

import math
from collections.abc import Mapping
from html import escape

from allocation.algorithms.registry import MECHANISM_LABELS
from gtsched_site.charts import INK, MUTED, PALETTE, bar_chart_svg, fmt, nice_axis_max, num, open_svg, ordinal, y_axis

# Two-line axis labels for narrow charts.
MECHANISM_SHORT = {"rsd": "RSD", "least_regret": "Least|regret", "min_cost_flow": "Min-cost|flow", "cp_sat": "CP-SAT", "vcg": "VCG",
                   "probabilistic_serial": "Prob.|serial", "rsd_trading": "RSD +|trading"}



def _rank_keys(*distributions: Mapping[str, int]) -> list[int]:
    """Every rank from 1 to the worst one present, so gaps show as empty bars, not as a shorter axis."""
    ranks = [int(k) for d in distributions for k, v in d.items() if v]
    return list(range(1, max(ranks) + 1)) if ranks else []


def rank_distribution_svg(distribution: Mapping[str, int], *, title: str, width: int = 560, height: int = 240) -> str:
    """How many assignments went to each faculty member's 1st, 2nd, … choice."""
    ranks = _rank_keys(distribution)
    return bar_chart_svg(
        [ordinal(r) for r in ranks], [int(distribution.get(str(r), 0)) for r in ranks],
        title=title, x_label="Choice the week had in the faculty member's order", y_label="Assignments",
        width=width, height=height, value_noun="assignments",
    )


def comparison_svg(
    series: Mapping[str, Mapping[str, int]], *, title: str = "Rank distribution by mechanism", width: int = 1080,
    height: int = 300,
) -> str:
    """Grouped bars: for each choice rank, one bar per mechanism, all on one scale, with a legend."""
    names = list(series)
    ranks = _rank_keys(*series.values())
    left, right, top, bottom = 52, 12, 14 + 18 * math.ceil(len(names) / 3), 46
    plot_w, plot_h = width - left - right, height - top - bottom
    peak = max((int(series[m].get(str(r), 0)) for m in names for r in ranks), default=0)
    axis_max, step = nice_axis_max(peak)
    description = "; ".join(
        f"{MECHANISM_LABELS.get(m, m)}: " + ", ".join(f"{ordinal(r)} {int(series[m].get(str(r), 0))}" for r in ranks)
        for m in names
    ) or "No data."
    parts = open_svg(width, height, title, description)
    for k, name in enumerate(names):
        lx, ly = left + (k % 3) * (plot_w / 3), 4 + 18 * (k // 3)
        parts.append(f'<rect x="{num(lx)}" y="{num(ly)}" width="12" height="12" rx="2" fill="{PALETTE[k % len(PALETTE)]}"/>'
                     f'<text x="{num(lx + 17)}" y="{num(ly + 10)}" fill="{INK}">{escape(MECHANISM_LABELS.get(name, name))}</text>')
    y_axis(parts, left=left, right=width - right, top=top, plot_h=plot_h, axis_max=axis_max, step=step,
            y_label="Assignments")
    group = plot_w / max(len(ranks), 1)
    bar_w = max(min(group * 0.8 / max(len(names), 1), 28), 1)
    label_every = max(1, math.ceil(len(ranks) / max(plot_w // 34, 1)))
    for g, rank in enumerate(ranks):
        x0 = left + group * g + (group - bar_w * len(names)) / 2
        for k, name in enumerate(names):
            value = int(series[name].get(str(rank), 0))
            h = plot_h * value / axis_max
            x, y = x0 + k * bar_w, top + plot_h - h
            label = MECHANISM_LABELS.get(name, name)
            parts.append(f'<rect class="chart-bar" x="{num(x)}" y="{num(y)}" width="{num(bar_w)}" height="{num(h)}" '
                         f'fill="{PALETTE[k % len(PALETTE)]}" data-series="{escape(name)}" data-label="{ordinal(rank)}" '
                         f'data-value="{value}"><title>{escape(label)}: {value} at {ordinal(rank)} choice</title></rect>')
        if g % label_every == 0:
            parts.append(f'<text x="{num(left + group * g + group / 2)}" y="{num(top + plot_h + 16)}" text-anchor="middle" '
                         f'fill="{MUTED}">{ordinal(rank)}</text>')
    if not ranks:
        parts.append(f'<text x="{num(left + plot_w / 2)}" y="{num(top + plot_h / 2)}" text-anchor="middle" '
                     f'fill="{MUTED}">No data</text>')
    parts.append(f'<line x1="{left}" y1="{num(top + plot_h)}" x2="{num(width - right)}" y2="{num(top + plot_h)}" stroke="{MUTED}"/>')
    parts.append(f'<text x="{num(left + plot_w / 2)}" y="{num(height - 6)}" text-anchor="middle" fill="{MUTED}">'
                 "Choice the week had in the faculty member's order</text>")
    parts.append("</svg>")
    return "".join(parts)


def metric_bars_svg(values: Mapping[str, float], *, title: str, y_label: str = "", width: int = 340, height: int = 200) -> str:
    """Small multiple: one bar per mechanism for one metric, each in the mechanism's legend colour."""
    names = list(values)
    left, right, top, bottom = 44, 8, 18, 38
    plot_w, plot_h = width - left - right, height - top - bottom
    clean = [max(float(values[m] or 0), 0.0) for m in names]
    axis_max, step = nice_axis_max(max(clean, default=0))
    parts = open_svg(width, height, title, ", ".join(f"{MECHANISM_LABELS.get(m, m)}: {fmt(v)}" for m, v in zip(names, clean, strict=True)))
    y_axis(parts, left=left, right=width - right, top=top, plot_h=plot_h, axis_max=axis_max, step=step, y_label=y_label)
    slot = plot_w / max(len(names), 1)
    bar_w = min(slot * 0.65, 48)
    for k, (name, value) in enumerate(zip(names, clean, strict=True)):
        h = plot_h * value / axis_max
        x, y = left + slot * k + (slot - bar_w) / 2, top + plot_h - h
        label = MECHANISM_LABELS.get(name, name)
        parts.append(f'<rect class="chart-bar" x="{num(x)}" y="{num(y)}" width="{num(bar_w)}" height="{num(h)}" '
                     f'fill="{PALETTE[k % len(PALETTE)]}" data-series="{escape(name)}" data-value="{num(value)}">'
                     f"<title>{escape(label)}: {escape(fmt(value))}</title></rect>")
        parts.append(f'<text x="{num(x + bar_w / 2)}" y="{num(y - 4)}" text-anchor="middle" fill="{INK}" '
                     f'font-size="11">{escape(fmt(round(value, 2)))}</text>')
        lines = MECHANISM_SHORT.get(name, name.replace("_", " ")).split("|")
        cx = num(x + bar_w / 2)
        spans = "".join(f'<tspan x="{cx}" dy="{0 if k == 0 else 12}">{escape(line)}</tspan>' for k, line in enumerate(lines))
        parts.append(f'<text x="{cx}" y="{num(top + plot_h + 15)}" text-anchor="middle" fill="{MUTED}" font-size="11">{spans}</text>')
    parts.append(f'<line x1="{left}" y1="{num(top + plot_h)}" x2="{num(width - right)}" y2="{num(top + plot_h)}" stroke="{MUTED}"/>')
    parts.append("</svg>")
    return "".join(parts)
