"""Charts for the HTML report, written as inline SVG strings directly.

Why SVG by hand: the report needs a few fixed kinds of chart (place of death,
deprivation gradient, lines, grouped bars, funnel plots, XmR charts) whose layouts are
simple (categories or numbers along one axis, a value axis with 1-2-2.5-5 ticks), and
it must render offline with no browser, JavaScript or font download (unlike Plotly,
Vega-Lite or Bokeh, which need a script in the page). Writing the SVG directly keeps
text as text (selectable, searchable, sharp when printed to PDF) and costs a
millisecond a chart; matplotlib, which drew them at first, spent 0.1-0.25 s on each
laying out ticks and text, most of the report's rendering at ICB scale (issue 12.5).
The charts keep the look matplotlib gave them (its fixed margins, palette, grid, dashes
and markers; see _plot_frame and _marker).

Every chart function takes plain numbers (no bundle, no polars), returns one `<svg>`
string ready to place in the page, and is deterministic: the same numbers always give
the same bytes, and every id is prefixed with the chart's id so several charts can
share a page without clashing ids. Each <svg> gets role="img" and aria-labelledby
pointing at its own <title> and <desc>. The report places the numbers in a table beside each chart.

Colours: the Okabe-Ito palette (safe for the common colour-vision deficiencies) with
NHS blue for the single-series case; wherever colour carries meaning, marker shape or a
text label carries it too.
"""

from __future__ import annotations

import html
import math
import re
import textwrap
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from eolneeds import methods
from eolneeds.formatting import fmt_number, fmt_value, judge

# --- palette ------------------------------------------------------------------------
NHS_BLUE = "#005EB8"
NHS_DARK_GREY = "#425563"
NHS_MID_GREY = "#768692"
NHS_PALE_GREY = "#E8EDEE"
BLACK = "#212B32"
# Okabe & Ito (2008), "Color Universal Design".
OI_ORANGE = "#E69F00"
OI_SKY = "#56B4E9"
OI_GREEN = "#009E73"
OI_YELLOW = "#F0E442"
OI_BLUE = "#0072B2"
OI_VERMILLION = "#D55E00"
OI_PURPLE = "#CC79A7"

SERIES_COLOURS = (NHS_BLUE, OI_ORANGE, OI_GREEN, OI_VERMILLION, OI_PURPLE, OI_SKY, BLACK)
SERIES_MARKERS = ("o", "s", "^", "D", "v", "P", "X")
SERIES_DASHES = ("-", "--", "-.", ":", "-", "--", "-.")

# Place of death categories in reading order (home first, as the national profile).
# Religious establishments are published within care homes (place_of_death.sql): the
# label says so, as the indicator's name does in every table and pack.
POD_CATEGORIES: tuple[tuple[str, str, str], ...] = (
    ("pod_home_pct", "Home", OI_BLUE),
    ("pod_care_home_pct", "Care home or religious establishment", OI_SKY),
    ("pod_hospital_pct", "Hospital", OI_VERMILLION),
    ("pod_hospice_pct", "Hospice", OI_GREEN),
    ("pod_other_pct", "Elsewhere", OI_PURPLE),
)

# Making Data Count point styles: colour AND shape, so meaning survives greyscale print
# and colour-vision deficiency. MDC colours: grey common cause, blue improvement,
# orange concern, purple where neither direction is better.
SPC_STYLES: dict[str, tuple[str, str, str]] = {
    "common": (NHS_MID_GREY, "o", "Common cause"),
    "improving": (OI_BLUE, "s", "Special cause: improvement"),
    "concerning": (OI_ORANGE, "D", "Special cause: concern"),
    "neither": (OI_PURPLE, "^", "Special cause (neither better nor worse)"),
}

_FONT_STACK = ["Arial", "Helvetica", "Liberation Sans", "DejaVu Sans"]
WIDTH_IN = 8.0  # 576 pt wide; the page scales the SVG to its column
#: Average advance of a character of the charts' sans-serif fonts, in ems (Arial's
#: digits are 0.556, its minus sign 0.584): enough to size a box that holds the text.
_CHAR_EM = 0.6

#: The part of a chart a 390 px phone shows before it scrolls sideways, in SVG units:
#: the chart keeps a 560 px minimum width (report.css) for its 576 units, inside about
#: 322 px of screen. A legend that flows within it is read whole without scrolling.
PHONE_WIDTH = 330.0

_ID_SAFE = re.compile(r"[^A-Za-z0-9_-]+")


def _legend_flow(widths: Sequence[float], left: float, gap: float,
                 right: float = PHONE_WIDTH) -> list[tuple[float, int]]:
    """(x, row) of each legend key of the given widths, left to right from `left`, onto
    a new row where the next key would pass `right` (a key wider than the room left
    starts its own row). Starts further left when the widest key would not fit."""
    left = max(4.0, min(left, right - max(widths, default=0.0)))
    placed: list[tuple[float, int]] = []
    cursor, row = left, 0
    for needed in widths:
        if cursor > left and cursor + needed > right:
            cursor, row = left, row + 1
        placed.append((cursor, row))
        cursor += needed + gap
    return placed


def chart_id(*parts: str) -> str:
    """A safe, readable HTML id from arbitrary parts ('spc', 'E06000001', 'deaths')."""
    text = "-".join(_ID_SAFE.sub("-", str(p)).strip("-").lower() for p in parts if p != "")
    return "chart-" + (text or "x")


def _text_colour(hex_colour: str) -> str:
    """Black or white text, whichever contrasts more with the fill (WCAG luminance)."""
    rgb = [int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    lin = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in rgb]
    luminance = 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]
    return "#000000" if (luminance + 0.05) / 0.05 > 1.05 / (luminance + 0.05) else "#FFFFFF"


def _finite(value: float | None) -> bool:
    return value is not None and not (isinstance(value, float) and math.isnan(value))


def _shorten(label: str, limit: int = 28) -> str:
    return label if len(label) <= limit else label[: limit - 1] + "\u2026"


# --- chart types ------------------------------------------------------------------------


