"""Bar charts as SVG, drawn on the server: no script, nothing fetched, and they print.

Each bar carries its number as a label beside it and is filled with a black-and-white pattern,
so a chart reads the same on a monochrome printer and to someone who cannot tell colours apart.
The chart's <title> and <desc> say every number in words for screen readers; the page puts
the same numbers in a table under each chart.
"""

from markupsafe import Markup, escape

FONT = 'font-family="IPAexGothic, sans-serif"'
# Fills a monochrome printer renders as clearly different textures.
PATTERNS = {
    "hatch": '<pattern id="{id}" width="8" height="8" patternUnits="userSpaceOnUse" '
             'patternTransform="rotate(45)"><rect width="8" height="8" fill="#ffffff"/>'
             '<line x1="0" y1="0" x2="0" y2="8" stroke="#1a1a1a" stroke-width="4"/></pattern>',
    "dots": '<pattern id="{id}" width="6" height="6" patternUnits="userSpaceOnUse">'
            '<rect width="6" height="6" fill="#ffffff"/>'
            '<circle cx="3" cy="3" r="1.6" fill="#1a1a1a"/></pattern>',
    "solid": '<pattern id="{id}" width="4" height="4" patternUnits="userSpaceOnUse">'
             '<rect width="4" height="4" fill="#4d4d4d"/></pattern>',
}


def _number(value) -> str:
    if value is None:
        return "—"
    if isinstance(value, float) and not value.is_integer():
        return f"{value:,.1f}"
    return f"{int(value):,}"


def _head(chart_id: str, title: str, desc: str, width: int, height: int,
          patterns: list[str]) -> list[str]:
    defs = "".join(PATTERNS[p].format(id=f"{chart_id}-{p}") for p in patterns)
    return [f'<svg class="chart" xmlns="http://www.w3.org/2000/svg" role="img" '
            f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
            f'aria-labelledby="{chart_id}-title {chart_id}-desc" id="{chart_id}">',
            f'<title id="{chart_id}-title">{escape(title)}</title>',
            f'<desc id="{chart_id}-desc">{escape(desc)}</desc>',
            f"<defs>{defs}</defs>"]


def horizontal(chart_id: str, title: str, rows: list[tuple[str, float | None]], *,
               unit: str = "件", pattern: str = "hatch", notes: list[str] | None = None
               ) -> Markup:
    """One bar per row, largest first as given; ``notes`` (one per row) go after the number."""
    label_w, bar_w, row_h, top = 250, 330, 30, 8
    width = label_w + bar_w + 140
    height = top * 2 + row_h * max(1, len(rows))
    top_value = max([v or 0 for _label, v in rows] + [0])
    desc = "、".join(f"{label}: {_number(v)}{unit}" + (f"（{notes[i]}）" if notes else "")
                    for i, (label, v) in enumerate(rows)) or "データがありません"
    out = _head(chart_id, title, desc, width, height, [pattern])
    out.append(f'<g {FONT} font-size="14" fill="#1a1a1a" aria-hidden="true">')
    if not rows:
        out.append(f'<text x="{label_w}" y="{top + 20}">データがありません</text>')
    for i, (label, value) in enumerate(rows):
        y = top + i * row_h
        w = 0 if not top_value or not value else max(2, round(value / top_value * bar_w))
        text = f"{_number(value)}{unit}" + (f"　{notes[i]}" if notes else "")
        out.append(f'<text x="{label_w - 8}" y="{y + 20}" text-anchor="end">'
                   f"{escape(label)}</text>")
        if w:
            out.append(f'<rect x="{label_w}" y="{y + 5}" width="{w}" height="{row_h - 10}" '
                       f'fill="url(#{chart_id}-{pattern})" stroke="#1a1a1a" stroke-width="1.5"/>')
        out.append(f'<text x="{label_w + w + 6}" y="{y + 20}">{escape(text)}</text>')
    out.append(f'<line x1="{label_w}" y1="{top}" x2="{label_w}" y2="{height - top}" '
               'stroke="#1a1a1a" stroke-width="1.5"/>')
    out.append("</g></svg>")
    return Markup("".join(out))


def columns(chart_id: str, title: str, labels: list[str],
            series: list[tuple[str, str, list[float]]], *, unit: str = "件") -> Markup:
    """Grouped columns (one group per label); ``series`` is (name, pattern, values)."""
    group_w = max(56, 22 * len(series) + 24)
    left, plot_h, top, legend_h = 16, 180, 24, 28
    width = max(480, left * 2 + group_w * len(labels))
    height = top + plot_h + 30 + legend_h
    base = top + plot_h
    top_value = max([v or 0 for _n, _p, values in series for v in values] + [0])
    desc = "、".join(
        f"{label}: " + "、".join(f"{name} {_number(values[i])}{unit}"
                                for name, _p, values in series)
        for i, label in enumerate(labels)) or "データがありません"
    out = _head(chart_id, title, desc, width, height, sorted({p for _n, p, _v in series}))
    out.append(f'<g {FONT} font-size="13" fill="#1a1a1a" aria-hidden="true">')
    bar = (group_w - 16) // max(1, len(series))
    for i, label in enumerate(labels):
        x0 = left + i * group_w + 8
        for j, (_name, pattern, values) in enumerate(series):
            value = values[i] or 0
            h = 0 if not top_value else round(value / top_value * (plot_h - 20))
            x = x0 + j * bar
            if h:
                out.append(f'<rect x="{x}" y="{base - h}" width="{bar - 2}" height="{h}" '
                           f'fill="url(#{chart_id}-{pattern})" stroke="#1a1a1a" '
                           'stroke-width="1.5"/>')
            out.append(f'<text x="{x + (bar - 2) / 2}" y="{base - h - 4}" '
                       f'text-anchor="middle">{_number(values[i])}</text>')
        out.append(f'<text x="{x0 + (group_w - 16) / 2}" y="{base + 18}" '
                   f'text-anchor="middle">{escape(label)}</text>')
    out.append(f'<line x1="{left}" y1="{base}" x2="{width - left}" y2="{base}" '
               'stroke="#1a1a1a" stroke-width="1.5"/>')
    x = left
    for name, pattern, _values in series:  # the legend: pattern swatch, then its name
        y = height - legend_h + 6
        out.append(f'<rect x="{x}" y="{y}" width="18" height="14" '
                   f'fill="url(#{chart_id}-{pattern})" stroke="#1a1a1a"/>')
        out.append(f'<text x="{x + 24}" y="{y + 12}">{escape(name)}</text>')
        x += 24 + 16 * len(name) + 24
    out.append("</g></svg>")
    return Markup("".join(out))


__all__ = ["columns", "horizontal"]
