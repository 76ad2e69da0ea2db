"""Charts drawn on the server as inline SVG (no JavaScript, no CDN). Every chart's numbers are also in a table on
the same page. Text goes through markupsafe, like every other value of a page."""

from __future__ import annotations

from markupsafe import Markup, escape


def bar_chart(points: list[tuple[str, float | None]], *, ratio: bool, target: float | None = None,
              width: int = 640, height: int = 200, title: str = "") -> Markup:
    """Monthly bars; ratios on a 0-100 % scale with the target as a dashed line."""
    left, bottom, top = 44, 28, 12
    plot_w, plot_h = width - left - 8, height - bottom - top
    values = [v for _, v in points if v is not None]
    vmax = 1.0 if ratio else max(values + [1.0])
    step = plot_w / max(len(points), 1)
    parts = [f'<svg class="chart" role="img" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
             f'xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>']
    for i in range(5):  # grid and axis labels
        y = top + plot_h - plot_h * i / 4
        label = f"{i * 25}%" if ratio else f"{vmax * i / 4:,.0f}"
        parts.append(f'<line x1="{left}" x2="{width - 8}" y1="{y:.1f}" y2="{y:.1f}" class="grid"/>'
                     f'<text x="{left - 4}" y="{y + 4:.1f}" class="axis" text-anchor="end">{escape(label)}</text>')
    for i, (label, v) in enumerate(points):
        x = left + i * step + step * 0.15
        if v is not None:
            h = plot_h * (v / vmax if vmax else 0)
            parts.append(f'<rect x="{x:.1f}" y="{top + plot_h - h:.1f}" width="{step * 0.7:.1f}" height="{h:.1f}" '
                         f'class="bar"><title>{escape(label)}: {escape(_fmt(v, ratio))}</title></rect>')
        parts.append(f'<text x="{x + step * 0.35:.1f}" y="{height - 10}" class="axis" text-anchor="middle">'
                     f'{escape(label)}</text>')
    if ratio and target is not None:
        y = top + plot_h - plot_h * target
        parts.append(f'<line x1="{left}" x2="{width - 8}" y1="{y:.1f}" y2="{y:.1f}" class="target"/>'
                     f'<text x="{width - 10}" y="{y - 4:.1f}" class="axis" text-anchor="end">目标</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def _fmt(v: float, ratio: bool) -> str:
    return f"{v * 100:.1f}%" if ratio else f"{v:,.0f}"
