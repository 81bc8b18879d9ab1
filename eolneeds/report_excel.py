"""The Excel packs commissioners open: one for the ICB, one per Place.

They follow the Government Analysis Function's "Releasing statistics in spreadsheets"
(and the ONS gptables habits), point by point; tests/test_excel_standard.py checks each:

* Cover (title, what the pack is, source, period, publication date, next update,
  contact, the shorthand explained), Contents with internal links, Notes (a table
  of [note N] that other tables cite), Metadata, then one sheet per theme.
* One table per sheet: the title in A1 (a heading style), notes stacked in column A
  above it, nothing merged, nothing beside or below it; each a real Excel table
  (a name from its sheet's words, string headers; filter buttons only on the Indicator
  data sheet, DataSheet.filters), number formats per column;
  no frozen panes (the checklist's "avoid freeze panes": the rows above a table froze
  with its header, 100-180 pt, the whole window of a reader zoomed to 200%; an Excel
  table shows its headers in place of the column letters while scrolled).
* No blank cell inside a table: [c] suppressed, [x] not available, [z] not
  applicable (Mark). Units in the headers or a Unit column. Values stored at the
  precision they are shown (published). Comparisons in words that carry the meaning
  ("Higher (worse)"), colour only repeating them (judge_words, _comparison_rules).
* Tab names that make sense within 31 characters (_sheet_name cuts between words).
* Native charts beside their tables, reading only the table's published cells, with
  alt text (_DescribedDrawing); a Place pack's charts show that Place.
* Printing (print_plan, _page_setup): A4, text never below 65% of its size, the header
  row (and key columns) repeated on every page, figures kept off the cell edge by their
  number format (theme.padded) so neighbouring columns never print run together; the
  Indicator data sheet prints only its notes unless rows are chosen (print_rows). The
  page header and footer repeat only what the sheet already says (pack title, sheet
  name) and the page number: the accessibility checklist's "no headers and footers" is
  about content found nowhere else, which a screen reader would miss.

Each sheet has its own builder (_cover, _contents_sheet, _notes_sheet, _summary_sheet,
_theme_sheet, _inequalities_sheet, _projections_sheet, _data_quality_sheets,
_indicator_data_sheet) returning a DataSheet that _write_data_sheet lays out.

Safety: every string that came from input data passes through safety.neutralise and is
written as text (data_type 's'), so nothing a user typed can become a formula.
Hyperlinks are internal locations only. The workbook is built in memory and written
atomically.

Speed: a pack has up to 300,000 cells (the Indicator data sheet is nine in ten of them),
and openpyxl's per-cell paths (named styles looked up per cell, an ElementTree element
serialised per cell) took over a minute for the ICB and six Place packs. So cells copy
pre-resolved style arrays (_CellMaker), save_workbook formats the rows as text
(_RowsWriter), the Indicator data body goes from its values straight into the file
(_StreamedRows), worked out column by column once for every pack of a bundle
(_DataColumns: each distinct name, code or period formatted once, each row's cells joined in
polars). Each gives the same file as openpyxl's own path; tests/test_report_excel.py
compares them part by part.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import re
from array import array
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from math import isfinite
from pathlib import Path
from typing import IO, Any, NamedTuple
from weakref import WeakKeyDictionary
from xml.etree.ElementTree import tostring
from zipfile import ZIP_DEFLATED, ZipFile

import polars as pl
from openpyxl import LXML, Workbook
from openpyxl.cell._writer import write_cell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE, Cell
from openpyxl.chart import BarChart, LineChart, Reference, Series
from openpyxl.chart.data_source import StrRef
from openpyxl.chart.series import SeriesLabel
from openpyxl.comments.comment_sheet import CommentRecord
from openpyxl.drawing.spreadsheet_drawing import SpreadsheetDrawing
from openpyxl.formatting.rule import FormulaRule
from openpyxl.styles import Alignment, Border, Font, NamedStyle, PatternFill, Side
from openpyxl.styles.cell_style import StyleArray
from openpyxl.styles.styleable import StyleableObject
from openpyxl.utils import get_column_letter, quote_sheetname, range_boundaries
from openpyxl.utils.datetime import to_excel
from openpyxl.worksheet._writer import WorksheetWriter
from openpyxl.worksheet.dimensions import SheetDimension
from openpyxl.worksheet.hyperlink import Hyperlink
from openpyxl.worksheet.page import PageMargins
from openpyxl.worksheet.table import Table, TableStyleInfo
from openpyxl.worksheet.worksheet import Worksheet
from openpyxl.writer.excel import ExcelWriter
from openpyxl.xml.functions import Element, SubElement

from eolneeds import catalogue, categories
from eolneeds import excel_theme as theme
from eolneeds.bundle import (
    COST_INDICATOR,
    ReportBundle,
    cost_per_death,
    projection_year_basis,
    suppression_tally,
)
from eolneeds.errors import UsageError
from eolneeds.findings import (
    Finding,
    FindingsBuilder,
    findings_builder,
    period_words,
    versus_benchmark,
)
from eolneeds.formatting import BREAKDOWN_LABELS, column_header, judge, plural
from eolneeds.outputs import atomic_output, disclosure_rule_text
from eolneeds.practice import PCN, PRACTICE, place_members
from eolneeds.safety import neutralise

__all__ = ["write_excel_pack", "write_excel_packs", "pack_sheet_names", "sheet_title"]

# ---------------------------------------------------------------------------------------
# Vocabulary

THEMES: tuple[tuple[str, str, str], ...] = (
    # (catalogue theme, sheet name, one-line description for Contents)
    ("mortality_need", "Mortality and need",
     "How many people die, of what, and the estimated palliative care need"),
    ("place_of_death", "Place of death",
     "Where people die, including deaths in their usual place of residence"),
    ("identification", "Identification",
     "Palliative care registers: who was identified before death, how early, and "
     "whether preferences were recorded and met"),
    ("hospital_use", "Hospital use",
     "Emergency admissions, bed days, A&E, specialist palliative and community care "
     "at the end of life"),
)

PROJECTION_INDICATOR = "pc_need_projected"
# Stacked in this order in the place-of-death chart: together they make all deaths.
PLACE_OF_DEATH_PARTS = (
    "pod_home_pct", "pod_care_home_pct", "pod_hospital_pct", "pod_hospice_pct",
    "pod_other_pct",
)
# Preferred indicator for the deprivation gradient chart, best first.
GRADIENT_CHART_PREFERENCE = (
    "dsr_all_cause", "pod_hospital_pct", "diupr_pct", "on_register_need_pct",
    "ea_last90_3plus_pct", "spc_last_year_pct",
)

BREAKDOWN_ORDER = ("all", "sex", "age_band", "age_group", "ethnic_group",
                   "ethnic_group_broad", "cause_group", "imd_quintile")
VALUE_LABELS = {
    "all": "All people", "under_75": "Under 75", "75_plus": "75 and over",
    "organ_failure": "Organ failure", "dementia_frailty": "Dementia and frailty",
    "hiv": "HIV", "not_known": "Not known", "care_home": "Care home",
    **categories.labels(),  # merged categories: 'Neurodegenerative disease or HIV'...
    "1": "1 (most deprived)", "5": "5 (least deprived)",
}
POLARITY_LABELS = {
    "higher_is_better": "Higher is better",
    "lower_is_better": "Lower is better",
    "neutral": "No judgement",
}
METHOD_NOTES = (
    ("Proportions (P)",
     "Percentages with 95% and 99.8% confidence intervals by the Wilson score method."),
    ("Crude rates (R)",
     "Rates per 100,000 resident population with confidence intervals by Byar's method "
     "(exact Poisson for small counts)."),
    ("Directly standardised rates (DSR)",
     "Age-standardised to the 2013 European Standard Population (19 age bands, 0-4 to "
     "90+), per 100,000, with Dobson confidence intervals; not published for fewer than "
     "10 deaths."),
    ("Means (M)", "Means per person with t-distribution confidence intervals."),
    ("Medians (Q)", "Medians, shown without a confidence interval."),
    ("Counts (C)", "Counts of people or events, or a sum of costs; not compared."),
    ("Comparison with the ICB",
     "Each Place is compared with the ICB at the 95% level: 'Higher' or 'Lower' when the "
     "ICB value lies outside the Place's 95% confidence interval, otherwise 'Similar'. "
     "Where the indicator has a better direction (its polarity) the words say so, as "
     "'Higher (worse)' or 'Lower (better)'; otherwise '(not judged)'. The cell colour "
     "repeats the words for readers who scan by colour; it never carries meaning alone. "
     "'Compared with England' applies the same test to England's value (taken as fixed: "
     "its interval is far narrower), whatever England's period, which is given beside it. "
     "'Difference from ICB' (Place packs) is the Place's value minus the ICB's as shown, in "
     "the row's unit: percentage points for a percentage. A suppressed value has neither."),
    ("Deprivation",
     "Deprivation quintiles come from the Index of Multiple Deprivation decile of the "
     "area (LSOA) where the person lived: quintile 1 is the most deprived fifth."),
)

# A catalogue method ('P') -> its note's topic ('Proportions (P)').
_METHOD_TOPICS = {topic.rsplit("(", 1)[1].rstrip(")"): topic
                  for topic, _ in METHOD_NOTES if topic.endswith(")")}
# The notes a theme sheet's table cites above it, besides periods, disclosure control,
# merged categories, deprivation and England, which every theme sheet's rows touch.
_THEME_NOTES = {"mortality_need": ("need",), "place_of_death": ("place_of_death",),
                "identification": ("need",), "hospital_use": ("emergency", "bed_days")}

_NO_DATA = "No data"


# ---------------------------------------------------------------------------------------
# Cell values


class Mark:
    """A shorthand that stands in a table cell instead of a number, as "Releasing
    statistics in spreadsheets" asks (no blank cells inside a table): written as text,
    right-aligned like the numbers it stands among. The cover sheet explains each."""

    __slots__ = ("text", "meaning")

    def __init__(self, text: str, meaning: str) -> None:
        self.text = text
        self.meaning = meaning

    def __repr__(self) -> str:
        return self.text


CONFIDENTIAL = Mark("[c]", "confidential: suppressed to protect confidentiality (small "
                           "numbers, or a figure that would reveal one)")
NOT_AVAILABLE = Mark("[x]", "not available: no data for this cell")
NOT_APPLICABLE = Mark("[z]", "not applicable: the figure does not exist for this row "
                             "(for example a confidence interval for a count, or a "
                             "quintile or group with no residents)")
MARKS = (CONFIDENTIAL, NOT_AVAILABLE, NOT_APPLICABLE)
# Low reliability: the figure is shown, so the mark goes in the row's note, never in
# place of the number ("unreliable: fewer than 20 events" from disclosure control).
LOW_RELIABILITY = ("[u]", "low reliability: a rate on fewer than 20 events is shown but "
                          "should be read with care; the row's note says so")


def note_text(note: str) -> str:
    """An indicator row's note as a pack shows it: the unreliable-rate flag carries the
    [u] shorthand ('low reliability [u]: fewer than 20 events')."""
    return note.replace("unreliable:", f"low reliability {LOW_RELIABILITY[0]}:")
SUPPRESSED = CONFIDENTIAL
SUPPRESSED_MARK = CONFIDENTIAL.text


class Num(NamedTuple):
    """A number with its own format: value columns mix units row by row.

    (A named tuple: a pack makes a hundred thousand of these.)"""

    value: float
    number_format: str


@dataclass(frozen=True)
class Link:
    """Text that links to a location inside this workbook (never outside it)."""

    text: str
    sheet: str


@dataclass(frozen=True)
class Col:
    header: str
    number_format: str | None = None  # for plain numbers in the column
    wrap: bool = False
    width: float | None = None  # fixed width; else from content
    role: str = "data"  # data | comparison | polarity
    blank: Mark | None = None  # stands in an empty cell ([x] not available by default)
    longest: int | None = None  # the longest value's display length, if known already


#: The theme tables' Indicator column wraps at this width (the longest name of the Place
#: of death sheet, 'Deaths in usual place of residence', fits on one line): it is a key
#: column, repeated on every page of a table printed across pages, and sized to 'Deaths
#: in a care home or religious establishment' it added 6 pages to the Place of death
#: sheet of the sample's Place pack (tests/test_excel_print.py: at most 100 in all).
INDICATOR_WIDTH = 36

#: The theme tables' Breakdown column wraps at this width ('Ethnic group', 'Cause group'
#: on one line): a key column too, repeated on every page across. Sized to 'Broad ethnic
#: group' (21) the Mortality and need and Hospital use sheets of the sample's Place pack
#: each printed a third page across, 9 and 18 pages for 6 and 12.
BREAKDOWN_WIDTH = 15

#: The England period column wraps: a period and, where the national definition differs,
#: a few words on how ("2023, not 2025-26; England leaves out religious establishments;
#: counted here"). Sized to its content it was 60 wide and the Place pack printed on 105
#: pages, not 100 (tests/test_excel_print.py).
ENGLAND_PERIOD_WIDTH = 24


@dataclass
class Placement:
    """Where a table landed, for charts and conditional formats that read from it."""

    sheet: Worksheet
    header_row: int
    first_row: int
    last_row: int
    columns: list[Col]
    row_keys: list[Any]  # one per data row, as the builder labelled them

    def column_index(self, header: str) -> int:
        for i, col in enumerate(self.columns, start=1):
            if col.header == header:
                return i
        raise KeyError(header)


@dataclass
class DataSheet:
    name: str
    description: str  # one line for Contents
    title: str
    lines: list[tuple[str, str]]  # (label, text) stacked above the table
    columns: list[Col]
    rows: Sequence[list[Any]]  # a list, or rows made when read (_LazyRows)
    table_name: str
    row_keys: list[Any] = field(default_factory=list)
    legend: bool = False
    # Leading columns that say what a row is (indicator, breakdown, group): repeated on
    # every printed page when the table prints across pages.
    print_keys: int = 1
    # Each draws its chart beside the table and returns the "Chart" line that describes
    # it (or why there is none); the builder reserves that line in `lines`.
    charts: list[Callable[[Placement], str]] = field(default_factory=list)
    # Written from its values at save time rather than as cells (see _StreamedRows):
    # for a big table that no chart reads back.
    streamable: bool = False
    # With streamable: the rows' XML, worked out column by column for every row of the
    # bundle (row_keys index them) and shared by its packs (_Shared.row_xml).
    row_cache: _RowCache | None = None
    # False: the print area stops at the table's header row, so printing the workbook
    # prints the notes saying how to print the rows one needs, not every row (the
    # Indicator data sheet of one Place ran to over 500 A4 pages).
    print_rows: bool = True
    # Filter buttons on the header row: only where filtering is how the table is read
    # (the Indicator data sheet). The checklist says avoid filters: elsewhere the buttons
    # cover the end of each header and a reader may leave rows filtered out unawares.
    filters: bool = False

    def __post_init__(self) -> None:
        self.name = sheet_title(self.name)


def sheet_title(text: str) -> str:
    """A tab name as "Releasing statistics in spreadsheets" asks: no spaces or special
    characters (screen readers, formulas and other software trip on them), words joined
    by underscores: 'Place of death' -> 'Place_of_death'."""
    return "_".join(_NOT_NAME_CHARACTERS.sub(" ", text).split())


_NOT_NAME_CHARACTERS = re.compile(r"[^A-Za-z0-9]+")


def clean_text(value: object) -> str:
    """Text safe for a cell: no control characters, no formula, within Excel's limit."""
    text = ILLEGAL_CHARACTERS_RE.sub(" ", str(value))
    return str(neutralise(text))[:32767]


def _header_text(value: object) -> str:
    # Table column names are single-line text.
    return " ".join(clean_text(value).split()) or "Column"


def _unique_headers(headers: Iterable[str]) -> list[str]:
    """Excel table column names must be unique, ignoring case."""
    seen: set[str] = set()
    out: list[str] = []
    for header in headers:
        name = _header_text(header)
        candidate, n = name, 2
        while candidate.casefold() in seen:
            candidate = f"{name} ({n})"
            n += 1
        seen.add(candidate.casefold())
        out.append(candidate)
    return out


def _finite(value: Any) -> float | None:
    if value is None:
        return None
    number = float(value)
    return number if math.isfinite(number) else None


@functools.cache
def _decimals(number_format: str) -> int:
    """Decimal places a number format shows: '#,##0.0' -> 1, '£#,##0' -> 0."""
    head = number_format.split(";")[0]
    if "." not in head:
        return 0
    return len(re.match(r"[0#]*", head.split(".", 1)[1]).group(0))  # type: ignore[union-attr]


def published(value: float, number_format: str) -> float:
    """The value as the pack shows it: stored at the precision its format displays, so
    a reader who copies or sums the cells gets the published figures (+0.0 turns a
    rounded -0.0 into 0)."""
    return round(value, _decimals(number_format)) + 0.0


def unit_format(unit: str | None) -> str:
    kind = theme.UNIT_FORMAT.get(unit or "", "rate")
    return theme.NUMBER_FORMATS[kind]


def label(value: str | None, labels: dict[str, str] | None = None) -> str:
    """'dementia_frailty' -> 'Dementia and frailty'; unknown values tidied, not lost."""
    if value is None:
        return ""
    table = VALUE_LABELS if labels is None else labels
    if value in table:
        return table[value]
    text = value.replace("_", " ")
    return text[:1].upper() + text[1:]


# ---------------------------------------------------------------------------------------
# Styles, registered once per workbook from the theme


_TITLE_SIZE = 16  # points: each sheet's title in A1 (the Headline 1 style)


def _register_styles(wb: Workbook) -> None:
    def font(**kw: Any) -> Font:
        return Font(name=theme.FONT_NAME, size=kw.pop("size", theme.BODY_SIZE),
                    color=kw.pop("color", theme.TEXT_COLOUR), **kw)

    thin = Side(style="thin", color="768692")
    styles = [
        # builtinId makes Excel and screen readers treat these as real headings.
        NamedStyle(name="Headline 1", builtinId=16, font=font(size=_TITLE_SIZE, bold=True,
                                                               color=theme.HEADING_COLOUR)),
        NamedStyle(name="Headline 2", builtinId=17, font=font(size=12, bold=True,
                                                               color=theme.HEADING_COLOUR)),
        NamedStyle(name="eol_text", font=font(), alignment=Alignment(vertical="top")),
        NamedStyle(name="eol_wrap", font=font(),
                   alignment=Alignment(vertical="top", wrap_text=True)),
        NamedStyle(name="eol_label", font=font(bold=True), alignment=Alignment(vertical="top")),
        NamedStyle(name="eol_note", font=font(color=theme.MUTED_COLOUR)),
        NamedStyle(name="eol_wrap_note", font=font(color=theme.MUTED_COLOUR),
                   alignment=Alignment(vertical="top", wrap_text=True)),
        NamedStyle(name="eol_header", font=font(bold=True),
                   fill=PatternFill("solid", fgColor=theme.HEADER_FILL),
                   border=Border(bottom=thin),
                   alignment=Alignment(vertical="bottom", wrap_text=True)),
        NamedStyle(name="eol_cell", font=font(), alignment=Alignment(vertical="top")),
        NamedStyle(name="eol_word", font=font(),
                   alignment=Alignment(horizontal="center", vertical="top")),
        # Right-aligned; the space that keeps a figure off the column to its right is
        # in its number format (theme.padded, applied by _CellMaker.template).
        NamedStyle(name="eol_number", font=font(),
                   alignment=Alignment(horizontal="right", vertical="top")),
        # Top-aligned like the text beside it, so a link sits on the first line of a
        # description that wraps rather than below it.
        NamedStyle(name="eol_link", font=font(color=theme.LINK_COLOUR, underline="single"),
                   alignment=Alignment(vertical="top")),
    ]
    for fill in theme.COMPARISON_FILLS:
        styles.append(NamedStyle(
            name=f"eol_legend_{fill.key}", font=font(color=fill.font),
            fill=PatternFill("solid", fgColor=fill.fill),
            alignment=Alignment(horizontal="center")))
    for style in styles:
        wb.add_named_style(style)


