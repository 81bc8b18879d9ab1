"""The Excel packs against the rest of "Releasing statistics in spreadsheets" and its
accessibility checklist ("Making spreadsheets accessible: a brief checklist of the
basics"): the points tests/test_excel_standard.py does not cover, one test per point,
each on packs written by the public entry point and opened again.

Each test would have caught a gap found by opening the packs (the audit of session 9):
a count of deaths shown in pounds, data-quality counts stored as text, a population
shown with a decimal place, sheet names with spaces, no subject or keywords.
"""

from __future__ import annotations

import dataclasses
import math
import re
import sys
import zipfile
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest
from openpyxl import load_workbook
from openpyxl.utils import get_column_letter, range_boundaries

from eolneeds import report_excel
from eolneeds.bundle import DataQualityTable

sys.path.insert(0, str(Path(__file__).parent))
from report_fixtures import make_bundle  # noqa: E402

NUMBER_AS_TEXT = re.compile(r"^-?£?\d[\d,]*(\.\d+)?%?$")


def _with_duckdb_numbers(bundle):
    """Data-quality tables as DuckDB hands them over: sum() of integers is a 128-bit
    integer (a polars Decimal), a population summed from a DOUBLE column a float."""
    bundle.data_quality = [*bundle.data_quality, DataQualityTable(
        key="areas_by_place", title="Areas and population by Place",
        description="LSOAs and latest-year population per Place.",
        frame=pl.DataFrame({
            "place": ["E06000001", "E06000002"],
            "lsoas": [96, 75],
            "lsoa_vintage": ["2021", "2021"],
            "extra_rows": pl.Series([Decimal(3720), Decimal(0)], dtype=pl.Decimal(38, 0)),
            "population": [157142.0, 118520.0],
            "percent": [99.5, 100.0],
            # validate gives a file's load time as text, to the microsecond
            "loaded_at": ["2026-12-01 22:33:28.383415", "2026-12-01 22:35:02.1"],
        }))]
    return bundle


def _with_cost_denominators(bundle):
    """The cost rows as assess writes them: the deaths the cost is shared over as the
    denominator (the fixture leaves it empty)."""
    cost = pl.col("indicator_id") == "hospital_cost_last90"
    bundle.indicators = bundle.indicators.with_columns(
        pl.when(cost & pl.col("value").is_not_null())
        .then((pl.col("value") / 2350.0).round(0)).otherwise(pl.col("denominator"))
        .alias("denominator"))
    return bundle


UNRELIABLE = "unreliable: fewer than 20 events"


def _with_unreliable_rates(bundle):
    """A Place's crude death rate for women and for deprivation quintile 2 flagged as
    disclosure control flags a rate on fewer than 20 events (value still shown)."""
    place = bundle.places[0]
    hit = ((pl.col("indicator_id") == "crude_death_rate") & (pl.col("area_code") == place)
           & (pl.col("period") == "2024-25")
           & (((pl.col("breakdown") == "sex") & (pl.col("breakdown_value") == "female"))
              | ((pl.col("breakdown") == "imd_quintile")
                 & (pl.col("breakdown_value") == "2"))))
    assert bundle.indicators.filter(hit & pl.col("value").is_not_null()).height == 2
    bundle.indicators = bundle.indicators.with_columns(
        pl.when(hit).then(pl.lit(UNRELIABLE)).otherwise(pl.col("note")).alias("note"))
    return bundle


@pytest.fixture(scope="module")
def bundle():
    built = _with_unreliable_rates(_with_cost_denominators(_with_duckdb_numbers(
        make_bundle())))
    built.config = dataclasses.replace(built.config, next_update="1 June 2025 (monthly)")
    return built


@pytest.fixture(scope="module")
def packs(tmp_path_factory, bundle):
    out = tmp_path_factory.mktemp("audit")
    paths = {}
    for place in (None, bundle.places[0]):  # the ICB pack and a Place pack
        paths[place] = out / f"pack-{place or 'icb'}.xlsx"
        report_excel.write_excel_pack(bundle, paths[place], place=place)
    return paths


@pytest.fixture(scope="module")
def books(packs):
    return {place: load_workbook(path) for place, path in packs.items()}


def _table(ws):
    (_, ref), = ws.tables.items()
    min_col, min_row, max_col, max_row = range_boundaries(ref)
    headers = [ws.cell(min_row, c).value for c in range(min_col, max_col + 1)]
    rows = [[ws.cell(r, c) for c in range(min_col, max_col + 1)]
            for r in range(min_row + 1, max_row + 1)]
    return headers, rows


