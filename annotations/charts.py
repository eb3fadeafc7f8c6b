"""Small SVG charts drawn on the server: stacked bars (upright or lying) and lines, with
axes, tick labels, a legend and totals, as markup the desk's Content-Security-Policy
allows: presentation attributes (fill=, stroke=, font-size=) and classes styled from
static/css/dashboard.css, never a style attribute, a <style> element or a script.

Colour is never the only signal: every series of a bar chart also has its own hatching
(a <pattern>), every line its own dash and marker, and the legend shows both beside the
series' name. A chart is role="img" with a <title> and a <desc> that summarise it; the
page puts the numbers in a table beside it, which is what a screen reader reads.

Everything put into the markup is escaped here; callers pass plain text.
"""

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

WIDTH = 640
FONT_SIZE = 12
SMALL_FONT_SIZE = 11
CHAR_WIDTH = 6.6  # an average character at FONT_SIZE, for laying out labels without a font
GRID = "#d1d9e0"
INK = "currentColor"
FALLBACK_COLOUR = "#888888"


@dataclass(frozen=True)
class Series:
    """One named row of values, one value per category (None: no value)."""

    name: str
    values: Sequence[float | None]
    colour: str


# --- Numbers in words ------------------------------------------------------------------------

def duration_words(seconds: float | None) -> str:
    """A duration as people say it: "3 h 20 min", "2 d 4 h", "45 min", "under 1 min"."""
    if seconds is None:
        return "—"
    minutes = round(seconds / 60)
    if minutes < 1:
        return "under 1 min"
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    if days:
        return f"{days} d {hours} h" if hours else f"{days} d"
    if hours:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    return f"{minutes} min"


def count_words(value: float | None) -> str:
    return "—" if value is None else f"{value:,.0f}"


# --- Value axes ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Scale:
    """How a value axis is divided and labelled."""

    ticks: Callable[[float], list[float]]
    label: Callable[[float], str]


def count_ticks(maximum: float, target: int = 4) -> list[float]:
    """0, then round steps (1, 2, 2.5 or 5 times a power of ten, whole numbers) up to at
    least `maximum`."""
    if maximum <= 0:
        return [0, 1]
    raw = maximum / target
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if raw <= m * magnitude)
    step = max(1, math.ceil(step))  # whole numbers: 2.5 becomes 3
    top = math.ceil(maximum / step)
    return [i * step for i in range(top + 1)]


DURATION_STEPS = [60 * m for m in (1, 5, 10, 15, 30)] + [3600 * h for h in (1, 2, 3, 6, 12)] + [
    86400 * d for d in (1, 2, 3, 7, 14, 30, 60, 90, 180, 365)
]


def duration_ticks(maximum: float, target: int = 4) -> list[float]:
    """0, then steps of a round duration (5 min, 1 h, 6 h, 1 d, 1 week ...) up to `maximum`."""
    if maximum <= 0:
        return [0, 3600]
    step = next((s for s in DURATION_STEPS if maximum / s <= target), DURATION_STEPS[-1])
    return [i * step for i in range(math.ceil(maximum / step) + 1)]


COUNT = Scale(ticks=count_ticks, label=count_words)
DURATION = Scale(ticks=duration_ticks, label=lambda seconds: duration_words(seconds) if seconds else "0")


# --- Drawing helpers -------------------------------------------------------------------------

def _n(value: float) -> str:
    """A coordinate, short."""
    return f"{value:.1f}".rstrip("0").rstrip(".")


def _colour(value: str) -> str:
    return value if re.fullmatch(r"#[0-9a-fA-F]{6}", value or "") else FALLBACK_COLOUR


def _is_light(colour: str) -> bool:
    r, g, b = (int(colour[i:i + 2], 16) / 255 for i in (1, 3, 5))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b > 0.55


# Hatchings over an 8x8 tile; the first series is plain colour.
HATCHES = [
    "",
    '<path d="M-2 2L2 -2M0 8L8 0M6 10L10 6"/>',
    '<circle cx="4" cy="4" r="1.6" stroke="none" fill="{ink}"/>',
    '<path d="M0 4H8"/>',
    '<path d="M-2 6L2 10M0 0L8 8M6 -2L10 2"/>',
    '<path d="M4 0V8"/>',
    '<path d="M0 4H8M4 0V8"/>',
    '<rect x="0" y="0" width="4" height="4" stroke="none" fill="{ink}"/>',
]
DASHES = ["", "8 4", "2 3", "10 3 2 3"]


