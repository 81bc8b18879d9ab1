"""Red team, round 9: what round 8 left, and a hostile user's files.

* `validate` on a database made by an earlier release (no practices.status) was exit 3
  ("written by another version") until an ingest or assess added the column: the one
  migration (schema.add_missing_columns) now runs for validate too.
* A hospital stay whose end is not a date, or is in the future, ran to the date of
  death: days no record gives. The end is blanked with a field action and the stay has
  no bed days (its length is unknown), as for an end before the start; an empty end (a
  spell open at death) still runs to the death.
* A workbook cell written twice (r="B2" twice in a row, or row 2 twice): openpyxl kept
  the last value, the fast reader shifted the rest of the row one column right, and a
  row written twice loaded as two rows both called row 2. Refused, naming sheet and
  cell. Cells merely out of order in a row are placed by their references (openpyxl
  dropped those right of the last one written).
* inspect withheld names only in title case: 'smith', 'Joan', "o'neill", a postcode or
  NHS number spread out ('l s 1 4 a p', '943 / 476 / 5919') and a date of birth under
  'D.O.B' were printed. In a file of people's records a value holding a word no code
  or header has is withheld unless 5 rows hold it; so are old dates and spread-out
  identifiers; columns named for a person's details are hidden whole.

A hostile user's own:
* A workbook row numbered 0 or below (r="0", r="-1") was read as a row above the header
  and lost with exit 0; a cell naming a shared string past the end was IndexError, a
  traceback, and one before the start (<v>-1</v>) loaded the last string silently. All
  are refused as a damaged worksheet, naming the sheet.
* A CSV with CR line ends (alone, mixed with LF and CR LF, or inside a quoted value):
  ingest loaded it, inspect refused it ('new-line character seen in unquoted field').

Real files, a real DuckDB database; library calls where the CLI process is not the point.
"""

from __future__ import annotations

import re
import zipfile
from datetime import date

import duckdb
import pytest

from eolneeds import db, readers
from eolneeds.errors import InputDataError, UsageError
from eolneeds.ingest import ingest_files
from eolneeds.inspect import inspect_file, mapping_text
from eolneeds.normalise import MASK, POSTCODE_MASK, WITHHELD
from eolneeds.reporting import Reporter
from eolneeds.validate import validate_project
from tests.small_project import HEADER, make_project
from tests.test_field_actions import (
    GOOD,
    _indicators_2024_25,
    _two_deaths_in_hospital,
    pick,
    write,
)
from tests.test_hostile_round8 import _cell, hand_built_workbook
from tests.test_ingest import query

TEST_KEY = "test-key-not-secret"


@pytest.fixture(autouse=True)
def _key(monkeypatch):
    monkeypatch.setenv("EOLNEEDS_KEY", TEST_KEY)


# -- 1. a database of an earlier release ------------------------------------------------

def _earlier_release(tmp_path):
    """A project whose database has the tables of a release before activity.spell_id and
    practices.status (the two columns added since), with a death and a practice in it."""
    config = make_project(tmp_path / "project")
    deaths = tmp_path / "deaths.csv"
    deaths.write_text(HEADER + "9434765919,2024-01-15,80,F,E01000001,C34.9,home\n",
                      encoding="utf-8")
    ingest_files(config, "deaths", [deaths], reporter=Reporter())
    with duckdb.connect(str(config.database_path)) as con:
        con.execute("INSERT INTO practices (practice_code, practice_name, source_file_id, "
                    "source_row) VALUES ('A81001', 'A Practice', 1, 2)")
        con.execute("ALTER TABLE practices DROP COLUMN status")
        con.execute("ALTER TABLE activity DROP COLUMN spell_id")
    return config


def _columns(config, table: str) -> list[str]:
    return [c for (c,) in query(config, "SELECT column_name FROM duckdb_columns() WHERE "
                                        "table_name = $t ORDER BY column_index", {"t": table})]