def place_of_death_chart(
    svg_id: str,
    title: str,
    description: str,
    rows: Sequence[tuple[str, Mapping[str, float | None]]],
) -> str:
    """Stacked horizontal bars: the share of deaths in each place, one bar per area.

    `rows` is [(area label, {pod indicator id: percentage or None}), ...] top to bottom.
    A suppressed or missing share is drawn as a gap (the table beside it shows '*').

    Drawn as SVG directly, like line_chart (see there); the bars are clipped to the
    plot area, as matplotlib clips them."""
    width = WIDTH_IN * 72
    labels = [_shorten(label) for label, _ in rows]
    # Room for the longest label at 10 pt (0.6 em a character) and, on the right, for
    # half of the '100%' under the axis's end.
    x0 = min(14 + _CHAR_EM * 10 * max((len(lbl) for lbl in labels), default=4), width * 0.4)
    # The legend from the plot's left edge, onto a new line where the next key would
    # pass what a phone shows (at 9 pt, 0.6 em a character): read whole on a phone.
    flow = _legend_flow([18 + _CHAR_EM * 9 * len(name) for _, name, _ in POD_CATEGORIES],
                        x0, 14)
    keys = [(x, 8 + 14 * line, name, colour)  # x, y, name, colour
            for (x, line), (_, name, colour) in zip(flow, POD_CATEGORIES, strict=True)]
    legend_h = 14 * max((line for _, line in flow), default=0)
    height = (0.9 + 0.42 * len(rows)) * 72 + legend_h
    x1, y0, y1 = width - 18, 30.0 + legend_h, height - 24

    def px(v: float) -> float:
        return x0 + v / 100 * (x1 - x0)

    out = [_svg_open(svg_id, title, description, width, height),
           f'<defs><clipPath id="{_esc(svg_id)}-plot"><rect x="{x0:.1f}" y="{y0:.1f}" '
           f'width="{x1 - x0:.1f}" height="{y1 - y0:.1f}"/></clipPath></defs>']
    for tick in (0, 25, 50, 75, 100):
        out.append(f'<text x="{px(tick):.1f}" y="{y1 + 14:.1f}" font-size="10" '
                   f'text-anchor="middle" fill="{NHS_DARK_GREY}">{tick}%</text>')
    out.append(f'<path d="M{x0:.1f} {y1:.1f}H{x1:.1f}" stroke="{NHS_MID_GREY}" '
               'stroke-width="0.8"/>')
    slot = (y1 - y0) / max(len(rows), 1)
    out.append(f'<g clip-path="url(#{_esc(svg_id)}-plot)">')
    texts = []
    for r, (_, shares) in enumerate(rows):
        top = y0 + (r + 0.17) * slot
        bar_h = 0.66 * slot
        left = 0.0
        for key, _, colour in POD_CATEGORIES:
            raw = shares.get(key)
            share = float(raw) if raw is not None and _finite(raw) else 0.0
            if share > 0:
                out.append(f'<rect x="{px(left):.1f}" y="{top:.1f}" '
                           f'width="{px(left + share) - px(left):.1f}" height="{bar_h:.1f}" '
                           f'fill="{colour}" stroke="#FFFFFF" stroke-width="1"/>')
            if share >= 6:
                texts.append(f'<text x="{px(left + share / 2):.1f}" y="{top + bar_h / 2 + 3:.1f}" '
                             f'font-size="8.5" text-anchor="middle" '
                             f'fill="{_text_colour(colour)}">{share:.0f}%</text>')
            left += share
    out.append("</g>")
    out += texts
    for r, label in enumerate(labels):
        out.append(f'<text x="{x0 - 6:.1f}" y="{y0 + (r + 0.5) * slot + 3.5:.1f}" '
                   f'font-size="10" text-anchor="end" fill="{NHS_DARK_GREY}">{_esc(label)}'
                   "</text>")
    for x, y, name, colour in keys:
        out.append(f'<rect x="{x:.1f}" y="{y}" width="14" height="9" fill="{colour}"/>'
                   f'<text x="{x + 18:.1f}" y="{y + 8}" font-size="9" fill="{BLACK}">'
                   f"{_esc(name)}</text>")
    out.append("</svg>")
    return "".join(out) + "\n"


@dataclass(frozen=True)
class IntervalPoint:
    label: str
    value: float | None
    lower: float | None
    upper: float | None
    mark: str = "*"  # drawn where there is no value: '*' suppressed, '–' no residents


@dataclass(frozen=True)
class GradientPanel:
    """One small multiple of a deprivation-gradient chart."""

    title: str
    unit: str
    points: Sequence[IntervalPoint]  # quintile 1 (most deprived) first
    reference: float | None = None  # the area's overall value, drawn dashed
    annotation: str | None = None  # the SII and RII in words, one line each ('\n')
    # Why the panel has no gradient (every quintile hidden or empty): written in the
    # panel instead of axes, so an area is never silently missing from the chart.
    reason: str | None = None


def gradient_chart(
    svg_id: str,
    title: str,
    description: str,
    panels: Sequence[GradientPanel],
    *,
    reference_label: str = "All quintiles",
) -> str:
    """Values by IMD quintile (1 = most deprived, on the left) with 95% intervals, as
    small multiples (up to three panels a row). A dashed line shows each panel's overall
    value; the SII and RII are written on the panel so the slope is stated, not just
    drawn. A suppressed quintile is marked '*', one with no residents '–' (its mark).

    Drawn as SVG directly rather than through matplotlib: its layout is fixed (five
    categories a panel, a value axis from zero), and matplotlib spent a quarter of a
    second on each of these charts building ticks and laying out text, half the
    report's rendering time at ICB scale. The look follows the matplotlib charts (same
    palette, fonts, grid, legend), and the output is as accessible (role, title, desc)
    and deterministic."""
    ncols = min(3, max(len(panels), 1))
    nrows = max(math.ceil(len(panels) / ncols), 1)
    # Legend across the top, as fig.legend(loc="upper left") places it, flowing within
    # what a phone shows (_legend); each row past the first makes the chart taller.
    legend, legend_rows = _legend([
        (f'<circle cx="10" cy="0" r="3.25" fill="{NHS_BLUE}"/>',
         "Quintile value, 95% confidence interval"),
        (f'<path d="M0 0h20" stroke="{OI_ORANGE}" stroke-width="1.3" '
         'stroke-dasharray="4.8,2.1"/>', reference_label)], left=4)  # as the panels' line
    extra = 15.0 * max(legend_rows - 1, 0)
    width = WIDTH_IN * 72
    height = (0.6 + 2.6 * nrows) * 72 + extra
    left, right, top, bottom = 0.085 * width, 0.01 * width, 0.85 * 72 + extra, 0.45 * 72
    gap_x, gap_y = 0.3, 0.75  # as matplotlib's wspace / hspace: fractions of a panel
    panel_w = (width - left - right) / (ncols + gap_x * (ncols - 1))
    panel_h = (height - top - bottom) / (nrows + gap_y * (nrows - 1))
    out = [_svg_open(svg_id, title, description, width, height)]
    out.append(f'<g class="legend">{"".join(legend)}</g>')
    for index, panel in enumerate(panels):
        row, col = divmod(index, ncols)
        x0 = left + col * panel_w * (1 + gap_x)
        y0 = top + row * panel_h * (1 + gap_y)
        out.append(_gradient_panel(panel, x0, y0, panel_w, panel_h))
    out.append("</svg>")
    return "".join(out) + "\n"