def _pattern(pattern_id: str, index: int, colour: str) -> str:
    colour = _colour(colour)
    ink = "#1f2328" if _is_light(colour) else "#ffffff"
    hatch = HATCHES[index % len(HATCHES)].format(ink=ink)
    return (
        f'<pattern id="{pattern_id}" patternUnits="userSpaceOnUse" width="8" height="8">'
        f'<rect width="8" height="8" fill="{colour}"/>'
        f'<g stroke="{ink}" stroke-width="1.4" stroke-opacity="0.7" fill-opacity="0.7">{hatch}</g></pattern>'
    )


def _marker(index: int, x: float, y: float, colour: str) -> str:
    shape = index % 4
    common = f'fill="{colour}" stroke="#ffffff" stroke-width="1"'
    if shape == 0:
        return f'<circle cx="{_n(x)}" cy="{_n(y)}" r="4" {common}/>'
    if shape == 1:
        return f'<rect x="{_n(x - 3.5)}" y="{_n(y - 3.5)}" width="7" height="7" {common}/>'
    if shape == 2:
        return f'<path d="M{_n(x)} {_n(y - 4.5)}L{_n(x + 4.5)} {_n(y + 3.5)}L{_n(x - 4.5)} {_n(y + 3.5)}Z" {common}/>'
    return f'<path d="M{_n(x)} {_n(y - 5)}L{_n(x + 5)} {_n(y)}L{_n(x)} {_n(y + 5)}L{_n(x - 5)} {_n(y)}Z" {common}/>'


def _text(x: float, y: float, text: str, *, anchor: str = "start", size: int = FONT_SIZE, css: str = "",
          extra: str = "") -> str:
    css_attr = f' class="{css}"' if css else ""
    return (f'<text x="{_n(x)}" y="{_n(y)}" text-anchor="{anchor}" font-size="{size}" fill="{INK}"{css_attr}'
            f'{extra}>{escape(text)}</text>')


def _fit(text: str, width: float, size: int = FONT_SIZE) -> str:
    """The text, cut with an ellipsis to about `width` pixels."""
    room = max(3, int(width / (CHAR_WIDTH * size / FONT_SIZE)))
    return text if len(text) <= room else text[:room - 1].rstrip() + "…"


@dataclass
class _Legend:
    markup: str
    height: float


def _legend(chart_id: str, series: Sequence[Series], *, lines: bool) -> _Legend:
    """Swatches (or line samples) with names, wrapped into rows across the chart's width."""
    x, y, parts = 8.0, 14.0, []
    for index, one in enumerate(series):
        item_width = 22 + len(one.name) * CHAR_WIDTH + 18
        if x + item_width > WIDTH and x > 8:
            x, y = 8.0, y + 20
        if lines:
            colour = _colour(one.colour)
            dash = DASHES[index % len(DASHES)]
            dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
            parts.append(f'<line x1="{_n(x)}" y1="{_n(y - 4)}" x2="{_n(x + 18)}" y2="{_n(y - 4)}" '
                         f'stroke="{colour}" stroke-width="2.5"{dash_attr}/>')
            parts.append(_marker(index, x + 9, y - 4, colour))
        else:
            parts.append(f'<rect x="{_n(x)}" y="{_n(y - 11)}" width="14" height="14" '
                         f'fill="url(#{chart_id}-s{index})" stroke="{INK}" stroke-width="0.5"/>')
        parts.append(_text(x + 22, y, one.name))
        x += item_width
    return _Legend(f'<g class="chart-legend">{"".join(parts)}</g>', y + 12)


def _frame(chart_id: str, *, height: float, title: str, summary: str, defs: str, body: str) -> SafeString:
    return mark_safe(  # every text inside was escaped by the helpers above
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" id="{escape(chart_id)}" role="img" '
        f'viewBox="0 0 {WIDTH} {_n(height)}" width="{WIDTH}" height="{_n(height)}" '
        f'aria-label="{escape(title)}. {escape(summary)}">'
        f'<title>{escape(title)}</title><desc>{escape(summary)}</desc>'
        f'{f"<defs>{defs}</defs>" if defs else ""}{body}</svg>'
    )


def _no_data(x: float, y: float) -> str:
    return _text(x, y, "No data yet", anchor="middle", css="chart-empty")


# --- Charts ----------------------------------------------------------------------------------