def _sheet(wb, prefix: str):
    return next(ws for ws in wb.worksheets if ws.title.startswith(prefix))


# ---------------------------------------------------------------------------------------
# Numbers stored as numbers, with a number format that fits what they count


def test_numbers_in_tables_are_stored_as_numbers_not_text(books):
    """'Store numbers as numbers': no cell inside a table is a number written as text
    (labels that are codes, such as a deprivation quintile '1' or an LSOA vintage
    '2021', excepted by column)."""
    code_columns = {"Group", "Breakdown value", "LSOA vintage", "Place", "Period",
                    "Area code", "First date", "Last date", "File name", "Value"}
    for wb in books.values():
        for ws in wb.worksheets:
            if not ws.tables or ws.title in ("Metadata",):
                continue
            headers, rows = _table(ws)
            for row in rows:
                for header, cell in zip(headers, row, strict=True):
                    if header in code_columns or not isinstance(cell.value, str):
                        continue
                    assert not NUMBER_AS_TEXT.match(cell.value.strip()), \
                        (ws.title, cell.coordinate, header, cell.value)


def test_data_quality_counts_from_duckdb_are_whole_numbers(books):
    ws = _sheet(books[None], "DQ5")
    headers, rows = _table(ws)
    assert headers == ["Place", "LSOAs", "LSOA vintage", "Extra rows", "Population",
                       "Percent", "Loaded at"]
    extra, population, percent = rows[0][3], rows[0][4], rows[0][5]
    assert extra.value == 3720 and isinstance(extra.value, int)
    assert extra.number_format == "#,##0_0"
    # A population is a count of people: no decimal place.
    assert population.value == 157142 and population.number_format == "#,##0_0"
    assert percent.value == 99.5 and percent.number_format == "0.0_0"
    # A time is stored as a date-time, shown to the minute.
    loaded = rows[0][6]
    assert loaded.value == datetime(2026, 12, 1, 22, 33)
    assert loaded.number_format == "yyyy-mm-dd hh:mm_0"  # padded like every figure


def test_a_count_of_people_is_never_formatted_as_money(books):
    """The cost sheet's deaths and the cost indicator's denominator are people."""
    for wb in books.values():
        ws = wb[report_excel.sheet_title("Cost per death")]
        headers, rows = _table(ws)
        deaths = headers.index("Deaths (people)")
        cost = headers.index("Cost per death (£)")
        assert rows
        for row in rows:
            if isinstance(row[deaths].value, int | float):
                assert "£" not in row[deaths].number_format, row[deaths].number_format
            if isinstance(row[cost].value, int | float):
                assert "£" in row[cost].number_format
        data = wb[report_excel.sheet_title("Indicator data")]
        headers, rows = _table(data)
        ind, den, num = (headers.index(h) for h in ("Indicator ID", "Denominator",
                                                     "Numerator"))
        checked = 0
        for row in rows:
            if row[ind].value == "hospital_cost_last90" and isinstance(row[den].value, int | float):
                assert "£" not in row[den].number_format
                if isinstance(row[num].value, int | float):
                    assert "£" in row[num].number_format
                checked += 1
        assert checked


# ---------------------------------------------------------------------------------------
# Structure: sheet names, hidden rows and columns, fonts, cursor, document information


def test_sheet_names_have_no_spaces_or_special_characters(books):
    """'Worksheet names ... no spaces or special characters': letters, digits and
    underscores, unique, starting with a letter, and still meaningful words."""
    for wb in books.values():
        for name in wb.sheetnames:
            assert re.fullmatch(r"[A-Za-z][A-Za-z0-9_]{0,30}", name), name
        assert len({n.casefold() for n in wb.sheetnames}) == len(wb.sheetnames)
        assert {"Cover", "Contents", "Notes", "Summary", "Place_of_death",
                "Indicator_data"} <= set(wb.sheetnames)


def test_sheet_title_known_answers():
    used: set[str] = set()
    assert report_excel.sheet_title("Place of death") == "Place_of_death"
    assert report_excel.sheet_title("DQ9 GP practices and PCNs") == "DQ9_GP_practices_and_PCNs"
    # Punctuation goes; the words stay, cut between words within 31 characters and
    # never on a joining word ('..._by').
    long = "Deaths by cause (ICD-10) & by deprivation quintile"
    name = report_excel._sheet_name(long, used)
    assert name == "Deaths_by_cause_ICD_10"
    again = report_excel._sheet_name(long, used)
    assert again == "Deaths_by_cause_ICD_10_2"