def _esc(text: object) -> str:
    return html.escape(str(text), quote=True)


def _svg_open(svg_id: str, title: str, description: str, width: float, height: float) -> str:
    """The opening <svg>: accessible name and description,
    scaled by the page, text in the report's font."""
    return (f'<svg id="{_esc(svg_id)}" viewBox="0 0 {width:g} {height:g}" version="1.1" '
            f'role="img" aria-labelledby="{_esc(svg_id)}-title {_esc(svg_id)}-desc" '
            'preserveAspectRatio="xMinYMin meet" class="chart" '
            f'font-family="{_esc(", ".join(_FONT_STACK))}, sans-serif">'
            f'<title id="{_esc(svg_id)}-title">{_esc(title)}</title>'
            f'<desc id="{_esc(svg_id)}-desc">{_esc(description)}</desc>'
            f'<rect width="{width:g}" height="{height:g}" fill="#FFFFFF"/>')


def _nice_ticks(high: float, count: int = 5) -> list[float]:
    """Ticks from 0 to at least `high` with a 1, 2, 2.5 or 5 x 10^n step."""
    if not high > 0:
        return [0.0, 1.0]
    raw = high / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    return [i * step for i in range(math.ceil(high / step - 1e-9) + 1)]


def _value_grid(ys: Sequence[float], ticks: Sequence[float], unit: str, x0: float, x1: float,
                y0: float, y1: float) -> list[str]:
    """The value axis both the funnel and the SPC chart draw: a pale grid line and a
    label per tick (at pixel heights ys), then the left and bottom axis lines."""
    out = [f'<line x1="{x0:.1f}" y1="{y:.1f}" x2="{x1:.1f}" y2="{y:.1f}" '
           f'stroke="{NHS_PALE_GREY}" stroke-width="0.8"/>'
           f'<text x="{x0 - 5:.1f}" y="{y + 3.5:.1f}" font-size="10" '
           f'text-anchor="end" fill="{NHS_DARK_GREY}">{_esc(_tick_label(tick, unit))}</text>'
           for y, tick in zip(ys, ticks, strict=True)]
    out.append(f'<path d="M{x0:.1f} {y0:.1f}V{y1:.1f}H{x1:.1f}" fill="none" '
               f'stroke="{NHS_MID_GREY}" stroke-width="0.8"/>')
    return out


def _tick_label(value: float, unit: str) -> str:
    """Only the decimals needed: 0, 2.5, 1,000; '%' where a percent."""
    text = fmt_number(value, 0 if float(value).is_integer() else 1)
    return f"{text}%" if unit == "%" else text


def _annotation_box(lines: Sequence[str], w: float) -> tuple[float, float, float]:
    """(font size, box width, box height) for the SII / RII lines inside a panel w
    wide: at most 7.5 pt, smaller where a long line would not fit, never wider than
    the panel (so boxes of neighbouring panels never meet)."""
    longest = max((len(line) for line in lines), default=1) or 1
    size = math.floor(100 * min(7.5, (0.96 * w - 8) / (_CHAR_EM * longest))) / 100
    return size, _CHAR_EM * size * longest + 8, 1.25 * size * len(lines) + 5


def _gradient_reason(panel: GradientPanel, x0: float, y0: float, w: float, h: float) -> str:
    """A panel with nothing to draw: its title and, where the axes would be, why."""
    out = ['<g class="panel panel-empty">']
    lines = textwrap.wrap(_shorten(panel.title, 66), 33) or [""]
    for k, line in enumerate(lines[:2]):
        out.append(f'<text x="{x0:.1f}" y="{y0 - 6 - 11 * (len(lines[:2]) - 1 - k):.1f}" '
                   f'font-size="9" fill="{BLACK}">{_esc(line)}</text>')
    out.append(f'<rect x="{x0:.1f}" y="{y0:.1f}" width="{w:.1f}" height="{h:.1f}" '
               f'fill="{NHS_PALE_GREY}" fill-opacity="0.45"/>')
    width = max(int(w / (_CHAR_EM * 8.5)), 12)
    wrapped = textwrap.wrap(str(panel.reason), width)[:6]
    top = y0 + h / 2 - 5.5 * (len(wrapped) - 1)
    for k, line in enumerate(wrapped):
        out.append(f'<text x="{x0 + w / 2:.1f}" y="{top + 11 * k:.1f}" font-size="8.5" '
                   f'text-anchor="middle" fill="{NHS_DARK_GREY}">{_esc(line)}</text>')
    out.append("</g>")
    return "".join(out)