class _CellMaker:
    """Writes cells straight into a worksheet with pre-built styles.

    Assigning a named style or number format to a cell makes openpyxl look the style up
    by name and re-index it, every time; a pack writes up to 300,000 cells. Each (named
    style, number format) pair is resolved once per workbook into a style array that new
    cells copy, which gives the same cells as setting `cell.style` and
    `cell.number_format` one by one."""

    def __init__(self, wb: Workbook) -> None:
        self._scratch = Cell(wb.active)  # never added to a sheet
        self._templates: dict[tuple[str, str | None], StyleArray] = {}

    def template(self, style: str, number_format: str | None = None) -> StyleArray:
        key = (style, number_format)
        found = self._templates.get(key)
        if found is None:
            scratch = self._scratch
            scratch._style = StyleArray()
            scratch.style = style
            if style == "eol_number":
                number_format = theme.padded(number_format)
            if number_format is not None:
                scratch.number_format = number_format
            found = self._templates[key] = scratch._style
        return found

    def content(self, value: Any, number_format: str | None, style: str,
                texts: dict[str, str] | None = None) -> tuple[StyleArray, Any, str] | None:
        """What a cell holding `value` gets: (style, stored value, data type), or None
        for a Link (it needs a cell to hang its hyperlink on). Text is neutralised and
        typed as a string; `texts` caches cleaned text for a table that repeats it."""
        template = self.template
        if type(value) is str:  # the common case first; nothing else below is a str
            if texts is None:
                return template(style), clean_text(value), "s"
            text = texts.get(value)
            if text is None:
                text = texts[value] = clean_text(value)
            return template(style), text, "s"
        if type(value) is Mark:
            return template("eol_number"), value.text, "s"
        if isinstance(value, Num):
            number = _finite(value.value)
            if number is None:
                return template("eol_number"), None, "n"
            return template("eol_number", value.number_format), number, "n"
        if isinstance(value, bool):
            return template(style), "Yes" if value else "No", "s"
        if isinstance(value, int | float):
            number = _finite(value)
            if number is None:
                return template("eol_number"), None, "n"
            fmt = number_format or theme.NUMBER_FORMATS["rate"]
            return (template("eol_number", fmt),
                    value if isinstance(value, int) else published(number, fmt), "n")
        if isinstance(value, datetime | date):
            return (template("eol_number", number_format or theme.NUMBER_FORMATS["date"]),
                    value, "d")
        if isinstance(value, Link):
            return None
        if value is None:
            return template(style), None, "n"
        key = str(value)
        if texts is None:
            return template(style), clean_text(key), "s"
        text = texts.get(key)
        if text is None:
            text = texts[key] = clean_text(key)
        return template(style), text, "s"

    def put(self, ws: Worksheet, row: int, column: int, value: Any, *,
            number_format: str | None = None, style: str = "eol_cell",
            texts: dict[str, str] | None = None) -> None:
        """Write one cell. Text is always neutralised and typed as a string."""
        found = self.content(value, number_format, style, texts)
        if found is None:  # a Link
            cell = _new_cell(ws, row, column, self.template("eol_link"),
                             clean_text(value.text), "s")
            location = f"{quote_sheetname(value.sheet)}!A1"
            cell.hyperlink = Hyperlink(ref=cell.coordinate, location=location)
        else:
            cell = _new_cell(ws, row, column, *found)
        ws._cells[(row, column)] = cell
        ws._current_row = max(ws._current_row, row)

    def fill(self, ws: Worksheet, first_row: int, plan: Sequence[tuple[str | None, str]],
             rows: Sequence[Sequence[Any]]) -> None:
        """Write a block of rows; `plan` gives each column's (number format, style)."""
        texts: dict[str, str] = {}  # the same names and units repeat down a column
        content = self.content
        for r, values in enumerate(rows, start=first_row):
            for index, ((number_format, style), value) in enumerate(
                    zip(plan, values, strict=True), start=1):
                found = content(value, number_format, style, texts)
                if found is None:
                    self.put(ws, r, index, value, number_format=number_format, style=style)
                else:
                    ws._cells[(r, index)] = _new_cell(ws, r, index, *found)
        if rows:
            ws._current_row = max(ws._current_row, first_row + len(rows) - 1)


# Every attribute of a Cell, as _new_cell sets them; if a future openpyxl adds one,
# _new_cell falls back to Cell's own constructor.
_FAST_CELLS = {*Cell.__slots__, *StyleableObject.__slots__} == {
    "row", "column", "_value", "data_type", "parent", "_hyperlink", "_comment", "_style"}


def _new_cell(ws: Worksheet, row: int, column: int, style: StyleArray, value: Any,
              data_type: str) -> Cell:
    """Cell(ws, row, column, style_array=style) holding `value` as `data_type`, not yet
    added to the sheet. Cell's constructor runs two __init__s and StyleArray's
    Python-level __new__ per cell; setting the same attributes directly is ~3x faster."""
    if _FAST_CELLS:
        cell = Cell.__new__(Cell)
        cell.parent = ws
        cell.row = row
        cell.column = column
        cell._hyperlink = None
        cell._comment = None
    else:
        cell = Cell(ws, row, column)
    cell._style = array.__new__(StyleArray, "i", style)
    cell._value = value
    cell.data_type = data_type
    return cell


_MAKERS: WeakKeyDictionary[Workbook, _CellMaker] = WeakKeyDictionary()


def _maker(ws: Worksheet) -> _CellMaker:
    wb = ws.parent
    maker = _MAKERS.get(wb)
    if maker is None:
        maker = _MAKERS[wb] = _CellMaker(wb)
    return maker


def _put(ws: Worksheet, row: int, column: int, value: Any, *, number_format: str | None = None,
         style: str = "eol_cell") -> None:
    """Write one cell. Text is always neutralised and typed as a string."""
    _maker(ws).put(ws, row, column, value, number_format=number_format, style=style)


def _display_length(value: Any) -> int:
    if value is None:
        return 0
    if isinstance(value, Num):
        number = _finite(value.value)
        return len(f"{number:,.2f}") if number is not None else 0
    if isinstance(value, float):
        return len(f"{value:,.2f}")
    if isinstance(value, datetime):
        return 16  # yyyy-mm-dd hh:mm
    if isinstance(value, date):
        return 10
    if isinstance(value, Link):
        return len(value.text)
    if type(value) is Mark:
        return len(value.text)
    return max((len(part) for part in str(value).split("\n")), default=0)


def _longest(values: Iterable[Any]) -> int:
    """max(_display_length(v) for v in values), without formatting every number: the
    formatted length of a number only grows with its size, so only a column's largest
    and most negative numbers are formatted, and each distinct text is measured once."""
    longest = 0
    high: float | None = None  # largest finite number with a + sign
    low: float | None = None  # most negative finite number (-0.0 prints as "-0.00")
    seen: set[str] = set()
    isfinite, copysign = math.isfinite, math.copysign
    for value in values:
        kind = type(value)
        if kind is Num:
            value = value.value
            if value is None or not isfinite(value):
                continue
            value, kind = float(value), float
        if kind is float and isfinite(value):
            if copysign(1.0, value) < 0:
                if low is None or value < low:
                    low = value
            elif high is None or value > high:
                high = value
        elif kind is str:
            if value not in seen:
                seen.add(value)
                longest = max(longest, _display_length(value))
        else:
            longest = max(longest, _display_length(value))
    for number in (high, low):
        if number is not None:
            longest = max(longest, len(f"{number:,.2f}"))
    return longest


# ---------------------------------------------------------------------------------------
# Sheets


_LINE_HEIGHT = 13.0  # points per line of 10 pt text


@functools.lru_cache(maxsize=4096)
def _text_height(text: str, width_chars: float) -> float | None:
    """Row height for wrapped text: Excel does not re-measure rows when a file opens."""
    usable = max(width_chars * 1.05 - 1, 10)
    lines = sum(max(1, math.ceil(len(part) / usable)) for part in text.split("\n"))
    return _LINE_HEIGHT * lines + 2 if lines > 1 else None


def _heading_rows(sheet: DataSheet) -> int:
    """Rows above the table's header: the title, then one line per note, then the
    colour key; the table follows at once (no blank row: a screen reader moving down
    column A would take a gap for the end of the sheet)."""
    return 1 + len(_heading_lines(sheet))


def _heading_lines(sheet: DataSheet) -> list[str]:
    lines = [f"{head}: {text}" if head else text for head, text in sheet.lines]
    if sheet.legend:
        lines.append("Colour key (a second channel: the words say the same): "
                     + ", ".join(f"{fill.label.lower()} {fill.description}"
                                 for fill in theme.COMPARISON_FILLS) + ".")
    return lines


def _sheet_heading(ws: Worksheet, sheet: DataSheet) -> None:
    """Title in A1 (a heading style), each note line below it in column A only. Nothing
    is merged and nothing sits beside the table: a long line runs on over the empty
    cells to its right, as the spreadsheet guidance recommends, rather than wrapping."""
    _put(ws, 1, 1, sheet.title, style="Headline 1")
    # Tall enough for the title's larger font: neither Excel nor LibreOffice re-measures
    # a row when the file opens, and a default-height row clips the title's top.
    ws.row_dimensions[1].height = round(_TITLE_SIZE * 1.35, 1)
    for row, line in enumerate(_heading_lines(sheet), start=2):
        _put(ws, row, 1, line, style="eol_note")


def _comparison_rules(ws: Worksheet, placement: Placement) -> None:
    """Colour the comparison words as a second channel: the words already say better,
    worse or similar (see judge_words); conditional formats keyed on them keep the
    colour with the words when a reader sorts or filters."""
    first, last = placement.first_row, placement.last_row
    fills = {f.key: f for f in theme.COMPARISON_FILLS}
    for index, col in enumerate(placement.columns, start=1):
        if col.role != "comparison":
            continue
        letter = get_column_letter(index)
        cell = f"{letter}{first}"
        formulas = {
            "better": f'ISNUMBER(SEARCH("(better)",{cell}))',
            "worse": f'ISNUMBER(SEARCH("(worse)",{cell}))',
            "similar": f'{cell}="Similar"',
            "neutral": f'ISNUMBER(SEARCH("(not judged)",{cell}))',
        }
        for key, formula in formulas.items():
            fill = fills[key]
            ws.conditional_formatting.add(
                f"{letter}{first}:{letter}{last}",
                FormulaRule(formula=[formula], stopIfTrue=True,
                            fill=PatternFill("solid", start_color=fill.fill,
                                             end_color=fill.fill, bgColor=fill.fill),
                            font=Font(color=fill.font)),
            )


def _column_widths(ws: Worksheet, columns: Sequence[Col], rows: Sequence[Sequence[Any]]) -> None:
    for index, col in enumerate(columns, start=1):
        if col.width is not None:
            width = col.width
        else:
            longest = (col.longest if col.longest is not None and rows else
                       _longest(r[index - 1] for r in rows))
            # Headers wrap, so a long header needs only about half its length; but a
            # word cannot wrap, and bold text is wider (LibreOffice printed "Numerato" /
            # "r" in a column sized by the header's length alone).
            word = max((len(w) for w in col.header.split()), default=0)
            header = max(len(col.header) * 0.55, min(len(col.header), 14), word * 1.2)
            # +2 for the cell's padding, and the figures' space at the right edge.
            width = max(longest + 2 + theme.NUMBER_PAD_WIDTH, header + 2,
                        theme.MIN_COLUMN_WIDTH)
            width = min(width, theme.WIDE_TEXT_WIDTH if col.wrap else theme.MAX_COLUMN_WIDTH)
        ws.column_dimensions[get_column_letter(index)].width = round(width, 1)


def _write_table(ws: Worksheet, top: int, sheet: DataSheet, *, stream: bool = False) -> Placement:
    headers = _unique_headers(c.header for c in sheet.columns)
    columns = [dataclasses.replace(c, header=h)
               for h, c in zip(headers, sheet.columns, strict=True)]
    rows: Sequence[list[Any]]
    if not sheet.rows:
        rows = [[_NO_DATA] + [NOT_APPLICABLE] * (len(columns) - 1)]
    elif sheet.row_cache is not None:  # built by _Shared, which leaves no blanks
        rows = sheet.rows
    else:
        rows = _without_blanks(list(sheet.rows), columns)
    if sheet.row_cache is None:
        columns = _wrap_long_text(columns, rows)
    maker = _maker(ws)
    for index, col in enumerate(columns, start=1):
        maker.put(ws, top, index, col.header, style="eol_header")
    plan = [(col.number_format,
             "eol_word" if col.role == "comparison" else "eol_wrap" if col.wrap else "eol_cell")
            for col in columns]
    if stream:
        _STREAMED[ws] = _StreamedRows(top + 1, plan, rows,
                                      sheet.row_keys if sheet.rows else [], sheet.row_cache)
    else:
        maker.fill(ws, top + 1, plan, rows)
    last = top + len(rows)
    ref = f"A{top}:{get_column_letter(len(columns))}{last}"
    table = Table(displayName=sheet.table_name, ref=ref)
    # Named from the header cells now: left to the save, openpyxl reads the table's whole
    # range back from the sheet just to find its first row.
    table._initialise_columns()
    if not sheet.filters:
        table.autoFilter = None  # _initialise_columns adds one to every table
    for table_column, col in zip(table.tableColumns, columns, strict=True):
        table_column.name = clean_text(col.header)
    table.tableStyleInfo = TableStyleInfo(name=theme.TABLE_STYLE, showRowStripes=True,
                                          showColumnStripes=False, showFirstColumn=False,
                                          showLastColumn=False)
    ws.add_table(table)
    _column_widths(ws, columns, rows)
    _row_heights(ws, top, columns, rows)
    return Placement(ws, top, top + 1, last, columns, sheet.row_keys if sheet.rows else [])


def _wrap_long_text(columns: list[Col], rows: Sequence[Sequence[Any]]) -> list[Col]:
    """'Wrap text within cells' (the accessibility checklist, essential): a column whose
    longest text is wider than a column may be (theme.MAX_COLUMN_WIDTH) wraps at that
    width, its rows made tall enough (_row_heights), rather than being cut off by the
    next column's cell (an indicator name of 71 characters, a data-quality check's name,
    a practice's position against the ICB). A column of figures never needs it."""
    wrapped = []
    for index, col in enumerate(columns):
        if col.wrap or col.width is not None or col.role != "data":
            wrapped.append(col)
            continue
        longest = col.longest if col.longest is not None else _longest(
            row[index] for row in rows)
        if longest + 2 + theme.NUMBER_PAD_WIDTH > theme.MAX_COLUMN_WIDTH:
            col = dataclasses.replace(col, wrap=True, width=theme.MAX_COLUMN_WIDTH,
                                      longest=longest)
        wrapped.append(col)
    return wrapped


def _without_blanks(rows: list[list[Any]], columns: Sequence[Col]) -> list[list[Any]]:
    """No blank cell inside a table: an empty cell gets its column's shorthand ([x] not
    available unless the builder chose another). Builders put the specific mark ([c],
    [z]) where they know it; this catches the rest (data-quality and metadata tables)."""
    blanks = [col.blank or NOT_AVAILABLE for col in columns]
    for row in rows:
        for i, value in enumerate(row):
            if value is None or value == "" or (type(value) is float and not isfinite(value)):
                row[i] = blanks[i]
    return rows


def _row_heights(ws: Worksheet, top: int, columns: Sequence[Col],
                 rows: Sequence[Sequence[Any]]) -> None:
    wrapped = [(i, ws.column_dimensions[get_column_letter(i + 1)].width or 9)
               for i, col in enumerate(columns) if col.wrap]
    # Headers are bold, wider than the body text _text_height measures (and wider
    # still where a stand-in font replaces Arial): room for an extra line is cheap.
    header_heights = [_text_height(col.header, 0.8 * (ws.column_dimensions[
        get_column_letter(i)].width or 9)) for i, col in enumerate(columns, start=1)]
    tallest_header = max((h for h in header_heights if h), default=None)
    if tallest_header:
        ws.row_dimensions[top].height = tallest_header
    if not wrapped:
        return
    for r, values in enumerate(rows, start=top + 1):
        heights = [_text_height(str(values[i]), width) for i, width in wrapped
                   if isinstance(values[i], str)]
        tallest = max((h for h in heights if h), default=None)
        if tallest:
            ws.row_dimensions[r].height = tallest


# A4 in points, and an Excel column's printed width: a width of w characters is about
# 7w + 5 pixels of the default font, at 0.75 pt a pixel.
_A4_POINTS = (595.3, 841.9)  # portrait width, height
_GAP_COLUMN = 8.43  # Excel's default column width (the empty columns right of a table)
_CM = 72 / 2.54
# Average width of a character of running text, in points per point of font size
# (Arial's is about 0.47; LibreOffice's stand-in, DejaVu Sans, is wider): the notes
# above a table run on over the empty cells to its right, and should print too.
_TEXT_EM = 0.53


def _column_points(width: float | None) -> float:
    return (7 * (width if width is not None else _GAP_COLUMN) + 5) * 0.75


def _usable_width(orientation: str) -> float:
    margins = theme.PRINT_MARGINS_INCHES
    side = (margins["left"] + margins["right"]) * 72
    return (_A4_POINTS[0] if orientation == "portrait" else _A4_POINTS[1]) - side


@dataclass(frozen=True)
class PrintPlan:
    """How a sheet prints on A4 (tests/test_excel_print.py checks the PDF)."""

    orientation: str  # portrait | landscape
    scale: int  # per cent, as printed
    fit_to_width: bool  # True: one page wide (scale is then the fitted scale)
    key_columns: int  # leading columns repeated on every page across


def print_plan(content_points: float, key_points: Sequence[float]) -> PrintPlan:
    """Portrait when the content fits a portrait page at full size; else landscape, fitted
    to the page width if that keeps text at PRINT_MIN_SCALE or larger; else at that scale
    across pages, with as many of the key columns repeated as take at most 60% of a page."""
    portrait, landscape = _usable_width("portrait"), _usable_width("landscape")
    if content_points <= portrait:
        return PrintPlan("portrait", 100, False, 0)
    if content_points <= landscape:
        return PrintPlan("landscape", 100, False, 0)
    fitted = math.floor(100 * landscape / content_points)
    if fitted >= theme.PRINT_MIN_SCALE:
        return PrintPlan("landscape", fitted, True, 0)
    scale = theme.PRINT_MIN_SCALE
    keys, used = 0, 0.0
    for points in key_points:
        if (used + points) * scale / 100 > landscape * 0.6:
            break
        keys, used = keys + 1, used + points
    return PrintPlan("landscape", scale, False, keys)


