"""Small server-side SVG charts (no JavaScript, no third-party assets)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal

from markupsafe import Markup

MAX_POINTS = 200


def sparkline(points: Sequence[tuple[datetime, Decimal]], width: int = 320, height: int = 64,
              label: str = "") -> Markup:
    """A line of values over time as inline SVG; an empty string for fewer than two points."""
    if len(points) < 2:
        return Markup("")
    step = max(1, len(points) // MAX_POINTS)
    points = list(points[::step]) + ([points[-1]] if (len(points) - 1) % step else [])
    start, end = points[0][0], points[-1][0]
    span = (end - start).total_seconds() or 1.0
    values = [float(v) for _, v in points]
    low, high = min(values), max(values)
    rise = (high - low) or 1.0
    pad = 4
    coords = " ".join(
        f"{pad + (at - start).total_seconds() / span * (width - 2 * pad):.1f},"
        f"{height - pad - (float(v) - low) / rise * (height - 2 * pad):.1f}"
        for at, v in points)
    # Markup.format escapes every argument.
    return Markup(
        '<svg class="sparkline" viewBox="0 0 {w} {h}" width="{w}" height="{h}" role="img" '
        'aria-label="{title}"><title>{title}</title><polyline fill="none" '
        'stroke="currentColor" stroke-width="2" points="{coords}"/></svg>'
    ).format(w=width, h=height, title=label or f"from {low:.2f} to {high:.2f}", coords=coords)