def test_validate_brings_an_earlier_releases_database_up_to_date(tmp_path):
    config = _earlier_release(tmp_path)
    assert "status" not in _columns(config, "practices")
    report = validate_project(config, reporter=Reporter())  # was InputDataError, exit 3
    assert "status" in _columns(config, "practices")
    assert "spell_id" in _columns(config, "activity")
    # The rows are kept; the new column is empty (not given).
    assert query(config, "SELECT practice_code, status FROM practices") == [("A81001", None)]
    assert query(config, "SELECT count(*) FROM deaths") == [(1,)]
    # A second validate writes nothing: the database is up to date.
    before = config.database_path.read_bytes()
    again = validate_project(config, reporter=Reporter())
    assert config.database_path.read_bytes() == before
    assert again.blocking == report.blocking


def test_a_database_of_another_version_is_still_refused_untouched(tmp_path):
    config = _earlier_release(tmp_path)
    with duckdb.connect(str(config.database_path)) as con:
        con.execute("ALTER TABLE deaths ALTER age TYPE VARCHAR")
    before = config.database_path.read_bytes()
    with pytest.raises(InputDataError, match="table deaths holds it as VARCHAR"):
        validate_project(config, reporter=Reporter())
    # Not half-migrated: the added columns were not added either.
    assert config.database_path.read_bytes() == before


def test_an_earlier_releases_database_this_user_cannot_write_says_what_to_run(
        tmp_path, monkeypatch):
    config = _earlier_release(tmp_path)
    connect = db.connect

    def cannot_write(path, *, read_only=False):
        if not read_only:
            raise UsageError(f"{path}: cannot be opened for writing (permission denied)")
        return connect(path, read_only=True)

    monkeypatch.setattr(db, "connect", cannot_write)
    with pytest.raises(UsageError) as refused:
        validate_project(config, reporter=Reporter())
    said = str(refused.value)
    assert said.startswith(f"{config.database_path}: was made by an earlier release")
    assert "activity.spell_id, practices.status" in said
    assert "run `eolneeds validate` once as a user who can write" in said


# -- 2. a stay whose end is not a date, or in the future ---------------------------------

def test_a_stay_whose_end_is_not_a_date_or_in_the_future_has_no_bed_days(tmp_path):
    config = _two_deaths_in_hospital(tmp_path)
    spells = write(tmp_path / "sus_apcs_2024.csv", [
        "NHS_Number,Admission_Date,Discharge_Date,Admission_Method",
        "9876543210,2024-01-02,2024-01-03,11",
        f"{GOOD[0]},2024-04-10,2024-04-12,21",      # row 3: 3 days
        f"{GOOD[0]},2024-05-10,Not discharged,2A",  # row 4: not a date
        f"{GOOD[0]},2024-06-01,31/02/2024,22",      # row 5: not a date (no 31 February)
        f"{GOOD[1]},2024-06-01,2099-06-03,21",      # row 6: in the future
        f"{GOOD[1]},2024-05-01,,21",                # row 7: empty: open at death, 37 days
        "9876543210,2025-03-30,2025-03-31,12",
    ])
    [result] = ingest_files(config, "activity", [spells], mapping="sus_apcs",
                            reporter=Reporter())
    assert (result.rows_read, result.rows_loaded, result.rows_rejected) == (7, 7, 0)
    actions = query(config, "SELECT row_number, column_name, action, reason FROM "
                            "field_actions ORDER BY row_number")
    assert [row[:3] for row in actions] == [(4, "end_date", "blanked"),
                                           (5, "end_date", "blanked"),
                                           (6, "end_date", "blanked")]
    assert all(reason.endswith("; the activity counts by its start, with no bed days (its "
                               "length is unknown)") for *_, reason in actions), actions
    assert "is in the future" in actions[2][3]
    assert query(config, "SELECT count(*) FROM activity WHERE end_date IS NULL") == [(4,)]

    frame = _indicators_2024_25(config)
    # Every admission counts by its start: GOOD[0] 10 April, 10 May, 1 June (3);
    # GOOD[1] 1 May and 1 June (2).
    assert pick(frame, "ea_last90_any_pct")["numerator"] == 2
    assert pick(frame, "ea_last90_3plus_pct")["numerator"] == 1
    # Bed days, by hand: GOOD[0] 3 (rows 4 and 5 unknown: 0); GOOD[1] row 7 from 1 May to
    # its death on 6 June, 31 + 6 = 37 (row 6 unknown: 0). (3 + 37) / 2 = 20. Run to the
    # deaths as before, rows 4, 5 and 6 would have added 27, 5 and 6 days.
    assert pick(frame, "bed_days_last90_mean")["value"] == pytest.approx(20.0)


