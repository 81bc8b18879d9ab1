"""Red team, round 11: what round 10 left, and more of a hostile or careless export's files.

* A cell reference with no row number (<c r="A">), a number cell holding 'NaN', a row
  numbered 'x': refused (exit 3) in Python's own words ("invalid literal for int() with
  base 10: 'A'"), naming no cell. Now our damaged-sheet message, naming sheet and cell
  (or the reference and its row), never the cell's value.
* <v>1E+400</v> (a number past the largest a double holds) was read by openpyxl as
  infinity and loaded as the code "INF". Refused as a damaged sheet naming the cell.
* A 1904-system workbook's serial days: inspect showed only the numbers; it now names
  the dates ingest loads from them, counted from the workbook's own date system.
* An NHS number written '9434765919 (Excel's text apostrophe): quarantined; now the
  number, in CSV and xlsx.
* Attacks: a shared string past the end was refused naming no cell; now named (both
  readers). Found to hold already (no test added): UTF-16 LE/BE CSV without a BOM, a
  lone CR line end mid-file and inside a quoted value, a NUL inside a code, a header
  written twice differing in case and space, a file name with ':' and '?', a header
  cell that is a number, rich-text inline strings.

Real files, a real DuckDB database; library calls where the CLI process is not the point.
"""

from __future__ import annotations

from datetime import date

import pytest

from eolneeds import readers
from eolneeds.ingest import ingest_files
from eolneeds.reporting import Reporter
from tests.small_project import HEADER, make_project
from tests.test_hostile_round8 import _cell, hand_built_workbook
from tests.test_hostile_round9 import _key  # noqa: F401 (the key, autouse)
from tests.test_hostile_round10 import HEADER_ROW, _refused_everywhere
from tests.test_ingest import query

DAMAGED = ("register.xlsx: has a damaged worksheet (ValueError: sheet 'Register' {what}) — "
           "open it in Excel and save it again as .xlsx, or export CSV")


# -- 1. a cell openpyxl cannot parse -----------------------------------------------------

@pytest.mark.parametrize("row_2, what", [
    # A reference with no row number.
    ('<row r="2"><c r="A" t="inlineStr"><is><t>9434765919</t></is></c>'
     + _cell("B", 2, "2024-01-15") + _cell("C", 2, "A81001") + "</row>",
     "has a cell whose reference 'A' (in row 2) is not a cell's: Excel writes a column "
     "and a row, such as A2"),
    # A reference that is a row number only.
    ('<row r="2">' + _cell("A", 2, "9434765919") + '<c r="2" t="inlineStr"><is><t>'
     '2024-01-15</t></is></c>' + _cell("C", 2, "A81001") + "</row>",
     "has a cell whose reference '2' (in row 2) is not a cell's: Excel writes a column "
     "and a row, such as A2"),
    # A number cell holding 'NaN' (Python's float() reads it; Excel never writes it).
    ('<row r="2">' + _cell("A", 2, "9434765919") + '<c r="B2"><v>NaN</v></c>'
     + _cell("C", 2, "A81001") + "</row>",
     "has a cell B2 marked as holding a number that does not hold one"),
    # ... and one holding an NHS number as printed: named, its digits never shown.
    ('<row r="2"><c r="A2"><v>943 476 5919</v></c>' + _cell("B", 2, "2024-01-15")
     + _cell("C", 2, "A81001") + "</row>",
     "has a cell A2 marked as holding a number that does not hold one"),
    # A cell without a reference: named by its place (the one after B2).
    ('<row r="2">' + _cell("A", 2, "9434765919") + _cell("B", 2, "2024-01-15")
     + '<c t="b"><v>yes</v></c></row>',
     "has a cell C2 marked as holding true or false (1 or 0) that does not hold one"),
    # A style that is not a number, on a cell without a reference (the one after A2).
    ('<row r="2">' + _cell("A", 2, "9434765919") + '<c s="x" t="inlineStr"><is><t>'
     '2024-01-15</t></is></c>' + _cell("C", 2, "A81001") + "</row>",
     "has a cell B2 whose style is not a number"),
    # A row numbered with a word.
    ('<row r="x">' + _cell("A", None, "9434765919") + "</row>",
     "has a row numbered 'x' (Excel numbers rows from 1)"),
])
def test_a_cell_openpyxl_cannot_parse_is_named_in_our_words(tmp_path, row_2, what):
    book = hand_built_workbook(tmp_path / "register.xlsx", HEADER_ROW + row_2)
    said = DAMAGED.format(what=what)
    _refused_everywhere(tmp_path, book, said)
    assert "9434765919" not in said and "943 476" not in said


