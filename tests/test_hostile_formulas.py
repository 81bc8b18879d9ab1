"""Red team: a workbook whose cells hold formulas with no saved results. Excel and
LibreOffice save each formula's result beside it, and eolneeds reads the results; a
workbook a script wrote (openpyxl, pandas, a reporting tool) can hold only the formulas.
Their values were read as blank without a word: a column of ages computed in the sheet
was loaded empty (every age lost, nothing quarantined, no field action), and rows whose
every cell is a formula were skipped as blank rows ("the file has a header but no data
rows", exit 0). Such a sheet is now refused, naming the cell, its row and column and the
fix; the fix (LibreOffice saving the file, which calculates it) is checked to work.

Real workbooks, a real DuckDB database, LibreOffice for the fix.
"""

from __future__ import annotations

import shutil
import subprocess
import zipfile
from pathlib import Path

import duckdb
import openpyxl
import pytest

from eolneeds.config import load_config
from eolneeds.errors import EolneedsError
from eolneeds.ingest import ingest_files
from eolneeds.readers import uncalculated_formula
from eolneeds.reporting import Reporter

CONFIG = ('[project]\nicb_name = "Test ICB"\n\n[[places]]\ncode = "P1"\nname = "Place One"\n'
          '\n[ingest]\nmax_rejected_share = 1.0\n')
HEADER = ["person_id", "date_of_death", "age", "sex", "lsoa_code", "underlying_cause",
          "place_of_death"]
IDS = ["4010232137", "4505577104", "4839298429"]


@pytest.fixture
def config(tmp_path, monkeypatch):
    monkeypatch.setenv("EOLNEEDS_KEY", "test-key-not-secret-formulas")
    root = tmp_path / "project"
    root.mkdir()
    (root / "eolneeds.toml").write_text(CONFIG, encoding="utf-8")
    return load_config(root)


def _workbook(path: Path, rows: list[list[object]], title: str = "Deaths") -> Path:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = title
    for row in [["Deaths registered (extract)"], HEADER, *rows]:  # a title row above
        sheet.append(row)
    book.save(path)  # openpyxl saves formulas without results
    return path


def _loaded(config) -> list[tuple]:
    if not config.database_path.exists():
        return []
    con = duckdb.connect(str(config.database_path), read_only=True)
    try:
        return con.execute("SELECT age, sex FROM deaths ORDER BY source_row").fetchall()
    except duckdb.CatalogException:
        return []
    finally:
        con.close()


def test_an_age_computed_by_an_unsaved_formula_is_refused_naming_the_cell(config, tmp_path):
    rows = [[n, f"2024-0{m}-1{m}", f"=80+{m}", "F", "E01000001", "C34.9", "home"]
            for m, n in enumerate(IDS, start=1)]
    path = _workbook(tmp_path / "deaths.xlsx", rows)
    with pytest.raises(EolneedsError) as caught:
        ingest_files(config, "deaths", [path], reporter=Reporter())
    assert caught.value.exit_code == 3
    assert str(caught.value) == (
        "deaths.xlsx row 3, column age: cell C3 of sheet 'Deaths' holds a formula whose "
        "result was never saved (the program that wrote the file did not calculate it), so "
        "its value would be read as blank — open the file in Excel or LibreOffice and save "
        "it (that calculates and saves every formula's result), or paste the values as "
        "values, then ingest it again")
    assert _loaded(config) == []


def test_rows_of_only_unsaved_formulas_are_refused_not_skipped_as_blank(config, tmp_path):
    rows = [[f'="{n}"', f"=DATE(2024,{m},1{m})", f"=80+{m}", '="F"', '="E01000001"',
             '="C34.9"', '="home"'] for m, n in enumerate(IDS, start=1)]
    path = _workbook(tmp_path / "deaths.xlsx", rows)
    with pytest.raises(EolneedsError, match=r"^deaths\.xlsx row 3, column person_id: cell "
                                            r"A3 of sheet 'Deaths' holds a formula"):
        ingest_files(config, "deaths", [path], reporter=Reporter())
    assert _loaded(config) == []


@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice is not installed")
def test_the_fix_the_message_gives_works(config, tmp_path):
    """LibreOffice saving the refused workbook calculates it: the same file then loads
    with the values its formulas give."""
    rows = [[n, f"2024-0{m}-1{m}", f"=80+{m}", '="F"', "E01000001", "C34.9", "home"]
            for m, n in enumerate(IDS, start=1)]
    (tmp_path / "script").mkdir()
    written = _workbook(tmp_path / "script" / "deaths.xlsx", rows)
    saved = tmp_path / "saved"
    subprocess.run(["soffice", f"-env:UserInstallation={(tmp_path / 'lo').as_uri()}",
                    "--headless", "--convert-to", "xlsx", "--outdir", str(saved),
                    str(written)], check=True, capture_output=True, timeout=300)
    results = ingest_files(config, "deaths", [saved / "deaths.xlsx"], reporter=Reporter())
    assert [(r.rows_read, r.rows_loaded) for r in results] == [(3, 3)]
    assert _loaded(config) == [(81, "female"), (82, "female"), (83, "female")]


def _with_cells(path: Path, cells: str) -> Path:
    """`path` with row 3's cells replaced by `cells` (raw sheet XML)."""
    fixed = path.with_name("edited.xlsx")
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(fixed, "w") as target:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                start = data.index(b'<row r="3"')
                end = data.index(b"</row>", start)
                data = data[:start] + b'<row r="3">' + cells.encode() + data[end:]
            target.writestr(item, data)
    return fixed


@pytest.mark.parametrize(("cells", "found"), [
    # Excel's shared formula: the first cell holds the text, the others point at it.
    ('<c r="A3"><v>1</v></c><c r="B3"><f t="shared" ref="B3:B4" si="0"/></c>', ("B", 3)),
    ('<x:c r="D3"><x:f>1+1</x:f></x:c>', ("D", 3)),  # a namespace prefix
    ('<c r="C3" t="str"><f>IF(A3&gt;0,"","x")</f><v></v></c>', None),  # a saved empty text
    ('<c r="C3"><f>80+1</f><v>81</v></c>', None),  # a saved result
])
def test_formula_cells_with_and_without_results(tmp_path, cells, found):
    path = _with_cells(_workbook(tmp_path / "deaths.xlsx", [["x"] * 7, ["x"] * 7]), cells)
    assert uncalculated_formula(path, "Deaths", 2) == found
    assert uncalculated_formula(path, "Deaths", 4) is None  # above the first row asked
