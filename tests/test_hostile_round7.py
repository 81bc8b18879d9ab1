"""Red team, round 7: what round 6 left, and more.

* A workbook whose formatting runs to Excel's last row (a fill or border applied to whole
  columns: 1,048,576 formatted, empty rows) took ~20 CPU s and 620 MB to ingest, however
  few rows held data: openpyxl yields every row, and the sheet's recorded size
  (<dimension>) can be anything. The reader now stops at the last row holding a value
  (found by the pass over the sheet's XML that ingest makes anyway): measured on 3 data
  rows under 1,048,576 formatted ones, ingest 19.4 -> 1.8 CPU s, 622 -> 198 MB; inspect
  19.3 -> 1.9 CPU s.
* inspect read a sheet only as far as its recorded size, so a stale <dimension> (A1:C2
  over 500 rows) profiled one row of 500; it now reads what ingest reads.
* inspect of a workbook of 10,000 sheets printed 10,000 lines and spent 31 CPU s
  (choosing the data sheet was quadratic; each sheet's header was recognised afresh):
  it lists the first 20 and the data sheet and counts the rest (6.8 CPU s, most of it
  openpyxl opening the workbook).
* A file no mapping reads (2 GB of NULs, an empty file, a web page) was refused only
  once its content hash was done (the refusal waited to see whether the same bytes were
  loaded before): 45 s for 2 GB. It is refused from its first 4 KB, before hashing.
* File names are kept and shown with NHS numbers masked; a postcode in one
  ('smith_M1_1AE.csv') reached the console, the run log, run.json, ingest_log and so the
  manifest, report and packs. Postcodes are masked by the same rule
  (normalise.mask_identifiers, in shown_name and in every message printed or logged).
  A date of birth beside a name is not: no shape tells it from a file's extract date.
* inspect printed names and addresses in a file of people's records as example values
  ('Mrs Joan Smith' as a preferred place of death, an address in a notes column): never
  stored, but printed to a console that may be logged, and offered as recodes. A value
  with a title or a number beside words is shown as '[words withheld]'; other words are
  shown, since recodes are written from them (ingest's stricter rule withheld team types
  and places written out, which the mapping needs). Names without a title are shown.
* A cost, age or population of '1_000' was read as 1000 (DuckDB's cast, like Python's
  int(), takes '_' as a digit separator; '1_0.5' was 10.5). No national export writes
  one: it is not a number, blanked or quarantined with the reason.
* validate said of deaths from an extract with no age column 'correct their age in the
  deaths extract (the field_actions table has their rows)': it had none. A file with no
  age for any death is named, with the fix that works (export the ages, ingest again
  with --replace), applied here.

Round 7's own:
* A project in a folder whose path has a space (every Windows analyst's 'OneDrive - NHS'
  folder): the monthly run's refusal advised `eolneeds validate --project /x/NHS Data`,
  which a shell reads as two arguments; `eolneeds init` was advised so too. Both paths
  are now quoted for the shell (errors.shell_arg), and the command runs as written.
* `inspect` of a Parquet file cut short (a copy or download stopped half-way) or damaged
  inside was exit 1, 'Internal error: ArrowInvalid ... a bug in eolneeds'; ingest
  already refused it. inspect now says what ingest says (exit 3).
* An extract exported without its header row: its first row of data was taken as the
  column names. `inspect --write-mapping` wrote them into the mapping (person_id =
  "9434765919", "# not mapped: SW1A 1AA, Mrs Joan Smith"): a clear identifier kept in
  the project's mappings folder; inspect printed 'Mrs Joan Smith' as a column; ingest's
  refusal listed the 'columns found' (a name, printed and logged by the monthly run)
  and advised renaming a column. A header row holding an NHS number or a postcode
  (normalise.data_as_header) is now said to be a row of data, nothing of it is listed,
  and the fix (export with the header) is applied here.
* A mapping's `encoding = "punycode"` ended ingest in an internal error (exit 1: the
  codec's UnicodeError is no UnicodeDecodeError); "idna", "unicode_escape" and
  "undefined" were taken as a file's encoding too. They are no character set a file is
  written in: a mapping error naming the key, whose advice (utf-8) reads the file.

Real files, a real DuckDB database, the real CLI where the exit code is the point.
"""

from __future__ import annotations