# -- 2. a number too large for a double ----------------------------------------------------

@pytest.mark.parametrize("value, cell", [("1E+400", "C2"), ("-1.5e999", "C2"),
                                         ("1E+400", "A2")])
def test_a_number_past_a_double_is_refused_naming_the_cell_never_loaded_as_inf(
        tmp_path, value, cell):
    cells = {"A": _cell("A", 2, "9434765919"), "B": _cell("B", 2, "2024-01-15"),
             "C": _cell("C", 2, "A81001")}
    cells[cell[0]] = f'<c r="{cell}"><v>{value}</v></c>'
    book = hand_built_workbook(tmp_path / "register.xlsx",
                               HEADER_ROW + '<row r="2">' + "".join(cells.values()) + "</row>")
    _refused_everywhere(tmp_path, book, DAMAGED.format(
        what=f"has a cell {cell} holding a number beyond the largest a workbook can hold "
             "(about 1.8E+308)"))
    # The fast reader (the ONS workbooks') kept the text as written; it now refuses it in
    # the same words (round 12).
    with pytest.raises(readers.UnreadableCell, match=f"has a cell {cell} holding a number "
                       "beyond the largest"):
        dict(readers.numbered_sheet_rows(book, "Register"))


def test_1e400_in_every_code_column_of_a_csv_is_no_code_never_inf(tmp_path):
    """A CSV's code columns (LSOA, ICD-10, place of death) holding 1E+400: no code (the
    LSOA and cause blank, the place 'unknown'), never 'INF'; the row still loads."""
    config = make_project(tmp_path / "project")
    deaths = tmp_path / "deaths.csv"
    deaths.write_text(HEADER + "9434765919,2024-01-15,80,F,1E+400,1E+400,1E+400\n",
                      encoding="utf-8")
    [result] = ingest_files(config, "deaths", [deaths], reporter=Reporter())
    assert (result.rows_read, result.rows_loaded + result.rows_rejected) == (1, 1)
    assert query(config, "SELECT lsoa_code, underlying_cause, place_of_death "
                         "FROM deaths") == [(None, None, "unknown")]


# -- 4. inspect shows a 1904 workbook's serial dates as ingest loads them ---------------------

@pytest.mark.parametrize("system", [1904, 1900])
def test_inspect_shows_serial_dates_counted_from_the_workbooks_own_date_system(tmp_path,
                                                                                 system):
    """A date cell formatted as General holds a serial day: in a 1904-system workbook its
    days since 1904-01-01, which ingest loads so. inspect showed only the numbers, so a
    user saw nothing of the dates they stand for; it now says which dates ingest loads,
    counted from the workbook's own date system."""
    import openpyxl
    from openpyxl.utils.datetime import CALENDAR_MAC_1904

    from eolneeds.inspect import inspect_file

    day_0 = date(1904, 1, 1) if system == 1904 else date(1899, 12, 30)
    serials = [(date(2024, 3, 11) - day_0).days, (date(2024, 3, 13) - day_0).days]
    book = openpyxl.Workbook()
    if system == 1904:
        book.epoch = CALENDAR_MAC_1904
    sheet = book.active
    sheet.append(HEADER.strip().split(","))
    for n, (nhs, serial) in enumerate(zip(("9434765919", "4010232137"), serials,
                                          strict=True)):
        sheet.append([nhs, serial, 80 + n, "F", "E01000001", "C34.9", "home"])
    path = tmp_path / "deaths.xlsx"
    book.save(path)
    shown = inspect_file(path).render_text()
    line = next(x for x in shown.splitlines() if x.strip().startswith("date_of_death"))
    which = " (a 1904 date system workbook)" if system == 1904 else ""
    assert line.endswith(f"2 Excel serial dates{which}, 2024-03-11 to 2024-03-13 in a "
                         "date column"), line
    config = make_project(tmp_path / "project")
    ingest_files(config, "deaths", [path], reporter=Reporter())
    assert query(config, "SELECT min(date_of_death), max(date_of_death) FROM deaths") == [
        (date(2024, 3, 11), date(2024, 3, 13))]