def test_no_hidden_rows_or_columns(books):
    for wb in books.values():
        for ws in wb.worksheets:
            assert ws.sheet_state == "visible", ws.title
            assert not [r for r, d in ws.row_dimensions.items() if d.hidden], ws.title
            assert not [c for c, d in ws.column_dimensions.items() if d.hidden], ws.title


def test_fonts_are_one_sans_serif_family_at_a_readable_size(books):
    """Accessible fonts: a sans-serif family, body text at 10 pt or more."""
    for wb in books.values():
        for ws in wb.worksheets:
            for row in ws.iter_rows():
                for cell in row:
                    if cell.value is None:
                        continue
                    assert cell.font.name == "Arial", (ws.title, cell.coordinate)
                    assert cell.font.sz >= 10, (ws.title, cell.coordinate)
                    assert not cell.font.vertAlign, (ws.title, cell.coordinate)  # no superscript


def test_workbook_opens_on_the_cover_with_the_cursor_in_a1(books):
    """'Ensure the cursor is in cell A1 of the first worksheet when doing your final save'."""
    for wb in books.values():
        assert wb.active.title == "Cover" and wb.index(wb.active) == 0
        for ws in wb.worksheets:
            selection = ws.sheet_view.selection
            active = selection[0].activeCell if selection else "A1"
            assert active in (None, "A1"), (ws.title, active)
            # No other sheet selected with it (grouped sheets: an edit goes to all).
            assert not ws.sheet_view.tabSelected or ws.title == "Cover", ws.title


def test_document_information_is_filled_in(books, bundle):
    """'Add document information': title, subject, keywords, author and language."""
    for place, wb in books.items():
        props = wb.properties
        assert props.title.startswith("Palliative and end-of-life care needs assessment")
        if place is not None:
            assert bundle.config.place_name(place) in props.title
        assert props.subject and bundle.headline_period in props.subject
        assert props.keywords and "palliative care" in props.keywords
        assert props.creator.startswith("eolneeds")
        assert props.language == "en-GB"


def test_contents_links_say_where_they_go(books):
    """Descriptive hyperlink text: each link's text is the sheet it opens, never 'click
    here', and the description beside it says what the sheet holds."""
    for wb in books.values():
        headers, rows = _table(wb["Contents"])
        for link_cell, description in rows:
            assert link_cell.hyperlink is not None
            assert link_cell.value == link_cell.hyperlink.location.split("!")[0].strip("'")
            assert link_cell.value.lower() not in ("click here", "here", "link")
            assert len(description.value.split()) >= 3


# ---------------------------------------------------------------------------------------
# Shorthand: [u] low reliability, explained on the cover and used beside the value


def test_low_reliability_is_marked_u_and_explained_on_the_cover(books, bundle):
    place = bundle.places[0]
    wb = books[place]
    cover = " ".join(str(c.value) for c in wb["Cover"]["A"] if c.value)
    assert "[u] low reliability: a rate on fewer than 20 events" in cover
    mark = "low reliability [u]: fewer than 20 events"
    # The theme sheet: the women's crude death rate keeps its value, its note says [u].
    headers, rows = _table(wb["Mortality_and_need"])
    col = {h: i for i, h in enumerate(headers)}
    women = next(r for r in rows if r[0].value == "Crude death rate"
                 and r[col["Group"]].value == "Female")
    assert isinstance(women[col[bundle.config.place_name(place)]].value, float)
    assert mark in women[col["Notes"]].value
    men = next(r for r in rows if r[0].value == "Crude death rate"
               and r[col["Group"]].value == "Male")
    assert "[u]" not in men[col["Notes"]].value
    # The Inequalities sheet: the quintile is named in the Place's row.
    headers, rows = _table(wb["Inequalities"])
    row = next(r for r in rows if r[0].value == "Crude death rate"
               and r[1].value == bundle.config.place_name(place))
    assert "low reliability [u]: quintile 2 (a rate on fewer than 20 events)" in \
        row[headers.index("Notes")].value
    # The Indicator data sheet: the same words in the row's Note (in both packs).
    for book in books.values():
        headers, rows = _table(book["Indicator_data"])
        notes = [r[headers.index("Note")].value for r in rows
                 if r[headers.index("Area code")].value == place
                 and r[headers.index("Indicator ID")].value == "crude_death_rate"
                 and r[headers.index("Period")].value == "2024-25"]
        assert sum(n == mark for n in notes) == 2, notes