import io
import os
import re
import shlex
import subprocess
import sys
import zipfile
from datetime import date
from pathlib import Path

import duckdb
import openpyxl
import pytest
from openpyxl.styles import Font
from openpyxl.worksheet import _reader as sheet_reader
from small_project import CONFIG, HEADER, small_project, stand_in_validation_and_assessment

from eolneeds import inspect as inspect_mod
from eolneeds import readers
from eolneeds import run as run_mod
from eolneeds.config import load_config
from eolneeds.console import ConsoleReporter
from eolneeds.db import connect
from eolneeds.errors import InputDataError
from eolneeds.ingest import ingest_files
from eolneeds.inspect import inspect_file
from eolneeds.normalise import MASK, POSTCODE_MASK, mask_identifiers, shown_name
from eolneeds.outputs import _inputs
from eolneeds.reporting import Reporter

REGISTER = [("9434765919", "2024-01-15", "A81001"), ("4010232137", "2024-02-15", "A81001"),
            ("9434765870", "2024-03-15", "A81002")]


@pytest.fixture
def config(tmp_path, monkeypatch):
    monkeypatch.setenv("EOLNEEDS_KEY", "test-key-not-secret")
    root = tmp_path / "project"
    (root / "mappings").mkdir(parents=True)
    (root / "eolneeds.toml").write_text(CONFIG, encoding="utf-8")
    (root / "mappings" / "register.toml").write_text(
        'dataset = "register"\nnhs_number = true\n', encoding="utf-8")
    return load_config(root)


def _rewrite_sheet(path: Path, edit) -> None:
    """Rewrite the first worksheet's XML of an openpyxl-saved workbook with `edit`."""
    with zipfile.ZipFile(path) as source:
        parts = [(item, source.read(item.filename)) for item in source.infolist()]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as target:
        for item, data in parts:
            if item.filename == "xl/worksheets/sheet1.xml":
                data = edit(data.decode("utf-8")).encode("utf-8")
            target.writestr(item, data)


def formatted_to_the_end(path: Path, *, empty_rows: int, dimension: str) -> Path:
    """The register with its three rows, a bold empty cell below them (as Excel saves a
    formatted cell), then `empty_rows` formatted empty rows, and a recorded size of
    `dimension`."""
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Register"
    sheet.append(["person_id", "date_added", "gp_practice"])
    for row in REGISTER:
        sheet.append(list(row))
    sheet["A5"].font = Font(bold=True)
    buffer = io.BytesIO()
    book.save(buffer)
    path.write_bytes(buffer.getvalue())
    first = 6
    empty = "".join(f'<row r="{r}" s="1" customFormat="1"><c r="A{r}" s="1"/>'
                    f'<c r="B{r}" s="1"/></row>' for r in range(first, first + empty_rows))
    _rewrite_sheet(path, lambda xml: re.sub(r'<dimension ref="[^"]*"',
                                            f'<dimension ref="{dimension}"',
                                            xml.replace("</sheetData>", empty + "</sheetData>")))
    return path


@pytest.fixture
def rows_parsed(monkeypatch) -> list[int]:
    """How many rows openpyxl parses (its own parser, counted, doing its work)."""
    count = [0]
    parse_row = sheet_reader.WorkSheetParser.parse_row

    def counted(self, element):
        count[0] += 1
        return parse_row(self, element)

    monkeypatch.setattr(sheet_reader.WorkSheetParser, "parse_row", counted)
    return count


@pytest.mark.parametrize("dimension", ["A1:C1048576", "A1:C2"])
def test_formatted_empty_rows_to_the_end_of_the_sheet_are_not_read(config, tmp_path,
                                                                   rows_parsed, dimension):
    book = formatted_to_the_end(tmp_path / "register.xlsx", empty_rows=100_000,
                                dimension=dimension)
    assert readers.sheet_xml(book, "Register").last_row == 4
    results = ingest_files(config, "register", [book], reporter=Reporter(),
                           mapping="register")
    assert (results[0].rows_read, results[0].rows_loaded) == (3, 3)
    # The header search reads its first rows; the data pass stops at row 4.
    assert rows_parsed[0] < 200
    rows_parsed[0] = 0
    found = inspect_file(book)
    assert found.rows == 3
    assert rows_parsed[0] < 200


