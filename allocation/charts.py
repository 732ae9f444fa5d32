"""Server-side SVG charts (DESIGN §11): pure functions returning SVG strings, nothing loaded from the internet.

Every chart is an accessible image (role="img", aria-label and a <title>), all text is XML-escaped, fonts are the
system ones, and bar heights are exactly proportional to the values on one linear scale starting at zero.
Bars carry class "chart-bar", not "bar": the site stylesheet sizes `.bar` (a progress bar), and CSS height
overrides an SVG rect's height attribute.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from html import escape

FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, Arial, sans-serif"
INK, MUTED, GRID = "#1d2430", "#5f6b7a", "#dde3ea"
# Okabe–Ito: distinguishable with the common colour-vision deficiencies.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000")

# Two-line axis labels for narrow charts.
MECHANISM_SHORT = {"rsd": "RSD", "least_regret": "Least|regret", "min_cost_flow": "Min-cost|flow", "cp_sat": "CP-SAT", "vcg": "VCG"}

MECHANISM_LABELS = {
    "rsd": "Random serial dictatorship",
    "least_regret": "Least regret",
    "min_cost_flow": "Min-cost flow",
    "cp_sat": "CP-SAT",
    "vcg": "VCG",
}


def _fmt(value: float) -> str:
    """A number as a chart label: integers without decimals, others with at most two."""
    if float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:,.2f}".rstrip("0").rstrip(".")


def _num(value: float) -> str:
    """A coordinate: short, locale-free."""
    return f"{value:.2f}".rstrip("0").rstrip(".")


def ordinal(n: int) -> str:
    """1 -> '1st', 2 -> '2nd', 11 -> '11th', 23 -> '23rd'."""
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def nice_axis_max(peak: float, ticks: int = 4) -> tuple[float, float]:
    """(axis maximum, tick step) with the step 1, 2 or 5 × 10^k and the maximum a multiple of it, ≥ peak."""
    if peak <= 0:
        return 1.0, 1.0
    raw = peak / ticks
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw)
    if step < 1 and float(peak).is_integer():
        step = 1.0
    return step * math.ceil(peak / step - 1e-9), step


def _open_svg(width: float, height: float, title: str, description: str = "") -> list[str]:
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {_num(width)} {_num(height)}" '
        f'width="{_num(width)}" height="{_num(height)}" role="img" aria-label="{escape(title)}" '
        f'font-family="{escape(FONT)}" font-size="12">',
        f"<title>{escape(title)}</title>",
    ]
    if description:
        parts.append(f"<desc>{escape(description)}</desc>")
    return parts


def _y_axis(parts: list[str], *, left: float, right: float, top: float, plot_h: float, axis_max: float, step: float,
            y_label: str) -> None:
    ticks = round(axis_max / step)
    for k in range(ticks + 1):
        value = k * step
        y = top + plot_h - plot_h * value / axis_max
        parts.append(f'<line x1="{_num(left)}" y1="{_num(y)}" x2="{_num(right)}" y2="{_num(y)}" stroke="{GRID}"/>')
        parts.append(f'<text x="{_num(left - 6)}" y="{_num(y + 4)}" text-anchor="end" fill="{MUTED}">{escape(_fmt(value))}</text>')
    if y_label:
        cy = top + plot_h / 2
        parts.append(f'<text x="12" y="{_num(cy)}" transform="rotate(-90 12 {_num(cy)})" text-anchor="middle" '
                     f'fill="{MUTED}">{escape(y_label)}</text>')


def bar_chart_svg(
    labels: Sequence[str],
    values: Sequence[float],
    *,
    title: str,
    x_label: str = "",
    y_label: str = "",
    color: str = PALETTE[0],
    width: int = 560,
    height: int = 240,
    value_noun: str = "",
) -> str:
    """A vertical bar chart; bar i has height proportional to values[i] (values must be ≥ 0)."""
    if len(labels) != len(values):
        raise ValueError(f"{len(labels)} labels but {len(values)} values; give one label per value.")
    if any(v < 0 or math.isnan(v) for v in values):
        raise ValueError("Bar values must be numbers ≥ 0.")
    left, right, top, bottom = 52, 12, 18, 46 if x_label else 30
    plot_w, plot_h = width - left - right, height - top - bottom
    axis_max, step = nice_axis_max(max(values, default=0))
    description = ", ".join(f"{label}: {_fmt(v)}" for label, v in zip(labels, values, strict=True)) or "No data."
    parts = _open_svg(width, height, title, description)
    _y_axis(parts, left=left, right=width - right, top=top, plot_h=plot_h, axis_max=axis_max, step=step, y_label=y_label)
    n = len(values)
    if n == 0:
        parts.append(f'<text x="{_num(left + plot_w / 2)}" y="{_num(top + plot_h / 2)}" text-anchor="middle" '
                     f'fill="{MUTED}">No data</text>')
    slot = plot_w / max(n, 1)
    bar_w = max(min(slot * 0.7, 56), 1)
    label_every = max(1, math.ceil(n / max(plot_w // 34, 1)))
    for k, (label, value) in enumerate(zip(labels, values, strict=True)):
        h = plot_h * value / axis_max
        x = left + slot * k + (slot - bar_w) / 2
        y = top + plot_h - h
        tip = f"{label}: {_fmt(value)}{' ' + value_noun if value_noun else ''}"
        parts.append(f'<rect class="chart-bar" x="{_num(x)}" y="{_num(y)}" width="{_num(bar_w)}" height="{_num(h)}" '
                     f'fill="{escape(color)}" data-label="{escape(str(label))}" data-value="{_num(value)}">'
                     f"<title>{escape(tip)}</title></rect>")
        if value and bar_w >= 14:
            parts.append(f'<text x="{_num(x + bar_w / 2)}" y="{_num(y - 3)}" text-anchor="middle" fill="{INK}" '
                         f'font-size="11">{escape(_fmt(value))}</text>')
        if k % label_every == 0:
            parts.append(f'<text x="{_num(x + bar_w / 2)}" y="{_num(top + plot_h + 16)}" text-anchor="middle" '
                         f'fill="{MUTED}">{escape(str(label))}</text>')
    parts.append(f'<line x1="{left}" y1="{_num(top + plot_h)}" x2="{_num(width - right)}" y2="{_num(top + plot_h)}" stroke="{MUTED}"/>')
    if x_label:
        parts.append(f'<text x="{_num(left + plot_w / 2)}" y="{_num(height - 6)}" text-anchor="middle" '
                     f'fill="{MUTED}">{escape(x_label)}</text>')
    parts.append("</svg>")
    return "".join(parts)


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
    parts = _open_svg(width, height, title, description)
    for k, name in enumerate(names):
        lx, ly = left + (k % 3) * (plot_w / 3), 4 + 18 * (k // 3)
        parts.append(f'<rect x="{_num(lx)}" y="{_num(ly)}" width="12" height="12" rx="2" fill="{PALETTE[k % len(PALETTE)]}"/>'
                     f'<text x="{_num(lx + 17)}" y="{_num(ly + 10)}" fill="{INK}">{escape(MECHANISM_LABELS.get(name, name))}</text>')
    _y_axis(parts, left=left, right=width - right, top=top, plot_h=plot_h, axis_max=axis_max, step=step,
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
            parts.append(f'<rect class="chart-bar" x="{_num(x)}" y="{_num(y)}" width="{_num(bar_w)}" height="{_num(h)}" '
                         f'fill="{PALETTE[k % len(PALETTE)]}" data-series="{escape(name)}" data-label="{ordinal(rank)}" '
                         f'data-value="{value}"><title>{escape(label)}: {value} at {ordinal(rank)} choice</title></rect>')
        if g % label_every == 0:
            parts.append(f'<text x="{_num(left + group * g + group / 2)}" y="{_num(top + plot_h + 16)}" text-anchor="middle" '
                         f'fill="{MUTED}">{ordinal(rank)}</text>')
    if not ranks:
        parts.append(f'<text x="{_num(left + plot_w / 2)}" y="{_num(top + plot_h / 2)}" text-anchor="middle" '
                     f'fill="{MUTED}">No data</text>')
    parts.append(f'<line x1="{left}" y1="{_num(top + plot_h)}" x2="{_num(width - right)}" y2="{_num(top + plot_h)}" stroke="{MUTED}"/>')
    parts.append(f'<text x="{_num(left + plot_w / 2)}" y="{_num(height - 6)}" text-anchor="middle" fill="{MUTED}">'
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
    parts = _open_svg(width, height, title, ", ".join(f"{MECHANISM_LABELS.get(m, m)}: {_fmt(v)}" for m, v in zip(names, clean, strict=True)))
    _y_axis(parts, left=left, right=width - right, top=top, plot_h=plot_h, axis_max=axis_max, step=step, y_label=y_label)
    slot = plot_w / max(len(names), 1)
    bar_w = min(slot * 0.65, 48)
    for k, (name, value) in enumerate(zip(names, clean, strict=True)):
        h = plot_h * value / axis_max
        x, y = left + slot * k + (slot - bar_w) / 2, top + plot_h - h
        label = MECHANISM_LABELS.get(name, name)
        parts.append(f'<rect class="chart-bar" x="{_num(x)}" y="{_num(y)}" width="{_num(bar_w)}" height="{_num(h)}" '
                     f'fill="{PALETTE[k % len(PALETTE)]}" data-series="{escape(name)}" data-value="{_num(value)}">'
                     f"<title>{escape(label)}: {escape(_fmt(value))}</title></rect>")
        parts.append(f'<text x="{_num(x + bar_w / 2)}" y="{_num(y - 4)}" text-anchor="middle" fill="{INK}" '
                     f'font-size="11">{escape(_fmt(round(value, 2)))}</text>')
        lines = MECHANISM_SHORT.get(name, name.replace("_", " ")).split("|")
        cx = _num(x + bar_w / 2)
        spans = "".join(f'<tspan x="{cx}" dy="{0 if k == 0 else 12}">{escape(line)}</tspan>' for k, line in enumerate(lines))
        parts.append(f'<text x="{cx}" y="{_num(top + plot_h + 15)}" text-anchor="middle" fill="{MUTED}" font-size="11">{spans}</text>')
    parts.append(f'<line x1="{left}" y1="{_num(top + plot_h)}" x2="{_num(width - right)}" y2="{_num(top + plot_h)}" stroke="{MUTED}"/>')
    parts.append("</svg>")
    return "".join(parts)