# ---------------------------------------------------------------------------------------
# The checklist's points found unmet by opening the packs of a real run (session 10)

MARK_TEXTS = {mark.text for mark in report_excel.MARKS}


def _lines_above(ws) -> str:
    """The title and note lines above the sheet's table."""
    (_, ref), = ws.tables.items()
    _, header_row, _, _ = range_boundaries(ref)
    return [str(ws.cell(r, 1).value or "") for r in range(1, header_row)]


def test_no_sheet_freezes_panes(books):
    """'Avoid adding filters and freeze panes': the packs froze every row above each
    table's first data row (the title and 5-10 note lines, 100-180 pt) and, on the theme
    sheets, the Indicator column (up to 60 characters): at 200% zoom on a laptop the
    frozen part is the whole window and the table cannot be scrolled into view. An Excel
    table shows its column headers in place of the column letters while scrolling."""
    for wb in books.values():
        for ws in wb.worksheets:
            assert ws.freeze_panes is None, (ws.title, ws.freeze_panes)


def test_filter_buttons_only_on_the_indicator_data_table(books):
    """'Avoid adding filters': a table's filter buttons cover the end of its headers
    and a reader can leave rows filtered out unawares; the Indicator data sheet keeps
    them, as filtering is how it is read (its notes say so)."""
    for wb in books.values():
        for ws in wb.worksheets:
            for name in ws.tables:
                table = ws.tables[name]
                if ws.title == "Indicator_data":
                    assert table.autoFilter is not None
                    assert "filter" in " ".join(_lines_above(ws))
                else:
                    assert table.autoFilter is None, (ws.title, name)


def test_every_shorthand_in_a_table_is_explained_above_it(books):
    """Shorthand is explained where it is used: each of [c], [x], [z] standing in a cell
    and [u] in a note is named, with its meaning, in the Shorthand line above it (the
    data-quality tables showed [z] under a line naming only [x]; Metadata's [z] had no
    line at all; [u] was explained on the Cover only)."""
    for wb in books.values():
        for ws in wb.worksheets:
            if not ws.tables or ws.title == "Notes":  # the notes define the shorthand
                continue
            headers, rows = _table(ws)
            used = {cell.value for row in rows for cell in row if cell.value in MARK_TEXTS}
            if any(isinstance(cell.value, str) and "[u]" in cell.value
                   for row in rows for cell in row):
                used.add("[u]")
            line = next((text for text in _lines_above(ws) if text.startswith(
                "Shorthand: ")), "")
            for mark in used:
                assert mark in line, (ws.title, mark, line)
            if line:  # marks and their meanings, then where to read more
                assert re.match(r"Shorthand: \[[a-z]\] \w", line), (ws.title, line)
                assert line.endswith("(see the Cover sheet)."), (ws.title, line)


def test_tables_have_meaningful_names(books):
    """'Give tables meaningful names': a table is named from its sheet's words (the
    data-quality tables were Data_quality_1 ... Data_quality_11)."""
    for wb in books.values():
        for ws in wb.worksheets:
            for name in ws.tables:
                words = {w.casefold() for w in ws.title.split("_") if not re.fullmatch(
                    r"DQ\d+", w)}
                assert words <= {w.casefold() for w in name.split("_")}, (ws.title, name)
                assert not re.search(r"_\d+$", name) or re.search(r"_\d+$", ws.title), name


def test_text_longer_than_its_column_wraps(books):
    """'Wrap text within cells' (E): text wider than its column is wrapped (the row made
    tall enough), else the next column's cell cuts it off on screen and in print (an
    indicator name of 71 characters in a column of 60, a practice's position against the
    ICB, a data-quality check's name). The last column may run on into the empty cells
    to its right."""
    for wb in books.values():
        for ws in wb.worksheets:
            if not ws.tables:
                continue
            headers, rows = _table(ws)
            for row in rows:
                for cell in row[:-1]:
                    if not isinstance(cell.value, str):
                        continue
                    width = ws.column_dimensions[cell.column_letter].width
                    longest = max(len(part) for part in cell.value.split("\n"))
                    if longest > width - 3:  # the cell's padding
                        assert cell.alignment.wrap_text, (ws.title, cell.coordinate,
                                                           width, cell.value)
                    if longest > width * 1.1:  # more than one line even of narrow text
                        height = ws.row_dimensions[cell.row].height
                        assert height and height >= 13 * math.ceil(longest / width / 1.1), (
                            ws.title, cell.coordinate, height)