def _page_setup(ws: Worksheet, header_row: int | None, *, columns: int = 1,
                last_row: int | None = None, key_columns: int = 0,
                texts: Sequence[tuple[str, float]] = ()) -> PrintPlan:
    """A4 print setup a commissioner can read (print_plan), for the sheet's table, any
    chart beside it and its notes above: margins, the header row repeated on every page,
    and pages ordered across then down, so the pages of one block of rows lie side by
    side.

    The print area is set, so it is the same in Excel and LibreOffice (LibreOffice would
    otherwise print text running past the table on pages of its own): it spans the table,
    the chart, and the notes' longest line as far as a page at the smallest scale holds
    it; a longer line is cut at the page edge in print (it is whole on screen)."""
    def width(first: int, last: int) -> float:
        return sum(_column_points(ws.column_dimensions[get_column_letter(i)].width)
                   for i in range(first, last + 1))

    content = width(1, columns)
    rows = last_row or ws.max_row
    for chart in ws._charts:  # anchored one empty column right of the table
        content = max(content, width(1, columns + 1) + chart.width * _CM)
        rows = max(rows, (header_row or 1) + math.ceil(chart.height * _CM / 15))
    longest = max((len(text) * size * _TEXT_EM for text, size in texts), default=0.0)
    content = max(content, min(longest, _usable_width("landscape") * 100
                               / theme.PRINT_MIN_SCALE))
    plan = print_plan(content, [width(i, i) for i in range(1, min(key_columns, columns) + 1)])
    last_column = columns
    while width(1, last_column) < content - 1:
        last_column += 1
    setup = ws.page_setup
    setup.paperSize = ws.PAPERSIZE_A4
    setup.orientation = plan.orientation
    setup.pageOrder = "overThenDown"
    if plan.fit_to_width:
        ws.sheet_properties.pageSetUpPr.fitToPage = True
        setup.fitToWidth, setup.fitToHeight = 1, 0
    else:
        ws.sheet_properties.pageSetUpPr.fitToPage = False
        setup.scale = plan.scale
    ws.page_margins = PageMargins(**theme.PRINT_MARGINS_INCHES)
    ws.print_area = f"A1:{get_column_letter(last_column)}{rows}"
    if header_row is not None:
        ws.print_title_rows = f"{header_row}:{header_row}"
    if plan.key_columns:
        ws.print_title_cols = f"A:{get_column_letter(plan.key_columns)}"
    return plan


_HEADER_SIZE = 8  # points: a portrait page's header (the pack title and the sheet name)


def _print_headers(wb: Workbook, title: str) -> None:
    """Every printed page says what it is: the pack's title and the sheet name at the
    top, the page number at the bottom ('&' is the header codes' escape)."""
    title = _shorten(" ".join(clean_text(title).split()), 120).replace("&", "&&")
    for ws in wb.worksheets:
        ws.oddHeader.left.text = title
        ws.oddHeader.right.text = "&A"
        # 8 pt on a portrait page: at 10 pt LibreOffice wrapped the title and the sheet
        # name over three lines ("DQ10" / "(synthetic)" / "Areas and population"). A
        # landscape page is wide enough at 10 pt, and scales its header with the sheet
        # (8 pt at 65% would print at 5 pt).
        if ws.page_setup.orientation == "portrait":
            ws.oddHeader.left.size = ws.oddHeader.right.size = _HEADER_SIZE
        ws.oddFooter.right.text = "Page &P of &N"


def _explain_shorthand(sheet: DataSheet) -> None:
    """Name each shorthand the table uses in the Shorthand line above it, with its
    meaning in a word or two: builders write the line for the marks they expect, and a
    mark put in by another path ([z] in an empty table's row, a metadata table's [z],
    [u] in a row's note) was used with no word above it. The Indicator data sheet
    (rows made as written) states every mark in its own line."""
    if sheet.row_cache is not None:
        return
    marks = {mark.text: mark for mark in MARKS}
    blanks = [col.blank or NOT_AVAILABLE for col in sheet.columns]  # as _without_blanks
    used: dict[str, str] = {}
    for row in sheet.rows or [[NOT_APPLICABLE]]:  # an empty table gets a row of [z]
        for i, value in enumerate(row):
            if value is None or value == "" or (type(value) is float and not isfinite(value)):
                value = blanks[i]
            text = value.text if type(value) is Mark else value
            if type(text) is not str:
                continue
            if text in marks:
                used[text] = marks[text].meaning.split(":")[0]
            elif LOW_RELIABILITY[0] in text:
                used[LOW_RELIABILITY[0]] = LOW_RELIABILITY[1].split(":")[0]
    if not used:
        return
    index = next((i for i, (head, _) in enumerate(sheet.lines) if head == "Shorthand"), None)
    if index is None:  # after the line saying what the sheet holds
        index = min(1, len(sheet.lines))
        sheet.lines.insert(index, ("Shorthand", ""))
    text = sheet.lines[index][1]
    missing = [f"{mark} {meaning}" for mark, meaning in sorted(used.items())
               if mark not in text]
    if missing:
        cover = "(see the Cover sheet)."
        stem = text.removesuffix(cover).strip().rstrip(",;.").strip()
        sheet.lines[index] = ("Shorthand", ", ".join([*([stem] if stem else []), *missing])
                              + " " + cover)


def _write_data_sheet(wb: Workbook, sheet: DataSheet, *, stream: bool = False) -> Placement:
    ws = wb.create_sheet(sheet.name)
    _explain_shorthand(sheet)
    # The table first: its column widths decide how the notes above it wrap.
    placement = _write_table(ws, _heading_rows(sheet) + 1, sheet,
                             stream=stream and sheet.streamable and not sheet.charts)
    # Charts read the table's cells, so they come next; each fills its reserved line.
    chart_lines = iter([chart(placement) if sheet.rows else
                        "none: the table has no data to chart." for chart in sheet.charts])
    sheet.lines = [(head, next(chart_lines)) if head == "Chart" else (head, text)
                   for head, text in sheet.lines]
    _sheet_heading(ws, sheet)
    _comparison_rules(ws, placement)
    _page_setup(ws, placement.header_row, columns=len(placement.columns) if sheet.print_rows
                else 1, last_row=placement.last_row if sheet.print_rows
                else placement.header_row - 1, key_columns=sheet.print_keys,
                texts=[(sheet.title, _TITLE_SIZE)]
                + [(line, theme.BODY_SIZE) for line in _heading_lines(sheet)])
    if not sheet.print_rows:
        # Only the notes print: on one page, whatever the widths of the table's columns
        # under them (the print area ends at the first column past the longest note).
        ws.sheet_properties.pageSetUpPr.fitToPage = True
        ws.page_setup.orientation = "landscape"
        ws.page_setup.fitToWidth, ws.page_setup.fitToHeight = 1, 0
    return placement


# ---------------------------------------------------------------------------------------
# The pack's content


@dataclass
class _Area:
    area_type: str  # icb | place
    code: str
    name: str
    header: str  # short column header


class _Pack:
    """Everything the sheet builders share: the bundle, the areas, lookups."""

    def __init__(self, bundle: ReportBundle, place: str | None,
                 shared: _Shared | None = None) -> None:
        self.bundle = bundle
        self.shared = shared if shared is not None else _Shared(bundle)
        self.config = bundle.config
        self.place = place
        self.catalogue = _catalogue_by_id()
        frame = bundle.indicators
        place_codes = list(bundle.places) or [p.code for p in self.config.places]
        if place is not None and place not in place_codes:
            known = ", ".join(place_codes) or "none"
            raise UsageError(
                f"no Place with code {place!r} in this assessment (known: {known}) — "
                "use a code from [[places]] in eolneeds.toml"
            )
        names = self._area_names(frame)
        icb = _Area("icb", self.config.icb_code, self.config.icb_name, "ICB")
        places = [_Area("place", code, names.get(code) or self.config.place_name(code),
                        names.get(code) or self.config.place_name(code))
                  for code in place_codes]
        if place is None:
            self.areas = [icb, *places]
            self.main = icb
        else:
            chosen = next(a for a in places if a.code == place)
            self.areas = [chosen, icb]
            self.main = chosen
        headers = _unique_headers(a.header for a in self.areas)
        for area, header in zip(self.areas, headers, strict=True):
            area.header = header
        keep = pl.col("area_type") == "icb"
        if place is not None:
            # GP practices and PCNs are breakdowns of the ICB (practice.py): a Place's
            # pack keeps its own (practice.place_members), not the whole ICB's. A subset
            # of rows already through disclosure control reveals nothing they did not.
            practices, pcns = place_members(bundle.practices, place)
            breakdown = pl.col("breakdown")
            keep = keep & (~breakdown.is_in([PRACTICE, PCN])
                           | ((breakdown == PRACTICE)
                              & pl.col("breakdown_value").is_in(sorted(practices)))
                           | ((breakdown == PCN)
                              & pl.col("breakdown_value").is_in(sorted(pcns))))
        wanted = [a.code for a in self.areas if a.area_type == "place"]
        keep = keep | ((pl.col("area_type") == "place") & pl.col("area_code").is_in(wanted))
        # Row numbers in bundle.indicators: the shared records and cells are keyed by them.
        self.row_numbers: list[int] = (
            frame.with_row_index("__row").filter(keep)["__row"].to_list())
        self.frame = frame.filter(keep)
        records = self.shared.records
        self.lookup: dict[tuple[str, str, str, str, str, str], dict[str, Any]] = {}
        for i in self.row_numbers:
            rec = records[i]
            key = (rec["indicator_id"], rec["area_type"], rec["area_code"], rec["period"],
                   rec["breakdown"], rec["breakdown_value"])
            self.lookup[key] = rec
        self.order = self._indicator_order()
        self.notes = pack_notes(self)
        self._note_numbers = {key: i for i, (key, _, _) in enumerate(self.notes, start=1)}

    @staticmethod
    def _area_names(frame: pl.DataFrame) -> dict[str, str]:
        places = frame.filter(pl.col("area_type") == "place").select("area_code", "area_name")
        return {code: name for code, name in places.unique(maintain_order=True).iter_rows()
                if name}

    def _indicator_order(self) -> dict[str, int]:
        order = {ind_id: i for i, ind_id in enumerate(self.catalogue)}
        extra = sorted(set(self.frame["indicator_id"].to_list()) - set(order))
        for ind_id in extra:
            order[ind_id] = len(order)
        return order

    # -- lookups ---------------------------------------------------------------------

    def note(self, key: str) -> str:
        """The marker of a note on the Notes sheet, '[note 3]'."""
        return f"[note {self._note_numbers[key]}]"

    def notes_for(self, ind_id: str, *keys: str) -> str:
        """The markers a table row cites: the indicator's definition, its method's note
        (Wilson, Byar, Dobson ...), then `keys`."""
        entry = self.catalogue.get(ind_id)
        method = _METHOD_TOPICS.get(entry.method, "") if entry is not None else ""
        return self.cite(f"indicator:{ind_id}", f"method:{method}", *keys)

    def cite(self, *keys: str) -> str:
        """The markers of those of `keys` the pack has a note for, in order."""
        return " ".join(self.note(k) for k in keys if k in self._note_numbers)

    def theme_of(self, ind_id: str) -> str | None:
        entry = self.catalogue.get(ind_id)
        return entry.theme if entry is not None else None

    def polarity_key(self, ind_id: str) -> str:
        """The catalogue's polarity: higher_is_better | lower_is_better | neutral."""
        entry = self.catalogue.get(ind_id)
        return entry.polarity if entry is not None else "neutral"

    def polarity(self, ind_id: str) -> str:
        return POLARITY_LABELS.get(self.polarity_key(ind_id), "No judgement")

    def headline_ids(self) -> list[str]:
        return [i for i, entry in self.catalogue.items() if entry.headline]

    def row(self, ind_id: str, area: _Area, breakdown: str = "all", value: str = "all",
            period: str | None = None) -> dict[str, Any] | None:
        return self.lookup.get((ind_id, area.area_type, area.code,
                                period or self.bundle.headline_period, breakdown, value))

    def name_of(self, ind_id: str) -> str:
        entry = self.catalogue.get(ind_id)
        if entry is not None:
            return entry.name
        names = self.frame.filter(pl.col("indicator_id") == ind_id)["indicator_name"]
        return names[0] if len(names) and names[0] else ind_id

    @property
    def area_label(self) -> str:
        if self.place is None:
            return self.config.icb_name
        return f"{self.main.name}, {self.config.icb_name}"

    @property
    def suppression_rule(self) -> str:
        rule = (self.bundle.manifest.get("disclosure") or {}).get("rule")
        text = str(rule) if rule else disclosure_rule_text(self.config)
        # The rule is written once for every output; the HTML shows a hidden value as
        # '*', the packs as '[c]' (the spreadsheet guidance's shorthand).
        return text.replace("shown as *", f"shown as {CONFIDENTIAL.text}")

    @property
    def suppression_count(self) -> str:
        """How many of this pack's values are hidden, by rule: counted from the rows of
        its Indicator data sheet (bundle.suppression_tally), so the words match the table."""
        tally = suppression_tally(self.frame)
        return (f"{tally.sentence(shown_as=CONFIDENTIAL.text, where=WHERE_DATA)} "
                f"{tally.where_sentence()}".rstrip())


WHERE_DATA = "this workbook's Indicator_data sheet"


def _catalogue_by_id() -> dict[str, catalogue.Indicator]:
    return {entry.id: entry for entry in catalogue.load_catalogue()}


def _measure(rec: dict[str, Any] | None, column: str = "value") -> Any:
    """A numeric cell from an indicator row: the number at its published precision, or
    the shorthand saying why there is none ([z], [c], [x]); [x] for a missing row."""
    if rec is None:
        return NOT_AVAILABLE
    value = rec.get(column)
    method = rec.get("method")
    if value is None or not math.isfinite(value):
        return _missing(column, method, rec.get("suppressed"), categories.is_no_residents(rec))
    number_format = _measure_format(column, rec.get("unit"), method)
    return Num(published(value, number_format), number_format)


# (column, method) pairs the indicator table never fills: a count or a median has no
# confidence interval, a count no denominator, a slope or ratio index no numerator or
# denominator. Their empty cells are 'not applicable' rather than missing.
_NOT_APPLICABLE = {
    *((ci, method) for ci in ("lower_ci_95", "upper_ci_95", "lower_ci_99_8", "upper_ci_99_8")
      for method in ("C", "Q")),
    ("denominator", "C"), ("numerator", "SII"), ("denominator", "SII"),
    ("numerator", "RII"), ("denominator", "RII"),
}


def _missing(column: str, method: str | None, suppressed: bool | None,
             no_residents: bool = False) -> Mark:
    """Why a measure cell holds no number: not applicable (or a group with no residents:
    structurally empty), suppressed, or missing."""
    if no_residents or (column, method) in _NOT_APPLICABLE:
        return NOT_APPLICABLE
    return CONFIDENTIAL if suppressed else NOT_AVAILABLE


@functools.cache
def _measure_format(column: str, unit: str | None, method: str | None) -> str:
    if column in ("numerator", "denominator"):
        if method == "M" and column == "numerator":
            return theme.NUMBER_FORMATS["rate"]
        # A denominator counts people (the deaths a cost is shared over), never pounds.
        money = unit == "£" and column == "numerator"
        return theme.NUMBER_FORMATS["money" if money else "count"]
    if method == "Q" and column == "value":
        return theme.NUMBER_FORMATS["whole"]  # medians of days: whole days
    return unit_format(unit)


def judge_words(comparison: str | None, polarity: str | None) -> tuple[str, str]:
    """(key, words) for a comparison with the ICB, from formatting.judge (the one mapping
    the HTML report and the CLI use too): the words carry the meaning on their own
    ('Higher (worse)', 'Lower (better)', 'Similar', 'Higher (not judged)'); the key
    (better | worse | similar | not_judged | not_compared) picks the fill."""
    judgement = judge(comparison, polarity)
    return judgement.key, judgement.words


def _comparison(rec: dict[str, Any] | None, polarity: str | None) -> Any:
    """The comparison cell of a Place's row: words that carry their meaning; [z] for the
    ICB (not compared with itself); [x] where the row is missing."""
    if rec is None:
        return NOT_AVAILABLE
    if rec.get("area_type") == "icb":
        return NOT_APPLICABLE
    return judge_words(rec.get("comparison"), polarity)[1]


RowKey = tuple[str, str, str]  # (indicator_id, breakdown, breakdown_value)

# Breakdowns the theme sheets leave out: deprivation has the Inequalities sheet; GP
# practices and PCNs (hundreds of rows, each in one Place, so mostly [x] side by side)
# and cause by deprivation stay on the Indicator data sheet, ready to filter.
_OWN_SHEET_BREAKDOWNS = ("imd_quintile", "gp_practice", "pcn", "cause_group_imd_quintile")


def _table_rows_for(pack: _Pack, ids: Iterable[str], *, breakdowns: bool) -> list[RowKey]:
    """(indicator, breakdown, value) keys in the headline period, in catalogue order."""
    wanted = set(ids)
    frame = pack.frame.filter(
        pl.col("indicator_id").is_in(list(wanted))
        & (pl.col("period") == pack.bundle.headline_period)
        & ~pl.col("breakdown").is_in(_OWN_SHEET_BREAKDOWNS)
    )
    if not breakdowns:
        frame = frame.filter(pl.col("breakdown") == "all")
    if pack.place is not None:
        # A breakdown the Place publishes coarser instead (categories.PLACE_INSTEAD):
        # only the ICB has its rows, the Place's cells would all be [x]. The coarser
        # one stands in its place, the ICB beside; the ICB's pack has both.
        frame = frame.filter(~pl.col("breakdown").is_in(list(categories.PLACE_INSTEAD)))
    keys = frame.select("indicator_id", "breakdown", "breakdown_value").unique().rows()

    def sort_key(key: tuple[str, str, str]) -> tuple[int, int, str]:
        b = BREAKDOWN_ORDER.index(key[1]) if key[1] in BREAKDOWN_ORDER else len(BREAKDOWN_ORDER)
        return (pack.order.get(key[0], 10_000), b, key[2] or "")

    return sorted(keys, key=sort_key)


def _comparison_table(pack: _Pack, keys: list[RowKey]) -> tuple[list[Col], list[list[Any]]]:
    """Indicators down the side, areas side by side: the layout of the theme sheets.

    Where every row is the total ('all'), the Breakdown and Group columns say nothing
    and are dropped."""
    columns, rows = _comparison_table_full(pack, keys)
    if keys and all(b == "all" for _, b, _ in keys):
        keep = [i for i, c in enumerate(columns) if c.header not in ("Breakdown", "Group")]
        columns = [columns[i] for i in keep]
        rows = [[row[i] for i in keep] for row in rows]
    return columns, rows


