"""The Excel pack's look, defined once as data (the gptables habit).

report_excel registers these as workbook named styles and uses them by name, so a change
of font or colour happens here and nowhere else. Colours are chosen to be distinguishable
with the common colour-vision deficiencies (blue / orange rather than green / red), and
every coloured cell also carries its meaning in words.
"""

from __future__ import annotations

from dataclasses import dataclass

FONT_NAME = "Arial"
BODY_SIZE = 10
TEXT_COLOUR = "1F1F1F"
HEADING_COLOUR = "003087"  # NHS blue: strong contrast on white (AA at any size)
MUTED_COLOUR = "505A5F"
HEADER_FILL = "E8EDEE"  # NHS pale grey, behind table headers
LINK_COLOUR = "005EB8"

# Excel table style for every data table: banded rows, readable in print and on screen.
TABLE_STYLE = "TableStyleLight1"

# Number formats, one per kind of value (DESIGN.md: percentages are stored as 0-100
# numbers with a '0.0' format and a '%' unit column, consistently across the pack).
NUMBER_FORMATS: dict[str, str] = {
    "count": "#,##0",
    "rate": "#,##0.0",
    "percent": "0.0",
    "mean": "#,##0.0",
    "whole": "#,##0",
    "days": "#,##0.0",
    "money": "£#,##0",
    "index": "0.00",
    "integer": "0",
    "date": "yyyy-mm-dd",
}

# Indicator unit (bundle.INDICATOR_SCHEMA 'unit') -> number format kind.
UNIT_FORMAT: dict[str, str] = {
    "%": "percent",
    "per 100,000": "rate",
    "count": "count",
    "days": "days",
    "per person": "mean",
    "£": "money",
    "index": "index",
}


@dataclass(frozen=True)
class ComparisonFill:
    key: str
    label: str  # shown in the legend above each table
    fill: str  # background colour (hex RGB)
    font: str  # text colour on that background (contrast >= 4.5:1)
    description: str  # the colour in words, for the legend line above each table


# Comparison with the ICB: the words carry the judgement ('Higher (worse)', 'Similar',
# 'Lower (not judged)'); the fill repeats it as a second channel.
COMPARISON_FILLS: tuple[ComparisonFill, ...] = (
    ComparisonFill("better", "Better", "9ECAE1", "08306B", "is blue"),
    ComparisonFill("similar", "Similar", "F0F0F0", "1F1F1F", "is grey"),
    ComparisonFill("worse", "Worse", "FDAE6B", "7F2704", "is orange"),
    ComparisonFill("neutral", "Not judged", "DADAEB", "3F007D", "is lilac"),
)

# Chart series colours: the Okabe-Ito palette, safe for colour-blind readers.
SERIES_COLOURS: tuple[str, ...] = (
    "0072B2", "E69F00", "009E73", "CC79A7", "56B4E9", "D55E00", "F0E442", "000000",
)

# Column widths (characters): content decides, within these bounds.
MIN_COLUMN_WIDTH = 9
MAX_COLUMN_WIDTH = 60
WIDE_TEXT_WIDTH = 90  # note and definition text wraps at this width

# Printing (A4; see report_excel._page_setup). Text never prints smaller than
# PRINT_MIN_SCALE per cent of its size (6.5 pt for the 10 pt body): a table that fits the
# page width at that scale or larger is fitted to it; a wider one prints at that scale
# across several pages, its key columns and header row repeated on each.
PRINT_MIN_SCALE = 65
PRINT_MARGINS_INCHES = {"left": 0.4, "right": 0.4, "top": 0.7, "bottom": 0.7,
                        "header": 0.3, "footer": 0.3}
# A figure stands off the right edge of its cell by a space the width of a digit, so it
# never prints flush against the text of the column to its right ("28.3" beside "2023,
# not 2025-26"). It is part of the number format ('_0': a space as wide as "0"), which
# Excel and LibreOffice both honour; LibreOffice ignored the alignment indent used before
# in some rows (the figures of one column printed ragged, some touching their neighbour).
# Text in a figure's cell ([c], [x], [z]) gets the same space through the text format.
NUMBER_PADDING = "_0"
NUMBER_PAD_WIDTH = 1  # characters added to a figure column's width for it


def padded(number_format: str | None) -> str:
    """The format a figure's cell carries: `number_format` (text: '@') with the padding
    after every section ('0.0' -> '0.0_0'; 'General' has no place for it in LibreOffice,
    so a cell with no format takes the text format, which is what its marks are)."""
    if number_format is None or number_format == "General":
        return "@" + NUMBER_PADDING
    return ";".join(section + NUMBER_PADDING for section in number_format.split(";"))