# -- 3. two cells claiming one address in a workbook ------------------------------------

def _row(number: int, cells: list[tuple[str, str]]) -> str:
    return f'<row r="{number}">' + "".join(_cell(col, number, text) for col, text in cells) \
        + "</row>"


REGISTER_HEADER = [("A", "person_id"), ("B", "date_added"), ("C", "gp_practice")]


def _register(config):
    return make_project(config, {"register": 'dataset = "register"\nnhs_number = true\n'})


@pytest.mark.parametrize("rows, cell", [
    # B2 twice: openpyxl kept the second date, the fast reader moved it into C2 and the
    # practice code into D2 (a column no header names).
    ([("A", "9434765919"), ("B", "2024-01-15"), ("B", "2024-02-15"), ("C", "A81001")],
     "B2"),
    # Row 2 twice, every cell of it: loaded as two rows both called row 2.
    ("row twice", "A2"),
])
def test_two_cells_claiming_one_address_are_refused_naming_sheet_and_cell(
        tmp_path, rows, cell):
    good = [("A", "4010232137"), ("B", "2024-02-15"), ("C", "A81002")]
    if rows == "row twice":
        data = (_row(1, REGISTER_HEADER) + _row(2, good)
                + _row(2, [("A", "9434765919"), ("B", "2024-01-15"), ("C", "A81001")]))
    else:
        data = _row(1, REGISTER_HEADER) + _row(2, rows) + _row(3, good)
    book = hand_built_workbook(tmp_path / "register.xlsx", data)
    config = _register(tmp_path / "project")
    said = (f"register.xlsx: sheet 'Register', cell {cell}: two cells in the sheet's XML "
            "claim this one address, so which value is meant cannot be known")
    with pytest.raises(InputDataError) as refused:
        ingest_files(config, "register", [book], reporter=Reporter(), mapping="register")
    assert str(refused.value).startswith(said)
    assert not config.database_path.exists() or \
        query(config, "SELECT count(*) FROM register") == [(0,)]
    with pytest.raises(InputDataError) as inspected:
        inspect_file(book)
    assert str(inspected.value).startswith(said)
    # The fast reader (the ONS workbooks') refuses it too.
    with pytest.raises(readers.CellWrittenTwice, match=f"cell {cell} of sheet 'Register'"):
        list(readers.numbered_sheet_rows(book, "Register"))


def test_cells_out_of_order_in_a_row_are_placed_by_their_references(tmp_path):
    # C2 written before A2 and B2: openpyxl sized the row by its last cell (B), dropping
    # the practice; the fast reader put A2's value in D.
    data = (_row(1, REGISTER_HEADER)
            + _row(2, [("C", "A81001"), ("A", "9434765919"), ("B", "2024-01-15")])
            + _row(3, [("B", "2024-02-15"), ("A", "4010232137"), ("C", "A81002")]))
    book = hand_built_workbook(tmp_path / "register.xlsx", data)
    config = _register(tmp_path / "project")
    [result] = ingest_files(config, "register", [book], reporter=Reporter(),
                            mapping="register")
    assert (result.rows_read, result.rows_loaded, result.rows_rejected) == (2, 2, 0)
    assert query(config, "SELECT source_row, date_added, gp_practice FROM register "
                         "ORDER BY 1") == [(2, date(2024, 1, 15), "A81001"),
                                           (3, date(2024, 2, 15), "A81002")]
    assert [cells for _, cells in readers.numbered_sheet_rows(book, "Register", 2)] == [
        ["9434765919", "2024-01-15", "A81001"], ["4010232137", "2024-02-15", "A81002"]]