def _comparison_table_full(pack: _Pack, keys: list[RowKey]) -> tuple[list[Col], list[list[Any]]]:
    lead = [Col("Indicator", wrap=True, width=INDICATOR_WIDTH),
            Col("Breakdown", wrap=True, width=BREAKDOWN_WIDTH), Col("Group"),
            Col("Unit"), Col("Polarity", role="polarity")]
    # England: the Fingertips download, else eolneeds.toml [benchmarks] (bundle.england).
    england = pack.bundle.england()
    benchmarks = {k: v.value for k, v in england.items()}
    rows: list[list[Any]] = []
    if pack.place is None:
        places = pack.areas[1:]
        columns = lead + [Col(a.header) for a in pack.areas]
        columns += [Col("ICB lower 95% CI"), Col("ICB upper 95% CI")]
        columns += [Col(f"{a.header} compared with ICB", role="comparison") for a in places]
        if benchmarks:
            columns += [Col("England"),
                        Col("England period", wrap=True, width=ENGLAND_PERIOD_WIDTH),
                        Col("ICB compared with England", role="comparison")]
        columns.append(Col("Notes"))
        for ind_id, breakdown, value in keys:
            recs = [pack.row(ind_id, a, breakdown, value) for a in pack.areas]
            unit = next((r["unit"] for r in recs if r is not None), "")
            polarity = pack.polarity_key(ind_id)
            row: list[Any] = [pack.name_of(ind_id), label(breakdown, BREAKDOWN_LABELS),
                              label(value), unit or NOT_AVAILABLE, pack.polarity(ind_id)]
            row += [_measure(r) for r in recs]
            row += [_measure(recs[0], "lower_ci_95"), _measure(recs[0], "upper_ci_95")]
            row += [_comparison(r, polarity) for r in recs[1:]]
            if benchmarks:
                row += [_benchmark(benchmarks, ind_id, breakdown, unit),
                        _benchmark_period(england, ind_id, breakdown,
                                          pack.bundle.headline_period),
                        _versus_england(recs[0], benchmarks, ind_id, breakdown, polarity)]
            row.append(pack.notes_for(ind_id, *_row_note_keys(row)))
            rows.append(row)
    else:
        main, icb = pack.areas
        # What a commissioner reads first comes first: the Place against the ICB, its
        # interval, then England; the counts behind the value last.
        columns = lead + [Col(main.header), Col("ICB"), Col(DIFFERENCE_HEADER),
                          Col("Compared with ICB", role="comparison"),
                          Col(f"{main.header} lower 95% CI"), Col(f"{main.header} upper 95% CI")]
        if benchmarks:
            columns += [Col("England"),
                        Col("England period", wrap=True, width=ENGLAND_PERIOD_WIDTH),
                        Col("Compared with England", role="comparison")]
        columns += [Col("Numerator"), Col("Denominator"), Col("Notes", wrap=True, width=40)]
        for ind_id, breakdown, value in keys:
            rec, icb_rec = pack.row(ind_id, main, breakdown, value), pack.row(ind_id, icb,
                                                                                 breakdown, value)
            unit = (rec or icb_rec or {}).get("unit") or ""
            polarity = pack.polarity_key(ind_id)
            row = [pack.name_of(ind_id), label(breakdown, BREAKDOWN_LABELS), label(value),
                   unit or NOT_AVAILABLE, pack.polarity(ind_id), _measure(rec),
                   _measure(icb_rec), _difference(rec, icb_rec),
                   _comparison(rec, polarity),
                   _measure(rec, "lower_ci_95"), _measure(rec, "upper_ci_95")]
            if benchmarks:
                row += [_benchmark(benchmarks, ind_id, breakdown, unit),
                        _benchmark_period(england, ind_id, breakdown,
                                          pack.bundle.headline_period),
                        _versus_england(rec, benchmarks, ind_id, breakdown, polarity)]
            row += [_measure(rec, "numerator"), _measure(rec, "denominator")]
            markers = pack.notes_for(ind_id, *_row_note_keys(row))
            note = note_text((rec or {}).get("note") or "")
            row.append(f"{markers} {note}" if note else markers)
            rows.append(row)
    return columns, rows


DIFFERENCE_HEADER = "Difference from ICB"


def _signed(number_format: str) -> str:
    """'0.0' -> '+0.0;-0.0;0.0': a difference shows its sign, so '+5.7' reads as above
    the ICB without a reader working out which way round the subtraction went."""
    return f"+{number_format};-{number_format};{number_format}"


def _difference(rec: dict[str, Any] | None, icb_rec: dict[str, Any] | None) -> Any:
    """The Place's value minus the ICB's, in the row's unit (percentage points for a
    percentage): the two published figures subtracted, so it tells a reader nothing the
    row does not already show. No difference where either value is not published
    ([c] when one is suppressed: a suppressed value has no comparison), and none for a
    count ([z]: a Place's count is part of the ICB's, not a figure to set beside it)."""
    if rec is None or icb_rec is None:
        return NOT_AVAILABLE
    if rec.get("method") == "C":
        return NOT_APPLICABLE
    own, icb = _measure(rec), _measure(icb_rec)
    if not isinstance(own, Num) or not isinstance(icb, Num):
        marks = [m for m in (own, icb) if isinstance(m, Mark)]
        return CONFIDENTIAL if CONFIDENTIAL in marks else marks[0]
    number_format = _signed(unit_format(rec.get("unit")))
    return Num(published(own.value - icb.value, number_format), number_format)


def _versus_england(rec: dict[str, Any] | None, benchmarks: dict[str, float], ind_id: str,
                    breakdown: str, polarity: str) -> Any:
    """An area against England in words, from findings.versus_benchmark (the report's
    own test: England's value outside the area's 95% interval): 'Higher (worse)',
    'Similar', ...; 'Not compared' where the area's value or interval is not published
    (suppressed, or a count); [x] where England has no value for the row."""
    if breakdown != "all" or ind_id not in benchmarks:
        return NOT_AVAILABLE
    comparison = versus_benchmark(rec, benchmarks[ind_id])
    return judge_words(comparison or "not_compared", polarity)[1]


def _row_note_keys(row: Sequence[Any]) -> list[str]:
    """Notes a row cites besides its indicator's definition: the suppression rule when
    one of its cells is [c]."""
    return ["suppression"] if any(v is CONFIDENTIAL for v in row) else []


def _benchmark(benchmarks: dict[str, float], ind_id: str, breakdown: str, unit: str) -> Any:
    if breakdown != "all" or ind_id not in benchmarks:
        return NOT_AVAILABLE
    number_format = unit_format(unit)
    return Num(published(benchmarks[ind_id], number_format), number_format)


_ONE_TABLE = ("", "This worksheet contains one table.")


def _benchmark_period(england: dict[str, Any], ind_id: str, breakdown: str,
                      local_period: str) -> Any:
    """England's period in the report's words (findings.period_words): '2023, not
    2025-26' where it differs from the pack's, 'period not stated' where unknown. A
    definition that differs is said once above the table (_england_definitions), not
    in every row."""
    if breakdown != "all" or ind_id not in england:
        return NOT_AVAILABLE
    return period_words(england[ind_id], local_period)


def _england_definitions(pack: _Pack, ids: Iterable[str]) -> tuple[str, str] | None:
    """The line above a table naming, once, each of its indicators whose England value
    is defined differently from ours (BenchmarkValue.definition)."""
    england = pack.bundle.england()
    said = [f"{pack.name_of(i)}: {england[i].definition}" for i in dict.fromkeys(ids)
            if i in england and england[i].definition]
    return ("England's definitions", ". ".join(said) + ".") if said else None


def _common_lines(pack: _Pack, *, units: str, source: str) -> list[tuple[str, str]]:
    return [
        _ONE_TABLE,
        ("Units", units),
        ("Source", source),
        ("Shorthand", f"[c] suppressed {pack.note('suppression')}, [x] not available, "
                      "[z] not applicable (see the Cover sheet)."),
    ]


def _comparator_lines(pack: _Pack) -> list[tuple[str, str]]:
    """How to read the comparison columns, in lines short enough to print within the
    table's width (a longer one runs on over the next printed page's cells)."""
    marker = pack.note("method:Comparison with the ICB")
    england = bool(pack.bundle.england())
    if pack.place is None:
        also = "; the ICB with England the same way" if england else ""
        return [("Comparison", "the ICB and every Place side by side; each Place is "
                 f"compared with the ICB at 95% confidence {marker}{also}."),
                ("Significance", "'Higher' or 'Lower' = significantly different, 'Similar' = "
                 "not; (better) or (worse) follows the Polarity column (whether higher is "
                 "better).")]
    return [("Comparison", f"{DIFFERENCE_HEADER} = {pack.main.name} minus the ICB, in the "
             "row's unit (percentage points for %); a suppressed value [c] has no "
             "difference and is not compared."),
            ("Significance", "'Higher' or 'Lower' = significantly different at 95% (the "
             f"ICB{' or England' if england else ''} lies outside the 95% confidence "
             f"interval) {marker}; 'Similar' = not; (better) or (worse) follows the "
             "Polarity column (whether higher is better).")]


_SOURCES = {
    "mortality_need": "Death registrations (local extract) and resident population estimates",
    "place_of_death": "Death registrations (local extract)",
    "identification": "Death registrations linked to palliative care registers (EPaCCS)",
    "hospital_use": "Death registrations linked to hospital and community activity",
}


def _theme_sheet(pack: _Pack, theme_key: str, name: str, description: str) -> DataSheet:
    ids = [i for i in pack.order if pack.theme_of(i) == theme_key and i != PROJECTION_INDICATOR]
    keys = _table_rows_for(pack, ids, breakdowns=True)
    columns, rows = _comparison_table(pack, keys)
    lines = _common_lines(
        pack, units="as in the Unit column: % are percentages (0-100), rates are per "
                    "100,000 people, counts are numbers of people", source=_SOURCES[theme_key])
    lines += _comparator_lines(pack)
    if definitions := _england_definitions(pack, [key[0] for key in keys]):
        lines.append(definitions)
    topics = pack.cite("periods", *_THEME_NOTES.get(theme_key, ()), "disclosure",
                       "categories", "method:Deprivation", "england")
    lines.append(("Notes", f"Definitions and methods are on the Notes sheet {topics}, each "
                           "row's own in its Notes column; every period, breakdown "
                           "(including by GP practice and PCN) and confidence interval is "
                           "on the Indicator_data sheet."))
    sheet = DataSheet(
        name=name, description=description,
        title=f"{name}: {pack.area_label}, {pack.bundle.headline_period}",
        lines=lines, columns=columns, rows=rows, table_name=_table_name(name),
        row_keys=keys, legend=True, print_keys=3,
    )
    if theme_key == "place_of_death":
        sheet.lines.append(("Chart", ""))  # filled in by the chart
        sheet.charts.append(lambda placement: _place_of_death_chart(pack, placement))
    return sheet


def _hidden_icb_line(pack: _Pack, ids: Iterable[str]) -> tuple[str, str] | None:
    """The line naming the indicators whose ICB value is not published, so that no
    Place is compared with it (the report says the same where a funnel plot is
    missing): a reader otherwise sees 'Not compared' and no reason."""
    icb = next(a for a in pack.areas if a.area_type == "icb")
    names = []
    for ind_id in dict.fromkeys(ids):
        rec = pack.row(ind_id, icb)
        if rec is not None and (rec["suppressed"] or _finite(rec["value"]) is None) \
                and (pack.catalogue.get(ind_id) is None
                     or pack.catalogue[ind_id].method not in ("C", "Q")):
            names.append(pack.name_of(ind_id))
    if not names:
        return None
    who = f"{pack.main.name} is not" if pack.place is not None else "no Place is"
    return ("Not compared", f"{'; '.join(names)}: the ICB value is not published (suppressed "
            f"or not available), so {who} compared with it.")


def _summary_sheet(pack: _Pack) -> DataSheet:
    keys = _table_rows_for(pack, pack.headline_ids(), breakdowns=False)
    columns, rows = _comparison_table(pack, keys)
    lines = _common_lines(pack, units="as in the Unit column",
                          source="Death registrations, palliative care registers and hospital "
                                 "activity (local extracts)")
    lines += _comparator_lines(pack)
    hidden = _hidden_icb_line(pack, [key[0] for key in keys])
    if hidden:
        lines.append(hidden)
    if definitions := _england_definitions(pack, [key[0] for key in keys]):
        lines.append(definitions)
    return DataSheet(
        name="Summary", description=(
            "The headline indicators for every area, each Place compared with the ICB"
            if pack.place is None else
            "Headline indicators against the ICB and England: the difference and its "
            "significance"),
        title=f"Headline indicators: {pack.area_label}, {pack.bundle.headline_period}", lines=lines,
        columns=columns, rows=rows, table_name="Summary", row_keys=keys, legend=True,
    )


#: The sheet holding a key finding's figures, by the report section it links to (and,
#: within a Place, the question: Finding.question_key).
_FINDING_SHEETS = {"place": "Place_of_death", "identification": "Identification",
                   "hospital": "Hospital_use", "overview": "Summary", "england": "Summary",
                   "projections": "Projections", "inequalities": "Inequalities"}


def _finding_sheet(finding: Finding, sheets: set[str]) -> str:
    if finding.key in ("cost", "place_cost") and "Cost_per_death" in sheets:
        return "Cost_per_death"
    name = _FINDING_SHEETS.get(finding.question_key or finding.section, "Summary")
    return name if name in sheets else "Summary"


def _key_findings_sheet(pack: _Pack, sheets: set[str]) -> DataSheet | None:
    """What a commissioner reads first. A Place's pack opens with that Place's own
    findings (findings.FindingsBuilder.place_findings: against the ICB and England,
    who is missing out within it, its cost), then the report's key findings for the
    ICB; the ICB's pack has those alone. Written from published figures only, so none
    says or lets a reader work out a hidden [c] count. Each links to the sheet of this
    workbook holding its figures, and a detail never points to a part of the report:
    a workbook refers only to what it holds (Finding.detail_for)."""
    config = pack.config
    names = _Pack._area_names(pack.bundle.indicators)

    def place_name(code: str) -> str:  # as the report names a Place (ReportData)
        name = config.place_name(code)
        return names.get(code, name) if name == code else name

    # Worked out once for all the packs of a bundle (the same findings in every pack).
    if pack.shared.findings is None:
        pack.shared.builder = findings_builder(pack.bundle, place_name)
        pack.shared.findings = pack.shared.builder.build()
    found = list(pack.shared.findings)
    own = (pack.shared.builder.place_findings(pack.place)
           if pack.place is not None and pack.shared.builder is not None else [])
    if not found and not own:
        return None
    rows = [[f.question, f.headline, f.detail_for(None),
             Link(target := _finding_sheet(f, sheets), target)] for f in own + found]
    if pack.place is None:
        about = ("The report's key findings for the whole ICB, word for word, written "
                 "from the published figures only: a suppressed [c] figure is never used "
                 f"{pack.note('suppression')}.")
        where = "every Place's figures are on the sheet each finding links to."
        title = f"Key findings: {config.icb_name}, {pack.bundle.headline_period}"
    else:
        about = (f"First what stands out in {pack.main.name} ({len(own)} "
                 f"{plural(len(own), 'row')}), then the report's key findings for the "
                 "whole ICB; all written from the published figures only: a suppressed "
                 f"[c] figure is never used {pack.note('suppression')}.")
        where = (f"the sheet each finding links to has {pack.main.name}'s and the ICB's "
                 "figures; another Place named in the ICB's findings has its figure in "
                 "the finding's words only.")
        title = f"Key findings: {pack.area_label}, {pack.bundle.headline_period}"
    return DataSheet(
        name="Key findings",
        description=("The key findings for the ICB and its Places, in words"
                     if pack.place is None else
                     f"What stands out in {pack.main.name}, then the ICB's key findings, "
                     "in words"),
        title=title,
        lines=[_ONE_TABLE, ("About", about), ("Evidence", f"In this workbook, {where}"),
               ("Significance", "'Significantly' higher or lower = unlikely to be chance "
                                "(95% confidence) "
                                f"{pack.cite('method:Comparison with the ICB', 'england')}; "
                                "the confidence intervals are in the tables.")],
        columns=[Col("Question", wrap=True, width=26), Col("Finding", wrap=True, width=34),
                 Col("Detail", wrap=True, width=80),
                 Col("Sheet in this workbook", width=24)],
        rows=rows, table_name="Key_findings",
    )


def _inequalities_sheet(pack: _Pack) -> DataSheet:
    period = pack.bundle.headline_period
    frame = pack.frame.filter((pl.col("breakdown") == "imd_quintile")
                              & (pl.col("period") == period))
    ids = sorted(set(frame["indicator_id"].to_list()), key=lambda i: pack.order.get(i, 10_000))
    quintiles = [("1", "Quintile 1 (most deprived)"), ("2", "Quintile 2"), ("3", "Quintile 3"),
                 ("4", "Quintile 4"), ("5", "Quintile 5 (least deprived)")]
    columns = [Col("Indicator"), Col("Area"), Col("Unit")]
    columns += [Col(header) for _, header in quintiles]
    columns += [Col("SII"), Col("SII lower 95% CI"), Col("SII upper 95% CI"), Col("SII unit"),
                Col("RII (ratio)"), Col("RII lower 95% CI (ratio)"),
                Col("RII upper 95% CI (ratio)"), Col("Gradient (in words)"), Col("Notes")]
    rows: list[list[Any]] = []
    keys: list[tuple[str, str]] = []
    for ind_id in ids:
        for area in pack.areas:
            recs = [pack.row(ind_id, area, "imd_quintile", q) for q, _ in quintiles]
            sii = pack.row(ind_id, area, "imd_quintile", "SII")
            rii = pack.row(ind_id, area, "imd_quintile", "RII")
            if all(r is None for r in [*recs, sii, rii]):
                continue
            unit = next((r["unit"] for r in recs if r is not None), "")
            row = [pack.name_of(ind_id), area.name, unit or NOT_AVAILABLE]
            row += [_measure(r) for r in recs]
            for summary, with_unit in ((sii, True), (rii, False)):
                # No summary row: the indicator has no inequality index (a count, say).
                row += ([NOT_APPLICABLE] * 3 if summary is None else
                        [_measure(summary), _measure(summary, "lower_ci_95"),
                         _measure(summary, "upper_ci_95")])
                if with_unit:  # a percentage's SII is in percentage points
                    row.append(NOT_APPLICABLE if summary is None else summary["unit"])
            row.append(_gradient_words(sii, pack.polarity_key(ind_id)))
            notes = pack.notes_for(ind_id, *(["sii_rii"] if sii or rii else []),
                                   *_row_note_keys(row))
            # A quintile's rate shown on fewer than 20 events: the [u] mark in the notes.
            weak = [q for (q, _), r in zip(quintiles, recs, strict=True)
                    if r is not None and "unreliable:" in (r.get("note") or "")
                    and _finite(r.get("value")) is not None]
            if weak:
                notes += (f" low reliability {LOW_RELIABILITY[0]}: quintile "
                          f"{', '.join(weak)} (a rate on fewer than 20 events)")
            row.append(notes)
            rows.append(row)
            keys.append((ind_id, area.code))
    lines = _common_lines(pack, units="quintile values in the Unit column, the SII in the "
                                      "SII unit column (percentage points for a percentage, "
                                      "per 100,000 for a rate); RII is a ratio",
                          source="Death registrations linked to the Index of Multiple "
                                 "Deprivation of the area of residence")
    marker = pack.note("sii_rii") if "sii_rii" in pack._note_numbers else ""
    lines.append(("Method", "SII and RII summarise the gradient across deprivation quintiles "
                            f"{marker}; [x] where not calculated.".replace(" ;", ";")))
    sheet = DataSheet(
        name="Inequalities", description="The gradient by deprivation quintile, with the slope "
                                          "and relative indices of inequality (SII, RII)",
        title=f"Inequalities by deprivation: {pack.area_label}, {period}", lines=lines,
        columns=columns, rows=rows, table_name="Inequalities", row_keys=keys,
        print_keys=2,
    )
    sheet.lines.append(("Chart", ""))  # filled in by the chart
    sheet.charts.append(lambda placement: _gradient_chart(pack, placement))
    return sheet


