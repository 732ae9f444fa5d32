"""The chances heatmap (DESIGN §6, §11): every faculty member's probability of every week, server-side SVG.

One row per faculty member, one column per week; a cell's darkness is proportional to the probability on one
linear scale from 0 (white) to 100 % (darkest), shown in a legend. Empty cells (probability 0) are not drawn.
Every drawn cell carries a <title> (name, week, chance) for a pointer; the <desc> says how to read it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from html import escape

from gtsched_site.charts import INK, MUTED, num, open_svg

# ColorBrewer "Blues", light to dark: sequential, readable with the common colour-vision deficiencies.
LIGHT, DARK = (0xF7, 0xFB, 0xFF), (0x08, 0x30, 0x6B)
LEGEND_STOPS = (0.0, 0.1, 0.25, 0.5, 0.75, 1.0)
SWATCH = 34
LEGEND_W = len(LEGEND_STOPS) * (SWATCH + 4)


def shade(p: float) -> str:
    """The cell colour of probability p: linear from LIGHT (0) to DARK (1)."""
    t = min(max(float(p), 0.0), 1.0)
    r, g, b = (round(lo + (hi - lo) * t) for lo, hi in zip(LIGHT, DARK, strict=True))
    return f"#{r:02x}{g:02x}{b:02x}"


def _percent(p: float) -> str:
    return f"{100 * p:.1f}".rstrip("0").rstrip(".") + " %"


def chances_heatmap_svg(
    probabilities: Sequence[Sequence[float]], *, names: Sequence[str], weeks: Sequence[dt.date],
    holidays: Sequence[bool] = (), title: str, grid_width: int = 760, name_w: int = 170,
) -> str:
    """Faculty × weeks heatmap; probabilities[i][k] is faculty i's chance of week k (rows must match names, columns
    weeks). Cells share `grid_width` (13 to 40 px each); month names head the columns where a month starts; holiday
    weeks are marked under the grid."""
    n, n_weeks = len(names), len(weeks)
    if len(probabilities) != n or any(len(row) != n_weeks for row in probabilities):
        raise ValueError(f"Give one row of {n_weeks} probabilities per name ({n} names).")
    holidays = list(holidays) or [False] * n_weeks
    cell_w = max(13, min(40, grid_width // max(n_weeks, 1)))
    cell_h = 14 if n > 12 else 20
    left, top = name_w, 38
    grid_w, grid_h = cell_w * n_weeks, cell_h * n
    legend_top = top + grid_h + 26
    width, height = left + max(grid_w, LEGEND_W) + 12, legend_top + 42
    description = (
        f"{n} faculty (rows) by {n_weeks} weeks (columns) from {weeks[0]:%d %b %Y}" if weeks else "No weeks."
    ) + (
        ". Darker cells are likelier: the colour runs linearly from white (0 %) to dark blue (100 %). "
        "Holiday weeks are marked with a dot under the grid."
    )
    parts = open_svg(width, height, title, description)
    parts.append(f'<rect x="{left}" y="{top}" width="{grid_w}" height="{grid_h}" fill="{shade(0)}" '
                 f'stroke="{MUTED}" stroke-width="0.5"/>')
    previous_month = None
    for k, start in enumerate(weeks):
        if start.month != previous_month:
            x = left + k * cell_w
            parts.append(f'<line x1="{x}" y1="{top - 14}" x2="{x}" y2="{top + grid_h}" stroke="{MUTED}" '
                         'stroke-width="0.5" stroke-dasharray="2 2"/>')
            label = f"{start:%b}" if previous_month is not None and start.month != 1 else f"{start:%b %Y}"
            parts.append(f'<text x="{x + 2}" y="{top - 18}" fill="{MUTED}" font-size="11">{escape(label)}</text>')
            previous_month = start.month
        if holidays[k]:
            parts.append(f'<circle cx="{num(left + (k + 0.5) * cell_w)}" cy="{top + grid_h + 7}" r="2.5" fill="{INK}">'
                         f"<title>{escape(f'{start:%d %b %Y}: holiday week')}</title></circle>")
    for i, name in enumerate(names):
        y = top + i * cell_h
        shown = name if len(name) <= 26 else name[:25] + "…"
        parts.append(f'<text x="{left - 6}" y="{num(y + cell_h / 2 + 4)}" text-anchor="end" fill="{INK}" font-size="11">'
                     f"{escape(shown)}<title>{escape(name)}</title></text>")
        for k, p in enumerate(probabilities[i]):
            if p <= 0:
                continue
            parts.append(
                f'<rect class="cell" x="{left + k * cell_w}" y="{y}" width="{cell_w}" height="{cell_h}" '
                f'fill="{shade(p)}" data-p="{num(p)}"><title>{escape(name)} · week of {weeks[k]:%d %b %Y}: '
                f"{_percent(p)}</title></rect>"
            )
    _legend(parts, left=left, top=legend_top)
    parts.append("</svg>")
    return "".join(parts)


def _legend(parts: list[str], *, left: float, top: float, swatch: int = SWATCH) -> None:
    parts.append(f'<text x="{num(left - 6)}" y="{num(top + 11)}" text-anchor="end" fill="{MUTED}">Chance of the week</text>')
    for k, p in enumerate(LEGEND_STOPS):
        x = left + k * (swatch + 4)
        parts.append(f'<rect x="{num(x)}" y="{num(top)}" width="{swatch}" height="14" fill="{shade(p)}" stroke="{MUTED}" '
                     'stroke-width="0.5"/>')
        parts.append(f'<text x="{num(x + swatch / 2)}" y="{num(top + 28)}" text-anchor="middle" fill="{MUTED}" '
                     f'font-size="11">{_percent(p)}</text>')