def _gradient_panel(panel: GradientPanel, x0: float, y0: float, w: float, h: float) -> str:
    points = list(panel.points)
    if panel.reason and not any(_finite(p.value) for p in points):
        return _gradient_reason(panel, x0, y0, w, h)
    values = [float(v) for p in points for v in (p.value, p.lower, p.upper)
              if v is not None and _finite(v)]
    if _finite(panel.reference):
        values.append(float(panel.reference))  # type: ignore[arg-type]
    low = min([0.0, *values])
    ticks = _nice_ticks(max([*values, 0.0]) * 1.05 - low) if values else [0.0, 1.0]
    ticks = [low + t for t in ticks] if low < 0 else ticks
    y_min, y_max = ticks[0], ticks[-1]
    note_lines = panel.annotation.split("\n") if panel.annotation else []
    font, box_w, box_h = _annotation_box(note_lines, w)
    if note_lines:  # room at the top for the SII / RII box, so it covers no point:
        share = min((box_h + 6) / h, 0.6)  # the top `share` of the panel holds no value
        y_max = (y_max - share * y_min) / (1 - share)
    n = max(len(points), 1)

    def px(i: float) -> float:  # category i at the centre of its slot, as xlim(-0.5, n-0.5)
        return x0 + (i + 0.5) * w / n

    def py(v: float) -> float:
        return y0 + h - (v - y_min) / (y_max - y_min) * h

    out = ['<g class="panel">']
    lines = textwrap.wrap(_shorten(panel.title, 66), 33) or [""]
    for k, line in enumerate(lines[:2]):
        out.append(f'<text x="{x0:.1f}" y="{y0 - 6 - 11 * (len(lines[:2]) - 1 - k):.1f}" '
                   f'font-size="9" fill="{BLACK}">{_esc(line)}</text>')
    for tick in ticks:
        y = py(tick)
        out.append(f'<line x1="{x0:.1f}" y1="{y:.1f}" x2="{x0 + w:.1f}" y2="{y:.1f}" '
                   f'stroke="{NHS_PALE_GREY}" stroke-width="0.8"/>'
                   f'<text x="{x0 - 5:.1f}" y="{y + 3:.1f}" font-size="8.5" text-anchor="end" '
                   f'fill="{NHS_DARK_GREY}">{_esc(_tick_label(tick, panel.unit))}</text>')
    out.append(f'<path d="M{x0:.1f} {y0:.1f}V{y0 + h:.1f}H{x0 + w:.1f}" fill="none" '
               f'stroke="{NHS_MID_GREY}" stroke-width="0.8"/>')
    for i, point in enumerate(points):
        out.append(f'<text x="{px(i):.1f}" y="{y0 + h + 11:.1f}" font-size="8.5" '
                   f'text-anchor="middle" fill="{NHS_DARK_GREY}">{_esc(point.label)}</text>')
    out.append(f'<text x="{x0 + w / 2:.1f}" y="{y0 + h + 23:.1f}" font-size="8" '
               f'text-anchor="middle" fill="{NHS_DARK_GREY}">IMD quintile (1 = most '
               'deprived)</text>')
    if _finite(panel.reference):
        y = py(float(panel.reference))  # type: ignore[arg-type]
        out.append(f'<line x1="{x0:.1f}" y1="{y:.1f}" x2="{x0 + w:.1f}" y2="{y:.1f}" '
                   f'stroke="{OI_ORANGE}" stroke-width="1.3" stroke-dasharray="4.8,2.1"/>')
    drawn = [(i, float(p.value)) for i, p in enumerate(points)  # type: ignore[arg-type]
             if _finite(p.value)]
    for i, point in enumerate(points):
        if not _finite(point.value):
            out.append(f'<text x="{px(i):.1f}" y="{py(0) - 2:.1f}" font-size="12" '
                       f'text-anchor="middle" fill="{NHS_DARK_GREY}">{_esc(point.mark)}</text>')
        elif _finite(point.lower) and _finite(point.upper):
            x, lo, hi = px(i), py(float(point.lower)), py(float(point.upper))  # type: ignore[arg-type]
            out.append(f'<path d="M{x:.1f} {lo:.1f}V{hi:.1f}M{x - 4:.1f} {lo:.1f}H{x + 4:.1f}'
                       f'M{x - 4:.1f} {hi:.1f}H{x + 4:.1f}" stroke="{NHS_DARK_GREY}" '
                       'stroke-width="1.1" fill="none"/>')
    if len(drawn) > 1:
        path = "".join(f'{"M" if k == 0 else "L"}{px(i):.1f} {py(v):.1f}'
                       for k, (i, v) in enumerate(drawn))
        out.append(f'<path d="{path}" stroke="{NHS_BLUE}" stroke-width="1" '
                   'stroke-opacity="0.5" fill="none"/>')
    out += [f'<circle cx="{px(i):.1f}" cy="{py(v):.1f}" r="3.25" fill="{NHS_BLUE}"/>'
            for i, v in drawn]
    if note_lines:
        # One line each for the SII and the RII, inside the panel's own width.
        right = x0 + w * 0.98
        out.append(f'<rect class="note" x="{right - box_w:.1f}" y="{y0 + 3:.1f}" '
                   f'width="{box_w:.1f}" height="{box_h:.1f}" rx="3" fill="#FFFFFF" '
                   f'stroke="{NHS_MID_GREY}" stroke-width="0.6"/>')
        for k, line in enumerate(note_lines):
            out.append(f'<text x="{right - 4:.1f}" y="{y0 + 3 + 1.25 * font * (k + 1):.1f}" '
                       f'font-size="{font:.2f}" text-anchor="end" fill="{BLACK}">'
                       f'{_esc(line)}</text>')
    out.append("</g>")
    return "".join(out)


@dataclass(frozen=True)
class FunnelPoint:
    label: str
    numerator: float
    denominator: float


@dataclass(frozen=True)
class FunnelMark:
    """One Place's position on a funnel plot and what it means (the chart's data)."""

    label: str
    denominator: float
    percent: float
    position: str  # above_998 | above_95 | within | below_95 | below_998
    words: str  # 'Above 99.8% limit: higher (worse)'
    judgement: str  # formatting.judge key: better | worse | similar | not_judged
    colour: str  # '#RRGGBB', from formatting.judge
    marker: str  # matplotlib marker: shape carries the direction without colour


_POSITION_WORDS = {
    "above_998": "Above 99.8% limit", "above_95": "Above 95% limit",
    "within": "Within 95% limits", "below_95": "Below 95% limit",
    "below_998": "Below 99.8% limit",
}


def funnel_marks(points: Sequence[FunnelPoint], benchmark_pct: float,
                 polarity: str) -> list[FunnelMark]:
    """Where each point lies against the 95% and 99.8% limits around the benchmark, and
    its colour by the indicator's polarity: outside the 99.8% limits a Place is judged
    better or worse (or 'not judged' where neither direction is better); between the 95%
    and 99.8% limits it is marked by shape but coloured as similar (the funnel plot's
    convention: only the 99.8% limits signal a difference worth acting on)."""
    p0 = benchmark_pct / 100
    marks = []
    for point in points:
        pct = 100 * point.numerator / point.denominator
        lo95, hi95 = methods.funnel_limits_proportion(p0, [point.denominator], 0.95)
        lo998, hi998 = methods.funnel_limits_proportion(p0, [point.denominator], 0.998)
        if pct > 100 * hi998[0]:
            position, direction, marker = "above_998", "higher", "^"
        elif pct < 100 * lo998[0]:
            position, direction, marker = "below_998", "lower", "v"
        elif pct > 100 * hi95[0]:
            position, direction, marker = "above_95", "similar", "o"
        elif pct < 100 * lo95[0]:
            position, direction, marker = "below_95", "similar", "o"
        else:
            position, direction, marker = "within", "similar", "o"
        verdict = judge(direction, polarity)
        words = _POSITION_WORDS[position]
        if direction != "similar":
            words += f": {verdict.words.lower()}"
        marks.append(FunnelMark(point.label, point.denominator, pct, position, words,
                                verdict.key, verdict.colour, marker))
    return marks


