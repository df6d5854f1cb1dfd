"""Server-side SVG charts: bars (stacked or side by side, with lines), lines, horizontal bars.

No JavaScript and no style attributes (the pages' CSP forbids inline styles):
colours and fonts are SVG presentation attributes. Every chart has a visible
title, labelled axes with units, labelled ticks and a legend, and is an
``<svg role="img">`` named by its ``<title>`` and ``<desc>``. Each bar and
point carries its own ``<title>`` (its value on hover). Pages put the same
numbers in a table beside the chart.

Our own code rather than a library such as pygal: pygal draws with an
embedded ``<style>`` sheet and script, both of which the CSP blocks.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

WIDTH, HEIGHT = 720, 320
INK = "#1d2430"  # 15:1 on white
MUTED_INK = "#475467"  # 7.4:1 on white: tick labels
GRID = "#e2e5ea"
AXIS = "#98a2b3"
FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif"
CHAR_WIDTH = 6.6  # average width of a 12 px character, for layout estimates
TITLE_HEIGHT, LEGEND_ROW = 26, 20
PAD = 12


@dataclass(frozen=True)
class Series:
    """One named row of values (None: no value there), drawn in ``color``."""

    label: str
    values: Sequence[float | None]
    color: str
    dashed: bool = False


@dataclass(frozen=True)
class Axis:
    """A value axis: its label (with the unit) and how its numbers are written."""

    label: str
    format: Callable[[float], str]
    minimum: float | None = None  # fixed bounds, e.g. 0 and 1 for a rate
    maximum: float | None = None
    whole: bool = False  # ticks on whole numbers only (counts)


@dataclass(frozen=True)
class Frame:
    """Where the plot area sits inside the SVG."""

    left: float
    top: float
    right: float
    bottom: float

    @property
    def width(self) -> float:
        return self.right - self.left

    @property
    def height(self) -> float:
        return self.bottom - self.top


# -- numbers -----------------------------------------------------------------------


def nice_ticks(low: float, high: float, count: int = 5, whole: bool = False) -> list[float]:
    """Round tick values covering ``[low, high]`` (steps of 1, 2 or 5 times a power of ten)."""
    if high < low:
        low, high = high, low
    if math.isclose(high, low):
        high = low + (1 if whole or low == 0 else abs(low) * 0.1)
    raw = (high - low) / max(count, 1)
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    if whole:
        step = max(1, math.ceil(step))
    start = math.floor(low / step) * step
    ticks = []
    value = start
    while value < high - step * 1e-9:
        ticks.append(round(value, 10))
        value += step
    ticks.append(round(value, 10))
    return ticks


def _scale(axis: Axis, values: Sequence[float]) -> list[float]:
    present = [v for v in values if v is not None]
    low = axis.minimum if axis.minimum is not None else min([0.0, *present])
    high = axis.maximum if axis.maximum is not None else max([0.0, *present])
    if axis.maximum is not None and axis.minimum is not None:
        return nice_ticks(low, high, 5)
    return nice_ticks(low, high, 5, axis.whole)


def _y(value: float, ticks: list[float], frame: Frame) -> float:
    low, high = ticks[0], ticks[-1]
    return frame.bottom - (value - low) / ((high - low) or 1) * frame.height


# -- pieces ------------------------------------------------------------------------


# Pieces are plain string templates (Markup.format costs ~20x more, and a chart has
# hundreds of pieces); every text value from outside (labels, names, numbers in
# words) goes through ``escape`` before it is placed, and only the finished SVG
# becomes Markup.
_TEXT = ('<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" text-anchor="{anchor}" '
               'fill="{fill}" font-weight="{weight}">{content}</text>')
_ROTATED_TEXT = ('<text x="{x:.1f}" y="{y:.1f}" font-size="12" text-anchor="middle" '
                       'fill="{fill}" font-weight="600" transform="rotate(-90 {x:.1f} {y:.1f})">'
                       '{content}</text>')
_HLINE = ('<line x1="{x1:.1f}" y1="{y:.1f}" x2="{x2:.1f}" y2="{y:.1f}" stroke="{color}" '
                'stroke-width="1"/>')
_VLINE = ('<line x1="{x:.1f}" y1="{y1:.1f}" x2="{x:.1f}" y2="{y2:.1f}" stroke="{color}" '
                'stroke-width="1"/>')
_RECT = ('<rect x="{x:.1f}" y="{y:.1f}" width="{w:.1f}" height="{h:.1f}" fill="{color}">'
               '<title>{tip}</title></rect>')
_SWATCH = ('<rect x="{x:.1f}" y="{y:.1f}" width="14" height="12" rx="2" fill="{color}"/>')
_DASH_SWATCH = ('<line x1="{x:.1f}" y1="{y:.1f}" x2="{x2:.1f}" y2="{y:.1f}" '
                      'stroke="{color}" stroke-width="2.5" stroke-dasharray="4 2"/>')
_DOT = ('<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{color}"><title>{tip}</title>'
              '</circle>')
_POLYLINE = ('<polyline points="{points}" fill="none" stroke="{color}" stroke-width="2.5"'
                   '{dash}/>')
_DASHED = ' stroke-dasharray="6 4"'
_SVG = (
    '<svg class="chart {css_class}" id="{id}" viewBox="0 0 {w} {h:.0f}" width="{w}" '
    'height="{h:.0f}" role="img" aria-labelledby="{id}-title {id}-desc" font-family="{font}" '
    'xmlns="http://www.w3.org/2000/svg"><title id="{id}-title">{title}</title>'
    '<desc id="{id}-desc">{desc}</desc><rect width="{w}" height="{h:.0f}" fill="#ffffff"/>'
    '{heading}{body}</svg>')


def _join(parts: Sequence[str]) -> str:
    return "".join(parts)


def _text(x: float, y: float, content: str, size: int = 12, anchor: str = "start",
          fill: str = INK, weight: str = "normal") -> str:
    return _TEXT.format(x=x, y=y, size=size, anchor=anchor, fill=fill, weight=weight,
                        content=escape(content))


def _tip(category: str, label: str, value: str) -> str:
    """A bar's or point's hover text, escaped."""
    return escape(f"{category}: {label} {value}")


def _legend(items: Sequence[Series], top: float, width: float) -> tuple[str, float]:
    """Legend swatches and labels from the left, wrapping; returns the SVG and its height."""
    if not items:
        return "", 0.0
    parts, x, y = [], PAD, top
    for item in items:
        needed = 22 + len(item.label) * CHAR_WIDTH + 16
        if x + needed > width - PAD and x > PAD:
            x, y = PAD, y + LEGEND_ROW
        if item.dashed:
            parts.append(_DASH_SWATCH.format(x=x, y=y + 6, x2=x + 14, color=item.color))
        else:
            parts.append(_SWATCH.format(x=x, y=y, color=item.color))
        parts.append(_text(x + 20, y + 10, item.label))
        x += needed
    return _join(parts), y + LEGEND_ROW - top


def _value_axis(axis: Axis, ticks: list[float], frame: Frame, side: str = "left") -> str:
    """Grid lines (left axis only), tick labels and the rotated axis label."""
    parts = []
    for tick in ticks:
        y = _y(tick, ticks, frame)
        if side == "left":
            parts.append(_HLINE.format(x1=frame.left, x2=frame.right, y=y, color=GRID))
            parts.append(_text(frame.left - 6, y + 4, axis.format(tick), 11, "end", MUTED_INK))
        else:
            parts.append(_text(frame.right + 6, y + 4, axis.format(tick), 11, "start",
                               MUTED_INK))
    middle = frame.top + frame.height / 2
    x = 14 if side == "left" else frame.right + 66
    parts.append(_ROTATED_TEXT.format(x=x, y=middle, fill=INK, content=escape(axis.label)))
    return _join(parts)


def _category_axis(categories: Sequence[str], frame: Frame, label: str) -> str:
    """Baseline, category labels (every k-th when they would overlap) and the axis label."""
    parts = [_HLINE.format(x1=frame.left, x2=frame.right, y=frame.bottom, color=AXIS)]
    count = len(categories)
    if count:
        band = frame.width / count
        longest = max(len(c) for c in categories) * CHAR_WIDTH * 11 / 12 + 10
        every = max(1, math.ceil(longest / band))
        for index in range(0, count, every):
            x = frame.left + band * (index + 0.5)
            parts.append(_text(x, frame.bottom + 16, categories[index], 11, "middle",
                               MUTED_INK))
    parts.append(_text(frame.left + frame.width / 2, frame.bottom + 36, label, 12, "middle",
                       INK, "600"))
    return _join(parts)


def _svg(chart_id: str, title: str, description: str, body: str, width: int, height: float,
         css_class: str) -> Markup:
    svg = _SVG.format(css_class=css_class, id=escape(chart_id), w=width, h=height, font=FONT,
                      title=escape(title), desc=escape(description), body=body,
                      heading=_text(PAD, 18, title, 14, "start", INK, "700"))
    return Markup(svg)  # noqa: S704 - built from templates with every value escaped


def _empty_note(frame: Frame, note: str) -> str:
    return _text(frame.left + frame.width / 2, frame.top + frame.height / 2, note, 13,
                 "middle", MUTED_INK)


# -- charts ------------------------------------------------------------------------


def bar_chart(chart_id: str, title: str, description: str, categories: Sequence[str],
              bars: Sequence[Series], y_axis: Axis, x_label: str, *, stacked: bool = True,
              lines: Sequence[Series] = (), line_axis: Axis | None = None,
              empty_note: str = "", width: int = WIDTH, height: int = HEIGHT) -> Markup:
    """Bars per category (stacked or side by side), optionally with lines over them.

    Lines use ``line_axis`` on the right when given, else the bars' axis.
    """
    legend, legend_height = _legend([*bars, *lines], TITLE_HEIGHT + 4, width)
    right_margin = 72 if line_axis else PAD + 8
    frame = Frame(80, TITLE_HEIGHT + 4 + legend_height + 10, width - right_margin, height - 46)
    totals = _bar_extents(bars, len(categories), stacked)
    line_values = [v for line in lines for v in line.values if v is not None]
    ticks = _scale(y_axis, totals + ([] if line_axis else line_values))
    parts = [legend, _value_axis(y_axis, ticks, frame)]
    parts.append(_bars(categories, bars, ticks, frame, stacked, y_axis))
    if line_axis is not None:
        line_ticks = _scale(line_axis, line_values)
        parts.append(_value_axis(line_axis, line_ticks, frame, "right"))
    else:
        line_ticks, line_axis = ticks, y_axis
    for line in lines:
        parts.append(_line(categories, line, line_ticks, frame, line_axis))
    parts.append(_category_axis(categories, frame, x_label))
    if empty_note and not any(totals) and not line_values:
        parts.append(_empty_note(frame, empty_note))
    return _svg(chart_id, title, description, _join(parts), width, height,
                "chart-bars" if width >= WIDTH else "chart-bars chart-small")


def _bar_extents(bars: Sequence[Series], count: int, stacked: bool) -> list[float]:
    if stacked:
        return [sum(s.values[i] or 0 for s in bars) for i in range(count)]
    return [v for s in bars for v in s.values if v is not None]


def _bars(categories: Sequence[str], bars: Sequence[Series], ticks: list[float], frame: Frame,
          stacked: bool, axis: Axis) -> str:
    parts = []
    band = frame.width / max(len(categories), 1)
    width = band * 0.7 if stacked else band * 0.8 / max(len(bars), 1)
    for index, category in enumerate(categories):
        base = 0.0
        for number, series in enumerate(bars):
            value = series.values[index]
            if not value:
                continue
            start = base if stacked else 0.0
            top, bottom = _y(start + value, ticks, frame), _y(start, ticks, frame)
            x = frame.left + band * index + (band - width) / 2
            if not stacked:
                x = frame.left + band * index + band * 0.1 + width * number
            parts.append(_RECT.format(x=x, y=min(top, bottom), w=width, h=abs(bottom - top),
                                      color=series.color,
                                      tip=_tip(category, series.label, axis.format(value))))
            if stacked:
                base += value
    return _join(parts)


def _line(categories: Sequence[str], line: Series, ticks: list[float], frame: Frame,
          axis: Axis) -> str:
    """A line through the bands' centres, broken where a value is missing, with dots."""
    band = frame.width / max(len(categories), 1)
    dash = _DASHED if line.dashed else ""
    runs, current, dots = [], [], []
    for index, value in enumerate(line.values):
        if value is None:
            if current:
                runs.append(current)
            current = []
            continue
        x, y = frame.left + band * (index + 0.5), _y(value, ticks, frame)
        current.append(f"{x:.1f},{y:.1f}")
        if not line.dashed:
            dots.append(_DOT.format(x=x, y=y, color=line.color,
                                    tip=_tip(categories[index], line.label, axis.format(value))))
    if current:
        runs.append(current)
    paths = []
    for run in runs:
        if len(run) == 1 and line.dashed:  # one value: a level across the whole plot
            y = run[0].split(",")[1]
            run = [f"{frame.left:.1f},{y}", f"{frame.right:.1f},{y}"]
        paths.append(_POLYLINE.format(points=" ".join(run), color=line.color, dash=dash))
    return _join(paths) + _join(dots)