# -- 4. inspect prints no clear identifier, whatever its spelling ------------------------

def test_inspect_never_prints_a_name_number_postcode_or_date_of_birth_however_written(
        tmp_path):
    """Round 8 withheld capitalised names ('Joan Smith'); 'smith', 'Joan', 'joan smith',
    "o'neill" were printed, and so were a postcode or an NHS number spread out and a
    date of birth under 'D.O.B'. A word no code has is shown only when at least 5 rows
    hold it (a local code recurs); codes written out are shown however rare."""
    names = ["Smith", "joan smith", "JOAN", "smith, joan", "Joan", "o'neill", "smith j",
             "Mary-Anne", "jo", "ann-marie o'neill"]
    spread = ["943 / 476 / 5919", "９４３４７６５９１９", "94 34 76 59 19", "l s 1 4 a p",
              "l.s.1-4.a.p", "dob 03/04/1941", "3-Apr-1941", "1941-04-03 00:00:00",
              "born 3 April 1941", "ls1 4ap"]
    places = ["Hospice", "Care home", "District nursing", "SPCT", "SPCT", "SPCT", "SPCT",
              "SPCT", "Usual residence", "Hospice"]
    numbers = ["9434765919", "4010232137", "9434765870", "4505577104", "4839298429"] * 2
    lines = ["NHS Number,Date Added,Key Worker,Notes,Preferred Place,D.O.B,Born"]
    lines += [f'{numbers[i]},15/01/2024,"{names[i]}","{spread[i]}",{places[i]},'
              f"03/04/1941,1941-04-0{i % 9 + 1}" for i in range(10)]
    extract = tmp_path / "register.csv"
    extract.write_text("\n".join(lines) + "\n", encoding="utf-8")
    found = inspect_file(extract)
    printed = found.render_text() + mapping_text(found, dataset="register")
    for clear in ("smith", "joan", "neill", "mary", "1941", "ls1", "4ap", "l s 1",
                  "l.s.1", "476", "５９１９", "59 19"):
        assert clear not in printed.lower(), clear
    examples = {c.name: c.examples for c in found.columns}
    assert examples["Key Worker"] == [WITHHELD]
    assert set(examples["Notes"]) <= {WITHHELD, MASK, POSTCODE_MASK}
    assert examples["D.O.B"] == examples["Born"] == []
    # Codes written out, and a local code most rows hold, are shown (recodes are
    # written from them).
    assert examples["Preferred Place"] == ["Hospice", "Care home", "District nursing"]
    assert {"SPCT", "Usual residence"} <= set(found.columns[4].distinct)
    assert examples["Date Added"] == ["15/01/2024"]


# -- a hostile user's workbooks ----------------------------------------------------------

SHARED_REL = ('<Relationship Id="rId9" Type="http://schemas.openxmlformats.org/'
              'officeDocument/2006/relationships/sharedStrings" Target="sharedStrings.xml"/>')