def bar_chart(
    *, chart_id: str, title: str, summary: str, categories: Sequence[str], series: Sequence[Series],
    scale: Scale = COUNT, horizontal: bool = False, legend: bool = True, axis_title: str = "",
) -> SafeString:
    """Stacked bars, one per category: upright with the categories under them, or lying
    (`horizontal`) with the categories' names to their left. A total is written at the end
    of every bar, and every segment has a tooltip with its series, category and value."""
    chart_id = re.sub(r"[^a-zA-Z0-9_-]", "-", chart_id)
    totals = [sum(s.values[i] or 0 for s in series) for i in range(len(categories))]
    ticks = scale.ticks(max(totals, default=0))
    top = ticks[-1] or 1
    defs = "".join(_pattern(f"{chart_id}-s{i}", i, s.colour) for i, s in enumerate(series))
    key = _legend(chart_id, series, lines=False) if legend else _Legend("", 0)
    parts = [key.markup]

    if horizontal:
        label_width = min(220.0, 12 + max((len(c) for c in categories), default=4) * CHAR_WIDTH)
        left, right = label_width + 8, WIDTH - 56
        plot_top, row = key.height + 8, 26.0
        plot_bottom = plot_top + row * max(1, len(categories))
        height = plot_bottom + 24 + (18 if axis_title else 0)

        def at(value: float) -> float:
            return left + (right - left) * value / top

        for tick in ticks:
            parts.append(f'<line x1="{_n(at(tick))}" y1="{_n(plot_top)}" x2="{_n(at(tick))}" y2="{_n(plot_bottom)}" '
                         f'stroke="{GRID}" stroke-width="1"/>')
            parts.append(_text(at(tick), plot_bottom + 16, scale.label(tick), anchor="middle", size=SMALL_FONT_SIZE))
        for i, category in enumerate(categories):
            y = plot_top + i * row
            parts.append(_text(left - 8, y + row / 2 + 4, _fit(category, label_width), anchor="end"))
            start = 0.0
            for s_index, one in enumerate(series):
                value = one.values[i] or 0
                if value <= 0:
                    continue
                parts.append(
                    f'<rect x="{_n(at(start))}" y="{_n(y + 4)}" width="{_n(at(start + value) - at(start))}" '
                    f'height="{_n(row - 8)}" fill="url(#{chart_id}-s{s_index})" stroke="#ffffff" stroke-width="0.5">'
                    f'<title>{escape(f"{category}, {one.name}: {scale.label(value)}")}</title></rect>')
                start += value
            parts.append(_text(at(totals[i]) + 6, y + row / 2 + 4, scale.label(totals[i]), size=SMALL_FONT_SIZE,
                               css="chart-total"))
        parts.append(f'<line x1="{_n(left)}" y1="{_n(plot_top)}" x2="{_n(left)}" y2="{_n(plot_bottom)}" '
                     f'stroke="{INK}" stroke-width="1"/>')
        if axis_title:
            parts.append(_text((left + right) / 2, height - 4, axis_title, anchor="middle", css="chart-axis-title"))
        if not categories or not any(totals):
            parts.append(_no_data((left + right) / 2, (plot_top + plot_bottom) / 2 + 4))
        return _frame(chart_id, height=height, title=title, summary=summary, defs=defs, body="".join(parts))

    left, right = 64.0, WIDTH - 12
    plot_top = key.height + 18
    plot_bottom = plot_top + 180
    height = plot_bottom + 24 + (18 if axis_title else 0)
    band = (right - left) / max(1, len(categories))
    bar = min(48.0, band * 0.7)

    def y_at(value: float) -> float:
        return plot_bottom - (plot_bottom - plot_top) * value / top

    parts.extend(_value_grid(ticks, scale, left, right, y_at))
    every = max(1, math.ceil(len(categories) * 44 / (right - left)))  # thin the labels when crowded
    for i, category in enumerate(categories):
        x = left + band * i + (band - bar) / 2
        start = 0.0
        for s_index, one in enumerate(series):
            value = one.values[i] or 0
            if value <= 0:
                continue
            parts.append(
                f'<rect x="{_n(x)}" y="{_n(y_at(start + value))}" width="{_n(bar)}" '
                f'height="{_n(y_at(start) - y_at(start + value))}" fill="url(#{chart_id}-s{s_index})" '
                f'stroke="#ffffff" stroke-width="0.5">'
                f'<title>{escape(f"{category}, {one.name}: {scale.label(value)}")}</title></rect>')
            start += value
        if totals[i]:
            parts.append(_text(x + bar / 2, y_at(totals[i]) - 4, scale.label(totals[i]), anchor="middle",
                               size=SMALL_FONT_SIZE, css="chart-total"))
        if i % every == 0:
            parts.append(_text(left + band * (i + 0.5), plot_bottom + 16, _fit(category, band * every),
                               anchor="middle", size=SMALL_FONT_SIZE))
    parts.append(f'<line x1="{_n(left)}" y1="{_n(plot_bottom)}" x2="{_n(right)}" y2="{_n(plot_bottom)}" '
                 f'stroke="{INK}" stroke-width="1"/>')
    if axis_title:
        parts.append(_text((left + right) / 2, height - 4, axis_title, anchor="middle", css="chart-axis-title"))
    if not categories or not any(totals):
        parts.append(_no_data((left + right) / 2, (plot_top + plot_bottom) / 2))
    return _frame(chart_id, height=height, title=title, summary=summary, defs=defs, body="".join(parts))