def line_chart(chart_id: str, title: str, description: str, categories: Sequence[str],
               lines: Sequence[Series], y_axis: Axis, x_label: str, *, empty_note: str = "",
               width: int = WIDTH, height: int = HEIGHT) -> Markup:
    """Values over categories (e.g. the balance at the end of each day) as lines."""
    return bar_chart(chart_id, title, description, categories, [], y_axis, x_label,
                     lines=lines, empty_note=empty_note, width=width, height=height)


def hbar_chart(chart_id: str, title: str, description: str, labels: Sequence[str],
               values: Sequence[float], x_axis: Axis, colors: str | Sequence[str], *,
               empty_note: str = "") -> Markup:
    """One horizontal bar per label (label above its bar), for causes and shares.

    ``colors``: one colour for every bar, or one per bar. The labels are the legend.
    """
    if isinstance(colors, str):
        colors = [colors] * len(labels)
    row = 40
    top = TITLE_HEIGHT + 14
    height = top + max(len(labels), 1) * row + 46
    frame = Frame(PAD + 4, top, WIDTH - 90, height - 46)
    ticks = _scale(x_axis, list(values))
    low, high = ticks[0], ticks[-1]
    parts = []
    for tick in ticks:
        x = frame.left + (tick - low) / ((high - low) or 1) * frame.width
        parts.append(_VLINE.format(x=x, y1=frame.top, y2=frame.bottom, color=GRID))
        parts.append(_text(x, frame.bottom + 16, x_axis.format(tick), 11, "middle", MUTED_INK))
    for index, (label, value, color) in enumerate(zip(labels, values, colors, strict=True)):
        y = frame.top + index * row
        length = (value - low) / ((high - low) or 1) * frame.width
        parts.append(_text(frame.left, y + 13, label, 12))
        parts.append(_RECT.format(x=frame.left, y=y + 18, w=max(length, 1), h=14, color=color,
                                  tip=escape(f"{label}: {x_axis.format(value)}")))
        parts.append(_text(frame.left + length + 6, y + 30, x_axis.format(value), 12, "start",
                           INK, "600"))
    parts.append(_HLINE.format(x1=frame.left, x2=frame.right, y=frame.bottom, color=AXIS))
    parts.append(_text(frame.left + frame.width / 2, frame.bottom + 36, x_axis.label, 12,
                       "middle", INK, "600"))
    if empty_note and not labels:
        parts.append(_empty_note(frame, empty_note))
    return _svg(chart_id, title, description, _join(parts), WIDTH, height, "chart-hbars")
