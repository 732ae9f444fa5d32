"""Server-side SVG charts of the stability report: the nash-distance gauge and the gains of the top instabilities.

Same conventions as gtsched_site.charts: accessible images (role="img", aria-label, <title>, <desc>), escaped text,
system fonts, one linear scale from zero, bars with class "chart-bar".
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape
from typing import Any

from gtsched_site.charts import GRID, INK, MUTED, PALETTE, fmt, nice_axis_max, num, open_svg

LEVEL_COLOURS = {"STABLE": "#1a7f37", "MARGINAL": "#9a6700", "UNSTABLE": "#c2410c", "CRITICAL": "#b42318"}
BAND_FILLS = {"STABLE": "#d3eedb", "MARGINAL": "#fcefc7", "UNSTABLE": "#fddcc4", "CRITICAL": "#f9d0cc"}
LEVELS = ("STABLE", "MARGINAL", "UNSTABLE", "CRITICAL")


def _pct(x: float) -> str:
    return f"{100 * x:.1f}".rstrip("0").rstrip(".") + "%"


def distance_gauge_svg(distance: float, *, thresholds: Sequence[float], level: str, width: int = 640,
                       height: int = 96) -> str:
    """A horizontal gauge from 0 % to 100 % of assignments in a blocking swap, banded by stability level, with a
    marker at the schedule's nash_distance."""
    if not 0 <= distance <= 1:
        raise ValueError(f"nash_distance must lie in [0, 1], got {distance!r}.")
    t = [float(x) for x in thresholds]
    left, right, top, bar_h = 16, 16, 30, 22
    plot_w = width - left - right
    edges = [0.0, *t, 1.0]
    title = f"Nash distance {_pct(distance)}: {level}"
    description = (
        f"{_pct(distance)} of assignments are in at least one blocking swap. Bands: stable below {_pct(t[0])}, "
        f"marginal below {_pct(t[1])}, unstable below {_pct(t[2])}, critical from {_pct(t[2])}."
    )
    parts = open_svg(width, height, title, description)
    for name, lo, hi in zip(LEVELS, edges[:-1], edges[1:], strict=True):
        x, w = left + plot_w * lo, plot_w * (hi - lo)
        parts.append(f'<rect class="gauge-band" x="{num(x)}" y="{top}" width="{num(w)}" height="{bar_h}" '
                     f'fill="{BAND_FILLS[name]}" data-level="{name}"><title>{name.title()}: {_pct(lo)}–{_pct(hi)}</title></rect>')
        if w >= 70:
            parts.append(f'<text x="{num(x + w / 2)}" y="{top + bar_h / 2 + 4}" text-anchor="middle" font-size="11" '
                         f'fill="{LEVEL_COLOURS[name]}">{name.title()}</text>')
    for k, edge in enumerate(edges):
        x = left + plot_w * edge
        parts.append(f'<line x1="{num(x)}" y1="{top + bar_h}" x2="{num(x)}" y2="{top + bar_h + 5}" stroke="{MUTED}"/>')
        if k == 0:
            continue  # the scale starts at 0 %; its label would crowd the first threshold's
        anchor = "end" if k == len(edges) - 1 else "middle"
        parts.append(f'<text x="{num(x)}" y="{top + bar_h + 17}" text-anchor="{anchor}" font-size="11" '
                     f'fill="{MUTED}">{_pct(edge)}</text>')
    x = left + plot_w * distance
    colour = LEVEL_COLOURS.get(level, INK)
    parts.append(f'<line class="gauge-marker" x1="{num(x)}" y1="{top - 6}" x2="{num(x)}" y2="{top + bar_h + 2}" '
                 f'stroke="{colour}" stroke-width="3" data-value="{distance:.6f}"/>')
    parts.append(f'<path d="M{num(x - 6)},{top - 14} L{num(x + 6)},{top - 14} L{num(x)},{top - 6} Z" fill="{colour}"/>')
    anchor = "start" if distance < 0.12 else "end" if distance > 0.88 else "middle"
    dx = 8 if anchor == "start" else -8 if anchor == "end" else 0
    parts.append(f'<text x="{num(x + dx)}" y="{top - 17}" text-anchor="{anchor}" font-weight="700" fill="{colour}">'
                 f"{escape(_pct(distance))} · {escape(level)}</text>")
    parts.append("</svg>")
    return "".join(parts)