def test_inspect_reads_past_a_stale_recorded_size_as_ingest_does(tmp_path):
    book = openpyxl.Workbook()
    book.active.append(["person_id", "date_added", "gp_practice"])
    for i in range(500):
        book.active.append([f"P{i}", "2024-01-15", "A81001"])
    path = tmp_path / "register.xlsx"
    book.save(path)
    _rewrite_sheet(path, lambda xml: re.sub(r'<dimension ref="[^"]*"',
                                            '<dimension ref="A1:C2"', xml))
    assert inspect_file(path).rows == 500


def _sheet_xml_rows(path: Path) -> int | None:
    return readers.sheet_xml(path, "Data").last_row


@pytest.mark.parametrize("write_only", [False, True])
def test_the_last_filled_row_is_the_last_row_openpyxl_finds_a_value_on(tmp_path,
                                                                       write_only):
    """Across chunk boundaries (the XML is read 4 MiB at a time), with values, inline
    strings and formulas, as openpyxl writes them either way."""
    book = openpyxl.Workbook(write_only=write_only)
    sheet = book.create_sheet("Data") if write_only else book.active
    sheet.title = "Data"
    for i in range(1, 25_001):
        sheet.append([f"text {i} " + "x" * 160, i, None if i % 7 else "=1+1"])
    path = tmp_path / "data.xlsx"
    book.save(path)
    assert _sheet_xml_rows(path) == 25_000
    # A formula alone on the last row counts: it is refused as uncalculated, not dropped.
    _rewrite_sheet(path, lambda xml: xml.replace(
        "</sheetData>", '<row r="70000"><c r="C70000"><f>1+1</f></c></row>'
        '<row r="80000"><c r="C80000" s="1"/></row></sheetData>'))
    assert _sheet_xml_rows(path) == 70_000


def test_cells_without_references_leave_the_end_unknown_and_every_row_is_read(tmp_path):
    book = openpyxl.Workbook()
    book.active.title = "Data"
    book.active.append(["a", "b"])
    book.active.append(["1", "2"])
    path = tmp_path / "data.xlsx"
    book.save(path)
    # Some writers leave out r="...": the row is then the count of rows so far.
    _rewrite_sheet(path, lambda xml: re.sub(r' r="[A-Z]*\d+"', "", xml))
    assert _sheet_xml_rows(path) is None
    assert [r[:2] for r in readers.fast_sheet_rows(path, "Data", 1, None)] == \
        [["a", "b"], ["1", "2"]]


def test_a_workbook_of_many_sheets_lists_a_few_and_the_data_and_counts_the_rest(
        tmp_path, monkeypatch):
    monkeypatch.setattr(inspect_mod, "SHEETS_LISTED", 3)
    book = openpyxl.Workbook()
    book.active.title = "Note 1"
    book.active.append(["A note"])
    for i in range(2, 30):
        book.create_sheet(f"Note {i}").append(["A note"])
    data = book.create_sheet("Register")
    data.append(["person_id", "date_added", "gp_practice"])
    for row in REGISTER:
        data.append(list(row))
    path = tmp_path / "register.xlsx"
    book.save(path)
    text = inspect_file(path).render_text()
    listed = [line for line in text.splitlines() if line.startswith("    '")]
    assert [line.split("'")[1] for line in listed] == ["Note 1", "Note 2", "Note 3",
                                                        "Register"]
    assert "<- data" in listed[-1]
    assert "    ... and 26 more sheets, not listed (--sheet NAME profiles any one)" in text
    # The advice works: the sheet named is profiled.
    assert inspect_file(path, sheet="Note 20").sheet == "Note 20"


DEATHS = "9434765919,2024-01-15,80,F,E01000001,C34.9,home\n"


