"""Server-side SVG charts (DESIGN §11): helpers and a generic bar chart shared by the apps' domain charts.

Pure functions returning SVG strings, nothing loaded from the internet. Every chart is an accessible image
(role="img", aria-label and a <title>), all text is XML-escaped, fonts are the system ones, and bar heights are
exactly proportional to the values on one linear scale starting at zero. Bars carry class "chart-bar", not "bar":
the site stylesheet sizes `.bar` (a progress bar), and CSS height overrides an SVG rect's height attribute.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape

FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, Arial, sans-serif"
INK, MUTED, GRID = "#1d2430", "#5f6b7a", "#dde3ea"
# Okabe–Ito: distinguishable with the common colour-vision deficiencies.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000")


def fmt(value: float) -> str:
    """A number as a chart label: integers without decimals, others with at most two."""
    if float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:,.2f}".rstrip("0").rstrip(".")


def num(value: float) -> str:
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


def open_svg(width: float, height: float, title: str, description: str = "") -> list[str]:
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {num(width)} {num(height)}" '
        f'width="{num(width)}" height="{num(height)}" role="img" aria-label="{escape(title)}" '
        f'font-family="{escape(FONT)}" font-size="12">',
        f"<title>{escape(title)}</title>",
    ]
    if description:
        parts.append(f"<desc>{escape(description)}</desc>")
    return parts


def y_axis(parts: list[str], *, left: float, right: float, top: float, plot_h: float, axis_max: float, step: float,
           y_label: str) -> None:
    ticks = round(axis_max / step)
    for k in range(ticks + 1):
        value = k * step
        y = top + plot_h - plot_h * value / axis_max
        parts.append(f'<line x1="{num(left)}" y1="{num(y)}" x2="{num(right)}" y2="{num(y)}" stroke="{GRID}"/>')
        parts.append(f'<text x="{num(left - 6)}" y="{num(y + 4)}" text-anchor="end" fill="{MUTED}">{escape(fmt(value))}</text>')
    if y_label:
        cy = top + plot_h / 2
        parts.append(f'<text x="12" y="{num(cy)}" transform="rotate(-90 12 {num(cy)})" text-anchor="middle" '
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
    description = ", ".join(f"{label}: {fmt(v)}" for label, v in zip(labels, values, strict=True)) or "No data."
    parts = open_svg(width, height, title, description)
    y_axis(parts, left=left, right=width - right, top=top, plot_h=plot_h, axis_max=axis_max, step=step, y_label=y_label)
    n = len(values)
    if n == 0:
        parts.append(f'<text x="{num(left + plot_w / 2)}" y="{num(top + plot_h / 2)}" text-anchor="middle" '
                     f'fill="{MUTED}">No data</text>')
    slot = plot_w / max(n, 1)
    bar_w = max(min(slot * 0.7, 56), 1)
    label_every = max(1, math.ceil(n / max(plot_w // 34, 1)))
    for k, (label, value) in enumerate(zip(labels, values, strict=True)):
        h = plot_h * value / axis_max
        x = left + slot * k + (slot - bar_w) / 2
        y = top + plot_h - h
        tip = f"{label}: {fmt(value)}{' ' + value_noun if value_noun else ''}"
        parts.append(f'<rect class="chart-bar" x="{num(x)}" y="{num(y)}" width="{num(bar_w)}" height="{num(h)}" '
                     f'fill="{escape(color)}" data-label="{escape(str(label))}" data-value="{num(value)}">'
                     f"<title>{escape(tip)}</title></rect>")
        if value and bar_w >= 14:
            parts.append(f'<text x="{num(x + bar_w / 2)}" y="{num(y - 3)}" text-anchor="middle" fill="{INK}" '
                         f'font-size="11">{escape(fmt(value))}</text>')
        if k % label_every == 0:
            parts.append(f'<text x="{num(x + bar_w / 2)}" y="{num(top + plot_h + 16)}" text-anchor="middle" '
                         f'fill="{MUTED}">{escape(str(label))}</text>')
    parts.append(f'<line x1="{left}" y1="{num(top + plot_h)}" x2="{num(width - right)}" y2="{num(top + plot_h)}" stroke="{MUTED}"/>')
    if x_label:
        parts.append(f'<text x="{num(left + plot_w / 2)}" y="{num(height - 6)}" text-anchor="middle" '
                     f'fill="{MUTED}">{escape(x_label)}</text>')
    parts.append("</svg>")
    return "".join(parts)