def _gradient_words(sii: dict[str, Any] | None, polarity: str) -> Any:
    """What a slope index says, in words, for a reader who does not know its sign
    convention (quintile 1, the most deprived, at the left: a negative SII is higher in
    more deprived areas); which way is worse comes from the indicator's polarity."""
    if sii is None:
        return NOT_APPLICABLE
    low, high = _finite(sii["lower_ci_95"]), _finite(sii["upper_ci_95"])
    if sii["suppressed"] or low is None or high is None:
        return NOT_AVAILABLE
    if low <= 0 <= high:
        return "No clear gradient (the interval includes zero)"
    higher = high < 0
    words = f"{'Higher' if higher else 'Lower'} in more deprived areas"
    fare = {("higher_is_better", True): "better", ("higher_is_better", False): "worse",
            ("lower_is_better", True): "worse", ("lower_is_better", False): "better"}
    verdict = fare.get((polarity, higher))
    return f"{words}: they fare {verdict}" if verdict else words


def _cost_sheet(pack: _Pack) -> DataSheet | None:
    """Cost of hospital care in the last 90 days of life: the total and the cost per
    death, per area and financial year, with where the pounds come from."""
    frame = pack.frame.filter((pl.col("indicator_id") == COST_INDICATOR)
                              & (pl.col("breakdown") == "all"))
    if frame.height == 0:
        return None
    periods = sorted(set(frame["period"].to_list()))
    money = theme.NUMBER_FORMATS["money"]
    columns = [Col("Area"), Col("Period"),
               Col("Cost of hospital care in the last 90 days of life (£)"),
               Col("Deaths (people)"), Col("Cost per death (£)"), Col("Notes")]
    rows: list[list[Any]] = []
    keys: list[tuple[str, str]] = []
    for area in pack.areas:
        for period in periods:
            rec = pack.row(COST_INDICATOR, area, period=period)
            if rec is None:
                continue
            per_death = cost_per_death(rec)
            rows.append([area.name, period, _measure(rec), _measure(rec, "denominator"),
                         Num(published(per_death, money), money) if per_death is not None
                         else (CONFIDENTIAL if rec["suppressed"] else NOT_AVAILABLE),
                         pack.notes_for(COST_INDICATOR)])
            keys.append((area.code, period))
    lines = [_ONE_TABLE,
             ("Units", "pounds (£) and people; cost per death = the total over the deaths"),
             ("Source", f"Death registrations linked to hospital activity: "
                        f"{pack.bundle.cost_source()}"),
             ("Shorthand", f"[c] suppressed {pack.note('suppression')}, [x] not available "
                           "(see the Cover sheet).")]
    return DataSheet(
        name="Cost per death", description="Cost of hospital care in the last 90 days of "
                                           "life: the total and per death, with its source",
        title=f"Cost of hospital care in the last 90 days of life: {pack.area_label}",
        lines=lines, columns=columns, rows=rows, table_name="Cost_per_death", row_keys=keys,
        print_keys=2,
    )


def _projections_sheet(pack: _Pack) -> DataSheet:
    frame = pack.frame.filter((pl.col("indicator_id") == PROJECTION_INDICATOR)
                              & (pl.col("breakdown") == "all"))
    years = sorted({p for p in frame["period"].to_list() if p and p.isdigit()})
    has_deaths = frame["denominator"].is_not_null().any()
    columns = [Col("Year", number_format=theme.NUMBER_FORMATS["integer"])]
    for area in pack.areas:
        if has_deaths:
            columns.append(Col(f"{area.header} projected deaths (people per year)"))
        columns.append(Col(f"{area.header} projected palliative care need (people per year)"))
    rows: list[list[Any]] = []
    for year in years:
        row: list[Any] = [int(year)]
        for area in pack.areas:
            rec = pack.row(PROJECTION_INDICATOR, area, period=year)
            if has_deaths:
                row.append(_measure(rec, "denominator"))
            row.append(_measure(rec))
        rows.append(row)
    lines = [_ONE_TABLE,
             ("Units", "people per year (counts)"),
             ("Source", "Death registrations and population projections"),
             ("Method", "today's age- and sex-specific death rates applied to the projected "
                        "population give projected deaths; today's share of deaths with "
                        "palliative care need applied to those gives projected need "
                        f"{pack.cite('projections', f'indicator:{PROJECTION_INDICATOR}')}."),
             ("Caution", "Projections assume today's rates continue; read them as a scale of "
                         "change, not a forecast."),
             ("Year basis", projection_year_basis(pack.bundle.headline_period)),
             ("Shorthand", "[x] not available (see the Cover sheet)."),
             ("Chart", "")]  # filled in by the chart
    sheet = DataSheet(
        name="Projections", description="Projected annual deaths and palliative care need, "
                                         "each year to 2040",
        title=f"Projected deaths and palliative care need to 2040: {pack.area_label}",
        lines=lines, columns=columns, rows=rows, table_name="Projections", row_keys=years,
    )
    sheet.charts.append(lambda placement: _projection_chart(pack, placement, has_deaths))
    return sheet


def _indicator_data_sheet(pack: _Pack) -> DataSheet:
    spec = _DATA_COLUMNS
    numbers, left_out = _rows_that_fit(pack)
    rows = pack.shared.data_rows(pack, [name for name, _, _ in spec],
                                 [measure for _, _, measure in spec], numbers)
    longest = pack.shared.longest(numbers, len(spec))
    # The note is the last column: it runs on unwrapped rather than making thousands of
    # rows tall (and measured row by row).
    # The indicator's name is as wide as the longest (a name wider than the column was
    # cut off by the next): wrapping it would make thousands of rows tall.
    columns = [Col(header, width=60 if name == "note" else min(
                       size + 3, theme.WIDE_TEXT_WIDTH) if name == "indicator_name" else None,
                   role="comparison" if name == "comparison" else "data", longest=size)
               for (name, header, _), size in zip(spec, longest, strict=True)]
    lines = [_ONE_TABLE,
             ("About", "Every row of the assessment for these areas: all periods, breakdowns "
                       "and both confidence levels; use the filters, or a PivotTable."),
             ("Units", "as in the Unit column; the confidence limits are in the same unit "
                       "as the value."),
             ("Shorthand", f"[c] suppressed {pack.note('suppression')}, [x] not available, "
                           "[z] not applicable, [u] low reliability, in the Note column "
                           "(see the Cover sheet)."),
             ("Periods", f"Financial years (April to March) {pack.cite('periods')}; months "
                         f"(YYYY-MM) are the monthly series {pack.cite('spc')}; four-digit "
                         f"years are projections {pack.cite('projections')}."),
             # Printed legibly, every row runs to hundreds of A4 pages: the print area
             # is these notes and the header row (DataSheet.print_rows), so printing the
             # whole workbook does not print the table.
             ("Printing", f"printing the workbook prints only these notes of this sheet: "
                          f"its {len(rows):,} rows would fill about "
                          f"{_pages_estimate(len(rows)):,} A4 pages."),
             ("To print rows", "filter the table to the rows you need, select them and "
                               "print the selection (Excel: Print Selection; LibreOffice: "
                               "Selected cells).")]
    if left_out:
        lines.append(("Rows left out", left_out))
    return DataSheet(
        name="Indicator data", description="Every indicator row for these areas, ready to "
                                            "filter or pivot",
        title=f"Indicator data: {pack.area_label}", lines=lines, columns=columns, rows=rows,
        table_name="Indicator_data", row_keys=numbers,
        # Nine in ten of the pack's cells, and no chart reads them. It is also the last
        # sheet built, so formats it first uses are numbered last either way.
        streamable=True, row_cache=pack.shared.row_xml, print_rows=False, filters=True,
    )


def _pages_estimate(rows: int) -> int:
    """About how many A4 pages the whole Indicator data table prints on: LibreOffice
    printed the sample's Place pack's 8,941 rows on 537 pages, about 50 rows a page and
    3 pages across for its columns at 65%."""
    return max(1, math.ceil(rows / 50) * 3)


EXCEL_MAX_ROWS = 1_048_576  # rows in an Excel worksheet
_DATA_SHEET_HEADING = 9  # the Indicator data sheet's rows above its table, at most


def _rows_that_fit(pack: _Pack) -> tuple[list[int], str]:
    """The Indicator data rows that fit in one worksheet, and what was left out ("" if
    nothing). GP practice and PCN rows go first (an England-wide practice breakdown runs
    to hundreds of thousands of rows); the CSV and Parquet tables keep every row."""
    limit = EXCEL_MAX_ROWS - _DATA_SHEET_HEADING - 1  # and the header row
    numbers = pack.row_numbers
    if len(numbers) <= limit:
        return numbers, ""
    records = pack.shared.records
    kept = [i for i in numbers if records[i]["breakdown"] not in ("gp_practice", "pcn")]
    text = (f"{len(numbers) - len(kept):,} GP practice and PCN rows are not on this sheet: "
            f"a worksheet holds {EXCEL_MAX_ROWS:,} rows. indicators.csv and "
            "indicators.parquet have every row.")
    if len(kept) > limit:
        text = (f"{len(numbers) - limit:,} rows (every GP practice and PCN row, then the "
                f"last rows in table order) are not on this sheet: a worksheet holds "
                f"{EXCEL_MAX_ROWS:,} rows. indicators.csv and indicators.parquet have "
                "every row.")
        kept = kept[:limit]
    return kept, text


ROW_MARK = "\x00"  # never in cell text: clean_text removes control characters

# The Indicator data sheet's columns: (field of the indicator table, header, the measure
# when the column holds one).
_DATA_COLUMNS: tuple[tuple[str, str, str | None], ...] = (
    ("indicator_id", "Indicator ID", None), ("indicator_name", "Indicator", None),
    ("area_type", "Area type", None), ("area_code", "Area code", None),
    ("area_name", "Area", None), ("period", "Period", None),
    ("period_start", "Period start", None), ("period_end", "Period end", None),
    ("breakdown", "Breakdown", None), ("breakdown_value", "Group", None),
    ("numerator", "Numerator", "numerator"), ("denominator", "Denominator", "denominator"),
    ("value", "Value", "value"), ("lower_ci_95", "Lower 95% CI", "lower_ci_95"),
    ("upper_ci_95", "Upper 95% CI", "upper_ci_95"),
    ("lower_ci_99_8", "Lower 99.8% CI", "lower_ci_99_8"),
    ("upper_ci_99_8", "Upper 99.8% CI", "upper_ci_99_8"), ("unit", "Unit", None),
    ("method", "Method", None), ("comparison", "Compared with ICB", None),
    ("suppressed", "Suppressed", None), ("note", "Note", None),
)


class _Unsupported(Exception):
    """A value the column-wise writer does not format (the row-by-row path does)."""


class _DataColumns:
    """The Indicator data sheet for every row of one bundle, worked out column by
    column rather than cell by cell: a pack holds up to hundreds of thousands of its
    rows, and the ICB's rows are in every pack.

    A column that is not a measure holds few distinct cells (names, codes, periods,
    comparison words), so each distinct cell is made, measured and formatted once and
    the rows only carry its number (`codes`). A measure is stored at its published
    precision, or as the shorthand saying why it has none, one Python step per value.
    The cells are the ones _Shared.data_rows makes row by row; the XML is the one
    _RowsWriter._block_row_xml writes for them (tests/test_report_excel.py compares
    the pack with the one openpyxl writes cell by cell)."""

    def __init__(self, frame: pl.DataFrame) -> None:
        self.height = frame.height
        # Per non-measure column: its distinct cells, and each row's index into them.
        self.cells: dict[str, list[Any]] = {}
        self.codes: dict[str, pl.Series] = {}
        # Per measure: each row's published value, or the Mark that stands for it.
        self.measures: dict[str, list[Any]] = {}
        self.formats: dict[str, list[str | None]] = {}
        units = frame["unit"].to_list()
        methods = frame["method"].to_list()
        suppressed = frame["suppressed"].to_list()
        empty = frame["note"].fill_null("").str.starts_with(categories.NO_RESIDENTS).to_list()
        entries = _catalogue_by_id()  # each indicator's polarity, as _Pack.polarity_key
        polarity = {ind_id: entries[ind_id].polarity if ind_id in entries else "neutral"
                    for ind_id in frame["indicator_id"].unique().to_list()}
        for name, _, measure in _DATA_COLUMNS:
            if measure is not None:
                self._measure(measure, frame[name].to_list(), units, methods, suppressed, empty)
            elif name == "comparison":
                keys, codes = _factorise(frame, ["area_type", "comparison", "indicator_id"])
                self.codes[name] = codes
                self.cells[name] = [
                    NOT_APPLICABLE if area_type == "icb"
                    else judge_words(comparison, polarity.get(ind_id))[1]
                    for area_type, comparison, ind_id in keys]
            else:
                keys, codes = _factorise(frame, [name])
                self.codes[name] = codes
                self.cells[name] = [
                    (note_text(key) if key else NOT_APPLICABLE) if name == "note"
                    else NOT_AVAILABLE if key is None or key == "" else key
                    for (key,) in keys]
        self.lengths = self._lengths()
        self.xml: list[str] | None = None  # each row's cells, once a writer has formatted them

    def _measure(self, measure: str, values: list[Any], units: list[Any],
                 methods: list[Any], suppressed: list[Any], empty: list[bool]) -> None:
        cells: list[Any] = []
        formats: list[str | None] = []
        for value, unit, method, hidden, no_one in zip(values, units, methods, suppressed,
                                                       empty, strict=True):
            if value is None or not isfinite(value):
                cells.append(_missing(measure, method, hidden, no_one))
                formats.append(None)
            else:
                number_format = _measure_format(measure, unit, method)
                cells.append(published(value, number_format))
                formats.append(number_format)
        self.measures[measure] = cells
        self.formats[measure] = formats

    def _lengths(self) -> pl.DataFrame:
        """Per column, each row's display length (as _display_length measures its cell);
        for a measure, the shorthand's length where it has one, and its published value
        (None where a shorthand stands) to find the longest number from."""
        columns: dict[str, pl.Series] = {}
        for name, _, measure in _DATA_COLUMNS:
            if measure is None:
                sizes = pl.Series([_display_length(cell) for cell in self.cells[name]],
                                  dtype=pl.Int64)
                columns[name] = sizes.gather(self.codes[name])
            else:
                cells = self.measures[measure]
                columns[name] = pl.Series([len(c.text) if type(c) is Mark else 0
                                           for c in cells], dtype=pl.Int64)
                columns[f"{name}/value"] = pl.Series(
                    [None if type(c) is Mark else c for c in cells], dtype=pl.Float64)
        return pl.DataFrame(columns)

    def longest(self, numbers: list[int]) -> list[int]:
        """Per column, the longest display length among these rows (as _longest)."""
        if not numbers:
            return [0] * len(_DATA_COLUMNS)
        rows = self.lengths.select(pl.all().gather(pl.Series(numbers, dtype=pl.UInt32)))
        found = []
        for name, _, measure in _DATA_COLUMNS:
            longest = int(rows[name].max() or 0)  # type: ignore[arg-type]
            if measure is not None:
                # The formatted length of a number only grows with its size: measure the
                # largest and the most negative (published values carry no -0.0).
                values = rows[f"{name}/value"]
                for number in (values.filter(values >= 0).max(),
                               values.filter(values < 0).min()):
                    if number is not None:
                        longest = max(longest, len(f"{float(number):,.2f}"))  # type: ignore[arg-type]
            found.append(longest)
        return found

    def row_xml(self, text_fragment: Callable[[int, str], str],
                attr: Callable[[str, str | None], str], epoch: datetime) -> list[str]:
        """Each row's cells as XML, with ROW_MARK for the row number. `text_fragment`
        and `attr` are the writer's: a text cell after its r=".." in a column, and
        ' s="id"' for a (style, number format) pair; `epoch` the workbook's."""
        if self.xml is not None:
            return self.xml
        marks = {mark.text: f'{attr("eol_number", None)} t="inlineStr"><is><t>{mark.text}'
                            "</t></is></c>" for mark in MARKS}
        date_attr = attr("eol_number", theme.NUMBER_FORMATS["date"])
        # Per column: its cells' XML, and with codes, which of them each row has.
        parts: list[tuple[pl.Series, pl.Series | None]] = []
        for index, (name, _, measure) in enumerate(_DATA_COLUMNS, start=1):
            start = f'<c r="{get_column_letter(index)}{ROW_MARK}"'
            if measure is not None:
                number_attrs: dict[str | None, str] = {}
                column = []
                for cell, number_format in zip(self.measures[measure],
                                               self.formats[measure], strict=True):
                    if number_format is None:
                        column.append(start + marks[cell.text])
                        continue
                    style = number_attrs.get(number_format)
                    if style is None:
                        style = number_attrs[number_format] = attr("eol_number",
                                                                   number_format)
                    column.append(f'{start}{style} t="n"><v>{cell:.16g}</v></c>')
                parts.append((pl.Series(column, dtype=pl.String), None))
                continue
            fragments = []
            for cell in self.cells[name]:
                kind = type(cell)
                if kind is bool:  # as content() has it: Yes / No text
                    cell, kind = "Yes" if cell else "No", str
                if kind is str:
                    fragments.append(start + text_fragment(index, cell))
                elif kind is Mark:
                    fragments.append(start + marks[cell.text])
                elif kind is date:
                    serial = to_excel(cell, epoch)
                    fragments.append(f'{start}{date_attr} t="n"><v>{serial:.16g}</v></c>')
                else:
                    raise _Unsupported(name)
            parts.append((pl.Series(fragments, dtype=pl.String), self.codes[name]))
        # Joined a slice of rows at a time: at England scale the whole table's XML is
        # most of a gigabyte, and would be held twice (polars', Python's) if joined at once.
        xml: list[str] = []
        step = 50_000
        for first in range(0, self.height, step):
            rows = pl.DataFrame({
                str(i): cells.slice(first, step) if codes is None
                else cells.gather(codes.slice(first, step))
                for i, (cells, codes) in enumerate(parts)})
            xml += rows.select(pl.concat_str(pl.all()))[:, 0].to_list()
        self.xml = xml
        # Only the XML and the lengths are read from now on.
        self.measures.clear()
        self.formats.clear()
        return xml