@pytest.mark.parametrize("loaded_before", [False, True])
def test_a_file_of_nuls_is_refused_from_its_first_bytes_without_hashing_it(
        tmp_path, monkeypatch, loaded_before):
    root = small_project(tmp_path, monkeypatch)
    config = load_config(root)
    extract = tmp_path / "deaths.csv"
    if loaded_before:  # the monthly file of the same name: hashed first, to skip it
        extract.write_text(HEADER + DEATHS, encoding="utf-8")
        ingest_files(config, "deaths", [extract], reporter=Reporter())
    with extract.open("wb") as fh:
        fh.truncate(64 * 1024 * 1024)  # 64 MB of NULs
    hashed: list[Path] = []
    file_sha256 = readers.file_sha256
    monkeypatch.setattr(readers, "file_sha256",
                        lambda path: hashed.append(path) or file_sha256(path))
    with pytest.raises(InputDataError) as refused:
        ingest_files(config, "deaths", [extract], reporter=Reporter())
    assert str(refused.value) == ("deaths.csv: looks like a binary file, not CSV text (it "
                                  "contains NUL bytes) — export the data as CSV UTF-8, "
                                  "XLSX or Parquet")
    assert hashed == []
    # The fix: the data exported as CSV goes in.
    extract.write_text(HEADER + DEATHS.replace("2024-01-15", "2024-01-16"), encoding="utf-8")
    assert ingest_files(config, "deaths", [extract], reporter=Reporter())[0].rows_loaded == 1


def test_postcodes_and_nhs_numbers_in_names_are_masked_by_one_rule():
    for name, shown in [("smith_M1_1AE.csv", f"smith_{POSTCODE_MASK}.csv"),
                        ("deaths-SW1A1AA.csv", f"deaths-{POSTCODE_MASK}.csv"),
                        ("J Smith sw1a 1aa 943 476 5919.csv",
                         f"J Smith {POSTCODE_MASK} {MASK}.csv"),
                        ("b2.3rd.xlsx", f"{POSTCODE_MASK}.xlsx")]:
        assert shown_name(name) == shown, name
        assert mask_identifiers(name) == shown, name
    # Names as extracts are named keep their dates, codes and versions.
    for plain in ["deaths_2024-10.csv", "PCMD_20241001123456.csv", "pcmd_E01000001.csv",
                  "A81001_register.xlsx", "Q4_2024 v2_1of3.csv", "FY2425_M12.csv",
                  "hes_apc_RX1_2025.csv", "C34.9 C349.csv", r"C:\Data\deaths_20241001.csv"]:
        assert shown_name(plain) == plain, plain


def test_a_postcode_in_a_file_name_is_in_no_record_of_the_run(tmp_path, monkeypatch):
    root = small_project(tmp_path, monkeypatch)
    name = "deaths_smith_M1_1AE_1950.csv"
    (root / "inbox" / "deaths" / name).write_text(HEADER + DEATHS, encoding="utf-8")
    stand_in_validation_and_assessment(monkeypatch)
    printed = io.StringIO()
    run_mod.run_month(load_config(root), "2024-01", reporter=ConsoleReporter(stream=printed))
    shown = f"deaths_smith_{POSTCODE_MASK}_1950.csv"
    log = (root / "logs" / "eolneeds-2024-01.log").read_text(encoding="utf-8")
    record = (root / "output" / "2024-01" / "run.json").read_text(encoding="utf-8")
    assert f"deaths/{shown}" in record
    con = connect(root / "eolneeds.duckdb", read_only=True)
    try:
        assert [i["file_name"] for i in _inputs(con)] == [shown]
        stored = " ".join(str(v) for v in con.execute(
            "SELECT file_name, file_path FROM ingest_log").fetchone())
    finally:
        con.close()
    for text in (printed.getvalue(), log, record, stored):
        assert "1AE" not in text.upper(), text


def test_names_and_addresses_in_a_file_of_peoples_records_are_not_shown(tmp_path):
    extract = tmp_path / "register.csv"
    extract.write_text(
        "NHS Number,Date Added,Practice Code,Preferred Place of Death,Notes\n"
        "9434765919,15/01/2024,A81001,Usual residence (own home),"
        "Lives with daughter at 12 Acacia Avenue\n"
        "4010232137,15/02/2024,A81001,Mrs Joan Smith,\n"
        "9434765870,15/03/2024,Dr Patel,Hospice,ok\n", encoding="utf-8")
    found = inspect_file(extract)
    text = found.render_text()
    for words in ("Smith", "Acacia", "Patel", "daughter"):
        assert words not in text
    examples = {c.name: c.examples for c in found.columns}
    # A place of death written out is the recode's key: shown.
    assert examples["Preferred Place of Death"] == [
        "Usual residence (own home)", "[words withheld]", "Hospice"]
    assert examples["Practice Code"] == ["A81001", "[words withheld]"]
    # (Round 9: a word in one row of a people's file that is no code's is withheld too.)
    assert examples["Notes"] == ["[words withheld]"]
    # Nor offered as a recode in the mapping written from it.
    assert "Smith" not in inspect_mod.mapping_text(found)
    # A file of people no dataset fits: its column of NHS numbers says whose it is.
    unknown = tmp_path / "list.csv"
    unknown.write_text("NHS Number,Carer,Team\n9434765919,Mrs Joan Smith,District nursing\n"
                       "4010232137,12 Acacia Avenue,Hospice\n", encoding="utf-8")
    assert inspect_file(unknown).dataset is None
    shown = inspect_file(unknown).render_text()
    assert "Smith" not in shown and "Acacia" not in shown
    assert "'District nursing', 'Hospice'" in shown  # a team recoded from its words
    # A reference file's names are words that name no one: shown.
    lookup = tmp_path / "lookup.csv"
    lookup.write_text("lsoa_code,place\nE01000001,North Somerset Place\n", encoding="utf-8")
    assert "'North Somerset Place'" in inspect_file(lookup).render_text()


