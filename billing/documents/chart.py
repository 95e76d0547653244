"""The consumption history chart of an invoice: an inline SVG bar chart drawn here (no
plotting library, so the PDF renders the same everywhere and the page can reuse it).

One bar per period (the last ``MAX_BARS``), in kWh; the invoiced period is dark, earlier
ones light, estimated ones hatched; the axis has "nice" steps (1, 2 or 5 times a power
of ten).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from html import escape

from babel.dates import format_date
from babel.numbers import format_decimal

from billing.documents.document import HistoryPoint

MAX_BARS = 13
WIDTH, HEIGHT = 640, 150
LEFT, RIGHT, TOP, BOTTOM = 48, 8, 18, 28  # margins, px (user units)


def nice_step(top: float, ticks: int = 5) -> float:
    """An axis step of 1, 2 or 5 times a power of ten giving about ``ticks`` steps to
    ``top``: ``nice_step(430) == 100``, ``nice_step(0) == 1``."""
    if top <= 0:
        return 1.0
    raw = top / ticks
    power = 10 ** math.floor(math.log10(raw))
    for factor in (1, 2, 5, 10):
        if raw <= factor * power:
            return float(factor * power)
    return float(10 * power)  # unreachable: raw <= 10 * power by construction


def _month_label(label: str, locale: str) -> str:
    try:
        year, month = (int(part) for part in label.split("-")[:2])
    except ValueError:
        return label
    return str(format_date(date(year, month, 1), "MMM yy", locale=locale))


def history_svg(points: Sequence[HistoryPoint], *, locale: str = "fr", unit: str = "kWh") -> str:
    """The chart as an ``<svg>`` element (the last point is the invoiced period)."""
    shown = list(points)[-MAX_BARS:]
    title = escape(f"{unit}")
    if not shown:
        return (
            f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} 40" '
            f'class="history" role="img"><text x="4" y="24" class="empty">-</text></svg>'
        )
    top = max(float(p.kwh) for p in shown)
    step = nice_step(top)
    axis_top = step * max(1, math.ceil(top / step))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = plot_w / len(shown)
    bar_w = slot * 0.64
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'class="history" role="img" aria-label="{title}">',
        '<defs><pattern id="est" width="6" height="6" patternUnits="userSpaceOnUse" '
        'patternTransform="rotate(45)"><rect width="6" height="6" fill="#c9d6e3"/>'
        '<line x1="0" y1="0" x2="0" y2="6" stroke="#5b7a99" stroke-width="2"/></pattern></defs>',
    ]
    ticks = round(axis_top / step)
    for i in range(ticks + 1):
        value = step * i
        y = TOP + plot_h - plot_h * value / axis_top
        parts.append(
            f'<line x1="{LEFT}" y1="{y:.1f}" x2="{WIDTH - RIGHT}" y2="{y:.1f}" class="grid" '
            'stroke="#d0d0d0" stroke-width="0.6"/>'
        )
        parts.append(
            f'<text x="{LEFT - 4}" y="{y + 3:.1f}" text-anchor="end" font-size="9" fill="#555">'
            f"{escape(format_decimal(value, locale=locale))}</text>"
        )
    parts.append(f'<text x="4" y="{TOP - 6}" font-size="9" fill="#555">{title}</text>')
    for index, point in enumerate(shown):
        value = float(point.kwh)
        height = plot_h * max(value, 0.0) / axis_top
        x = LEFT + slot * index + (slot - bar_w) / 2
        y = TOP + plot_h - height
        current = index == len(shown) - 1
        fill = "url(#est)" if point.estimated else ("#1f4e79" if current else "#8fb3d9")
        kind = "bar current" if current else "bar"
        parts.append(
            f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar_w:.1f}" height="{height:.1f}" '
            f'fill="{fill}" class="{kind}" data-kwh="{point.kwh}"/>'
        )
        shown_value = format_decimal(Decimal(point.kwh).quantize(Decimal(1)), locale=locale)
        parts.append(
            f'<text x="{x + bar_w / 2:.1f}" y="{y - 3:.1f}" text-anchor="middle" font-size="8" '
            f'fill="#222">{escape(shown_value)}</text>'
        )
        parts.append(
            f'<text x="{x + bar_w / 2:.1f}" y="{HEIGHT - BOTTOM + 12}" text-anchor="middle" '
            f'font-size="8" fill="#333">{escape(_month_label(point.label, locale))}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)