def _factorise(frame: pl.DataFrame, columns: list[str]) -> tuple[list[tuple[Any, ...]],
                                                                  pl.Series]:
    """The distinct values of `columns` (nulls included) and, per row, the index of its
    own among them."""
    groups = (frame.select(columns).with_row_index("__row")
              .group_by(columns, maintain_order=True).agg(pl.col("__row")))
    codes = (groups.with_row_index("__code").select("__code", "__row").explode("__row")
             .sort("__row")["__code"])
    return groups.select(columns).rows(), codes


class _RowCache:
    """The Indicator data rows of one bundle as XML, shared by its packs; valid only in
    workbooks whose style numbering starts as `styles` does."""

    styles: tuple[bytes, ...] | None = None

    def __init__(self, shared: _Shared) -> None:
        self.shared = shared


class _Shared:
    """What every pack of one bundle has in common, worked out once when assess writes
    the ICB pack and each Place's: the indicator rows as dicts, and the Indicator data
    sheet, column by column (_DataColumns) and, once written, as XML. The ICB's rows
    (nearly half the table) are in every pack, so each is built and formatted once,
    not seven times."""

    def __init__(self, bundle: ReportBundle) -> None:
        self.frame = bundle.indicators
        self.records: list[dict[str, Any]] = bundle.indicators.to_dicts()
        self._cells: dict[int, list[Any]] = {}
        self._columns: _DataColumns | None = None
        self.row_xml = _RowCache(self)
        self.findings: list[Finding] | None = None  # the key findings (_key_findings_sheet)
        self.builder: FindingsBuilder | None = None  # and each Place's own, from its rows

    @property
    def columns(self) -> _DataColumns:
        if self._columns is None:
            self._columns = _DataColumns(self.frame)
        return self._columns

    def longest(self, numbers: list[int], width: int) -> list[int]:
        """Per column, the longest display length among these rows (as _longest)."""
        found = self.columns.longest(numbers)
        assert len(found) == width
        return found

    def data_rows(self, pack: _Pack, names: list[str], measures: list[str | None],
                  numbers: list[int]) -> Sequence[list[Any]]:
        """The Indicator data sheet's cells for these rows, made when first read (the
        column-wise XML needs none of them; openpyxl's own writer reads them all)."""
        return _LazyRows(self, pack, names, measures, numbers)

    def row_cells(self, pack: _Pack, names: list[str], measures: list[str | None],
                  i: int) -> list[Any]:
        """One row's cells: _measure and _comparison for every cell, inlined."""
        cells = self._cells
        row = cells.get(i)
        if row is not None:
            return row
        rec = self.records[i]
        row = []
        unit, method = rec.get("unit"), rec.get("method")
        suppressed = rec.get("suppressed")
        for name, measure in zip(names, measures, strict=True):
            if measure is not None:
                value = rec.get(measure)
                if value is None or not isfinite(value):
                    row.append(_missing(measure, method, suppressed))
                else:
                    number_format = _measure_format(measure, unit, method)
                    row.append(Num(published(value, number_format), number_format))
            elif name == "comparison":
                row.append(_comparison(rec, pack.polarity_key(rec["indicator_id"])))
            elif name == "note":
                row.append(note_text(rec["note"]) if rec["note"] else NOT_APPLICABLE)
            else:
                value = rec[name]
                row.append(NOT_AVAILABLE if value is None or value == "" else value)
        cells[i] = row
        return row


class _LazyRows(Sequence[list[Any]]):
    """The Indicator data rows of one pack, each made on first read."""

    def __init__(self, shared: _Shared, pack: _Pack, names: list[str],
                 measures: list[str | None], numbers: list[int]) -> None:
        self._args = (pack, names, measures)
        self._shared = shared
        self._numbers = numbers

    def __len__(self) -> int:
        return len(self._numbers)

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        return self._shared.row_cells(*self._args, self._numbers[index])


def _data_quality_sheets(pack: _Pack) -> list[DataSheet]:
    sheets = []
    used: set[str] = set()
    for i, dq in enumerate(pack.bundle.data_quality, start=1):
        name = _sheet_name(f"DQ{i} {_DQ_TAB_NAMES.get(dq.key, dq.title)}", used)
        frame = _numbers_as_numbers(dq.frame)
        columns = [Col(_dq_header(c), number_format=_dq_format(c, frame[c]))
                   for c in frame.columns]
        # A count withheld by disclosure control (validate.protect_quality_tables) is [c].
        rows = [[CONFIDENTIAL if (r, c) in dq.confidential else v
                 for c, v in zip(frame.columns, values, strict=True)]
                for r, values in enumerate(frame.iter_rows())]
        if not columns:
            columns = [Col("Result")]
        shorthand = "[x] not available (see the Cover sheet)."
        if dq.confidential:
            small = f"1-{pack.config.disclosure.min_count - 1}"
            shorthand = (f"{CONFIDENTIAL.text} a count of {small}, or one that would give such a "
                         "count away, withheld as in the indicators (`eolneeds validate` "
                         f"shows every count to the analyst); {shorthand}")
        sheets.append(DataSheet(
            name=name, description=f"Data quality: {dq.title}",
            title=f"Data quality: {dq.title}",
            lines=[_ONE_TABLE, ("About", dq.description),
                   ("Area", f"{pack.config.icb_name}, all Places"),
                   ("Shorthand", shorthand),
                   ("Read with care", f"{pack.cite('data_quality')} Data quality affects "
                                      "every indicator: check these "
                                      "tables before drawing conclusions.")],
            # Named from its tab's words, not its number ('give tables meaningful
            # names'): DQ1_Files_loaded holds Data_quality_Files_loaded.
            columns=columns, rows=rows,
            table_name=_table_name("Data_quality_" + name.split("_", 1)[-1]),
        ))
    return sheets


# Tab names for validate's data-quality tables that make sense within Excel's 31
# characters; any other table's title is shortened between words.
_DQ_TAB_NAMES = {
    "files": "Files loaded", "rejects_by_reason": "Rows quarantined",
    "completeness": "Field completeness", "deaths_quality": "Deaths data checks",
    "linkage": "Linkage of deaths", "duplicates": "Possible duplicates",
    "date_coverage": "Date coverage", "areas_by_place": "Areas and population",
    "source_coverage": "Coverage by kind",
}


def _dq_header(column: str) -> str:
    return column_header(column)  # 'lsoa_vintage' -> 'LSOA vintage', as the report


def _numbers_as_numbers(frame: pl.DataFrame) -> pl.DataFrame:
    """A data-quality table with its numbers as numbers: DuckDB's sum of integers is a
    128-bit integer that arrives as a Decimal, which openpyxl would write as text
    ('3720' in a Rows column); a whole Decimal becomes an integer, any other a float."""
    casts = [pl.col(name).cast(pl.Int64 if dtype.scale == 0 else pl.Float64)  # type: ignore[attr-defined]
             for name, dtype in frame.schema.items() if isinstance(dtype, pl.Decimal)]
    # Times as times: validate gives a file's load time as text with microseconds
    # ('2026-12-01 22:33:28.383415'); a column whose every value is such a timestamp is
    # written as a date-time, to the minute. (Date columns that also hold a year, such as
    # the date coverage table's, stay text.)
    for name, dtype in frame.schema.items():
        if dtype != pl.String:
            continue
        text = frame[name].drop_nulls()
        if text.len() == 0 or not text.str.contains(_TIMESTAMP.pattern).all():
            continue
        casts.append(pl.col(name).str.to_datetime(strict=False).dt.truncate("1m"))
    return frame.with_columns(casts) if casts else frame


_TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?$")


DATETIME_FORMAT = "yyyy-mm-dd hh:mm"


def _dq_format(column: str, values: pl.Series) -> str | None:
    """A count shows no decimals, a percentage one; a float column of whole numbers (a
    population summed from a DOUBLE column) is a count too, not '157,142.0'."""
    if column.endswith("pct") or column.startswith("percent"):
        return theme.NUMBER_FORMATS["percent"]
    dtype = values.dtype
    if dtype == pl.Datetime:
        return DATETIME_FORMAT
    if dtype.is_integer():
        return theme.NUMBER_FORMATS["count"]
    if dtype.is_float():
        finite = values.drop_nulls().drop_nans()
        whole = finite.len() > 0 and bool((finite == finite.round(0)).all())
        return theme.NUMBER_FORMATS["count" if whole else "rate"]
    return None


# ---------------------------------------------------------------------------------------
# Charts (native Excel charts reading the table cells)


def _series(ws: Worksheet, placement: Placement, row: int, first_col: int, last_col: int,
            title_cell: str) -> Series:
    values = Reference(ws, min_col=first_col, max_col=last_col, min_row=row, max_row=row)
    series = Series(values)
    series.tx = SeriesLabel(strRef=StrRef(f"{quote_sheetname(ws.title)}!{title_cell}"))
    return series


def _style_series(series: Series, index: int, *, line: bool = False) -> None:
    colour = theme.SERIES_COLOURS[index % len(theme.SERIES_COLOURS)]
    if line:
        series.graphicalProperties.line.solidFill = colour
        series.graphicalProperties.line.width = 28575  # 2.25 pt
        series.smooth = False
    else:
        series.graphicalProperties.solidFill = colour
        series.graphicalProperties.line.solidFill = colour


def _add_chart(placement: Placement, chart: Any, chart_title: str, alt_text: str) -> None:
    """Place a chart beside its table, level with the header row, with its alt text
    (written into the drawing by _DescribedDrawing). Beside rather than below: a long
    table would push a chart below it out of sight."""
    chart.alt_text = alt_text
    chart.alt_title = chart_title  # chart.title is openpyxl's rich-text Title by now
    column = get_column_letter(len(placement.columns) + 2)
    placement.sheet.add_chart(chart, f"{column}{placement.header_row}")


def _names(names: Sequence[str]) -> str:
    names = list(names)
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _place_of_death_chart(pack: _Pack, placement: Placement) -> str:
    ws = placement.sheet
    first_area = placement.column_index(pack.areas[0].header)
    last_area = first_area + len(pack.areas) - 1
    chart = BarChart()
    chart.type = "bar"
    chart.grouping = "stacked"
    chart.overlap = 100
    chart.title = title = f"Place of death, {pack.bundle.headline_period} (% of deaths)"
    chart.y_axis.title = "% of deaths"
    chart.y_axis.scaling.min = 0
    chart.y_axis.scaling.max = 100
    chart.y_axis.majorGridlines = None
    chart.y_axis.number_format = "0"
    chart.y_axis.majorUnit = 20
    chart.gapWidth = 60
    # Categories top-down in table order (the ICB or the Place first), as a reader expects.
    chart.x_axis.scaling.orientation = "maxMin"
    chart.x_axis.delete = False
    chart.y_axis.delete = False
    parts: list[str] = []
    for offset, key in enumerate(placement.row_keys):
        if key[0] not in PLACE_OF_DEATH_PARTS or key[1] != "all":
            continue
        row = placement.first_row + offset
        series = _series(ws, placement, row, first_area, last_area, f"$A${row}")
        _style_series(series, len(parts))
        chart.series.append(series)
        parts.append(pack.name_of(key[0]))
    if not parts:
        return "none: no place-of-death figures for this period."
    chart.set_categories(Reference(ws, min_col=first_area, max_col=last_area,
                                   min_row=placement.header_row, max_row=placement.header_row))
    chart.legend.position = "b"
    chart.height = 7.5 + 0.6 * len(pack.areas)
    chart.width = 22
    areas = _names([a.name for a in pack.areas])
    _add_chart(placement, chart, title,
               f"Stacked bar chart: where people died in {pack.bundle.headline_period}, as a "
               f"percentage of deaths, one bar each for {areas}. Segments: "
               f"{_names(parts)}. The figures are in the table on this sheet; a suppressed "
               "[c] figure has no segment.")
    return (f"a stacked bar chart of where people died, one bar each for {areas}, is to "
            "the right of the table; it reads the table's cells.")


def _gradient_chart(pack: _Pack, placement: Placement) -> str:
    """One indicator's gradient by deprivation quintile for the pack's own area (the
    Place in a Place pack) and its comparators: the first preferred indicator the area
    has a chartable row for. A [c] or [x] cell would plot as zero and mislead, so a row
    with one is not charted; a [z] quintile (no residents: the area has no LSOA in it)
    has no value to hide, so it is a gap in the chart, said in the alt text. A gradient
    needs at least two quintiles with a value."""
    ws = placement.sheet
    first_q = placement.column_index("Quintile 1 (most deprived)")
    last_q = first_q + 4
    chartable: dict[str, dict[str, int]] = {}  # indicator -> area code -> row
    gaps: dict[int, list[int]] = {}  # row -> its [z] quintiles
    why_not: dict[str, set[str]] = {}  # indicator -> why the main area's row is not charted
    main = pack.main.code
    for offset, (ind_id, code) in enumerate(placement.row_keys):
        row = placement.first_row + offset
        values = [ws.cell(row=row, column=c).value for c in range(first_q, last_q + 1)]
        numbers = [isinstance(v, int | float) for v in values]
        absent = [q for q, v in enumerate(values, 1) if str(v) == NOT_APPLICABLE.text]
        if sum(numbers) >= 2 and sum(numbers) + len(absent) == 5:
            chartable.setdefault(ind_id, {})[code] = row
            gaps[row] = absent
        elif code == main:
            why_not[ind_id] = {str(v) for v, n in zip(values, numbers, strict=True) if not n}
    candidates = [i for i in chartable if main in chartable[i]]
    if not candidates:
        return "none: " + _no_gradient_reason(pack.main.name, why_not)
    chosen = next((i for i in GRADIENT_CHART_PREFERENCE if i in candidates), candidates[0])
    # The pack's own area first, then the others in table order.
    areas = [a for a in pack.areas if a.code in chartable[chosen]]
    areas = [a for a in areas if a.code == main] + [a for a in areas if a.code != main]
    areas = areas[: len(theme.SERIES_COLOURS)]
    rows = [chartable[chosen][a.code] for a in areas]
    unit = ws.cell(row=rows[0], column=placement.column_index("Unit")).value or ""
    period = pack.bundle.headline_period
    chart = BarChart()
    chart.type = "col"
    chart.grouping = "clustered"
    chart.title = title = f"{pack.name_of(chosen)} by deprivation quintile, {period}"
    chart.y_axis.title = str(unit)
    chart.x_axis.title = "Deprivation quintile (1 = most deprived)"
    chart.x_axis.delete = False
    chart.y_axis.delete = False
    area_col = get_column_letter(placement.column_index("Area"))
    for i, row in enumerate(rows):
        series = _series(ws, placement, row, first_q, last_q, f"${area_col}${row}")
        _style_series(series, i)
        chart.series.append(series)
    chart.set_categories(Reference(ws, min_col=first_q, max_col=last_q,
                                   min_row=placement.header_row, max_row=placement.header_row))
    chart.legend.position = "b"
    chart.height = 9
    chart.width = 22
    names = _names([a.name for a in areas])
    gap_text = "".join(
        f" {a.name} has no residents in {plural(len(gaps[r]), 'quintile')} "
        f"{_names([str(q) for q in gaps[r]])} ([z]), so no column there."
        for a, r in zip(areas, rows, strict=True) if gaps[r])
    _add_chart(placement, chart, title,
               f"Column chart: {pack.name_of(chosen)} ({unit}) in {period} by deprivation "
               f"quintile, from 1 (most deprived) to 5 (least deprived), for {names}."
               f"{gap_text} The figures, with the slope and relative indices of "
               "inequality, are in the table on this sheet.")
    return (f"a column chart of {pack.name_of(chosen)} by deprivation quintile for {names} "
            "is to the right of the table; it reads the table's cells.")


def _no_gradient_reason(name: str, why_not: dict[str, set[str]]) -> str:
    """Why no indicator's gradient can be drawn for an area, from what its quintile
    cells hold instead of values."""
    if not why_not:
        return f"no indicator has figures by deprivation quintile for {name}."
    marks = set().union(*why_not.values())
    reasons = []
    if CONFIDENTIAL.text in marks:
        reasons.append("a suppressed [c] quintile would plot as zero and mislead")
    if NOT_AVAILABLE.text in marks:
        reasons.append("a quintile not available [x] would plot as zero and mislead")
    if not reasons:
        reasons.append("fewer than two quintiles have residents ([z] for the others)")
    every = ("every indicator" if len(why_not) > 1 else "the only indicator")
    return (f"no gradient is drawn for {name}: for {every} by quintile, "
            f"{'; or '.join(reasons)}.")


def _projection_chart(pack: _Pack, placement: Placement, has_deaths: bool) -> str:
    ws = placement.sheet
    chart = LineChart()
    chart.title = title = (
        "Projected palliative care need (people per year)" if pack.place is None
        else "Projected deaths and palliative care need (people per year)")
    chart.y_axis.title = "People per year"
    chart.x_axis.title = "Year"
    chart.x_axis.delete = False
    chart.y_axis.delete = False
    # The ICB pack plots need per area; a Place pack plots the Place's deaths and need.
    unit = " (people per year)"
    wanted: list[str] = []
    if pack.place is None:
        wanted = [f"{a.header} projected palliative care need{unit}" for a in pack.areas]
        shown = f"projected palliative care need for {_names([a.name for a in pack.areas])}"
    else:
        if has_deaths:
            wanted.append(f"{pack.main.header} projected deaths{unit}")
        wanted.append(f"{pack.main.header} projected palliative care need{unit}")
        shown = ("projected deaths and palliative care need" if has_deaths else
                 "projected palliative care need") + f" in {pack.main.name}"
    headers = [c.header for c in placement.columns]
    for series_index, original in enumerate(wanted):
        index = headers.index(_unique_lookup(original, headers))
        col = index + 1
        values = Reference(ws, min_col=col, max_col=col, min_row=placement.header_row,
                           max_row=placement.last_row)
        series = Series(values, title_from_data=True)
        _style_series(series, series_index, line=True)
        series.marker.symbol = "none"
        chart.series.append(series)
    chart.set_categories(Reference(ws, min_col=1, max_col=1, min_row=placement.first_row,
                                   max_row=placement.last_row))
    chart.legend.position = "b"
    chart.height = 9
    chart.width = 22
    years = placement.row_keys
    span = f"{years[0]} to {years[-1]}" if years else ""
    _add_chart(placement, chart, title,
               f"Line chart: {shown}, people per year, {span}. The figures are in the "
               "table on this sheet.")
    return f"a line chart of {shown} is to the right of the table; it reads the table's cells."


def _unique_lookup(header: str, headers: list[str]) -> str:
    cleaned = _header_text(header)
    return cleaned if cleaned in headers else next(h for h in headers if h.startswith(cleaned))


# ---------------------------------------------------------------------------------------
# Front matter: Cover, Contents, Notes, Metadata



# Words a shortened tab name must not end on: "Deaths by" reads as cut off.
_DANGLING = {"and", "or", "of", "by", "the", "in", "for", "with", "to", "a", "an", "on", "at",
             "-", "&", "per", "from"}