def test_a_number_with_an_underscore_is_no_number(tmp_path, monkeypatch):
    monkeypatch.setenv("EOLNEEDS_KEY", "test-key-not-secret")
    root = tmp_path / "project"
    root.mkdir()
    (root / "eolneeds.toml").write_text(CONFIG, encoding="utf-8")
    activity = tmp_path / "activity.csv"
    activity.write_text("person_id,activity_type,start_date,cost\n"
                        "P1,emergency_admission,2024-01-01,1_000\n"
                        "P2,emergency_admission,2024-01-02,1_0.5\n"
                        "P3,emergency_admission,2024-01-03,\"1,000\"\n", encoding="utf-8")
    deaths = tmp_path / "deaths.csv"
    deaths.write_text(HEADER + "P1,2024-01-15,8_1,F,E01000001,C34.9,home\n"
                      "P2,2024-01-16,81,F,E01000001,C34.9,home\n", encoding="utf-8")
    population = tmp_path / "population.csv"
    population.write_text("lsoa_code,year,sex,age_band,population\n"
                          "E01000001,2024,female,85-89,1_000\n"
                          "E01000001,2024,male,85-89,345\n", encoding="utf-8")
    config = load_config(root)
    [spells] = ingest_files(config, "activity", [activity], reporter=Reporter())
    [died] = ingest_files(config, "deaths", [deaths], reporter=Reporter())
    [people] = ingest_files(config, "population", [population], reporter=Reporter())
    assert (spells.rows_loaded, died.rows_loaded) == (3, 2)
    assert (people.rows_read, people.rows_loaded, people.rows_rejected) == (2, 1, 1)
    with duckdb.connect(str(config.database_path), read_only=True) as con:
        assert con.execute("SELECT cost FROM activity ORDER BY source_row").fetchall() == [
            (None,), (None,), (1000.0,)]
        assert con.execute("SELECT date_of_death, age FROM deaths ORDER BY source_row"
                           ).fetchall() == [(date(2024, 1, 15), None), (date(2024, 1, 16), 81)]
        assert con.execute("SELECT population FROM population").fetchall() == [(345,)]
        reasons = sorted(r for (r,) in con.execute(
            "SELECT reason FROM field_actions UNION ALL SELECT reason FROM rejects"
        ).fetchall())
    assert reasons == ["age '8_1' is not a whole number", "cost '1_0.5' is not a number",
                       "cost '1_000' is not a number", "population '1_000' is not a number"]