def _plot_frame(svg_id: str, title: str, description: str, height_in: float,
                x_ticks: Sequence[tuple[float, str]], y_ticks: Sequence[float], unit: str,
                x_range: tuple[float, float], *, x_size: float = 10,
                x_label: str | None = None, y_label: str | None = None,
                legend_rows: int = 2,
                ) -> tuple[list[str], Callable[[float], float], Callable[[float], float]]:
    """The opening of a chart with numeric axes and `legend_rows` legend rows above them
    (_legend), in the margins matplotlib's fixed layout gave these charts (two legend
    rows; each further row makes the chart taller, not the plot smaller): the <svg>, the
    y grid with its tick labels, the axes, the x tick labels and the axis titles. Returns
    the parts so far and the x and y scales (data to SVG units)."""
    extra = 0.24 * max(legend_rows - 2, 0)
    width, height = WIDTH_IN * 72, (height_in + extra) * 72
    x0, x1 = 0.8 * 72, width - 0.15 * 72
    y0, y1 = (0.12 + 0.24 * 2 + extra) * 72, height - 0.55 * 72
    y_min, y_max = y_ticks[0], y_ticks[-1]
    x_min, x_max = x_range

    def px(v: float) -> float:
        return x0 + (v - x_min) / (x_max - x_min) * (x1 - x0)

    def py(v: float) -> float:
        return y1 - (v - y_min) / (y_max - y_min) * (y1 - y0)

    out = [_svg_open(svg_id, title, description, width, height),
           f'<defs><clipPath id="{_esc(svg_id)}-plot"><rect x="{x0:.1f}" y="{y0:.1f}" '
           f'width="{x1 - x0:.1f}" height="{y1 - y0:.1f}"/></clipPath></defs>']
    out.extend(_value_grid([py(t) for t in y_ticks], y_ticks, unit, x0, x1, y0, y1))
    for value, text in x_ticks:
        out.append(f'<text x="{px(value):.1f}" y="{y1 + 14:.1f}" font-size="{x_size:g}" '
                   f'text-anchor="middle" fill="{NHS_DARK_GREY}">{_esc(text)}</text>')
    if x_label:
        out.append(f'<text x="{(x0 + x1) / 2:.1f}" y="{y1 + 30:.1f}" font-size="10" '
                   f'text-anchor="middle" fill="{BLACK}">{_esc(x_label)}</text>')
    if y_label:
        out.append(f'<text transform="translate(14 {(y0 + y1) / 2:.1f}) rotate(-90)" '
                   f'font-size="10" text-anchor="middle" fill="{BLACK}">{_esc(y_label)}'
                   "</text>")
    return out, px, py


def _legend(entries: Sequence[tuple[str, str]], left: float = 0.8 * 72
            ) -> tuple[list[str], int]:
    """Legend entries, (symbol drawn at 0,0 up to 20 units wide, label) as _key draws
    them, left to right from `left` onto as many rows as it takes to stay within what a
    phone shows (_legend_flow; three columns 175 units apart ran to x = 540). Returns
    the parts and the number of rows, for the room above the axes."""
    flow = _legend_flow([26 + _CHAR_EM * 9 * len(label) for _, label in entries], left, 14)
    out = [f'<g transform="translate({x:.1f} {12 + 15 * row})">{_key(symbol, label)}</g>'
           for (x, row), (symbol, label) in zip(flow, entries, strict=True)]
    return out, max((row for _, row in flow), default=-1) + 1


def _key(symbol: str, label: str) -> str:
    return f'{symbol}<text x="26" y="3" font-size="9" fill="{BLACK}">{_esc(label)}</text>'


def _line_key(colour: str, width: float, dash: str = "-") -> str:
    return (f'<path d="M0 0h20" stroke="{colour}" stroke-width="{width:g}"'
            f'{_DASHES[dash]}/>')


def _edged(marker: str) -> str:
    """A marker with matplotlib's white edge (markeredgecolor="white")."""
    return marker.replace("/>", ' stroke="#FFFFFF" stroke-width="0.8"/>')


def _polyline(xs: Sequence[float], ys: Sequence[float]) -> str:
    """A path through the finite points, broken at gaps (as matplotlib draws a NaN)."""
    parts, pen = [], "M"
    for x, y in zip(xs, ys, strict=True):
        if not (math.isfinite(x) and math.isfinite(y)):
            pen = "M"
            continue
        parts.append(f"{pen}{x:.1f} {y:.1f}")
        pen = "L"
    return "".join(parts)


def _free_label_y(placed: list[tuple[float, float, float, float]], x: float, y: float,
                  width: float, right: bool, height: float = 10.0) -> float:
    """The baseline nearest y at which a label (anchored at x, to its left when
    `right`) overlaps none already placed; the box taken is added to `placed`. Places
    of similar size and value would otherwise print their names over each other."""
    left = x - width if right else x
    for step in range(0, 12):
        for candidate in ((y,) if step == 0 else (y - step * height, y + step * height)):
            box = (left, candidate - height + 2, width, height)
            if not any(box[0] < b[0] + b[2] and b[0] < box[0] + box[2]
                       and box[1] < b[1] + b[3] and b[1] < box[1] + box[3] for b in placed):
                placed.append(box)
                return candidate
    placed.append((left, y - height + 2, width, height))
    return y