def _with_shared_strings(book, strings: list[str]):
    """`book` (hand_built_workbook's) with a shared strings part holding `strings`."""
    with zipfile.ZipFile(book) as archive:
        parts = {name: archive.read(name) for name in archive.namelist()}
    parts["xl/sharedStrings.xml"] = (
        '<?xml version="1.0" encoding="UTF-8"?><sst xmlns="http://schemas.openxmlformats.'
        'org/spreadsheetml/2006/main">' + "".join(f"<si><t>{s}</t></si>" for s in strings)
        + "</sst>").encode()
    parts["xl/_rels/workbook.xml.rels"] = parts["xl/_rels/workbook.xml.rels"].replace(
        b"</Relationships>", SHARED_REL.encode() + b"</Relationships>")
    parts["[Content_Types].xml"] = parts["[Content_Types].xml"].replace(
        b"</Types>", b'<Override PartName="/xl/sharedStrings.xml" ContentType="application/'
        b'vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>')
    with zipfile.ZipFile(book, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in parts.items():
            archive.writestr(name, data)
    return book


@pytest.mark.parametrize("data, said", [
    # A row numbered 0 or below: read as before the header, so its row was lost with
    # exit 0 (0 rows read).
    ('<row r="0"><c r="A0" t="s"><v>3</v></c><c r="B0" t="s"><v>4</v></c></row>',
     "sheet 'Register' has a row numbered 0 (Excel numbers rows from 1)"),
    ('<row r="-1"><c t="s"><v>3</v></c><c t="s"><v>4</v></c></row>',
     "sheet 'Register' has a row numbered -1 (Excel numbers rows from 1)"),
    # A shared string past the end: IndexError, a traceback; before the start (-1): the
    # last string, a value Excel never showed there, loaded silently.
    ('<row r="2"><c r="A2" t="s"><v>3</v></c><c r="B2" t="s"><v>99</v></c></row>',
     "sheet 'Register' has a cell B2 naming a shared string the workbook does not have"),
    ('<row r="2"><c r="A2" t="s"><v>3</v></c><c r="B2" t="s"><v>-1</v></c></row>',
     "sheet 'Register' has a cell B2 naming a shared string the workbook does not have"),
])
def test_a_row_or_shared_string_excel_cannot_have_is_refused(tmp_path, data, said):
    header = '<row r="1">' + "".join(f'<c r="{c}1" t="s"><v>{i}</v></c>'
                                     for i, c in enumerate("ABC")) + "</row>"
    book = _with_shared_strings(
        hand_built_workbook(tmp_path / "register.xlsx", header + data),
        ["person_id", "date_added", "gp_practice", "9434765919", "2024-01-15"])
    config = _register(tmp_path / "project")
    for attempt in (lambda: ingest_files(config, "register", [book], reporter=Reporter(),
                                         mapping="register"),
                    lambda: inspect_file(book)):
        with pytest.raises(InputDataError) as refused:
            attempt()
        assert str(refused.value) == (
            f"register.xlsx: has a damaged worksheet (ValueError: {said}) — open it in "
            "Excel and save it again as .xlsx, or export CSV")
    with pytest.raises(readers.UnreadableCell, match=re.escape(said)):
        list(readers.numbered_sheet_rows(book, "Register"))


# -- a hostile user's CSV files ----------------------------------------------------------

DEATHS = ["9434765919,2024-01-15,80,F,E01000001,C34.9,home",
          "4010232137,2024-01-16,81,M,E01000001,C34.9,hospital",
          "4505577104,2024-01-17,82,F,E01000001,C34.9,home"]


@pytest.mark.parametrize("text", [
    # An old Mac's line ends (CR alone) throughout.
    HEADER.replace("\n", "\r") + "\r".join(DEATHS) + "\r",
    # Every kind of line end in one file.
    HEADER + f"{DEATHS[0]}\r\n{DEATHS[1]}\r{DEATHS[2]}\n",
    # A CR inside a quoted value of an LF file.
    HEADER + DEATHS[0].replace(",home", ',"home\rx"') + "\n" + "\n".join(DEATHS[1:]) + "\n",
])
def test_inspect_reads_line_ends_as_ingest_does(tmp_path, text):
    """ingest loaded these files; inspect refused them ('new-line character seen in
    unquoted field'): its first lines were split again on LF alone."""
    extract = tmp_path / "deaths.csv"
    extract.write_bytes(text.encode("utf-8"))
    found = inspect_file(extract)
    assert found.rows == 3
    assert found.headers == HEADER.strip().split(",")
    assert found.columns[1].text_dates == {"%Y-%m-%d": 3}
    config = make_project(tmp_path / "project")
    [result] = ingest_files(config, "deaths", [extract], reporter=Reporter())
    assert (result.rows_read, result.rows_loaded) == (3, 3)
