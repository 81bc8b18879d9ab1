"""Red team: workbooks whose cells lie outside Excel's grid, and damaged workbooks given
to `inspect`.

* One cell at row 900,000,000 of a 5 KB workbook: openpyxl (and the fast sheet reader)
  yield every row up to a row's number, so ingest -- and the unattended monthly run --
  was busy for hours on it. A row past 1,048,576 or a column past XFD is now refused at
  once, naming the cell (readers.sheet_xml, the pass that also finds uncalculated
  formulas).
* A cell at column ZZZZZ was openpyxl's ValueError: exit 1 "a bug in eolneeds", in
  ingest (a workbook of several sheets) and in inspect.
* `inspect` of a workbook with a damaged sheet, or with XML entities that expand without
  bound ("billion laughs") or name a file on the machine (XXE), was exit 1 with a
  ParseError; ingest already said exit 3. Python's expat refuses the expansion and the
  external entity: nothing is expanded or read.
"""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import openpyxl
import pytest

KEY = "test-key-not-secret-grid"
CLI = [sys.executable, "-c", "from eolneeds.cli import main; main()"]
CONFIG = '[project]\nicb_name = "Test ICB"\n\n[[places]]\ncode = "P1"\nname = "Place One"\n'
HEADER = ["person_id", "date_of_death", "age", "sex", "lsoa_code", "underlying_cause",
          "place_of_death"]
ROWS = [[n, f"2024-0{m}-1{m}", 80 + m, "F", "E01000001", "C34.9", "home"]
        for m, n in enumerate(["4010232137", "4505577104", "4839298429"], start=1)]
CORPUS = Path(__file__).parent / "bad_inputs"
DAMAGED = "open it in Excel and save it again as .xlsx, or export CSV"


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, encoding="utf-8",
                          env={**os.environ, "EOLNEEDS_KEY": KEY}, timeout=120)


def _error(result: subprocess.CompletedProcess[str]) -> str:
    assert "Traceback" not in result.stderr, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("Error: ")]
    assert len(lines) == 1, result.stderr
    return lines[0]


def _workbook(path: Path, edit=None, sheets: int = 1) -> Path:
    """The three deaths on a sheet 'Deaths' (after a cover sheet when sheets=2), with
    `edit(xml) -> xml` applied to the data sheet's XML."""
    book = openpyxl.Workbook()
    data = book.active
    if sheets == 2:
        data.title = "Cover"
        data.append(["About these data"])
        data = book.create_sheet("Deaths")
    else:
        data.title = "Deaths"
    for row in [HEADER, *ROWS]:
        data.append(row)
    plain = path.with_suffix(".plain.xlsx")
    book.save(plain)
    member = f"xl/worksheets/sheet{sheets}.xml"
    with zipfile.ZipFile(plain) as source, zipfile.ZipFile(path, "w") as target:
        for item in source.infolist():
            content = source.read(item.filename)
            if item.filename == member and edit is not None:
                content = edit(content)
            target.writestr(item, content)
    plain.unlink()
    return path


def _far_row(xml: bytes) -> bytes:  # the last death moved to row 900,000,000
    return xml.replace(b'<row r="4"', b'<row r="900000000"').replace(
        b'4" t=', b'900000000" t=').replace(b'r="C4"', b'r="C900000000"')


def _far_column(xml: bytes) -> bytes:  # the second death's place of death at ZZZZZ3
    return xml.replace(b'r="G3"', b'r="ZZZZZ3"')


@pytest.fixture
def root(tmp_path) -> Path:
    root = tmp_path / "project"
    root.mkdir()
    (root / "eolneeds.toml").write_text(CONFIG, encoding="utf-8")
    return root


@pytest.mark.parametrize(("edit", "sheets", "cell"), [
    (_far_row, 1, "row 900000000"), (_far_column, 1, "ZZZZZ3"), (_far_row, 2, "row 900000000")])
def test_a_cell_beyond_the_grid_is_refused_at_once_naming_it(root, tmp_path, edit, sheets,
                                                             cell):
    path = _workbook(tmp_path / "deaths.xlsx", edit, sheets)
    assert path.stat().st_size < 10_000
    result = _cli("ingest", "deaths", str(path), "--project", str(root))  # 120 s at most
    assert result.returncode == 3, result.stderr
    assert _error(result) == (
        f"Error: deaths.xlsx: sheet 'Deaths' has a cell at {cell}, beyond the last row "
        "(1,048,576) or column (XFD) a worksheet can have: not a workbook Excel saved, so "
        "it is not read — check where the file came from, then export the data again as "
        ".xlsx or CSV")
    assert _kept(root) == (0, 0)


def _kept(root: Path) -> tuple[int, int]:
    """(deaths rows, files logged) in the project's database."""
    import duckdb

    if not (root / "eolneeds.duckdb").exists():
        return 0, 0
    con = duckdb.connect(str(root / "eolneeds.duckdb"), read_only=True)
    try:
        return (con.execute("SELECT count(*) FROM deaths").fetchone()[0],
                con.execute("SELECT count(*) FROM ingest_log").fetchone()[0])
    finally:
        con.close()


def test_a_column_past_zzz_in_a_cover_sheets_workbook_is_exit_3(root, tmp_path):
    """Several sheets: each sheet's first rows are scanned to choose the data sheet, and
    openpyxl cannot place the cell there."""
    path = _workbook(tmp_path / "deaths.xlsx", _far_column, sheets=2)
    for result in (_cli("ingest", "deaths", str(path), "--project", str(root)),
                   _cli("inspect", str(path))):
        assert result.returncode == 3, result.stderr
        assert _error(result) == (
            "Error: deaths.xlsx: has a damaged worksheet (ValueError: 'ZZZZZ' is not a valid "
            f"column name. Column names are from A to ZZZ) — {DAMAGED}")


def _laughs(xml: bytes) -> bytes:
    entities = b"".join(b'<!ENTITY l%d "%s">' % (i, b"&l%d;" % (i - 1) * 10 if i else b"ha")
                        for i in range(10))
    return (b'<?xml version="1.0"?><!DOCTYPE w [' + entities + b"]>"
            + xml.split(b"?>", 1)[-1].replace(b"<t>home</t>", b"<t>&l9;</t>", 1))


def _external(xml: bytes) -> bytes:
    return (b'<?xml version="1.0"?><!DOCTYPE w [<!ENTITY x SYSTEM "file:///etc/hostname">]>'
            + xml.split(b"?>", 1)[-1].replace(b"<t>home</t>", b"<t>&x;</t>", 1))


@pytest.mark.parametrize(("edit", "why"), [
    (_laughs, "limit on input amplification factor (from DTD and entities) breached"),
    (_external, "undefined entity &x;"),
])
def test_entity_tricks_are_refused_by_ingest_and_inspect_alike(root, tmp_path, edit, why):
    path = _workbook(tmp_path / "deaths.xlsx", edit)
    for result in (_cli("ingest", "deaths", str(path), "--project", str(root)),
                   _cli("inspect", str(path))):
        assert result.returncode == 3, result.stderr
        error = _error(result)
        assert error.startswith("Error: deaths.xlsx: has a damaged worksheet (ParseError: "
                                f"{why}: line 1, column "), error
        assert error.endswith(DAMAGED)


def test_inspect_of_a_damaged_sheet_is_exit_3_as_ingest_says():
    result = _cli("inspect", str(CORPUS / "damaged_sheet.xlsx"))
    assert result.returncode == 3, result.stderr
    assert _error(result).startswith("Error: damaged_sheet.xlsx: has a damaged worksheet "
                                     "(ParseError: ")
