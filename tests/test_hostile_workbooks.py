"""Red team: workbooks built to exhaust the reader. A shared string is stored once in
an .xlsx however many cells use it, so a 340 KB file whose cells all point at one
5-million-character string expanded to gigabytes when read: ingest died with an
internal error (ArrowMemoryError, or the machine's memory filled) and inspect ran for
ever. A cell longer than Excel's own limit (32,767 characters) is now refused naming the
cell, and a sheet whose text passes a bound (1,000 million characters for ingest, 100
million for inspect's profile) is refused naming the row: exit 3, one line.
Workbooks as Excel and LibreOffice write them (cached formula errors, merged title
cells, very hidden copies, renamed .xls / .ods / CSV) are read or refused as before.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from eolneeds import readers
from eolneeds.config import load_config
from eolneeds.errors import InputDataError
from eolneeds.ingest import ingest_files
from eolneeds.inspect import inspect_file
from eolneeds.reporting import Reporter

CONFIG = '[project]\nicb_name = "Test ICB"\n\n[[places]]\ncode = "P1"\nname = "Place One"\n'
HEADERS = ["person_id", "date_added", "gp_practice", "preferred_place_of_death", "dnacpr",
           "advance_care_plan"]
XML = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
RELS = "http://schemas.openxmlformats.org/package/2006/relationships"
DOC = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"


def shared_strings_bomb(path: Path, rows: int, length: int) -> Path:
    """A register workbook every row of which points four cells at one shared string of
    `length` characters (written by hand: no spreadsheet program would write it)."""
    strings = [*HEADERS, "A" * length, "943 476 5919", "2024-01-15"]
    sst = (f'{XML}<sst xmlns="{MAIN}" count="{len(strings)}" uniqueCount="{len(strings)}">'
           + "".join(f"<si><t>{s}</t></si>" for s in strings) + "</sst>")
    cols = "ABCDEF"
    body = ['<row r="1">' + "".join(f'<c r="{cols[i]}1" t="s"><v>{i}</v></c>'
                                    for i in range(6)) + "</row>"]
    for r in range(2, rows + 2):
        body.append(f'<row r="{r}"><c r="A{r}" t="s"><v>7</v></c><c r="B{r}" t="s"><v>8</v>'
                    "</c>" + "".join(f'<c r="{cols[i]}{r}" t="s"><v>6</v></c>'
                                     for i in range(2, 6)) + "</row>")
    sheet = f'{XML}<worksheet xmlns="{MAIN}"><sheetData>{"".join(body)}</sheetData></worksheet>'
    kinds = "application/vnd.openxmlformats-officedocument.spreadsheetml"
    types = (f'{XML}<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
             f'<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
             f'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>'
             f'<Override PartName="/xl/workbook.xml" ContentType="{kinds}.sheet.main+xml"/>'
             f'<Override PartName="/xl/worksheets/sheet1.xml" ContentType="{kinds}.worksheet'
             f'+xml"/><Override PartName="/xl/sharedStrings.xml" ContentType="{kinds}.'
             'sharedStrings+xml"/></Types>')
    root_rels = (f'{XML}<Relationships xmlns="{RELS}"><Relationship Id="rId1" Type="{DOC}/'
                 'officeDocument" Target="xl/workbook.xml"/></Relationships>')
    book = (f'{XML}<workbook xmlns="{MAIN}" xmlns:r="{DOC}"><sheets><sheet name="Register" '
            'sheetId="1" r:id="rId1"/></sheets></workbook>')
    book_rels = (f'{XML}<Relationships xmlns="{RELS}"><Relationship Id="rId1" Type="{DOC}/'
                 'worksheet" Target="worksheets/sheet1.xml"/><Relationship Id="rId2" '
                 f'Type="{DOC}/sharedStrings" Target="sharedStrings.xml"/></Relationships>')
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", types)
        archive.writestr("_rels/.rels", root_rels)
        archive.writestr("xl/workbook.xml", book)
        archive.writestr("xl/_rels/workbook.xml.rels", book_rels)
        archive.writestr("xl/sharedStrings.xml", sst)
        archive.writestr("xl/worksheets/sheet1.xml", sheet)
    return path


@pytest.fixture
def config(tmp_path, monkeypatch):
    monkeypatch.setenv("EOLNEEDS_KEY", "test-key-not-secret")
    root = tmp_path / "project"
    root.mkdir()
    (root / "eolneeds.toml").write_text(CONFIG, encoding="utf-8")
    (root / "mappings").mkdir()
    (root / "mappings" / "register.toml").write_text(
        'dataset = "register"\nnhs_number = true\n', encoding="utf-8")
    return load_config(root)


def test_a_cell_longer_than_excel_allows_is_refused_naming_it(config, tmp_path):
    bomb = shared_strings_bomb(tmp_path / "register.xlsx", rows=2_000, length=5_000_000)
    assert bomb.stat().st_size < 100_000  # ~40 GB of text once every cell is read
    with pytest.raises(InputDataError) as refused:
        ingest_files(config, "register", [bomb], reporter=Reporter(), mapping="register")
    assert str(refused.value) == (
        "register.xlsx row 2, column gp_practice: cell C2 of sheet 'Register' holds "
        "5,000,000 characters, more than Excel's limit of 32,767: not a workbook Excel "
        "saved, so it is not read — check where the file came from, then export the data "
        "again as .xlsx or CSV")
    with pytest.raises(InputDataError) as refused:
        inspect_file(bomb)
    assert "cell C2 of sheet 'Register' holds 5,000,000 characters" in str(refused.value)


def test_a_sheet_that_expands_past_the_bound_is_refused_naming_the_row(config, tmp_path,
                                                                       monkeypatch):
    # The bound scaled down a thousand times, so the test needs megabytes, not gigabytes.
    monkeypatch.setattr(readers, "MAX_SHEET_CHARS", 1_000_000)
    bomb = shared_strings_bomb(tmp_path / "register.xlsx", rows=2_000, length=30_000)
    with pytest.raises(InputDataError) as refused:
        ingest_files(config, "register", [bomb], reporter=Reporter(), mapping="register")
    # Each row holds 4 x 30,000 characters (and 22 more): row 10 passes one million.
    assert str(refused.value) == (
        "register.xlsx row 10: sheet 'Register' holds over 1,000,000 characters of text by "
        "this row, far more than any extract: a workbook built to fill memory, so it is not "
        "read — check where the file came from, then export the data again as CSV")
    assert not config.database_path.exists() or "register.xlsx" not in \
        config.database_path.read_bytes().decode("latin-1")


def test_long_cells_within_the_bounds_are_read_and_quarantined_as_too_long(config,
                                                                           tmp_path):
    sheet = shared_strings_bomb(tmp_path / "register.xlsx", rows=20, length=32_767)
    with pytest.raises(InputDataError) as refused:
        ingest_files(config, "register", [sheet], reporter=Reporter(), mapping="register")
    # Read, then every row quarantined for its over-long value: the usual refusal.
    assert str(refused.value).startswith("register.xlsx: 20 of 20 rows would be "
                                         "quarantined (every row)")
    assert "is 32767 characters long (the limit is 255)" in str(refused.value)


def _merged_header_workbook(path: Path, *, merged: bool) -> Path:
    """A register workbook whose header row has 'Flags' merged over the two flag
    columns (as a report laid out for reading is), or, unmerged, a header per column."""
    import openpyxl

    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "Register"
    if merged:
        sheet.append([*HEADERS[:4], "Flags", None])
        sheet.merge_cells("E1:F1")
    else:
        sheet.append(HEADERS)
    sheet.append(["943 476 5919", "2024-01-15", "A81001", "home", "Y", "N"])
    workbook.save(path)
    return path


def test_merged_header_cells_are_named_and_unmerging_them_reads_the_file(tmp_path,
                                                                        monkeypatch):
    """Round 5: the message listed the headers ('Flags', '') without a word about the
    merged cell that made the second one blank."""
    monkeypatch.setenv("EOLNEEDS_KEY", "test-key-not-secret")
    root = tmp_path / "project"
    (root / "mappings").mkdir(parents=True)
    (root / "eolneeds.toml").write_text(CONFIG, encoding="utf-8")
    # Both flags named: 'Flags' stands for dnacpr, the merged-over column for nothing.
    (root / "mappings" / "register.toml").write_text(
        'dataset = "register"\n[columns]\ndnacpr = "Flags"\n'
        'advance_care_plan = "advance_care_plan"\n', encoding="utf-8")
    config = load_config(root)
    book = _merged_header_workbook(tmp_path / "register.xlsx", merged=True)
    with pytest.raises(InputDataError) as caught:
        ingest_files(config, "register", [book], reporter=Reporter())
    message = str(caught.value)
    assert "the header row has merged cells (E1:F1)" in message
    assert "Unmerge Cells" in message and "its own header" in message
    # The fix, literally: unmerged, each column with its own header.
    (root / "mappings" / "register.toml").write_text('dataset = "register"\n',
                                                     encoding="utf-8")
    fixed = _merged_header_workbook(tmp_path / "register.xlsx", merged=False)
    [result] = ingest_files(load_config(root), "register", [fixed], reporter=Reporter())
    assert (result.rows_read, result.rows_loaded) == (1, 1)


def test_merged_title_cells_above_the_header_are_not_mentioned(tmp_path):
    import openpyxl

    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["Palliative care register, March 2024"])
    sheet.merge_cells("A1:F1")
    sheet.append(HEADERS)
    workbook.save(tmp_path / "titled.xlsx")
    assert readers.sheet_xml(tmp_path / "titled.xlsx", sheet.title).merged_on(2) == []
    assert readers.sheet_xml(tmp_path / "titled.xlsx", sheet.title).merged_on(1) == ["A1:F1"]
