"""Static SVG trend charts, made at build time.

Readable without colour: each bar carries its value as text, a missed target is hatched
and marked ✗ (a met one ✓), and the target is a dashed line labelled in words. Charts
are separate ``.svg`` files shown with ``<img>`` (an SVG shown as an image runs nothing),
with the same numbers in a table beside them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from opsledger.text.escape import html_text

WIDTH, HEIGHT = 720, 240
LEFT, RIGHT, TOP, BOTTOM = 12, 96, 30, 46


@dataclass(frozen=True)
class Point:
    label: str  # e.g. "2026-03"
    value: float | None
    text: str  # the value as shown ("12.5 min")
    mark: str  # "✓", "✗" or ""


def bar_chart(
    title: str, points: Sequence[Point], *, target: float | None = None, target_text: str = ""
) -> str:
    """An SVG document: one bar per point, value labels, an optional target line."""
    values = [p.value for p in points if p.value is not None]
    top = max([*values, target or 0.0, 0.0]) or 1.0
    top *= 1.15
    inner_w = WIDTH - LEFT - RIGHT
    inner_h = HEIGHT - TOP - BOTTOM
    step = inner_w / max(len(points), 1)
    bar = max(min(step * 0.7, 48.0), 2.0)

    def y(v: float) -> float:
        return TOP + inner_h - (v / top) * inner_h

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'width="{WIDTH}" height="{HEIGHT}" role="img" font-family="sans-serif" font-size="11">',
        f"<title>{html_text(title)}</title>",
        '<defs><pattern id="hatch" width="6" height="6" patternUnits="userSpaceOnUse" '
        'patternTransform="rotate(45)"><rect width="6" height="6" fill="#fff"/>'
        '<line x1="0" y1="0" x2="0" y2="6" stroke="#555" stroke-width="3"/></pattern></defs>',
        f'<rect x="0" y="0" width="{WIDTH}" height="{HEIGHT}" fill="#fff"/>',
        f'<text x="{LEFT}" y="16" font-size="13" font-weight="bold" fill="#222">'
        f"{html_text(title)}</text>",
        f'<line x1="{LEFT}" y1="{TOP + inner_h}" x2="{WIDTH - RIGHT}" y2="{TOP + inner_h}" '
        'stroke="#444"/>',
    ]
    every = max(1, len(points) // 14)
    for i, p in enumerate(points):
        cx = LEFT + step * i + step / 2
        if p.value is not None:
            h = (p.value / top) * inner_h
            fill = "url(#hatch)" if p.mark == "✗" else "#5c6bc0"
            out.append(
                f'<rect x="{cx - bar / 2:.1f}" y="{y(p.value):.1f}" width="{bar:.1f}" '
                f'height="{h:.1f}" fill="{fill}" stroke="#333" stroke-width="0.6"/>'
            )
            label = f"{p.text} {p.mark}".strip()
            if len(points) <= 24:
                size = 11 if len(points) <= 8 else 9
                out.append(
                    f'<text x="{cx:.1f}" y="{y(p.value) - 4:.1f}" text-anchor="middle" '
                    f'font-size="{size}" fill="#111">{html_text(label)}</text>'
                )
        else:
            out.append(
                f'<text x="{cx:.1f}" y="{TOP + inner_h - 4}" text-anchor="middle" '
                'fill="#666">no data</text>'
            )
        if i % every == 0:
            out.append(
                f'<text x="{cx:.1f}" y="{TOP + inner_h + 16}" text-anchor="middle" '
                f'fill="#222">{html_text(p.label)}</text>'
            )
    if target is not None:
        ty = y(target)
        out.append(
            f'<line x1="{LEFT}" y1="{ty:.1f}" x2="{WIDTH - RIGHT}" y2="{ty:.1f}" '
            'stroke="#b71c1c" stroke-width="1.5" stroke-dasharray="6 4"/>'
        )
        out.append(
            f'<text x="{WIDTH - RIGHT + 4}" y="{ty + 4:.1f}" fill="#b71c1c">'
            f"{html_text(target_text or 'target')}</text>"
        )
    out.append(
        f'<text x="{LEFT}" y="{HEIGHT - 8}" fill="#444">Bars: value per month; hatched with ✗ '
        "= target missed; ✓ = met; dashed line = target.</text>"
    )
    out.append("</svg>")
    return "\n".join(out) + "\n"