def _shorten(text: str, limit: int) -> str:
    """`text` in at most `limit` characters, cut between words (never mid-word) and
    not ending on a joining word; a single over-long word is cut as a last resort."""
    if len(text) <= limit:
        return text
    words: list[str] = []
    for word in text.split(" "):
        if len(" ".join([*words, word])) > limit:
            break
        words.append(word)
    while words and words[-1].casefold().strip(",;") in _DANGLING:
        words.pop()
    return " ".join(words).rstrip(",;") if words else text[:limit]


def _sheet_name(text: str, used: set[str]) -> str:
    """A valid, unique sheet name: letters, digits and underscores (sheet_title), at
    most 31 characters cut between words; a repeat gets '_2'."""
    base = " ".join(_NOT_NAME_CHARACTERS.sub(" ", text).split())
    name = sheet_title(_shorten(base, 31)) or "Sheet"
    n = 2
    while name.casefold() in used:
        suffix = f"_{n}"
        name = (sheet_title(_shorten(base, 31 - len(suffix))) or "Sheet") + suffix
        n += 1
    used.add(name.casefold())
    return name


def _table_name(text: str) -> str:
    name = re.sub(r"[^A-Za-z0-9_]", "_", text).strip("_")
    return name if name[:1].isalpha() else f"T_{name}"


_DATASET_SOURCES = {
    "deaths": "death registrations", "register": "palliative care registers (EPaCCS)",
    "activity": "hospital, A&E and community activity", "population": "resident population "
    "estimates", "areas": "the Index of Multiple Deprivation by LSOA",
    "projections": "population projections",
}


def _cover_facts(pack: _Pack) -> list[tuple[str, str]]:
    """The cover's facts, as the spreadsheet guidance lists them."""
    bundle, config = pack.bundle, pack.config
    manifest = bundle.manifest or {}
    datasets = sorted({str(e.get("dataset")) for e in manifest.get("inputs") or []
                       if e.get("dataset")} | set(manifest.get("data_coverage") or {}))
    # National values (the Fingertips download) are named below, not as local extracts.
    sources = [_DATASET_SOURCES.get(d, d.replace("_", " ")) for d in datasets
               if d != "benchmarks"]
    source = ("Local extracts held by the ICB: " + "; ".join(sources) if sources else
              "Local extracts held by the ICB (see the Metadata sheet)")
    england_sources = sorted({b.source for b in bundle.england().values()})
    if england_sources:
        source += ". England values: " + "; ".join(england_sources)
    # Reporting periods as _headline_period finds them: months carry only the total.
    earlier = sorted({p for p in pack.frame.filter(pl.col("breakdown") != "all")["period"]
                      .unique().to_list() if p and not p.isdigit()} - {bundle.headline_period})
    covered = (f"{bundle.headline_period}, the latest period; earlier periods "
               f"({', '.join(earlier)}) and the monthly series are on the Indicator_data sheet"
               if earlier else bundle.headline_period)
    next_update = config.next_update or (
        "Not scheduled: the pack is refreshed whenever the assessment is run again "
        "(each month when run by `eolneeds run`).")
    area = pack.area_label + ("" if pack.place is None else
                              f" (Place code {pack.main.code}; the ICB is the comparator)")
    return [
        ("Area", area),
        ("Places", "; ".join(a.name for a in pack.areas if a.area_type == "place")),
        ("Source", source),
        ("Period covered", f"{covered}. Financial years run April to March."),
        ("Published", bundle.generated_at.strftime("%d %B %Y")),
        ("Next update", next_update),
        ("Contact", config.contact),
        ("Produced with", f"eolneeds {bundle.software_version}"),
    ]


def _cover(wb: Workbook, pack: _Pack) -> None:
    """Cover sheet: no table, text in column A only (a heading style on each heading,
    so a screen reader can move between them)."""
    ws = wb.active
    ws.title = "Cover"
    ws.column_dimensions["A"].width = 100
    title = f"Palliative and end-of-life care needs assessment: {pack.area_label}"
    _put(ws, 1, 1, title, style="Headline 1")
    # Wrapped within column A, so the title prints on the page rather than off its edge.
    ws["A1"].alignment = Alignment(wrap_text=True, vertical="top")
    lines = math.ceil(len(title) * _TITLE_SIZE * _TEXT_EM / _column_points(100))
    if lines > 1:
        ws.row_dimensions[1].height = lines * _TITLE_SIZE * 1.3 + 2
    _cover_paragraph(ws, 2, "This workbook is the population needs assessment for palliative "
                            "and end-of-life care"
                     + (" for the ICB, with every Place side by side."
                        if pack.place is None else
                        f" for {pack.main.name}, with the ICB beside it as comparator."))
    row = 3
    for head, text in _cover_facts(pack):
        _cover_paragraph(ws, row, f"{head}: {text}")
        row += 1
    shorthand = [f"{mark.text} {mark.meaning}" for mark in MARKS] + [
        " ".join(LOW_RELIABILITY),
        "[note N] see that note on the Notes sheet",
        "Higher (worse), Lower (better), Similar, Higher (not judged): how a Place compares "
        "with the ICB at 95% confidence; the cell colour repeats the words, it never "
        "carries meaning alone",
    ]
    sections: list[tuple[str, list[str]]] = [
        ("About this workbook", [
            "It shows the need for palliative and end-of-life care among residents who "
            "died, where they died, whether they were identified before death, how much "
            "unplanned hospital care they had, and who is missing out by deprivation."]),
        ("How to use it", [
            "Start with the Key_findings sheet: the findings in words, each linking to "
            "the sheet with its figures. The Contents sheet links to every sheet. Each "
            "sheet holds one table, starting below its title and notes in column A (filter "
            "buttons only on the Indicator_data table); any chart is to the right "
            "of its table. Definitions and methods are on the Notes sheet and cited as "
            "[note N]; sources, files and software versions are on the Metadata sheet."]),
        ("Shorthand used in the tables", shorthand),
        ("Small numbers", [pack.suppression_rule, pack.suppression_count]),
        ("Data protection", [
            "The workbook holds aggregate figures only: no record-level data and no "
            "identifiers."]),
    ]
    row += 1
    for heading, paragraphs in sections:
        _put(ws, row, 1, heading, style="Headline 2")
        row += 1
        for text in paragraphs:
            _cover_paragraph(ws, row, text)
            row += 1
    _put(ws, row, 1, Link("Go to the Contents sheet", "Contents"))
    _page_setup(ws, None)


def _cover_paragraph(ws: Worksheet, row: int, text: str) -> None:
    _put(ws, row, 1, text, style="eol_wrap")
    height = _text_height(text, ws.column_dimensions["A"].width or 100)
    if height:
        ws.row_dimensions[row].height = height


def _contents_sheet(pack: _Pack, later: list[tuple[str, str]]) -> DataSheet:
    rows = [[Link(name, name), description] for name, description in later]
    return DataSheet(
        name="Contents", description="", title="Contents",
        lines=[("", "This worksheet contains one table: a link to every sheet and what it "
                    "holds."),
               ("Area", pack.area_label)],
        # Wide enough for the longest sheet name to print whole: a link cannot run on
        # over the description beside it (LibreOffice cut "DQ10 Areas and population"
        # at a width of 24). Names are up to 31 characters; 1.15 allows for capitals.
        columns=[Col("Sheet name", width=max(16, round(_longest(
                     name for name, _ in later) * 1.15 + 2))),
                 Col("Description", wrap=True, width=90)],
        rows=rows, table_name="Contents",
    )


def pack_notes(pack: _Pack) -> list[tuple[str, str, str]]:
    """The pack's notes as (key, topic, text), numbered in this order: [note 1] first.
    Tables cite them by key through _Pack.note."""
    config = pack.config
    summaries = {s.id: s for s in catalogue.load_summaries()}
    notes: list[tuple[str, str, str]] = [
        ("suppression", "Suppression (small numbers)",
         f"{pack.suppression_rule} {pack.suppression_count}"),
        ("periods", "Periods", "Financial years run from 1 April to 31 March. Deaths are "
                               "counted by date of death, for residents of the ICB's Places."),
        *((f"method:{topic}", topic, text) for topic, text in METHOD_NOTES),
        ("place_of_death", "Place of death",
         "From death-registration codes by the national (PHE 2019) classification, with "
         "one difference, the same for every area and period: deaths in religious "
         "establishments (about 0.1% of deaths) are counted with care homes, not in other "
         "places, so England's care-home value leaves them out and its other-places value "
         "includes them (about 0.1 percentage points). In other places they would be a "
         "small count that deaths in usual place of residence less home and care home "
         "give back, and protecting it would hide the care-home figure of most Places. "
         "Deaths in usual place of residence are home, care home and religious "
         "establishment (home plus care home as published here)"
         + (", excluding deaths from external causes (V01-Y89, U50.9), as the national "
            "indicator does ([methods] diupr_exclude_external_causes = true)."
            if config.methods.diupr_exclude_external_causes else
            "; deaths from external causes (V01-Y89, U50.9) are included, the default: "
            "the national indicator, and England's value, leave them out, and with that "
            "exclusion disclosure control would withhold most Place deprivation "
            "gradients.")),
        ("emergency", "Emergency admissions",
         "Admission methods counted as emergency: "
         + ", ".join(config.methods.emergency_admission_methods)
         + ". Admissions count when they start within the 90 days ending on the date of "
           "death, inclusive."),
        ("bed_days", "Bed days",
         "Each stay is clipped to the 90-day window; "
         + ("days are counted inclusively (a day case counts 1)."
            if config.methods.bed_days == "inclusive_days" else
            "nights are counted (a day case counts 0).")),
        ("need", "Palliative care need",
         "Estimated from the underlying cause of death with the list of Etkind et al. 2017 "
         "(BMC Medicine 15:102): cancer, organ failure, stroke, dementia and frailty, "
         "neurodegenerative disease and HIV (the last two published as one group: "
         "HIV deaths are too few to publish alone)."),
        ("projections", "Projections",
         "Today's age- and sex-specific death rates applied to the projected population "
         "give projected deaths; today's share of deaths with palliative care need applied "
         "to those gives projected need. They assume today's rates continue: read them as "
         "a scale of change, not a forecast. "
         + projection_year_basis(pack.bundle.headline_period)),
    ]
    for key in ("sii_rii", "disclosure", "categories", "data_quality", "spc"):
        if key in summaries:
            # The packs show a hidden value as [c], the report and CSV as '*'.
            text = summaries[key].definition.replace("shown as *",
                                                     f"shown as {CONFIDENTIAL.text}")
            notes.append((key, summaries[key].name, text))
    england = pack.bundle.england()
    if england:
        sources = sorted({b.source for b in england.values()})
        notes.append(("england", "England values", "England values beside the ICB, each with "
                                                   "its period in the England period column. "
                                                   "Source: " + "; ".join(sources) + "."))
    present = set(pack.frame["indicator_id"].unique().to_list())
    for ind_id in sorted(pack.order, key=lambda i: pack.order[i]):
        entry = pack.catalogue.get(ind_id)
        if ind_id not in present:
            continue  # no table has a row of it to cite its note
        if entry is None:
            notes.append((f"indicator:{ind_id}", f"{pack.name_of(ind_id)} ({ind_id})",
                          _uncatalogued_note(pack, ind_id)))
            continue
        breakdowns = ", ".join(label(b, BREAKDOWN_LABELS) for b in entry.breakdowns)
        text = (f"{entry.definition} Numerator: {entry.numerator}. Denominator: "
                f"{entry.denominator}. Unit: {entry.unit}. Method: {entry.method}. "
                f"Breakdowns: {breakdowns or 'none'}. "
                f"{POLARITY_LABELS.get(entry.polarity, 'No judgement')}.")
        notes.append((f"indicator:{ind_id}", f"{entry.name} ({entry.id})", text))
    return notes


def _uncatalogued_note(pack: _Pack, ind_id: str) -> str:
    """The note of a row not in the catalogue (a what-if scenario's measure, named in
    eolneeds.toml): what it is and, from the ICB's row, the assumptions it follows from.
    It said only 'See the Indicator data sheet.'"""
    rows = pack.frame.filter((pl.col("indicator_id") == ind_id)
                             & (pl.col("area_type") == "icb"))["note"].drop_nulls()
    text = "A modelled what-if figure, not an observation (the Scenarios sheet)."
    return f"{text} {note_text(rows[0])}" if rows.len() else text


def _notes_sheet(pack: _Pack) -> DataSheet:
    rows = [[pack.note(key), topic, text] for key, topic, text in pack.notes]
    return DataSheet(
        name="Notes", description="Definitions of every indicator, the methods and the "
                                   "suppression rule; tables cite them as [note N]",
        title="Notes: definitions and methods",
        lines=[("", "This worksheet contains one table of notes: methods first, then one "
                    "definition per indicator. Tables cite a note by its number, as "
                    "[note 1].")],
        columns=[Col("Note number", width=12), Col("Topic", width=40, wrap=True),
                 Col("Note text", wrap=True, width=100)],
        rows=rows, table_name="Notes",
    )


def _metadata_sheet(pack: _Pack) -> DataSheet:
    manifest = pack.bundle.manifest or {}
    rows: list[list[Any]] = []

    def add(section: str, item: str, value: Any, digest: str | None = None) -> None:
        rows.append([section, item, "" if value is None else str(value), digest or ""])

    add("Report", "Produced", pack.bundle.generated_at.isoformat(timespec="seconds"))
    add("Report", "Headline period", pack.bundle.headline_period)
    add("Report", "Area", pack.area_label)
    software = manifest.get("software") or {}
    add("Software", "eolneeds", pack.bundle.software_version)
    for name in sorted(software):
        if name != "eolneeds":
            add("Software", name, software[name])
    project = manifest.get("project") or {}
    add("Project", "ICB", f"{pack.config.icb_name} ({pack.config.icb_code})")
    add("Project", "LSOA vintage", project.get("lsoa_vintage", pack.config.lsoa_vintage))
    if project.get("config_file"):
        add("Project", "Configuration file", project["config_file"], project.get("config_sha256"))
    add("Disclosure control", "Rule", pack.suppression_rule)
    for dataset, span in sorted((manifest.get("data_coverage") or {}).items()):
        span = span or {}
        add("Extract dates", dataset, f"{span.get('first') or '?'} to {span.get('last') or '?'}")
    for entry in manifest.get("inputs") or []:
        read = entry.get("rows_read")
        detail = (f"{entry.get('dataset')}: {_count(read)} {plural(read, 'row')} read, "
                  f"{_count(entry.get('rows_loaded'))} loaded, "
                  f"{_count(entry.get('rows_rejected'))} quarantined; "
                  f"mapping {entry.get('mapping')}; ingested {entry.get('ingested_at')}")
        add("Input file", entry.get("file_name") or "", detail, entry.get("content_hash"))
    for name, digest in sorted((manifest.get("queries") or {}).items()):
        add("Query", name, "SQL that counted the numerators and denominators", digest)
    methods = manifest.get("methods") or {}
    for key in sorted(methods):
        value = methods[key]
        add("Methods", key, ", ".join(value) if isinstance(value, list) else value)
    return DataSheet(
        name="Metadata", description="Sources, input files and their hashes, extract dates, "
                                      "the suppression rule and software versions",
        title="Metadata: sources and provenance",
        lines=[("", "This worksheet contains one table. SHA-256 hashes identify the exact "
                    "input files and queries behind these figures.")],
        columns=[Col("Section"), Col("Item"), Col("Value", wrap=True, width=70),
                 Col("SHA-256", width=66, blank=NOT_APPLICABLE)],
        rows=rows, table_name="Metadata",
    )


def _count(value: Any) -> str:
    return f"{value:,}" if isinstance(value, int) else str(value)


# ---------------------------------------------------------------------------------------
# Saving: openpyxl's writer, with the worksheet rows written as text


def _escape_text(text: str) -> str:
    # As xml.etree escapes element text (openpyxl's writer without lxml).
    if "&" in text:
        text = text.replace("&", "&amp;")
    if "<" in text:
        text = text.replace("<", "&lt;")
    if ">" in text:
        text = text.replace(">", "&gt;")
    return text


def _escape_attribute(text: str) -> str:
    text = _escape_text(text)
    for char, entity in (('"', "&quot;"), ("\r", "&#13;"), ("\n", "&#10;"), ("\t", "&#09;")):
        if char in text:
            text = text.replace(char, entity)
    return text


class _ElementCollector:
    """Stands in for openpyxl's xml stream to capture one cell it writes itself."""

    def __init__(self) -> None:
        self.parts: list[str] = []

    def write(self, element: Any) -> None:
        self.parts.append(tostring(element, encoding="unicode"))


@dataclass
class _StreamedRows:
    """A table body kept as values and formatted straight into the file when the
    workbook is saved, instead of becoming hundreds of thousands of Cell objects first.

    Each value is stored exactly as `_CellMaker.fill` would store it (same style, value
    and data type), so the saved file is the same as if the cells had been made;
    `_materialise` makes them for any writer but this module's."""

    first_row: int
    plan: list[tuple[str | None, str]]  # each column's (number format, style)
    rows: Sequence[Sequence[Any]]
    keys: Sequence[Any] = ()  # with cache: each row's key in it
    cache: _RowCache | None = None

    @property
    def last_row(self) -> int:
        return self.first_row + len(self.rows) - 1


_STREAMED: WeakKeyDictionary[Worksheet, _StreamedRows] = WeakKeyDictionary()


def _materialise(ws: Worksheet) -> None:
    """Turn a streamed table body into ordinary cells."""
    block = _STREAMED.pop(ws, None)
    if block is not None:
        _maker(ws).fill(ws, block.first_row, block.plan, block.rows)