def funnel_chart(
    svg_id: str,
    title: str,
    description: str,
    points: Sequence[FunnelPoint],
    benchmark_pct: float,
    benchmark_label: str,
    polarity: str = "neutral",
    x_label: str = "Number of deaths (denominator)",
) -> str:
    """Funnel plot of a proportion: each area's % against its denominator, with 95% and
    99.8% control limits around the benchmark (methods.funnel_limits_proportion); the
    markers' colour follows the indicator's polarity (funnel_marks, formatting.judge).

    Drawn as SVG directly, like line_chart: a report draws one per Place's practices
    and one per funnel indicator, and matplotlib spent about a tenth of a second on each
    (two thirds of the report's rendering once the other charts were direct). The look
    follows the matplotlib chart it replaces: the same limits, markers, labels and
    legend."""
    max_n = max((p.denominator for p in points), default=100.0) * 1.15
    n = np.linspace(max(min((p.denominator for p in points), default=10) * 0.5, 10),
                    max_n, 200)
    p0 = benchmark_pct / 100
    lo95, hi95 = methods.funnel_limits_proportion(p0, n, 0.95)
    lo998, hi998 = methods.funnel_limits_proportion(p0, n, 0.998)
    marks = funnel_marks(points, benchmark_pct, polarity)
    curves = [100 * lo95, 100 * hi95, 100 * lo998, 100 * hi998]
    values = [float(v) for curve in curves for v in curve if math.isfinite(v)]
    values += [m.percent for m in marks if math.isfinite(m.percent)] + [benchmark_pct]
    y_ticks = _axis_ticks(values, False)
    x_ticks = [(t, _tick_label(t, "count")) for t in _nice_ticks(max_n) if t <= max_n]
    entries = [(_line_key(OI_ORANGE, 1.5), benchmark_label),
               (_line_key(NHS_DARK_GREY, 1, "--"), "95% limits"),
               (_line_key(NHS_DARK_GREY, 1.2, ":"), "99.8% limits")]
    for direction, marker in (("above", "^"), ("below", "v")):
        verdict = judge(direction, polarity)
        entries.append((_marker(marker, 10, 0, verdict.colour, 7),
                        f"{direction.capitalize()} 99.8% limit ({verdict.label.lower()})"))
    entries.append((_marker("o", 10, 0, judge("similar", polarity).colour, 7),
                    "Within 99.8% limits (similar)"))
    legend, legend_rows = _legend(entries)
    out, px, py = _plot_frame(svg_id, title, description, 3.4, x_ticks, y_ticks, "%",
                              (0.0, max_n), x_label=x_label,
                              y_label="Per cent", legend_rows=legend_rows)
    xs = [px(float(v)) for v in n]
    out.append(f'<g clip-path="url(#{_esc(svg_id)}-plot)" fill="none">')
    for curve, dash, width in ((curves[0], "--", 1), (curves[1], "--", 1),
                               (curves[2], ":", 1.2), (curves[3], ":", 1.2)):
        path = _polyline(xs, [py(float(v)) if math.isfinite(v) else math.nan for v in curve])
        if path:
            out.append(f'<path d="{path}" stroke="{NHS_DARK_GREY}" stroke-width="{width:g}"'
                       f'{_DASHES[dash]}/>')
    y = py(benchmark_pct)
    out.append(f'<path d="M{px(0):.1f} {y:.1f}H{px(max_n):.1f}" stroke="{OI_ORANGE}" '
               'stroke-width="1.5"/>')
    for mark in marks:
        if math.isfinite(mark.percent):
            out.append(_edged(_marker(mark.marker, px(mark.denominator), py(mark.percent),
                                      mark.colour, 8)))
    out.append("</g>")
    placed: list[tuple[float, float, float, float]] = []  # label boxes drawn so far
    for mark in sorted(marks, key=lambda m: -m.percent if math.isfinite(m.percent) else 0):
        label = _shorten(mark.label, 22)
        if not label or not math.isfinite(mark.percent):
            continue
        # Labels near the right edge go to the left of their point, so none is clipped.
        right = mark.denominator > 0.75 * max_n
        x = px(mark.denominator) + (-6 if right else 6)
        y = _free_label_y(placed, x, py(mark.percent) - 4, _CHAR_EM * 8.5 * len(label),
                          right)
        out.append(f'<text x="{x:.1f}" y="{y:.1f}" font-size="8.5" '
                   f'text-anchor="{"end" if right else "start"}" fill="{BLACK}">'
                   f"{_esc(label)}</text>")
    out += legend
    out.append("</svg>")
    return "".join(out) + "\n"


def spc_point_classes(result: methods.XmRResult, polarity: str) -> list[str]:
    """Per point: 'common', 'improving', 'concerning' or 'neither' (SPC_STYLES keys)."""
    classes = []
    for special, direction in zip(result.special_cause.tolist(), result.direction.tolist(),
                                  strict=True):
        if not special or direction == 0:
            classes.append("common")
        elif polarity == "neutral":
            classes.append("neither")
        elif (direction > 0) == (polarity == "higher_is_better"):
            classes.append("improving")
        else:
            classes.append("concerning")
    return classes


def spc_chart(
    svg_id: str,
    title: str,
    description: str,
    labels: Sequence[str],
    result: methods.XmRResult,
    polarity: str,
    unit: str,
) -> str:
    """XmR chart (Making Data Count): values, mean, process limits; special-cause points
    coloured and shaped by whether they are an improvement, a concern or neither.

    Drawn as SVG directly, like funnel_chart (see there)."""
    values = [float(v) for v in result.values]
    limits = [float(v) for v in (result.upper_limit, result.lower_limit) if math.isfinite(v)]
    shown = [v for v in (*values, float(result.mean), *limits) if math.isfinite(v)]
    y_ticks = _axis_ticks(shown, False)
    if unit in ("%", "count") and y_ticks[0] < 0:  # no negative counts or percentages
        y_ticks = [0.0, *(t for t in y_ticks if t > 0)]
        if len(y_ticks) < 2:
            y_ticks = [0.0, 1.0]
    n = len(values)
    step = max(1, math.ceil(len(labels) / 12))
    x_ticks = [(float(i), labels[i]) for i in range(0, min(len(labels), n), step)]
    classes = spc_point_classes(result, polarity)
    styles = {key: [i for i, c in enumerate(classes) if c == key and math.isfinite(values[i])]
              for key in SPC_STYLES}
    legend, legend_rows = _legend([
        (_line_key(BLACK, 1.2), "Mean"), (_line_key(NHS_DARK_GREY, 1, "--"), "Process limits"),
        *((_marker(SPC_STYLES[key][1], 10, 0, SPC_STYLES[key][0], 7), SPC_STYLES[key][2])
          for key, idx in styles.items() if idx)])
    out, px, py = _plot_frame(svg_id, title, description, 2.9, x_ticks, y_ticks, unit,
                              (-0.5, max(n, 1) - 0.5), x_size=8.5, legend_rows=legend_rows)
    x0, x1 = px(-0.5), px(max(n, 1) - 0.5)
    out.append(f'<g clip-path="url(#{_esc(svg_id)}-plot)" fill="none">')
    if math.isfinite(result.mean):
        out.append(f'<path d="M{x0:.1f} {py(float(result.mean)):.1f}H{x1:.1f}" '
                   f'stroke="{BLACK}" stroke-width="1.2"/>')
    for limit in limits:
        out.append(f'<path d="M{x0:.1f} {py(limit):.1f}H{x1:.1f}" stroke="{NHS_DARK_GREY}" '
                   f'stroke-width="1"{_DASHES["--"]}/>')
    path = _polyline([px(i) for i in range(n)],
                     [py(v) if math.isfinite(v) else math.nan for v in values])
    if path:
        out.append(f'<path d="{path}" stroke="{NHS_MID_GREY}" stroke-width="1.2"/>')
    for key, idx in styles.items():
        colour, marker, _ = SPC_STYLES[key]
        out += [_edged(_marker(marker, px(i), py(values[i]), colour, 6.5)) for i in idx]
    out.append("</g>")
    out += legend
    out.append("</svg>")
    return "".join(out) + "\n"