# -- 3. an NHS number with Excel's leading apostrophe ---------------------------------------

def test_an_nhs_number_with_excels_text_apostrophe_is_the_number_in_csv_and_xlsx(tmp_path):
    """'9434765919: the apostrophe is Excel's mark that a cell is text, written out by
    some exports. It was quarantined as not an NHS number; it is the number, so the
    person links with the same number written plainly, in a CSV and in a workbook."""
    config = make_project(tmp_path / "project", {
        "register": 'dataset = "register"\nnhs_number = true\n'})
    deaths = tmp_path / "deaths.csv"
    deaths.write_text(HEADER + "9434765919,2024-01-15,80,F,E01000001,C34.9,home\n"
                      "'401 023 2137,2024-01-16,80,F,E01000001,C34.9,home\n",
                      encoding="utf-8")
    [result] = ingest_files(config, "deaths", [deaths], reporter=Reporter())
    assert (result.rows_read, result.rows_loaded) == (2, 2)
    book = hand_built_workbook(tmp_path / "register.xlsx", HEADER_ROW
                               + '<row r="2">' + _cell("A", 2, "'9434765919")
                               + _cell("B", 2, "2024-01-15") + _cell("C", 2, "A81001")
                               + '</row><row r="3">' + _cell("A", 3, "4010232137")
                               + _cell("B", 3, "2024-01-15") + _cell("C", 3, "A81001")
                               + "</row>")
    [result] = ingest_files(config, "register", [book], reporter=Reporter(),
                            mapping="register")
    assert (result.rows_read, result.rows_loaded) == (2, 2)
    # The same two people in both: each death is on the register.
    assert query(config, "SELECT count(*) FROM deaths JOIN register USING (person_id)") \
        == [(2,)]
    # An apostrophe anywhere else is not Excel's mark: still not an NHS number.
    odd = tmp_path / "deaths_odd.csv"
    odd.write_text(HEADER + "9434765919',2024-01-18,80,F,E01000001,C34.9,home\n"
                   "4505577104,2024-01-18,80,F,E01000001,C34.9,home\n", encoding="utf-8")
    [result] = ingest_files(config, "deaths", [odd], reporter=Reporter())
    assert (result.rows_read, result.rows_loaded + result.rows_rejected) == (2, 2)
    # (a death kept, unlinked: it does not join the register's 9434765919)
    assert query(config, "SELECT count(*) FROM deaths JOIN register USING (person_id)") \
        == [(2,)]


# -- 5. attacks: a shared string past the end, in a row without references -----------------

def test_a_shared_string_past_the_end_is_named_by_its_cell_in_both_readers(tmp_path):
    """<c t="s"><v>99</v></c> in a workbook with no shared strings: refused naming no
    cell; now named, by its place when it has no reference (the fourth cell of row 2)."""
    data = HEADER_ROW + ('<row r="2">' + _cell("A", None, "9434765919")
                         + _cell("B", None, "2024-01-15") + _cell("C", None, "A81001")
                         + '<c t="s"><v>99</v></c></row>')
    book = hand_built_workbook(tmp_path / "register.xlsx", data)
    said = "has a cell D2 naming a shared string the workbook does not have"
    _refused_everywhere(tmp_path, book, DAMAGED.format(what=said))
    with pytest.raises(readers.UnreadableCell, match=said):
        list(readers.numbered_sheet_rows(book, "Register"))