def gains_svg(rows: Sequence[Mapping[str, Any]], *, title: str = "Gains of the top instabilities",
              width: int = 560) -> str:
    """Stacked horizontal bars, one per instability: the holder's gain and the partner's gain from the swap."""
    left, right, top, row_h = 190, 40, 28, 24
    height = top + row_h * max(len(rows), 1) + 30
    plot_w = width - left - right
    totals = [max(float(r.get("gain_self") or 0), 0.0) + max(float(r.get("gain_partner") or 0), 0.0) for r in rows]
    axis_max, step = nice_axis_max(max(totals, default=0.0) or 0.1)
    description = "; ".join(
        f"{r.get('faculty_name')} wants week {r.get('wanted_week')}: gain {fmt(round(float(r.get('gain_self') or 0), 3))}, "
        f"partner {fmt(round(float(r.get('gain_partner') or 0), 3))}"
        for r in rows
    ) or "No instabilities."
    parts = open_svg(width, height, title, description)
    colours = (PALETTE[0], PALETTE[1])
    for k, label in enumerate(("holder's gain", "partner's gain")):
        lx = left + k * 130
        parts.append(f'<rect x="{lx}" y="4" width="12" height="12" rx="2" fill="{colours[k]}"/>'
                     f'<text x="{lx + 17}" y="14" fill="{INK}">{label}</text>')
    ticks = round(axis_max / step)
    bottom = top + row_h * max(len(rows), 1)
    for k in range(ticks + 1):
        value = k * step
        x = left + plot_w * value / axis_max
        parts.append(f'<line x1="{num(x)}" y1="{top}" x2="{num(x)}" y2="{bottom}" stroke="{GRID}"/>')
        parts.append(f'<text x="{num(x)}" y="{bottom + 14}" text-anchor="middle" font-size="11" fill="{MUTED}">'
                     f"{escape(fmt(round(value, 4)))}</text>")
    if not rows:
        parts.append(f'<text x="{num(left + plot_w / 2)}" y="{top + 16}" text-anchor="middle" fill="{MUTED}">'
                     "No blocking swaps</text>")
    for k, row in enumerate(rows):
        y = top + row_h * k + 4
        name = str(row.get("faculty_name") or "")
        label = f"{name[:18]}{'…' if len(name) > 18 else ''} → wk {int(row.get('wanted_week_index', 0)) + 1}"
        parts.append(f'<text x="{left - 8}" y="{y + 12}" text-anchor="end" fill="{INK}">{escape(label)}</text>')
        x = float(left)
        for colour, key in zip(colours, ("gain_self", "gain_partner"), strict=True):
            value = max(float(row.get(key) or 0), 0.0)
            w = plot_w * value / axis_max
            parts.append(f'<rect class="chart-bar" x="{num(x)}" y="{y}" width="{num(w)}" height="16" fill="{colour}" '
                         f'data-label="{escape(name)}" data-series="{key}" data-value="{value:.6f}">'
                         f"<title>{escape(name)}: {key.replace('_', ' ')} {fmt(round(value, 4))}</title></rect>")
            x += w
        parts.append(f'<text x="{num(x + 4)}" y="{y + 12}" font-size="11" fill="{MUTED}">'
                     f"{escape(fmt(round(totals[k], 3)))}</text>")
    parts.append(f'<line x1="{left}" y1="{top}" x2="{left}" y2="{bottom}" stroke="{MUTED}"/>')
    parts.append(f'<text x="{num(left + plot_w / 2)}" y="{height - 4}" text-anchor="middle" fill="{MUTED}">'
                 "Utility gained by the swap (0–1 scale)</text>")
    parts.append("</svg>")
    return "".join(parts)
