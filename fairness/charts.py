"""The fairness chart (DESIGN §7, §11): each faculty member's actual workload against their fair share, server-side SVG.

One row per faculty member. The bar is the weeks they actually serve in the compared schedule, coloured by how it
stands against the fair share: overloaded (> 110 % of expected), underloaded (< 90 %) or within. The black tick is
the expected workload (φ / v(N) × total demand) and the thin line through it its 95 % interval (the interval of φ
scaled the same way; a point when the values are exact). One linear scale from zero for bars and ticks alike; every
row carries a <title> with its numbers, the <desc> says how to read the chart, and a legend sits under it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

from gtsched_site.charts import GRID, INK, MUTED, fmt, nice_axis_max, num, open_svg

# Okabe–Ito: vermillion and blue stay apart with the common colour-vision deficiencies; within is a quiet grey.
OVER, UNDER, WITHIN = "#D55E00", "#0072B2", "#AEB8C4"
ROW_H, BAR_H = 22, 12
NAME_W, RIGHT = 190, 24
TOP, AXIS_H, LEGEND_H = 30, 26, 58


@dataclass(frozen=True)
class WorkloadRow:
    """One faculty member as the chart draws them: weeks served, expected weeks with its interval, the flags."""

    name: str
    actual: float
    expected: float
    low: float
    high: float
    over: bool
    under: bool


def _colour(row: WorkloadRow) -> str:
    return OVER if row.over else UNDER if row.under else WITHIN


def _standing(row: WorkloadRow) -> str:
    return "overloaded" if row.over else "underloaded" if row.under else "within ±10 % of the fair share"


def workload_chart_svg(rows: Sequence[WorkloadRow], *, title: str, width: int = 880) -> str:
    """Horizontal bars of actual weeks per faculty member, with the expected weeks and its interval on each row."""
    if any(min(r.actual, r.expected, r.low, r.high) < 0 for r in rows):
        raise ValueError("Workloads and their intervals must be ≥ 0.")
    n = len(rows)
    left, plot_w = NAME_W, width - NAME_W - RIGHT
    plot_h = max(n, 1) * ROW_H
    axis_max, step = nice_axis_max(max((max(r.actual, r.high) for r in rows), default=0))
    height = TOP + plot_h + AXIS_H + LEGEND_H
    over, under = sum(r.over for r in rows), sum(r.under for r in rows)
    description = (
        f"{n} faculty, one row each. The bar is the weeks they serve in the compared schedule; the black tick is the "
        "expected workload, their fair share of the demand by Shapley value, and the thin line through it its 95 % "
        f"interval. Bars in vermillion are overloaded (more than 110 % of expected; {over} here), in blue underloaded "
        f"(less than 90 %; {under} here), in grey within."
    )
    parts = open_svg(width, height, title, description)

    def x(value: float) -> float:
        return left + plot_w * value / axis_max

    for k in range(round(axis_max / step) + 1):
        value = k * step
        parts.append(f'<line x1="{num(x(value))}" y1="{TOP - 4}" x2="{num(x(value))}" y2="{num(TOP + plot_h)}" '
                     f'stroke="{GRID}"/>')
        parts.append(f'<text x="{num(x(value))}" y="{num(TOP + plot_h + 15)}" text-anchor="middle" fill="{MUTED}" '
                     f'font-size="11">{escape(fmt(value))}</text>')
    parts.append(f'<text x="{num(left + plot_w / 2)}" y="{TOP - 12}" text-anchor="middle" fill="{MUTED}">'
                 "Weeks of service this year</text>")
    if n == 0:
        parts.append(f'<text x="{num(left + plot_w / 2)}" y="{num(TOP + plot_h / 2 + 4)}" text-anchor="middle" '
                     f'fill="{MUTED}">No faculty</text>')
    for i, row in enumerate(rows):
        y = TOP + i * ROW_H
        mid = y + ROW_H / 2
        shown = row.name if len(row.name) <= 28 else row.name[:27] + "…"
        tip = (f"{row.name}: serves {fmt(row.actual)} weeks, fair share {row.expected:.1f} "
               f"(95 % interval {row.low:.1f}–{row.high:.1f}); {_standing(row)}")
        classes = "fair-row" + (" over" if row.over else "") + (" under" if row.under else "")
        parts.append(f'<g class="{classes}" data-actual="{num(row.actual)}" data-expected="{num(row.expected)}">'
                     f"<title>{escape(tip)}</title>")
        flagged = row.over or row.under  # named in the bar's colour: a bar of zero weeks shows none
        weight = ' font-weight="600"' if flagged else ""
        parts.append(f'<text x="{left - 8}" y="{num(mid + 4)}" text-anchor="end" '
                     f'fill="{_colour(row) if flagged else INK}" font-size="11"{weight}>{escape(shown)}</text>')
        parts.append(f'<rect class="chart-bar" x="{left}" y="{num(mid - BAR_H / 2)}" '
                     f'width="{num(x(row.actual) - left)}" height="{BAR_H}" fill="{_colour(row)}"/>')
        if row.high > row.low:
            parts.append(f'<line class="interval" x1="{num(x(row.low))}" y1="{num(mid)}" x2="{num(x(row.high))}" '
                         f'y2="{num(mid)}" stroke="{INK}" stroke-width="1.5"/>')
        parts.append(f'<line class="expected" x1="{num(x(row.expected))}" y1="{num(mid - 8)}" '
                     f'x2="{num(x(row.expected))}" y2="{num(mid + 8)}" stroke="{INK}" stroke-width="2.5"/>')
        parts.append("</g>")
    parts.append(f'<line x1="{left}" y1="{TOP - 4}" x2="{left}" y2="{num(TOP + plot_h)}" stroke="{MUTED}"/>')
    _legend(parts, top=TOP + plot_h + AXIS_H + 6, left=12)
    parts.append("</svg>")
    return "".join(parts)


def _legend(parts: list[str], *, top: float, left: float) -> None:
    """Two lines: the three bar colours, then the tick and interval."""
    x = left
    for colour, text in ((OVER, "Overloaded (> 110 % of fair share)"), (UNDER, "Underloaded (< 90 %)"),
                         (WITHIN, "Within ±10 %")):
        parts.append(f'<rect x="{num(x)}" y="{num(top)}" width="18" height="{BAR_H}" fill="{colour}"/>')
        parts.append(f'<text x="{num(x + 24)}" y="{num(top + 10)}" fill="{INK}" font-size="11">{escape(text)}</text>')
        x += 24 + 6.2 * len(text) + 18
    y = top + 24
    parts.append(f'<line x1="{num(left)}" y1="{num(y + 6)}" x2="{num(left + 30)}" y2="{num(y + 6)}" stroke="{INK}" '
                 'stroke-width="1.5"/>')
    parts.append(f'<line x1="{num(left + 15)}" y1="{num(y - 2)}" x2="{num(left + 15)}" y2="{num(y + 14)}" '
                 f'stroke="{INK}" stroke-width="2.5"/>')
    parts.append(f'<text x="{num(left + 38)}" y="{num(y + 10)}" fill="{INK}" font-size="11">Fair share (expected '
                 "workload by Shapley value) and its 95 % interval; the bar is the weeks actually served</text>")