def _value_grid(ticks: list[float], scale: Scale, left: float, right: float, y_at) -> list[str]:
    parts = []
    for tick in ticks:
        y = y_at(tick)
        parts.append(f'<line x1="{_n(left)}" y1="{_n(y)}" x2="{_n(right)}" y2="{_n(y)}" stroke="{GRID}" '
                     f'stroke-width="1"/>')
        parts.append(_text(left - 6, y + 4, scale.label(tick), anchor="end", size=SMALL_FONT_SIZE))
    return parts


def line_chart(
    *, chart_id: str, title: str, summary: str, categories: Sequence[str], series: Sequence[Series],
    scale: Scale = COUNT, axis_title: str = "",
) -> SafeString:
    """One line per series across the categories, each with its own dash and marker; a
    missing value (None) breaks the line rather than drawing it through zero."""
    chart_id = re.sub(r"[^a-zA-Z0-9_-]", "-", chart_id)
    values = [v for s in series for v in s.values if v is not None]
    ticks = scale.ticks(max(values, default=0))
    top = ticks[-1] or 1
    key = _legend(chart_id, series, lines=True)
    left, right = 72.0, WIDTH - 12
    plot_top = key.height + 14
    plot_bottom = plot_top + 180
    height = plot_bottom + 24 + (18 if axis_title else 0)
    band = (right - left) / max(1, len(categories))

    def y_at(value: float) -> float:
        return plot_bottom - (plot_bottom - plot_top) * value / top

    parts = [key.markup, *_value_grid(ticks, scale, left, right, y_at)]
    every = max(1, math.ceil(len(categories) * 44 / (right - left)))
    for i, category in enumerate(categories):
        if i % every == 0:
            parts.append(_text(left + band * (i + 0.5), plot_bottom + 16, _fit(category, band * every),
                               anchor="middle", size=SMALL_FONT_SIZE))
    for s_index, one in enumerate(series):
        colour = _colour(one.colour)
        path, pen_down, markers = [], False, []
        for i, value in enumerate(one.values):
            if value is None:
                pen_down = False
                continue
            x, y = left + band * (i + 0.5), y_at(value)
            path.append(f'{"L" if pen_down else "M"}{_n(x)} {_n(y)}')
            pen_down = True
            markers.append(
                f'<g>{_marker(s_index, x, y, colour)}'
                f'<title>{escape(f"{categories[i]}, {one.name}: {scale.label(value)}")}</title></g>')
        dash = DASHES[s_index % len(DASHES)]
        dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
        if path:
            parts.append(f'<path d="{"".join(path)}" fill="none" stroke="{colour}" stroke-width="2.5" '
                         f'stroke-linejoin="round"{dash_attr}/>')
        parts.extend(markers)
    parts.append(f'<line x1="{_n(left)}" y1="{_n(plot_bottom)}" x2="{_n(right)}" y2="{_n(plot_bottom)}" '
                 f'stroke="{INK}" stroke-width="1"/>')
    if axis_title:
        parts.append(_text((left + right) / 2, height - 4, axis_title, anchor="middle", css="chart-axis-title"))
    if not values:
        parts.append(_no_data((left + right) / 2, (plot_top + plot_bottom) / 2))
    return _frame(chart_id, height=height, title=title, summary=summary, defs="", body="".join(parts))