@dataclass(frozen=True)
class Series:
    label: str
    values: Sequence[float | None]
    lower: Sequence[float | None] | None = None
    upper: Sequence[float | None] | None = None


def line_chart(
    svg_id: str,
    title: str,
    description: str,
    x_labels: Sequence[str],
    series: Sequence[Series],
    unit: str,
    *,
    y_label: str | None = None,
    start_at_zero: bool = True,
) -> str:
    """Lines over time (projections to 2040, trends by financial year); each series
    has its own colour, marker and dash so the lines can be told apart in greyscale.
    Intervals, where given, are drawn as error bars.

    Drawn as SVG directly, like gradient_chart and for the same reason (a dozen per
    report, each a fifth of a second in matplotlib); the look follows the matplotlib
    charts. A missing value breaks its line, as matplotlib draws a NaN."""
    x0 = 0.8 * 72
    # Legend above the axes, flowing within what a phone shows (_legend_flow).
    flow = _legend_flow([26 + _CHAR_EM * 9 * len(s.label) for s in series], x0, 14)
    legend_rows = max((row for _, row in flow), default=-1) + 1
    width, height = WIDTH_IN * 72, (3.0 + 0.21 * max(legend_rows - 1, 0)) * 72
    x1 = width - 0.15 * 72
    y0, y1 = (0.12 + 0.24 * max(legend_rows, 1)) * 72, height - 0.55 * 72
    values = [float(v) for s in series
              for seq in (s.values, s.lower or (), s.upper or ()) for v in seq
              if v is not None and _finite(v)]
    ticks = _axis_ticks(values, start_at_zero)
    y_min, y_max = ticks[0], ticks[-1]
    n = max(len(x_labels), 1)
    span = max(n - 0.2, 0.2)  # xlim(-0.4, n - 0.6)

    def px(i: float) -> float:
        return x0 + (i + 0.4) / span * (x1 - x0)

    def py(v: float) -> float:
        return y1 - (v - y_min) / (y_max - y_min) * (y1 - y0)

    out = [_svg_open(svg_id, title, description, width, height)]
    out.extend(_value_grid([py(t) for t in ticks], ticks, unit, x0, x1, y0, y1))
    step = max(1, math.ceil(len(x_labels) / 16))
    for i in range(0, len(x_labels), step):
        out.append(f'<text x="{px(i):.1f}" y="{y1 + 14:.1f}" font-size="10" '
                   f'text-anchor="middle" fill="{NHS_DARK_GREY}">{_esc(x_labels[i])}</text>')
    if y_label:
        out.append(f'<text transform="translate(14 {(y0 + y1) / 2:.1f}) rotate(-90)" '
                   f'font-size="10" text-anchor="middle" fill="{BLACK}">{_esc(y_label)}'
                   "</text>")
    for i, s in enumerate(series):
        colour = SERIES_COLOURS[i % len(SERIES_COLOURS)]
        marker = SERIES_MARKERS[i % len(SERIES_MARKERS)]
        dash = _DASHES[SERIES_DASHES[i % len(SERIES_DASHES)]]
        offset = (i - (len(series) - 1) / 2) * 0.06 if s.lower is not None else 0.0
        points = [(px(k + offset), py(float(v))) if v is not None and _finite(v) else None
                  for k, v in enumerate(s.values)]
        if s.lower is not None and s.upper is not None:
            bars = []
            for k, (v, lo, hi) in enumerate(zip(s.values, s.lower, s.upper, strict=True)):
                if all(x is not None and _finite(x) for x in (v, lo, hi)):
                    x, a, b = px(k + offset), py(float(lo)), py(float(hi))  # type: ignore[arg-type]
                    bars.append(f"M{x:.1f} {a:.1f}V{b:.1f}M{x - 3:.1f} {a:.1f}H{x + 3:.1f}"
                                f"M{x - 3:.1f} {b:.1f}H{x + 3:.1f}")
            if bars:
                out.append(f'<path d="{"".join(bars)}" stroke="{colour}" stroke-width="1" '
                           'stroke-opacity="0.8" fill="none"/>')
        path, pen = [], "M"
        for point in points:
            if point is None:
                pen = "M"
                continue
            path.append(f"{pen}{point[0]:.1f} {point[1]:.1f}")
            pen = "L"
        if path:
            out.append(f'<path d="{"".join(path)}" stroke="{colour}" stroke-width="1.8" '
                       f'fill="none"{dash}/>')
        out += [_marker(marker, x, y, colour, 5) for x, y in filter(None, points)]
    for i, (s, (cursor_x, row)) in enumerate(zip(series, flow, strict=True)):
        colour = SERIES_COLOURS[i % len(SERIES_COLOURS)]
        y = 12 + 15 * row
        dash = _DASHES[SERIES_DASHES[i % len(SERIES_DASHES)]]
        out.append(f'<path d="M{cursor_x:.1f} {y:.1f}h20" stroke="{colour}" '
                   f'stroke-width="1.8"{dash}/>'
                   + _marker(SERIES_MARKERS[i % len(SERIES_MARKERS)], cursor_x + 10, y,
                             colour, 5)
                   + f'<text x="{cursor_x + 26:.1f}" y="{y + 3:.1f}" font-size="9" '
                   f'fill="{BLACK}">{_esc(s.label)}</text>')
    out.append("</svg>")
    return "".join(out) + "\n"


_DASHES = {"-": "", "--": ' stroke-dasharray="6,3"', "-.": ' stroke-dasharray="6,2,1.5,2"',
           ":": ' stroke-dasharray="1.5,2"'}


def _marker(shape: str, x: float, y: float, colour: str, size: float) -> str:
    """A matplotlib marker ('o', 's', '^', 'D', 'v', 'P', 'X') of `size` points."""
    r = size / 2
    if shape == "o":
        return f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{r:.2f}" fill="{colour}"/>'
    shapes = {
        "s": [(-r, -r), (r, -r), (r, r), (-r, r)],
        "^": [(0, -r), (r, r), (-r, r)],
        "v": [(0, r), (r, -r), (-r, -r)],
        "D": [(0, -r * 1.2), (r, 0), (0, r * 1.2), (-r, 0)],
        "P": [(-r / 3, -r), (r / 3, -r), (r / 3, -r / 3), (r, -r / 3), (r, r / 3),
              (r / 3, r / 3), (r / 3, r), (-r / 3, r), (-r / 3, r / 3), (-r, r / 3),
              (-r, -r / 3), (-r / 3, -r / 3)],
        "X": [(-r, -r * 0.6), (-r * 0.6, -r), (0, -r * 0.4), (r * 0.6, -r), (r, -r * 0.6),
              (r * 0.4, 0), (r, r * 0.6), (r * 0.6, r), (0, r * 0.4), (-r * 0.6, r),
              (-r, r * 0.6), (-r * 0.4, 0)],
    }
    corners = shapes.get(shape, shapes["s"])
    points = " ".join(f"{x + dx:.1f},{y + dy:.1f}" for dx, dy in corners)
    return f'<polygon points="{points}" fill="{colour}"/>'