def test_labels_that_read_as_numbers_raise_no_number_stored_as_text_flag(packs, books):
    """A quintile '1', a projection year '2030' beside '2025-26' and an LSOA vintage
    '2021' are text on purpose; Excel flagged every such cell with a green triangle
    offering to convert it (breaking the Group and Period columns). Each table's body
    is exempt from that check (<ignoredErrors>, in the schema's place: after the page
    header and footer, before the drawing and the tables)."""
    for place, path in packs.items():
        wb = books[place]
        with zipfile.ZipFile(path) as z:
            names = dict(zip(wb.sheetnames, sorted(
                (n for n in z.namelist() if re.fullmatch(r"xl/worksheets/sheet\d+\.xml", n)),
                key=lambda n: int(re.sub(r"\D", "", n))), strict=True))
            for ws in wb.worksheets:
                if not ws.tables:
                    continue
                xml = z.read(names[ws.title]).decode()
                match = re.search(r'<ignoredError sqref="([^"]+)" numberStoredAsText="1"',
                                  xml)
                assert match, ws.title
                (_, ref), = ws.tables.items()
                c1, r1, c2, r2 = range_boundaries(ref)
                body = f"{get_column_letter(c1)}{r1 + 1}:{get_column_letter(c2)}{r2}"
                assert match.group(1).split() == [body], (ws.title, match.group(1))
                at = xml.index("<ignoredErrors")
                assert xml.index("<headerFooter") < at < xml.index("<tableParts"), ws.title
                if "<drawing" in xml:
                    assert at < xml.index("<drawing"), ws.title


def test_every_note_is_cited_by_a_table_and_says_something(books):
    """Notes are 'referenced as [note N]' by the tables they apply to: 27 of the 65
    notes of a real run were cited nowhere (the methods, periods, place of death,
    emergency admissions, bed days, need, disclosure control, merged categories, data
    quality, the monthly series, England), so no reader of a table was sent to them, and
    each scenario measure's note said only 'See the Indicator data sheet.'"""
    for wb in books.values():
        headers, rows = _table(wb["Notes"])
        defined = {row[0].value: row[2].value for row in rows}
        cited: set[str] = set()
        for ws in wb.worksheets:
            if ws.title == "Notes":
                continue
            for row in ws.iter_rows(values_only=True):
                for value in row:
                    cited.update(re.findall(r"\[note \d+\]", str(value or "")))
        assert set(defined) <= cited, sorted(set(defined) - cited)
        for marker, text in defined.items():
            assert "See the Indicator data sheet" not in text, (marker, text)


def test_page_header_and_footer_repeat_only_what_the_sheet_says(books):
    """'Do not use headers and footers' (E) is about content a screen reader would miss:
    the printed header and footer carry only the pack's title (the Cover's A1), the
    sheet's name (its tab) and the page number."""
    for wb in books.values():
        title = wb["Cover"]["A1"].value
        for ws in wb.worksheets:
            for part in (ws.oddHeader, ws.oddFooter):
                for side in (part.left, part.center, part.right):
                    assert side.text in (None, title, "&A", "Page &P of &N"), (
                        ws.title, side.text)


def _luminance(hex_rgb: str) -> float:
    channels = [int(hex_rgb[i:i + 2], 16) / 255 for i in (0, 2, 4)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def _contrast(a: str, b: str) -> float:
    high, low = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def test_text_on_every_colour_has_aa_contrast():
    """'When using colour for emphasis check the contrast' (E): WCAG AA, 4.5:1, for the
    comparison fills' text, the header row, links and headings (known answers: black
    on white 21:1, white on white 1:1)."""
    from eolneeds import excel_theme as theme
    assert round(_contrast("000000", "FFFFFF"), 1) == 21.0
    assert _contrast("FFFFFF", "FFFFFF") == 1.0
    pairs = [(f.font, f.fill) for f in theme.COMPARISON_FILLS] + [
        (theme.TEXT_COLOUR, theme.HEADER_FILL), (theme.LINK_COLOUR, "FFFFFF"),
        (theme.HEADING_COLOUR, "FFFFFF"), (theme.MUTED_COLOUR, "FFFFFF")]
    for text, background in pairs:
        assert _contrast(text, background) >= 4.5, (text, background)