class _RowsWriter(WorksheetWriter):
    """openpyxl's worksheet writer, except that <sheetData> is formatted as text.

    Without lxml, openpyxl builds and serialises an ElementTree element for every cell
    (tens of microseconds each); the ICB pack has over 300,000 cells. Numbers, text,
    dates and styled blanks -- every cell this module writes -- are formatted here
    exactly as openpyxl's own cell writer would write them (same attributes, same
    escaping); any other kind of cell (formulas, rich text, booleans, errors) is handed
    to openpyxl's writer. tests/test_report_excel.py compares the two."""

    def __init__(self, ws: Worksheet, out: IO[bytes] | None = None) -> None:
        super().__init__(ws, out)
        self._style_attrs: dict[bytes, str] = {}  # style array -> ' s="id"' ("" if none)
        self._template_attrs: dict[int, str] = {}  # id(template) -> ' s="id"'
        self._letters: dict[int, str] = {}
        self._inline_strings: dict[str, str] = {}  # text -> its <is> element
        self._serials: dict[Any, float] = {}  # date -> Excel serial number
        self._texts: dict[str, str] = {}  # cleaned text of the streamed block, as in fill
        self._fragments: dict[tuple[int, str], str] = {}  # (column, text) -> cell XML
        self._number_attrs: dict[str, str] = {}  # number format -> ' s="id"' of its style
        self._block = _STREAMED.get(ws)
        if self._block is not None and (LXML or any(
                self._block.first_row <= row <= self._block.last_row for row, _ in ws._cells)):
            _materialise(ws)  # lxml's writer, or cells written over the block: plain path
            self._block = None
        self._maker = _maker(ws)
        # Per column of the block: (letter, index, number format, style, text style).
        self._columns = [] if self._block is None else [
            (get_column_letter(index), index, number_format, style,
             self._maker.template(style))
            for index, (number_format, style) in enumerate(self._block.plan, start=1)]

    def write_dimensions(self) -> None:
        block = self._block
        if block is None:
            super().write_dimensions()
            return
        # openpyxl's calculate_dimension, over the cells and the streamed block.
        rows = {row for row, _ in self.ws._cells} | {block.first_row, block.last_row}
        columns = {column for _, column in self.ws._cells} | {1, len(block.plan)}
        ref = (f"{get_column_letter(min(columns))}{min(rows)}:"
               f"{get_column_letter(max(columns))}{max(rows)}")
        self.xf.send(SheetDimension(ref).to_tree())

    def write_breaks(self) -> None:
        """The page breaks, then (next in the schema's order) <ignoredErrors>: codes and
        labels that read as numbers are text on purpose ('1' the most deprived quintile,
        '2030' a projection year beside '2025-26', '2021' an LSOA vintage), and Excel
        would flag each in a table with a green triangle offering to make it a number
        (which would break the Group and Period columns). Every figure is stored as a
        number; openpyxl writes no <ignoredErrors> of its own."""
        super().write_breaks()
        bodies = []
        for table in self.ws.tables.values():
            first_col, first_row, last_col, last_row = range_boundaries(table.ref)
            if last_row > first_row:
                bodies.append(f"{get_column_letter(first_col)}{first_row + 1}:"
                              f"{get_column_letter(last_col)}{last_row}")
        if bodies:
            ignored = Element("ignoredErrors")
            SubElement(ignored, "ignoredError", sqref=" ".join(bodies),
                       numberStoredAsText="1")
            self.xf.send(ignored)

    def write_rows(self) -> None:
        if LXML:  # lxml's stream takes no raw text; openpyxl is quick with lxml anyway
            super().write_rows()
            return
        xf = self.xf.send(True)
        raw = getattr(xf, "_file", None)
        if not callable(raw):  # a different et_xmlfile: the ordinary, slower path
            _materialise(self.ws)
            self._block = None
        with xf.element("sheetData"):
            if callable(raw):
                for chunk in self._rows_xml():
                    raw(chunk)
            else:
                for row_idx, cells in self.rows():
                    self.write_row(xf, cells, row_idx)
        self.xf.send(None)

    def _rows_xml(self) -> Iterable[str]:
        """The <row> elements in row and column order, as openpyxl's rows() gives them:
        every cell, plus empty rows that carry only a height."""
        ws = self.ws
        cells = ws._cells
        by_row: dict[int, list[tuple[int, int]]] = {}
        for key in sorted(cells):
            by_row.setdefault(key[0], []).append(key)
        row_numbers = set(by_row) | set(ws.row_dimensions.keys())
        block = self._block
        whole_block = self._block_xml()
        first, last = (block.first_row, block.last_row) if block is not None else (0, -1)
        if whole_block is not None:  # written in one go where the block starts
            row_numbers.add(first)
        else:
            row_numbers.update(range(first, last + 1))
        out: list[str] = []
        for row_idx in sorted(row_numbers):
            if whole_block is not None and row_idx == first:
                yield "".join(out)
                out.clear()
                yield from whole_block
                continue
            out.append(self._row_start(row_idx))
            if first <= row_idx <= last:
                assert block is not None
                self._block_row_xml(out, row_idx, block.rows[row_idx - first])
            else:
                for key in by_row.get(row_idx, ()):
                    self._cell_xml(out, cells[key], row_idx)
            out.append("</row>")
            if len(out) > 50_000:
                yield "".join(out)
                out.clear()
        yield "".join(out)

    def _row_start(self, row_idx: int) -> str:
        if row_idx not in self.ws.row_dimensions:
            return f'<row r="{row_idx}">'
        attrs = {"r": f"{row_idx}"}
        attrs.update(self.ws.row_dimensions.get(row_idx, {}))
        return "<row" + "".join(f' {k}="{_escape_attribute(v)}"' for k, v in attrs.items()) + ">"

    def _block_xml(self) -> Iterator[str] | None:
        """The streamed block's rows as XML chunks, from the bundle's column-wise cells
        (_DataColumns) when the block has them; else None (then row by row)."""
        block = self._block
        if block is None or block.cache is None or not self._cache_usable:
            return None
        wb = self.ws.parent
        if wb.iso_dates or any(number_format is not None for number_format, _ in block.plan):
            return None
        dimensions = self.ws.row_dimensions
        if any(block.first_row <= row <= block.last_row for row in dimensions):
            return None  # a row with a height: row by row, as _row_start writes it
        columns = self._columns
        template = self._maker.template
        try:
            xml = block.cache.shared.columns.row_xml(
                lambda index, text: self._text_fragment(columns[index - 1][4], text),
                lambda style, number_format: self._template_attr(
                    template(style, number_format)),
                wb.epoch)
        except _Unsupported:
            return None
        return self._block_chunks(xml, block)

    @staticmethod
    def _block_chunks(xml: list[str], block: _StreamedRows) -> Iterator[str]:
        keys = block.keys
        step = 20_000  # rows per chunk: a chunk of England's rows stays a few MB
        for start in range(0, len(keys), step):
            rows = []
            for row_idx, key in enumerate(keys[start:start + step],
                                          start=block.first_row + start):
                number = str(row_idx)
                rows.append(f'<row r="{number}">{xml[key].replace(ROW_MARK, number)}</row>')
            yield "".join(rows)

    @functools.cached_property
    def _cache_usable(self) -> bool:
        """The cached XML names styles by number: use it only where this workbook
        numbers its first styles as the workbook that wrote it did."""
        block = self._block
        if block is None or block.cache is None:
            return False
        styles = tuple(style.tobytes() for style in self.ws.parent._cell_styles)
        if block.cache.styles is None:
            block.cache.styles = styles[:len(_FIXED_STYLES) + 1]
        return styles[:len(block.cache.styles)] == block.cache.styles

    def _block_row_xml(self, out: list[str], row_idx: int, values: Sequence[Any]) -> None:
        """One streamed row: the cells `_CellMaker.fill` would have made, formatted.

        Text, numbers, blanks, dates and shorthand marks are formatted here; each style
        is numbered when first met, in the same order as openpyxl numbers cells' styles."""
        fragments = self._fragments
        number_attrs = self._number_attrs
        attr = self._template_attr
        template = self._maker.template
        for (letter, index, number_format, style, text_style), value in zip(
                self._columns, values, strict=True):
            kind = type(value)
            if kind is bool:  # as content() has it: Yes / No text
                value, kind = "Yes" if value else "No", str
            if kind is str:
                key = (index, value)
                fragment = fragments.get(key)
                if fragment is None:
                    fragment = fragments[key] = self._text_fragment(text_style, value)
                out.append(f'<c r="{letter}{row_idx}"{fragment}')
            elif kind is Num and value.value is not None and isfinite(value.value):
                style_attr = number_attrs.get(value.number_format)
                if style_attr is None:
                    style_attr = number_attrs[value.number_format] = attr(
                        template("eol_number", value.number_format))
                out.append(f'<c r="{letter}{row_idx}"{style_attr} t="n">'
                           f"<v>{float(value.value):.16g}</v></c>")
            elif kind is float and isfinite(value):
                fmt = number_format or theme.NUMBER_FORMATS["rate"]
                style_attr = attr(template("eol_number", fmt))
                out.append(f'<c r="{letter}{row_idx}"{style_attr} t="n">'
                           f"<v>{published(value, fmt):.16g}</v></c>")
            elif value is None:
                out.append(f'<c r="{letter}{row_idx}"{attr(text_style)} t="n" />')
            elif kind is Mark:
                out.append(f'<c r="{letter}{row_idx}"{attr(template("eol_number"))} '
                           f't="inlineStr"><is><t>{value.text}</t></is></c>')
            elif kind is date and not self.ws.parent.iso_dates:
                serial = self._serials.get(value)
                if serial is None:
                    serial = self._serials[value] = to_excel(value, self.ws.parent.epoch)
                style_attr = attr(template("eol_number", theme.NUMBER_FORMATS["date"]))
                out.append(f'<c r="{letter}{row_idx}"{style_attr} t="n"><v>{serial:.16g}</v></c>')
            else:
                self._other_cell_xml(out, row_idx, index, value, number_format, style)

    def _other_cell_xml(self, out: list[str], row_idx: int, index: int, value: Any,
                        number_format: str | None, style: str) -> None:
        found = self._maker.content(value, number_format, style, self._texts)
        if found is not None:
            template, stored, data_type = found
            style_attr = self._template_attr(template)
            if stored is None and not style_attr:
                return
            if self._value_xml(out, index, row_idx, style_attr, data_type, stored):
                return
        # Anything unusual: make the real cell and write it the ordinary way.
        self._maker.put(self.ws, row_idx, index, value, number_format=number_format,
                        style=style)
        self._cell_xml(out, self.ws._cells[(row_idx, index)], row_idx)

    def _text_fragment(self, text_style: StyleArray, value: str) -> str:
        """A text cell after its r="..": style, type and inline string."""
        text = self._texts.get(value)
        if text is None:
            text = self._texts[value] = clean_text(value)
        style_attr = self._template_attr(text_style)
        if text == "":
            return f'{style_attr} t="inlineStr" />'
        return f'{style_attr} t="inlineStr">{self._inline_string(text)}</c>'

    def _template_attr(self, template: StyleArray) -> str:
        """' s="id"' for a style template, numbering it on first use as a cell would."""
        found = self._template_attrs.get(id(template))
        if found is None:
            found = self._template_attrs[id(template)] = (
                f' s="{self.ws.parent._cell_styles.add(template)}"' if any(template) else "")
        return found

    def _inline_string(self, text: str) -> str:
        inline = self._inline_strings.get(text)
        if inline is None:
            stripped = text.strip()
            space = ' xml:space="preserve"' if stripped and text != stripped else ""
            inline = self._inline_strings[text] = f"<is><t{space}>{_escape_text(text)}</t></is>"
        return inline

    def _cell_xml(self, out: list[str], cell: Cell, row_idx: int) -> None:
        ws = self.ws
        if cell._comment is not None:
            ws._comments.append(CommentRecord.from_cell(cell))
        value = cell._value
        style = cell._style
        if style is None:
            style_attr = ""
        else:
            key = style.tobytes()
            style_attr = self._style_attrs.get(key)  # type: ignore[assignment]
            if style_attr is None:
                style_attr = self._style_attrs[key] = (
                    f' s="{ws.parent._cell_styles.add(style)}"' if any(style) else "")
        if value is None and not style_attr and cell._comment is None:
            return
        if self._value_xml(out, cell.column, row_idx, style_attr, cell.data_type, value):
            if cell._hyperlink:
                ws._hyperlinks.append(cell._hyperlink)
            return
        collector = _ElementCollector()
        write_cell(collector, ws, cell, bool(style_attr))
        out.extend(collector.parts)

    def _value_xml(self, out: list[str], column: int, row_idx: int, style_attr: str,
                   kind: str, value: Any) -> bool:
        """Append one <c> as openpyxl writes it; False if it is not a simple kind."""
        if kind == "d" and isinstance(value, datetime | date):
            wb = self.ws.parent
            if wb.iso_dates:
                return False
            if getattr(value, "tzinfo", None) is not None:
                raise TypeError("Excel does not support timezones in datetimes.")
            serial = self._serials.get(value)
            if serial is None:
                serial = self._serials[value] = to_excel(value, wb.epoch)
            value, kind = serial, "n"
        value_type = type(value)
        if not (value is None and kind in ("s", "n")
                or (kind == "s" and value_type is str)
                or (kind == "n" and (value_type is float or value_type is int))):
            return False
        letter = self._letters.get(column)
        if letter is None:
            letter = self._letters[column] = get_column_letter(column)
        if value is None or value == "":
            kind_attr = "inlineStr" if kind == "s" else "n"
            out.append(f'<c r="{letter}{row_idx}"{style_attr} t="{kind_attr}" />')
        elif kind == "s":
            inline = self._inline_string(value)
            out.append(f'<c r="{letter}{row_idx}"{style_attr} t="inlineStr">{inline}</c>')
        else:
            # safe_string's format: up to 16 significant digits, blank if not finite.
            number = f"{value:.16g}" if value_type is int or isfinite(value) else ""
            out.append(f'<c r="{letter}{row_idx}"{style_attr} t="n"><v>{number}</v></c>')
        return True


class _DescribedDrawing(SpreadsheetDrawing):
    """openpyxl's drawing part, with each chart's alt text (`chart.alt_text`, set by
    _add_chart) as the description screen readers and Excel's Alt Text pane show:
    openpyxl 3.1 has no public way to set it on a chart."""

    # openpyxl's serialiser lists a class's own fields only: keep the parent's.
    __attrs__ = SpreadsheetDrawing.__attrs__
    __elements__ = SpreadsheetDrawing.__elements__
    __nested__ = SpreadsheetDrawing.__nested__

    def _chart_frame(self, idx: int) -> Any:
        frame = super()._chart_frame(idx)
        chart = self.charts[idx - 1]  # charts are numbered first, from 1
        alt_text = getattr(chart, "alt_text", None)
        if alt_text:
            properties = frame.nvGraphicFramePr.cNvPr
            properties.descr = clean_text(alt_text)
            properties.title = clean_text(getattr(chart, "alt_title", "") or "") or None
        return frame


class _PackExcelWriter(ExcelWriter):
    """openpyxl's ExcelWriter with the faster rows and charts' alt text (everything else
    is openpyxl's)."""

    def write_worksheet(self, ws: Worksheet) -> None:
        ws._drawing = _DescribedDrawing()
        ws._drawing.charts = ws._charts
        ws._drawing.images = ws._images
        # Straight into the zip entry rather than openpyxl's temporary file (written,
        # read back and deleted) or memory: an England-scale Indicator data sheet is most
        # of a gigabyte of XML, which held in memory and copied out doubled the peak.
        block = _STREAMED.get(ws)
        big = block is not None and len(block.rows) > 500_000  # may pass zip's 2 GiB
        with self._archive.open(ws.path[1:], "w", force_zip64=big) as entry:
            writer = _RowsWriter(ws, entry)
            try:
                writer.write()
            finally:
                writer.close()  # also on failure: else the half-written stream closes at exit
        ws._rels = writer._rels
        self.manifest.append(ws)


def save_workbook(wb: Workbook, path: Path) -> None:
    """Save as openpyxl's Workbook.save does, with the faster worksheet rows."""
    if wb.read_only or wb.write_only:  # never built here; openpyxl knows those modes
        wb.save(path)
        return
    # Compression level 1: a third of level 6's time for files about a fifth larger.
    with ZipFile(path, "w", ZIP_DEFLATED, allowZip64=True, compresslevel=1) as archive:
        wb.properties.modified = datetime.now(tz=UTC).replace(tzinfo=None)
        _PackExcelWriter(wb, archive).save()


# ---------------------------------------------------------------------------------------
# Entry point


def _data_sheets(pack: _Pack) -> list[DataSheet]:
    sheets = [_summary_sheet(pack)]
    sheets += [_theme_sheet(pack, key, name, desc) for key, name, desc in THEMES]
    cost = _cost_sheet(pack)
    sheets += [cost] if cost is not None else []
    sheets += [_inequalities_sheet(pack), _projections_sheet(pack)]
    from eolneeds.practice_sheets import pcns_sheet, practices_sheet, scenarios_sheet

    sheets += [s for s in (practices_sheet(pack), pcns_sheet(pack), scenarios_sheet(pack))
               if s is not None]
    sheets += _data_quality_sheets(pack)
    sheets.append(_indicator_data_sheet(pack))
    # First of the data sheets: what a commissioner reads first, as in the report.
    findings = _key_findings_sheet(pack, {s.name for s in sheets})
    return ([findings] if findings is not None else []) + sheets


def pack_sheet_names(bundle: ReportBundle, place: str | None = None) -> list[str]:
    """The sheet names of a pack, in order (for callers and tests)."""
    pack = _Pack(bundle, place)
    return ["Cover", "Contents", "Notes", "Metadata"] + [s.name for s in _data_sheets(pack)]


def build_workbook(bundle: ReportBundle, *, place: str | None = None) -> Workbook:
    """The whole pack, in memory, every cell made (saves with openpyxl's own writer too)."""
    return _build(bundle, place, stream=False)


# (named style, number format) pairs numbered first, in this order, in every pack: the
# streamed rows' XML names styles by number, so packs that share it must agree.
_FIXED_STYLES: tuple[tuple[str, str | None], ...] = (
    ("eol_cell", None), ("eol_word", None), ("eol_wrap", None), ("eol_number", None),
    *(("eol_number", fmt) for fmt in dict.fromkeys(theme.NUMBER_FORMATS.values())),
)


def _build(bundle: ReportBundle, place: str | None, *, stream: bool,
           shared: _Shared | None = None) -> Workbook:
    """The pack; with `stream`, the Indicator data body stays as values until
    save_workbook writes it (a plain Workbook.save would leave it out)."""
    pack = _Pack(bundle, place, shared)
    wb = Workbook()
    _register_styles(wb)
    maker = _maker(wb.active)
    for style, number_format in _FIXED_STYLES:
        wb._cell_styles.add(maker.template(style, number_format))
    wb.properties.title = f"Palliative and end-of-life care needs assessment: {pack.area_label}"
    wb.properties.creator = f"eolneeds {bundle.software_version}"
    wb.properties.created = bundle.generated_at
    wb.properties.modified = bundle.generated_at
    wb.properties.language = "en-GB"
    # Document information, as the accessibility checklist asks: what, and about what.
    wb.properties.subject = ("Palliative and end-of-life care: deaths, place of death, "
                             "identification, hospital use and inequalities, "
                             f"{bundle.headline_period}")
    wb.properties.keywords = ("palliative care, end of life, needs assessment, place of "
                              "death, deprivation, ICB, Place")

    _cover(wb, pack)
    notes = _notes_sheet(pack)
    metadata = _metadata_sheet(pack)
    data = _data_sheets(pack)
    later = [(s.name, s.description) for s in (notes, metadata, *data)]
    for sheet in (_contents_sheet(pack, later), notes, metadata, *data):
        _write_data_sheet(wb, sheet, stream=stream)
    _print_headers(wb, wb.properties.title)
    return wb


def write_excel_pack(bundle: ReportBundle, path: Path, *, place: str | None = None,
                     shared: _Shared | None = None) -> None:
    """Write the ICB pack (place=None) or one Place's pack to `path`, atomically."""
    wb = _build(bundle, place, stream=True, shared=shared)
    with atomic_output(Path(path)) as tmp:
        save_workbook(wb, tmp)


def write_excel_packs(bundle: ReportBundle, targets: Iterable[tuple[Path, str | None]], *,
                      written: Callable[[Path], None] | None = None) -> None:
    """Write several packs of one bundle (the ICB's, each Place's), sharing the work
    they have in common: the rows every pack carries are built and formatted once."""
    shared = _Shared(bundle)
    for path, place in targets:
        write_excel_pack(bundle, path, place=place, shared=shared)
        if written is not None:
            written(Path(path))