def _axis_ticks(values: Sequence[float], start_at_zero: bool) -> list[float]:
    """Nice ticks covering the values: from zero for counts, rates and percentages
    (honest lines), else from just below the smallest value."""
    if not values:
        return [0.0, 1.0]
    high, low = max(values), min(values)
    if start_at_zero and low >= 0:
        return _nice_ticks(high * 1.05)
    if high == low:
        high, low = high + 1, low - 1
    raw = (high - low) / 5
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    first = math.floor(low / step)
    last = math.ceil(high / step)
    return [k * step for k in range(first, last + 1)]


def grouped_bar_chart(
    svg_id: str,
    title: str,
    description: str,
    categories: Sequence[str],
    series: Sequence[Series],
    unit: str,
) -> str:
    """Horizontal grouped bars (e.g. deaths by cause group, Place beside the ICB),
    each bar labelled with its value so no reading depends on colour; the second and
    later series are hatched too.

    Drawn as SVG directly, like line_chart (see there)."""
    n_series = max(len(series), 1)
    width = WIDTH_IN * 72
    height = max(0.7 + 0.26 * len(categories) * n_series, 2.2) * 72
    longest = max((len(c) for c in categories), default=4)
    x0, x1 = min(10 + 5.6 * longest, width * 0.45), width - 12
    # The legend from the plot's left edge, flowing within what a phone shows
    # (_legend_flow; long category names put x0 up to 259): each further row, 14 taller.
    flow = _legend_flow([21 + _CHAR_EM * 9 * len(s.label) for s in series], x0, 15)
    legend_h = 14.0 * max((row for _, row in flow), default=0)
    height += legend_h
    y0, y1 = 30.0 + legend_h, height - 28
    values = [float(v) for s in series for v in s.values if v is not None and _finite(v)]
    ticks = _nice_ticks(max([*values, 0.0]) * 1.12) if values else [0.0, 1.0]
    x_max = ticks[-1]

    def px(v: float) -> float:
        return x0 + v / x_max * (x1 - x0)

    slot = (y1 - y0) / max(len(categories), 1)
    band = 0.8 * slot / n_series
    out = [_svg_open(svg_id, title, description, width, height), "<defs>"]
    for i in range(1, min(len(series), 4)):
        out.append(_hatch(f"{svg_id}-hatch-{i}", ("", "///", "...", "xx")[i]))
    out.append("</defs>")
    for tick in ticks:
        x = px(tick)
        out.append(f'<line x1="{x:.1f}" y1="{y0:.1f}" x2="{x:.1f}" y2="{y1:.1f}" '
                   f'stroke="{NHS_PALE_GREY}" stroke-width="0.8"/>'
                   f'<text x="{x:.1f}" y="{y1 + 14:.1f}" font-size="10" text-anchor="middle" '
                   f'fill="{NHS_DARK_GREY}">{_esc(_tick_label(tick, unit))}</text>')
    out.append(f'<path d="M{x0:.1f} {y0:.1f}V{y1:.1f}H{x1:.1f}" fill="none" '
               f'stroke="{NHS_MID_GREY}" stroke-width="0.8"/>')
    for c, category in enumerate(categories):
        centre = y0 + (c + 0.5) * slot
        out.append(f'<text x="{x0 - 5:.1f}" y="{centre + 3.5:.1f}" font-size="10" '
                   f'text-anchor="end" fill="{NHS_DARK_GREY}">{_esc(category)}</text>')
        for i, s in enumerate(series):
            raw = s.values[c] if c < len(s.values) else None
            value = float(raw) if raw is not None and _finite(raw) else 0.0
            top = centre - 0.4 * slot + band * i
            colour = SERIES_COLOURS[i % len(SERIES_COLOURS)]
            bar_w = px(value) - x0
            out.append(f'<rect x="{x0:.1f}" y="{top + band * 0.04:.1f}" width="{bar_w:.1f}" '
                       f'height="{band * 0.92:.1f}" fill="{colour}"/>')
            if i % 4:
                out.append(f'<rect x="{x0:.1f}" y="{top + band * 0.04:.1f}" '
                           f'width="{bar_w:.1f}" height="{band * 0.92:.1f}" '
                           f'fill="url(#{svg_id}-hatch-{i % 4})"/>')
            text = fmt_value(raw, unit) if raw is not None and _finite(raw) else "*"
            out.append(f'<text x="{px(value) + 3:.1f}" y="{top + band / 2 + 3:.1f}" '
                       f'font-size="8" fill="{BLACK}">{_esc(text)}</text>')
    for i, (s, (cursor, row)) in enumerate(zip(series, flow, strict=True)):
        colour = SERIES_COLOURS[i % len(SERIES_COLOURS)]
        y = 8 + 14 * row
        out.append(f'<rect x="{cursor:.1f}" y="{y}" width="16" height="9" fill="{colour}"/>')
        if i % 4:
            out.append(f'<rect x="{cursor:.1f}" y="{y}" width="16" height="9" '
                       f'fill="url(#{svg_id}-hatch-{i % 4})"/>')
        out.append(f'<text x="{cursor + 21:.1f}" y="{y + 8}" font-size="9" fill="{BLACK}">'
                   f"{_esc(s.label)}</text>")
    out.append("</svg>")
    return "".join(out) + "\n"


def _hatch(pattern_id: str, kind: str) -> str:
    """A white hatch over a bar's colour, as matplotlib's '///', '...' and 'xx'."""
    marks = {
        "///": '<path d="M-1 7L7 -1M3 9L9 3M-3 3L3 -3" stroke="#FFFFFF" stroke-width="1"/>',
        "...": '<circle cx="2" cy="2" r="0.9" fill="#FFFFFF"/>'
               '<circle cx="6" cy="6" r="0.9" fill="#FFFFFF"/>',
        "xx": '<path d="M0 0L8 8M8 0L0 8" stroke="#FFFFFF" stroke-width="0.8"/>',
    }[kind]
    return (f'<pattern id="{_esc(pattern_id)}" width="8" height="8" '
            f'patternUnits="userSpaceOnUse">{marks}</pattern>')
