"""Inline SVG charts for drift reports and trends: no scripts, no external assets, render offline."""

from __future__ import annotations

import html
import math
from collections.abc import Sequence

REFERENCE_COLOUR, CURRENT_COLOUR, DRIFT_COLOUR = "#90a4ae", "#1565c0", "#c62828"
HEIGHT, TOP, BOTTOM, LEFT = 270, 44, 90, 48
FONT = 'font-size="11" font-family="system-ui, sans-serif"'


def _svg(width: float, height: float, parts: list[str]) -> str:
    return f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height}" {FONT}>{"".join(parts)}</svg>'


def _title(text: str, width: float) -> str:
    return (
        f'<text x="{width / 2:.1f}" y="16" text-anchor="middle" font-weight="bold">{html.escape(text)}</text>'
    )


def _y_axis(high: float, width: float, label: str) -> list[str]:
    """A left axis from 0 to `high` with 5 ticks and faint grid lines."""
    parts = []
    for step in range(5):
        value = high * step / 4
        y = HEIGHT - BOTTOM - (HEIGHT - BOTTOM - TOP) * step / 4
        parts.append(f'<line x1="{LEFT}" y1="{y:.1f}" x2="{width - 8:.1f}" y2="{y:.1f}" stroke="#eee"/>')
        parts.append(f'<text x="{LEFT - 4}" y="{y + 4:.1f}" text-anchor="end">{value:.3g}</text>')
    middle = (TOP + HEIGHT - BOTTOM) / 2
    parts.append(
        f'<text x="12" y="{middle}" text-anchor="middle" transform="rotate(-90 12 {middle})">{html.escape(label)}</text>'
    )
    return parts


def _x_label(x: float, text: str) -> str:
    y = HEIGHT - BOTTOM + 12
    return (
        f'<text x="{x:.1f}" y="{y}" text-anchor="end" transform="rotate(-40 {x:.1f} {y})">'
        f"{html.escape(text[:24])}</text>"
    )


def _legend(width: float, entries: Sequence[tuple[str, str]]) -> list[str]:
    parts, x = [], width - 8 - 110 * len(entries)
    for colour, text in entries:
        parts.append(f'<rect x="{x:.1f}" y="24" width="10" height="10" fill="{colour}"/>')
        parts.append(f'<text x="{x + 14:.1f}" y="33">{html.escape(text)}</text>')
        x += 110
    return parts


def _nice(value: float) -> float:
    """The smallest of 1, 2, 2.5, 5 times a power of ten that is at least `value` (> 0)."""
    power = 10.0 ** math.floor(math.log10(value))
    return next(step * power for step in (1, 2, 2.5, 5, 10) if step * power >= value)


def _y(value: float, high: float) -> float:
    return HEIGHT - BOTTOM - (HEIGHT - BOTTOM - TOP) * (value / high if high else 0.0)


def shares_chart(
    title: str, buckets: Sequence[str], reference: Sequence[float], current: Sequence[float]
) -> str:
    """Side-by-side bars of the reference and current share of each bucket."""
    slot = 26
    width = max(380, LEFT + 16 + slot * len(buckets))
    high = _nice(max([*reference, *current, 0.01]))
    parts = [_title(title, width), *_y_axis(high, width, "share of rows")]
    parts += _legend(width, [(REFERENCE_COLOUR, "reference"), (CURRENT_COLOUR, "current")])
    for index, (bucket, expected, observed) in enumerate(zip(buckets, reference, current, strict=True)):
        x = LEFT + 8 + slot * index
        for offset, value, colour in ((0, expected, REFERENCE_COLOUR), (11, observed, CURRENT_COLOUR)):
            top = _y(value, high)
            parts.append(
                f'<rect x="{x + offset}" y="{top:.1f}" width="10" height="{HEIGHT - BOTTOM - top:.1f}" '
                f'fill="{colour}"><title>{html.escape(bucket)}: {value:.2%}</title></rect>'
            )
        parts.append(_x_label(x + 12, bucket))
    return _svg(width, HEIGHT, parts)


def trend_chart(
    title: str,
    dates: Sequence[str],
    distances: Sequence[float | None],
    limits: Sequence[float | None],
    drifted: Sequence[bool],
) -> str:
    """A feature's distance run by run (None: not measured), its limit dashed, drifted runs in red."""
    slot = 44
    width = max(380, LEFT + 24 + slot * len(dates))
    known = [value for value in [*distances, *limits] if value is not None]
    high = _nice(max([*known, 0.01]))
    parts = [_title(title, width), *_y_axis(high, width, "distance")]
    parts += _legend(width, [(CURRENT_COLOUR, "distance"), (DRIFT_COLOUR, "drifted")])
    x_of = [LEFT + 16 + slot * index for index in range(len(dates))]
    for series, style in (
        (limits, 'stroke="#999" stroke-dasharray="4 3"'),
        (distances, f'stroke="{CURRENT_COLOUR}" stroke-width="2"'),
    ):
        points = [
            f"{x:.1f},{_y(value, high):.1f}"
            for x, value in zip(x_of, series, strict=True)
            if value is not None
        ]
        if len(points) > 1:
            parts.append(f'<polyline points="{" ".join(points)}" fill="none" {style}/>')
    for x, date, value, flagged in zip(x_of, dates, distances, drifted, strict=True):
        if value is not None:
            colour = DRIFT_COLOUR if flagged else CURRENT_COLOUR
            parts.append(
                f'<circle cx="{x:.1f}" cy="{_y(value, high):.1f}" r="4" fill="{colour}">'
                f"<title>{html.escape(date)}: {value:.4f}</title></circle>"
            )
        parts.append(_x_label(x + 4, date))
    return _svg(width, HEIGHT, parts)


PAGE_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em; color: #222; }
table { border-collapse: collapse; font-size: 14px; margin-bottom: 1em; }
th, td { border: 1px solid #ccc; padding: 4px 8px; text-align: left; }
th { background: #f0f0f0; } td.drifted { color: #c62828; font-weight: bold; }
svg { margin: 0 1em 1em 0; }
"""


def page(title: str, body: str) -> str:
    """A self-contained HTML page."""
    return (
        f'<!doctype html>\n<html><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
        f"<style>{PAGE_STYLE}</style></head><body>\n{body}\n</body></html>\n"
    )