def test_deaths_from_a_file_without_ages_get_the_advice_that_adds_them(tmp_path,
                                                                      monkeypatch):
    from eolneeds.validate import validate_project

    root = small_project(tmp_path, monkeypatch)
    extract = tmp_path / "deaths_2024.csv"
    extract.write_text("person_id,date_of_death,sex,lsoa_code,underlying_cause,"
                       "place_of_death\nP1,2024-01-15,F,E01000001,C34.9,home\n"
                       "P2,2024-01-16,M,E01000001,I21,hospital\n", encoding="utf-8")
    blanked = tmp_path / "deaths_late.csv"
    blanked.write_text(HEADER + "P3,2024-01-17,999,F,E01000001,C34.9,home\n",
                       encoding="utf-8")
    config = load_config(root)
    ingest_files(config, "deaths", [extract, blanked], reporter=Reporter())
    warnings = [w for w in validate_project(config, reporter=Reporter()).warnings
                if "unknown age" in w]
    assert warnings == [
        "2 deaths of unknown age: deaths_2024.csv has no age or date of birth for any "
        "death; they count in the number of deaths but not in the age-standardised rate "
        "— export the deaths with their age (or date of birth) and ingest the file again "
        "with --replace (if the column is named otherwise, name it in the mapping's "
        "[columns], e.g. age = \"AGE_AT_DEATH\")",
        "1 death of unknown age (an age such as DEC_AGEC 999 is blanked): they count in "
        "the number of deaths but not in the age-standardised rate, and where 1 to 7 fall "
        "in an area and period the rate is withheld there (its count against the deaths "
        "would give them away) — correct their age in the deaths extract (the "
        "field_actions table has their rows)"]
    # The advice, as it says: the ages exported, the file ingested again with --replace.
    extract.write_text(HEADER + "P1,2024-01-15,80,F,E01000001,C34.9,home\n"
                       "P2,2024-01-16,81,M,E01000001,I21,hospital\n", encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-c", "from eolneeds.cli import main; main()", "ingest", "deaths",
         str(extract), "--replace", "--project", str(root)], capture_output=True,
        text=True, encoding="utf-8")
    assert done.returncode == 0, done.stderr
    warnings = [w for w in validate_project(load_config(root), reporter=Reporter()).warnings
                if "unknown age" in w]
    assert [w.split(":")[0] for w in warnings] == [
        "1 death of unknown age (an age such as DEC_AGEC 999 is blanked)"]


CLI = [sys.executable, "-c", "from eolneeds.cli import main; main()"]


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX shell quoting")
def test_the_commands_advised_for_a_project_whose_path_has_spaces_run_as_written(
        tmp_path, monkeypatch):
    monkeypatch.setenv("EOLNEEDS_KEY", "test-key-not-secret")
    root = tmp_path / "OneDrive - NHS" / "EoL needs é"
    (root / "inbox" / "deaths").mkdir(parents=True)
    (root / "eolneeds.toml").write_text(CONFIG, encoding="utf-8")
    (root / "inbox" / "deaths" / "deaths.csv").write_text(HEADER + DEATHS, encoding="utf-8")
    done = subprocess.run([*CLI, "run", "--month", "2024-01", "--project", str(root)],
                          capture_output=True, text=True, encoding="utf-8")
    assert done.returncode == 3
    advised = re.search(r"see `(eolneeds validate [^`]*)`", done.stderr)
    assert advised is not None, done.stderr
    # As a POSIX shell reads the command: one argument for the project.
    command = shlex.split(advised.group(1))
    assert command[1:] == ["validate", "--project", str(root)]
    checked = subprocess.run([*CLI, *command[1:]], capture_output=True, text=True,
                             encoding="utf-8")
    assert "no areas loaded" in checked.stdout + checked.stderr
    # Not a project yet: the init advised makes one there.
    elsewhere = tmp_path / "My Projects" / "new one"
    elsewhere.mkdir(parents=True)
    done = subprocess.run([*CLI, "validate", "--project", str(elsewhere)],
                          capture_output=True, text=True, encoding="utf-8")
    advised = re.search(r"run `(eolneeds init [^`]*)`", done.stderr)
    assert advised is not None, done.stderr
    command = shlex.split(advised.group(1))
    assert command[1:] == ["init", str(elsewhere)]
    made = subprocess.run([*CLI, *command[1:]], capture_output=True, text=True,
                          encoding="utf-8", env={**os.environ,
                                                 "HOME": str(tmp_path)})
    assert made.returncode == 0, made.stderr
    assert (elsewhere / "eolneeds.toml").is_file()


