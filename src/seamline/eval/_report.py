"""The HTML page of a comparison: one self-contained file, plots drawn as inline SVG.

No CDN and no plotting library: the page opens offline (a CI artifact, an e-mail) and
the same comparison always gives the same bytes.
"""

from __future__ import annotations

from html import escape
from pathlib import Path

from seamline.eval._compare import Comparison

_W, _ROW, _LEFT = 640, 28, 150
_STYLE = """body{font:14px system-ui,sans-serif;margin:2em;color:#222}table{border-collapse:collapse;
margin:1em 0}td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}th:first-child,
td:first-child{text-align:left}.up{color:#1a7f37}.down{color:#c62828}svg{display:block;margin:1em 0}"""


def _bars(title: str, rows: list[tuple[str, float, float | None, float | None]], top: float,
          fmt: str) -> str:
    """Horizontal bars (label, value, whisker low, whisker high) on a 0..top scale."""
    top = top or 1.0
    height = 30 + _ROW * len(rows)
    span = _W - _LEFT - 70
    out = [(f'<svg class="plot" role="img" aria-label="{escape(title)}" width="{_W}" height="{height}" '
           f'xmlns="http://www.w3.org/2000/svg"><text x="0" y="16" font-weight="bold">{escape(title)}</text>')]
    for i, (label, value, lo, hi) in enumerate(rows):
        y = 26 + i * _ROW
        w = max(0.0, value / top * span)
        right = max(w, (hi or 0.0) / top * span)  # the value is written past the whisker
        out.append(f'<text x="0" y="{y + 15}">{escape(label)}</text>'
                   f'<rect x="{_LEFT}" y="{y + 3}" width="{w:.1f}" height="16" fill="#4c78a8"/>'
                   f'<text x="{_LEFT + right + 6:.1f}" y="{y + 15}">{format(value, fmt)}</text>')
        if lo is not None and hi is not None:
            x1, x2 = _LEFT + lo / top * span, _LEFT + hi / top * span
            out.append(f'<line x1="{x1:.1f}" x2="{x2:.1f}" y1="{y + 11}" y2="{y + 11}" stroke="#222" '
                       f'stroke-width="2"/><line x1="{x1:.1f}" x2="{x1:.1f}" y1="{y + 5}" y2="{y + 17}" '
                       f'stroke="#222"/><line x1="{x2:.1f}" x2="{x2:.1f}" y1="{y + 5}" y2="{y + 17}" '
                       'stroke="#222"/>')
    return "".join(out) + "</svg>"


def _cell(value: float | None, kind: str) -> str:
    if value is None:
        return "–"
    return f"{value:.1%}" if kind == "quality" else f"{value:.4g}"


def render_html(comparison: Comparison) -> str:
    rows = comparison.summary()
    names = [r["variant"] for r in rows]
    kinds = next(iter(comparison.reports.values())).scorers
    parts = [(f"<!doctype html><html><head><meta charset='utf-8'><title>Seamline eval: "
             f"{escape(comparison.golden)}</title><style>{_STYLE}</style></head><body>"),
             (f"<h1>Eval compare</h1><p>Golden set <code>{escape(comparison.golden)}</code>, "
             f"{rows[0]['examples']} examples, {len(rows)} variants; intervals are bootstrap 95% "
             "(fixed seed).</p>")]
    parts.append(_bars("Score (95% CI)", [(r["variant"], r["score"] * 100, r["ci95"][0] * 100,
                                           r["ci95"][1] * 100) for r in rows], 100, ".1f"))
    top_lat = max(r["latency_p95_ms"] for r in rows)
    parts.append(_bars("Latency p50 ms (whisker to p95)",
                       [(r["variant"], r["latency_p50_ms"], r["latency_p50_ms"], r["latency_p95_ms"])
                        for r in rows], top_lat, ".2f"))
    top_cost = max(r["cost_total_usd"] for r in rows)
    parts.append(_bars("Total cost USD", [(r["variant"], r["cost_total_usd"], None, None) for r in rows],
                       top_cost, ".6f"))
    head = "".join(f"<th>{escape(n)}</th>" for n in names)
    parts.append(f"<h2>Scores</h2><table><tr><th>metric</th>{head}</tr>")
    parts.append("<tr><td>score</td>" + "".join(
        f"<td>{r['score']:.1%} [{r['ci95'][0]:.1%}, {r['ci95'][1]:.1%}]</td>" for r in rows) + "</tr>")
    for s, kind in kinds.items():
        cells = "".join(f"<td>{_cell(r['means'].get(s), kind)}</td>" for r in rows)
        parts.append(f"<tr><td>{escape(s)}{'' if kind == 'quality' else ' (mean)'}</td>{cells}</tr>")
    parts.append("<tr><td>answered</td>" + "".join(
        f"<td>{r['answered']}/{r['examples']}</td>" for r in rows) + "</tr></table>")
    flips = comparison.flips()
    parts.append(f"<h2>Examples that flip ({len(flips)})</h2>")
    if flips:
        ref = comparison.reference
        parts.append(f"<table><tr><th>example</th>{head}</tr>")
        for f in flips:
            flip_cells = []
            for n in names:
                v = f.scores.get(n)
                cls = "" if v is None or n == ref else (
                    " class='up'" if v > f.scores.get(ref, v) else " class='down'" if v < f.scores.get(ref, v)
                    else "")
                flip_cells.append(f"<td{cls}>{'–' if v is None else f'{v:.2f}'}</td>")
            parts.append(f"<tr><td>{escape(f.id)}</td>{''.join(flip_cells)}</tr>")
        parts.append("</table>")
    parts.append("</body></html>\n")
    return "".join(parts)


def write_html(comparison: Comparison, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_html(comparison), encoding="utf-8")
    return path
