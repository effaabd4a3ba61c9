"""The web console's charts: inline SVG drawn on the server.

No script and no CDN, so the console works offline and without JavaScript; every
chart sits next to a table with the same numbers for screen readers.
"""

from __future__ import annotations

from markupsafe import Markup, escape

_W, _BAR, _GAP, _LABEL = 640, 22, 8, 180


def _usd(value: float) -> str:
    return f"${value:,.2f}" if abs(value) >= 1 else f"${value:.4f}"


def bar_chart(rows: list[tuple[str, float]], title: str, chart_id: str) -> Markup:
    """Horizontal bars, one per row, longest for the largest value."""
    if not rows:
        return Markup("")
    top = max(v for _, v in rows) or 1.0
    height = len(rows) * (_BAR + _GAP) + _GAP
    room = _W - _LABEL - 90
    parts = [Markup(
        f'<svg class="chart" role="img" aria-labelledby="{chart_id}-t" viewBox="0 0 {_W} {height}"'
        f' width="100%" preserveAspectRatio="xMinYMin meet" xmlns="http://www.w3.org/2000/svg">'
        f'<title id="{chart_id}-t">') + escape(title) + Markup("</title>")]
    for i, (label, value) in enumerate(rows):
        y = _GAP + i * (_BAR + _GAP)
        width = max(1.0, room * value / top)
        short = label if len(label) <= 24 else label[:23] + "…"
        parts.append(Markup(
            f'<text x="{_LABEL - 8}" y="{y + _BAR * 0.7:.1f}" text-anchor="end">') + escape(short)
            + Markup(f'</text><rect x="{_LABEL}" y="{y}" width="{width:.1f}" height="{_BAR}" '
                     f'class="bar"/><text x="{_LABEL + width + 6:.1f}" y="{y + _BAR * 0.7:.1f}">')
            + escape(_usd(value)) + Markup("</text>"))
    parts.append(Markup("</svg>"))
    return Markup("").join(parts)


def column_chart(rows: list[tuple[str, float]], title: str, chart_id: str) -> Markup:
    """Vertical columns in the rows' order (days, oldest first), labelled sparsely."""
    if not rows:
        return Markup("")
    height, base, left = 220, 190, 60
    top = max(v for _, v in rows) or 1.0
    step = (_W - left - 10) / len(rows)
    every = max(1, len(rows) // 8)
    parts = [Markup(
        f'<svg class="chart" role="img" aria-labelledby="{chart_id}-t" viewBox="0 0 {_W} {height}"'
        f' width="100%" preserveAspectRatio="xMinYMin meet" xmlns="http://www.w3.org/2000/svg">'
        f'<title id="{chart_id}-t">') + escape(title) + Markup(
        f'</title><line x1="{left}" y1="{base}" x2="{_W - 10}" y2="{base}" class="axis"/>'
        f'<text x="{left - 6}" y="16" text-anchor="end">') + escape(_usd(top)) + Markup("</text>")]
    for i, (label, value) in enumerate(rows):
        h = (base - 20) * value / top
        x = left + i * step
        parts.append(Markup(
            f'<rect x="{x + step * 0.15:.1f}" y="{base - h:.1f}" width="{step * 0.7:.1f}" '
            f'height="{h:.1f}" class="bar"><title>') + escape(f"{label}: {_usd(value)}")
            + Markup("</title></rect>"))
        if i % every == 0:
            parts.append(Markup(f'<text x="{x + step / 2:.1f}" y="{base + 16}" '
                                f'text-anchor="middle">') + escape(label[5:]) + Markup("</text>"))
    parts.append(Markup("</svg>"))
    return Markup("").join(parts)