@pytest.mark.parametrize("damage", ["cut in half", "damaged inside"])
def test_inspect_of_a_damaged_parquet_file_is_exit_3_as_ingest_says_it(tmp_path, damage):
    import pyarrow as pa
    import pyarrow.parquet as pq

    whole = tmp_path / "whole.parquet"
    pq.write_table(pa.table({"person_id": [f"P{i}" for i in range(20_000)],
                             "date_of_death": ["2024-01-15"] * 20_000}), whole,
                   row_group_size=5_000)
    data = bytearray(whole.read_bytes())
    if damage == "cut in half":
        data = data[:len(data) // 2]
    else:
        data[len(data) // 3:len(data) // 3 + 2_000] = b"U" * 2_000
    extract = tmp_path / "deaths.parquet"
    extract.write_bytes(bytes(data))
    done = subprocess.run([*CLI, "inspect", str(extract)], capture_output=True, text=True,
                          encoding="utf-8")
    assert done.returncode == 3, done.stderr
    assert done.stderr.startswith("Error: deaths.parquet: is not a readable Parquet file (")
    assert done.stderr.rstrip().endswith("— re-export it, or export CSV instead")
    assert "Traceback" not in done.stderr and "bug" not in done.stderr


def test_an_extract_without_its_header_row_is_said_to_be_so_and_nothing_of_it_kept(
        tmp_path, monkeypatch):
    monkeypatch.setenv("EOLNEEDS_KEY", "test-key-not-secret")
    root = tmp_path / "project"
    root.mkdir()
    (root / "eolneeds.toml").write_text(CONFIG, encoding="utf-8")
    rows = ("9434765919,2024-01-15,80,F,SW1A 1AA,Mrs Joan Smith,home\n"
            "4010232137,2024-01-16,81,M,E01000001,I21,hospital\n")
    extract = tmp_path / "deaths.csv"
    extract.write_text(rows, encoding="utf-8")
    for command in (["inspect", str(extract), "--write-mapping", "mine", "--dataset",
                     "deaths", "--project", str(root)],
                    ["ingest", "deaths", str(extract), "--project", str(root)]):
        done = subprocess.run([*CLI, *command], capture_output=True, text=True,
                              encoding="utf-8")
        assert done.returncode == 3, done.stderr
        assert "its header row holds an NHS number or a postcode, not column names" in \
            done.stderr
        assert f"then {command[0]} it again" in done.stderr
        for clear in ("Smith", "SW1A", "5919"):
            assert clear not in done.stdout + done.stderr
    assert not (root / "mappings" / "mine.toml").exists()
    # Nor with a preset that does not find its columns.
    (root / "mappings").mkdir()
    (root / "mappings" / "pcmd.toml").write_text('dataset = "deaths"\npreset = '
                                                 '"pcmd_deaths"\n', encoding="utf-8")
    done = subprocess.run([*CLI, "ingest", "deaths", str(extract), "--mapping", "pcmd",
                           "--project", str(root)], capture_output=True, text=True,
                          encoding="utf-8")
    assert done.returncode == 3 and "exported without its header row" in done.stderr
    assert "Smith" not in done.stderr
    (root / "mappings" / "pcmd.toml").unlink()
    # The fix: the extract exported with its header row goes in.
    extract.write_text(HEADER + rows, encoding="utf-8")
    for command in (["inspect", str(extract)],
                    ["ingest", "deaths", str(extract), "--project", str(root)]):
        done = subprocess.run([*CLI, *command], capture_output=True, text=True,
                              encoding="utf-8")
        assert done.returncode == 0, done.stderr
    assert "2 rows read, 2 loaded into deaths" in done.stdout + done.stderr


@pytest.mark.parametrize("codec", ["punycode", "idna", "unicode_escape", "undefined"])
def test_an_encoding_no_file_is_written_in_is_a_mapping_error_naming_the_key(
        tmp_path, monkeypatch, codec):
    root = small_project(tmp_path, monkeypatch)
    (root / "mappings").mkdir()
    mapping = root / "mappings" / "deaths.toml"
    mapping.write_text(f'dataset = "deaths"\nencoding = "{codec}"\n', encoding="utf-8")
    extract = tmp_path / "deaths.csv"
    extract.write_text(HEADER + DEATHS, encoding="utf-8")
    done = subprocess.run([*CLI, "ingest", "deaths", str(extract), "--project", str(root)],
                          capture_output=True, text=True, encoding="utf-8")
    assert done.returncode == 2, done.stderr
    assert done.stderr == (f"Error: {mapping}: key 'encoding' is '{codec}', not a text "
                           "encoding — use utf-8, utf-8-sig, cp1252 or utf-16, or \"auto\" "
                           "to detect it\n")
    mapping.write_text('dataset = "deaths"\nencoding = "utf-8"\n', encoding="utf-8")
    done = subprocess.run([*CLI, "ingest", "deaths", str(extract), "--project", str(root)],
                          capture_output=True, text=True, encoding="utf-8")
    assert done.returncode == 0, done.stderr
