"""Ingest end to end on small files written in tmp_path: formats, encodings, presets,
re-ingest, --replace, and a SIGKILL in the middle of a file."""

from __future__ import annotations

import gzip
import os
import signal
import subprocess
import sys
import time
from datetime import date, datetime
from pathlib import Path

import duckdb
import openpyxl
import pytest

from eolneeds.config import load_config
from eolneeds.ingest import ingest_files
from eolneeds.normalise import pseudonymise_one
from eolneeds.reporting import RecordingReporter, Reporter
from tests.small_project import make_project

TEST_KEY = "test-key-not-secret"


DEATHS_HEADER = "person_id,date_of_death,age,sex,lsoa_code,underlying_cause,place_of_death"


@pytest.fixture(autouse=True)
def _key(monkeypatch):
    monkeypatch.setenv("EOLNEEDS_KEY", TEST_KEY)


def query(config, sql: str, params: dict | None = None) -> list[tuple]:
    con = duckdb.connect(str(config.database_path), read_only=True)
    try:
        return con.execute(sql, params or {}).fetchall()
    finally:
        con.close()


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


def test_csv_loads_pseudonymised_and_counts_add_up(tmp_path):
    config = make_project(tmp_path / "p")
    csv = write(tmp_path / "deaths.csv", "\n".join([
        DEATHS_HEADER,
        "943 476 5919,05/01/2023,85,F,E01000001,C34.9,Hospital",
        "P2,2023-02-01,70,1,e01000002,I25X,home",
        "P3,31/02/2023,70,1,E01000002,I25X,home",  # impossible date
    ]) + "\n")
    reporter = RecordingReporter()
    [result] = ingest_files(config, "deaths", [csv], reporter=reporter)
    assert (result.rows_read, result.rows_loaded, result.rows_rejected) == (3, 2, 1)
    assert not result.skipped
    rows = query(config, "SELECT person_id, date_of_death, age, sex, lsoa_code, "
                 "underlying_cause, place_of_death, source_row FROM deaths ORDER BY source_row")
    assert rows == [
        (pseudonymise_one("9434765919", TEST_KEY.encode()), date(2023, 1, 5), 85, "female",
         "E01000001", "C349", "hospital", 2),
        (pseudonymise_one("P2", TEST_KEY.encode()), date(2023, 2, 1), 70, "male",
         "E01000002", "I25", "home", 3),
    ]
    assert query(config, "SELECT row_number, column_name, value, reason FROM rejects") == [
        (4, "date_of_death", "31/02/2023",
         "date_of_death '31/02/2023' is not a date: February 2023 has 28 days"),
    ]
    ingested = [f for name, f in reporter.events if name == "file_ingested"]
    assert ingested == [{"file": str(csv), "dataset": "deaths", "file_id": result.file_id,
                         "rows_read": 3, "rows_loaded": 2, "rows_rejected": 1}]
    # The clear identifier never reaches the database file.
    assert b"9434765919" not in config.database_path.read_bytes()
    assert b"943 476 5919" not in config.database_path.read_bytes()


def test_same_file_again_is_a_no_op(tmp_path):
    config = make_project(tmp_path / "p")
    csv = write(tmp_path / "deaths.csv",
                DEATHS_HEADER + "\nP1,05/01/2023,85,F,E01000001,C34.9,Hospital\n")
    first = ingest_files(config, "deaths", [csv], reporter=Reporter())
    reporter = RecordingReporter()
    again = ingest_files(config, "deaths", [csv], reporter=reporter)
    assert again[0].skipped and again[0].file_id == first[0].file_id
    assert reporter.names() == ["file_skipped", "message"]
    assert reporter.events[1][1]["text"] == (
        f"deaths.csv: already loaded (file {first[0].file_id}), skipped")
    assert query(config, "SELECT count(*) FROM deaths") == [(1,)]
    assert query(config, "SELECT count(*) FROM ingest_log") == [(1,)]


def test_replace_swaps_out_the_earlier_file(tmp_path):
    config = make_project(tmp_path / "p")
    folder = tmp_path / "v1"
    folder.mkdir()
    old = write(folder / "deaths.csv", "\n".join([
        DEATHS_HEADER, "P1,05/01/2023,85,F,E01000001,C34.9,Hospital",
        "P2,bad,85,F,E01000001,C34.9,Hospital"]) + "\n")
    [first] = ingest_files(config, "deaths", [old], reporter=Reporter())
    new = write(tmp_path / "deaths.csv", "\n".join([
        DEATHS_HEADER, "P1,06/01/2023,85,F,E01000001,C34.9,Hospital",
        "P2,07/01/2023,85,F,E01000001,C34.9,Hospital"]) + "\n")
    [second] = ingest_files(config, "deaths", [new], replace=True, reporter=Reporter())
    assert (second.rows_loaded, second.rows_rejected) == (2, 0)  # no false duplicates
    assert query(config, "SELECT date_of_death FROM deaths ORDER BY 1") == [
        (date(2023, 1, 6),), (date(2023, 1, 7),)]
    assert query(config, "SELECT count(*) FROM rejects") == [(0,)]
    assert query(config, "SELECT file_id, replaced_by FROM ingest_log ORDER BY 1") == [
        (first.file_id, second.file_id), (second.file_id, None)]


def test_without_replace_a_second_version_quarantines_duplicate_deaths(tmp_path):
    config = make_project(tmp_path / "p")
    (tmp_path / "a").mkdir()
    # P5 is not in the second version: it does not repeat the first whole, so it does not
    # replace it (test_cumulative_resupply.py), and its repeat of P1 is a duplicate.
    write(tmp_path / "a" / "deaths.csv",
          DEATHS_HEADER + "\nP1,05/01/2023,85,F,E01000001,C34.9,Hospital\n"
          + "P5,04/01/2023,80,M,E01000001,I21.9,Home\n")
    ingest_files(config, "deaths", [tmp_path / "a" / "deaths.csv"], reporter=Reporter())
    newer = write(tmp_path / "deaths.csv", DEATHS_HEADER
                  + "\nP1,05/01/2023,85,F,E01000001,C34.9,Hospital\n"
                  + "P9,05/01/2023,85,F,E01000001,C34.9,Hospital\n")
    reporter = RecordingReporter()
    [result] = ingest_files(config, "deaths", [newer], reporter=reporter)
    assert (result.rows_loaded, result.rows_rejected) == (1, 1)
    assert query(config, "SELECT reason FROM rejects") == [
        ("duplicate death for this person: already loaded from deaths.csv row 2",)]
    warnings = [f["text"] for n, f in reporter.events if n == "message"]
    assert any("use --replace" in w for w in warnings)


def test_cp1252_bom_and_delimiters(tmp_path):
    config = make_project(tmp_path / "p")
    # cp1252: 'é' is 0xE9 and the en dash 0x96 -- invalid as UTF-8.
    body = ("lsoa_code{d}place{d}imd_decile{d}rural_urban\n"
            "E01000001{d}P1{d}3{d}Urban – café\n")
    files = {
        "cp1252.csv": write(tmp_path / "cp1252.csv", body.format(d=","), "cp1252"),
        "bom.csv": write(tmp_path / "bom.csv", "\ufeff" + body.format(d=","), "utf-8"),
        "semi.csv": write(tmp_path / "semi.csv", body.format(d=";"), "utf-8"),
        "tab.tsv": write(tmp_path / "tab.tsv", body.format(d="\t"), "utf-8"),
        "pipe.txt": write(tmp_path / "pipe.txt", body.format(d="|"), "utf-8"),
    }
    for name, path in files.items():
        [result] = ingest_files(config, "areas", [path], reporter=Reporter())
        assert (result.rows_read, result.rows_loaded) == (1, 1), name
        assert query(config, "SELECT rural_urban FROM areas WHERE source_file_id = $f",
                     {"f": result.file_id}) == [("Urban – café",)], name
        # Each file loads beside the others: remove their rows to keep lsoa_code unique
        con = duckdb.connect(str(config.database_path))
        con.execute("DELETE FROM areas")
        con.close()
    assert query(config, "SELECT file_name, encoding FROM ingest_log ORDER BY file_id") == [
        ("cp1252.csv", "cp1252"), ("bom.csv", "utf-8-sig"), ("semi.csv", "utf-8"),
        ("tab.tsv", "utf-8"), ("pipe.txt", "utf-8")]


def test_unmapped_columns_are_not_kept_but_still_count(tmp_path):
    """Columns no mapping reads are left out of the staged table (a wide extract
    stages only what is used), yet a row with data only there is still a row: it is
    quarantined, not skipped as blank. A row blank everywhere is skipped."""
    config = make_project(tmp_path / "p")
    header = "person_id,NOTES,date_of_death,age,sex,lsoa_code,underlying_cause,place_of_death,X2"
    csv = write(tmp_path / "deaths.csv", "\n".join([
        header,
        "P1,free text,05/01/2023,85,F,E01000001,C34.9,Hospital,a",
        ",only here,,,,,,,",                 # row 3: data only in unmapped columns
        ",,,,,,,,",                          # row 4: blank: not a row
        "P2,,06/01/2023,70,M,E01000002,I25X,home,",
    ]) + "\n")
    [result] = ingest_files(config, "deaths", [csv], reporter=Reporter())
    assert (result.rows_read, result.rows_loaded, result.rows_rejected) == (3, 2, 1)
    assert query(config, "SELECT source_row, age, place_of_death FROM deaths ORDER BY 1") == [
        (2, 85, "hospital"), (5, 70, "home")]
    [(row, reason)] = query(config, "SELECT row_number, reason FROM rejects")
    assert row == 3
    assert reason.startswith("date_of_death is missing (a value is required)")

    # The staged table holds the mapped columns, the overflow column and the flag only.
    from eolneeds import readers
    con = duckdb.connect()
    chosen = ["person_id", "age"]
    raw = readers.read_into(con, csv, table="t", choose=lambda headers: chosen)
    staged = [r[0] for r in con.execute("DESCRIBE t").fetchall()]
    assert staged == ["c0", "c3", "__extra", "__unmapped_data", "__short_row"]
    assert raw.loaded_columns() == ['"c0"', '"c3"']
    assert con.execute("SELECT __unmapped_data FROM t ORDER BY rowid").fetchall() == [
        (True,), (True,), (False,), (True,)]
    con.close()


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_row_numbers_count_empty_lines(tmp_path, newline):
    """DuckDB drops empty lines; row numbers must still be the ones a user sees."""
    config = make_project(tmp_path / "p")
    lines = [
        DEATHS_HEADER,                                           # row 1
        "P1,05/01/2023,85,F,E01000001,C34.9,Hospital",           # row 2
        "",                                                      # row 3
        '"P2",05/01/2023,85,F,E01000001,"C34.9",Hospital',       # row 4
        "", "",                                                  # rows 5, 6
        "P3,05/01/2023,x,F,E01000001,C34.9,Hospital",            # row 7: bad age
        "P4,05/01/2023,70,F,E01000001,C34.9,Hospital",           # row 8
        "", "",                                                  # trailing
    ]
    csv = write(tmp_path / "deaths.csv", newline.join(lines) + newline)
    [result] = ingest_files(config, "deaths", [csv], reporter=Reporter())
    # The bad age only blanks the field: the death loads, the action names its row.
    assert (result.rows_read, result.rows_loaded, result.rows_rejected) == (4, 4, 0)
    assert query(config, "SELECT source_row FROM deaths ORDER BY 1") == [
        (2,), (4,), (7,), (8,)]
    assert query(config, "SELECT row_number, action, reason FROM field_actions") == [
        (7, "blanked", "age 'x' is not a whole number")]


def test_row_numbers_with_an_empty_line_inside_quotes_or_at_the_end(tmp_path):
    """An empty line inside a quoted value, or after the last row, shifts nothing."""
    from eolneeds import readers

    con = duckdb.connect()
    quoted = write(tmp_path / "quoted.csv", 'a,b\n1,"x\n\ny"\n2,z\n')
    raw = readers.read_into(con, quoted, table="q")
    assert con.execute(f"SELECT {raw.row_expr}, c0 FROM q ORDER BY 1").fetchall() == [
        (2, "1"), (3, "2")]
    trailing = write(tmp_path / "trailing.csv", "a,b\n1,x\n2,y\n\n\n")
    raw = readers.read_into(con, trailing, table="t")
    assert raw.row_expr != "__row"  # nothing to renumber
    assert con.execute(f"SELECT {raw.row_expr}, c0 FROM t ORDER BY 1").fetchall() == [
        (2, "1"), (3, "2")]
    titled = write(tmp_path / "titled.csv", "Report\n\na,b\n1,x\n\n2,y\n")
    raw = readers.read_into(con, titled, table="h", header_row=3)
    assert con.execute(f"SELECT {raw.row_expr}, c0 FROM h ORDER BY 1").fetchall() == [
        (4, "1"), (6, "2")]
    con.close()


def test_encoding_found_past_the_first_mebibyte(tmp_path):
    """The start of a file is only a guess: a cp1252 byte far down is still found (the
    file is read again as cp1252), and an undecodable one is reported with its offset."""
    from eolneeds.errors import InputDataError
    from eolneeds.readers import CHUNK

    config = make_project(tmp_path / "p")
    header = "lsoa_code,place,imd_decile,rural_urban\n"
    filler = "".join(f"E01{i:06d},P1,3,Urban\n" for i in range(CHUNK // 20 + 10))
    assert len(header + filler) > CHUNK
    late = write(tmp_path / "late.csv", header + filler + "E01999999,P1,3,Café\n", "cp1252")
    [result] = ingest_files(config, "areas", [late], reporter=Reporter())
    assert result.rows_loaded == filler.count("\n") + 1
    assert query(config, "SELECT rural_urban FROM areas WHERE lsoa_code = 'E01999999'") == [
        ("Café",)]
    assert query(config, "SELECT encoding FROM ingest_log") == [("cp1252",)]

    bad = tmp_path / "bad.csv"
    body = (header + filler).encode("utf-8")
    bad.write_bytes(body + b"E01999998,P1,3,\x81\n")
    with pytest.raises(InputDataError) as caught:
        ingest_files(config, "areas", [bad], reporter=Reporter())
    assert str(caught.value) == (
        f"bad.csv: is not readable text in UTF-8 or Windows-1252 (byte 0x81 at offset "
        f"{len(body) + 15}) — re-export it as CSV UTF-8, or pass the right encoding with "
        "--encoding")


def test_encoding_override(tmp_path):
    config = make_project(tmp_path / "p")
    path = write(tmp_path / "areas.csv", "lsoa_code,place,imd_decile,rural_urban\n"
                 "E01000001,P1,3,Café\n", "cp1252")
    [result] = ingest_files(config, "areas", [path], encoding="latin-1", reporter=Reporter())
    assert result.rows_loaded == 1
    assert query(config, "SELECT rural_urban FROM areas") == [("Café",)]


def test_gzip_csv(tmp_path):
    config = make_project(tmp_path / "p")
    path = tmp_path / "deaths.csv.gz"
    with gzip.open(path, "wt", encoding="utf-8") as fh:
        fh.write(DEATHS_HEADER + "\nP1,05/01/2023,85,F,E01000001,C34.9,Hospital\n"
                 "P2,05/01/2023,x,F,E01000001,C34.9,Hospital\n")
    [result] = ingest_files(config, "deaths", [path], reporter=Reporter())
    assert (result.rows_read, result.rows_loaded, result.rows_rejected) == (2, 2, 0)
    assert query(config, "SELECT row_number, reason FROM field_actions") == [
        (3, "age 'x' is not a whole number")]


def test_xlsx_title_rows_totals_and_excel_row_numbers(tmp_path):
    config = make_project(tmp_path / "p", {"deaths": """
dataset = "deaths"
sheet = "Deaths"
header_row = 3
[columns]
person_id = "NHS Number"
date_of_death = "Date of death"
"""})
    workbook = openpyxl.Workbook()
    workbook.active.title = "Notes"
    sheet = workbook.create_sheet("Deaths")
    sheet.append(["Deaths extract, Test ICB"])  # row 1: title
    sheet.append([])  # row 2: blank
    sheet.append(["NHS Number", "Date of death", "age", "sex", "lsoa_code", "underlying_cause",
                  "place_of_death"])  # row 3: header
    sheet.append([9434765919, datetime(2023, 1, 5), 85.0, "F", "E01000001", "C34.9", "Home"])
    sheet.append(["P2", "06/01/2023", 70, "M", "E01000001", "I21", "Hospital"])  # row 5
    sheet.append([])  # row 6: blank, not a record
    sheet.append(["P3", date(2030, 1, 1), 70, "M", "E01000001", "I21", "Hospital"])  # row 7
    sheet.append(["Total", None, 155])  # row 8: totals
    path = tmp_path / "deaths.xlsx"
    workbook.save(path)
    [result] = ingest_files(config, "deaths", [path], reporter=Reporter())
    assert (result.rows_read, result.rows_loaded, result.rows_rejected) == (4, 2, 2)
    assert query(config, "SELECT person_id, date_of_death, age, source_row FROM deaths "
                 "ORDER BY source_row") == [
        (pseudonymise_one("9434765919", TEST_KEY.encode()), date(2023, 1, 5), 85, 4),
        (pseudonymise_one("P2", TEST_KEY.encode()), date(2023, 1, 6), 70, 5)]
    assert query(config, "SELECT row_number, reason FROM rejects ORDER BY 1") == [
        (7, "date_of_death (Date of death) '2030-01-01' is in the future"),
        (8, "row looks like a totals row (Total)")]


def test_parquet_with_typed_columns(tmp_path):
    config = make_project(tmp_path / "p")
    path = tmp_path / "activity.parquet"
    con = duckdb.connect()
    con.execute(
        f"COPY (SELECT * FROM (VALUES ('P1', 'emergency', DATE '2023-01-02', DATE '2023-01-05', "
        "123.5), ('P2', 'Moon landing', DATE '2023-01-02', NULL, NULL)) "
        "t(person_id, activity_type, start_date, end_date, cost)) "
        f"TO '{path}' (FORMAT parquet)")
    con.close()
    [result] = ingest_files(config, "activity", [path], reporter=Reporter())
    assert (result.rows_read, result.rows_loaded, result.rows_rejected) == (2, 1, 1)
    assert query(config, "SELECT activity_type, start_date, end_date, cost, source_row "
                 "FROM activity") == [
        ("emergency_admission", date(2023, 1, 2), date(2023, 1, 5), 123.5, 1)]
    [(reason,)] = query(config, "SELECT reason FROM rejects")
    assert reason.startswith("activity_type '[words withheld]' is not a known activity type")


def test_parquet_unmapped_columns_are_not_kept_but_still_count(tmp_path):
    config = make_project(tmp_path / "p")
    path = tmp_path / "activity.parquet"
    con = duckdb.connect()
    con.execute(
        f"COPY (SELECT * FROM (VALUES ('P1', 'Ward 7', 'community', DATE '2023-01-02', 9), "
        "(NULL, 'note only', NULL, NULL, NULL), (NULL, NULL, NULL, NULL, NULL), "
        "('P2', NULL, 'community', DATE '2023-01-03', NULL)) "
        "t(person_id, ward, activity_type, start_date, episode_count)) "
        f"TO '{path}' (FORMAT parquet)")
    con.close()
    [result] = ingest_files(config, "activity", [path], reporter=Reporter())
    # Row 2 has a value only in unmapped columns: quarantined; row 3 is blank: skipped.
    assert (result.rows_read, result.rows_loaded, result.rows_rejected) == (3, 2, 1)
    assert query(config, "SELECT source_row FROM activity ORDER BY 1") == [(1,), (4,)]
    [(row, reason)] = query(config, "SELECT row_number, reason FROM rejects")
    assert row == 2 and reason.startswith("person_id is missing")

    from eolneeds import readers
    con = duckdb.connect()
    readers.read_into(con, path, table="t", choose=lambda headers: ["person_id"])
    assert [r[0] for r in con.execute("DESCRIBE t").fetchall()] == [
        "__row", "c0", "__unmapped_data"]
    con.close()


def test_pcmd_deaths_preset(tmp_path):
    config = make_project(tmp_path / "p", {"deaths": 'dataset = "deaths"\npreset = '
                                                     '"pcmd_deaths"\n'})
    header = ("DEC_NHS_NUMBER,REG_DATE_OF_DEATH,REG_DATE,DEC_AGEC,DEC_SEX,DEC_LSOA,"
              "S_UNDERLYING_COD_ICD10,S_COD_CODE_1,S_COD_CODE_2,POD_CODE,"
              "POD_NHS_ESTABLISHMENT,POD_ESTABLISHMENT_TYPE")
    path = write(tmp_path / "pcmd.csv", "\n".join([
        header,
        "9434765919,20230105,20230110,85,2,E01000001,C349,I251,,H,,",  # home
        "4010232137,20230106,20230111,70,1,E01000001,I219,,,X,1,01",  # NHS hospital
        "4010232138,20230106,20230111,70,1,E01000001,I219,,,X,1,01",  # bad check digit
        "9999999999,20230107,20230106,70,1,E01000001,I219,,,X,2,52",  # registered before
    ]) + "\n")
    [result] = ingest_files(config, "deaths", [path], reporter=Reporter())
    # A bad check digit or a placeholder number (one digit ten times) leaves the death
    # unlinked; a registration before the death is blanked: every death loads.
    assert (result.rows_loaded, result.rows_rejected) == (4, 0)
    assert query(config, "SELECT sex, place_of_death, contributory_causes, "
                 "date_of_registration, left(person_id, 1) = 'u' FROM deaths "
                 "ORDER BY source_row") == [
        ("female", "home", ["I251"], date(2023, 1, 10), False),
        ("male", "hospital", [], date(2023, 1, 11), False),
        ("male", "hospital", [], date(2023, 1, 11), True),
        ("male", "religious", [], None, True)]
    bad_nhs = ("person_id (DEC_NHS_NUMBER) is not a valid NHS number (10 digits with a "
               "correct modulus 11 check digit); the death counts but cannot be linked to "
               "register or activity rows")
    assert query(config, "SELECT row_number, column_name, value, action, reason "
                 "FROM field_actions ORDER BY 1, 2") == [
        (4, "person_id", "##########", "unlinked", bad_nhs),
        (5, "date_of_registration", "2023-01-06", "blanked",
         "date_of_registration (REG_DATE) '2023-01-06' is before date_of_death "
         "(REG_DATE_OF_DEATH) '2023-01-07'; a death is registered after it happens"),
        (5, "person_id", "##########", "unlinked", bad_nhs)]


def test_hes_apc_and_ecds_presets(tmp_path):
    config = make_project(tmp_path / "p", {
        "hes": 'dataset = "activity"\npreset = "hes_apc"\n',
        "ecds": 'dataset = "activity"\npreset = "ecds_ae"\n',
    })
    hes = write(tmp_path / "hes.csv", "\n".join([
        "PERSON_ID,ADMIDATE,DISDATE,ADMIMETH,TRETSPEF,SPELL_COST",
        "9434765919,2023-01-01,2023-01-03,21,300,1000",
        "9434765919,2023-01-04,2023-01-04,2b,315,",
        "9434765919,2023-01-05,2023-01-06,11,100,500",
        "9434765919,2023-01-07,2023-01-08,81,100,500",
    ]) + "\n")
    ecds = write(tmp_path / "ecds.csv",
                 "PERSON_ID,ARRIVAL_DATE,COST\n943 476 5919,2023-01-01,£150.00\n")
    ingest_files(config, "activity", [hes], mapping="hes", reporter=Reporter())
    ingest_files(config, "activity", [ecds], mapping="ecds", reporter=Reporter())
    assert query(config, "SELECT activity_type, admission_method, treatment_function, cost "
                 "FROM activity ORDER BY source_file_id, source_row") == [
        ("emergency_admission", "21", "300", 1000.0),
        ("emergency_admission", "2B", "315", None),
        ("elective_admission", "11", "100", 500.0),
        ("other", "81", "100", 500.0),
        ("ae_attendance", None, None, 150.0)]
    # The same person links across the two extracts despite the spaces.
    assert query(config, "SELECT count(DISTINCT person_id) FROM activity") == [(1,)]


def test_repeated_values_are_judged_once_but_every_row_counts(tmp_path):
    # Values are cleaned and checked once per distinct value, then joined back: a bad
    # value repeated on several rows (also with stray spaces) rejects each of them, and
    # rows sharing its good values still load.
    config = make_project(tmp_path / "p")
    rows = ["person_id,activity_type,start_date,end_date,cost"]
    for i in range(6):
        rows.append(f"P{i % 2},emergency,2023-01-0{i + 1},2023-01-09,{100 + i}")
    rows.append("P0,emergency,2023-02-30,2023-01-09,1")  # row 8: impossible date
    rows.append(" P0 ,Emergency,2023-02-30,2023-01-09,2")  # row 9: same, spaced
    rows.append("P1,teleport,2023-02-30 ,,3")  # row 10: two problems
    path = write(tmp_path / "activity.csv", "\n".join(rows) + "\n")
    [result] = ingest_files(config, "activity", [path], reporter=Reporter())
    assert (result.rows_read, result.rows_loaded, result.rows_rejected) == (9, 6, 3)
    not_in_february = "is not a date: February 2023 has 28 days"
    assert query(config, "SELECT row_number, column_name, value, reason FROM rejects "
                 "ORDER BY 1") == [
        (8, "start_date", "2023-02-30", f"start_date '2023-02-30' {not_in_february}"),
        (9, "start_date", "2023-02-30", f"start_date '2023-02-30' {not_in_february}"),
        (10, "activity_type", "[words withheld]",  # words: kept nowhere (hostile5)
         "activity_type '[words withheld]' is not a known activity type (use one of "
         "emergency_admission, elective_admission, ae_attendance, community_contact, "
         "specialist_palliative_contact, hospice_inpatient, outpatient, other); add a "
         f"[recode.activity_type] entry to the mapping; start_date '2023-02-30' "
         f"{not_in_february}")]
    key = TEST_KEY.encode()
    assert query(config, "SELECT person_id, cost, source_row FROM activity "
                 "ORDER BY source_row") == [
        (pseudonymise_one(f"P{i % 2}", key), 100.0 + i, i + 2) for i in range(6)]
    # No row is left behind marked as rejected (negative source_row).
    assert query(config, "SELECT count(*) FROM activity WHERE source_row < 0") == [(0,)]


def test_header_only_file_loads_nothing_and_warns(tmp_path):
    config = make_project(tmp_path / "p")
    path = write(tmp_path / "deaths.csv", DEATHS_HEADER + "\n")
    reporter = RecordingReporter()
    [result] = ingest_files(config, "deaths", [path], reporter=reporter)
    assert (result.rows_read, result.rows_loaded, result.rows_rejected) == (0, 0, 0)
    assert ("message", {"text": "deaths.csv: the file has a header but no data rows",
                        "level": "warning"}) in reporter.events


# ---------------------------------------------------------------------------------------
# Killed mid-file: the database is exactly as it was

KILL_SCRIPT = """
import sys
from pathlib import Path
from eolneeds.config import load_config
from eolneeds.ingest import ingest_files
from eolneeds.reporting import Reporter
ingest_files(load_config(Path(sys.argv[1])), "deaths", [Path(sys.argv[2])], reporter=Reporter())
"""


def _snapshot(config) -> tuple:
    con = duckdb.connect(str(config.database_path))  # read-write: must open cleanly
    try:
        return (
            con.execute("SELECT count(*) FROM deaths").fetchall(),
            con.execute("SELECT count(*) FROM rejects").fetchall(),
            con.execute("SELECT file_id, file_name, rows_read, rows_loaded, rows_rejected, "
                        "replaced_by FROM ingest_log ORDER BY file_id").fetchall(),
        )
    finally:
        con.close()


@pytest.mark.slow
@pytest.mark.parametrize("delay", [0.8, 2.0])
def test_sigkill_mid_file_leaves_database_as_it_was(tmp_path, delay):
    config = make_project(tmp_path / "p")
    small = write(tmp_path / "small.csv",
                  DEATHS_HEADER + "\nP1,05/01/2023,85,F,E01000001,C34.9,Hospital\n")
    ingest_files(config, "deaths", [small], reporter=Reporter())
    big = tmp_path / "big.csv"
    con = duckdb.connect()
    con.execute(
        "COPY (SELECT 'Q' || i AS person_id, strftime(DATE '2020-01-01' + (i % 1000)::INT, "
        "'%d/%m/%Y') AS date_of_death, (i % 100)::VARCHAR AS age, 'F' AS sex, "
        "'E01000001' AS lsoa_code, 'C34.9' AS underlying_cause, "
        f"'Hospital' AS place_of_death FROM range(1500000) t(i)) TO '{big}' (HEADER)")
    con.close()
    before = _snapshot(config)
    env = dict(os.environ, EOLNEEDS_KEY=TEST_KEY)
    process = subprocess.Popen([sys.executable, "-c", KILL_SCRIPT, str(config.root), str(big)],
                               env=env)
    time.sleep(delay)
    assert process.poll() is None, "ingest finished before the kill: use a bigger file"
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert _snapshot(config) == before
    # And it carries on: the database accepts the next file.
    other = write(tmp_path / "other.csv",
                  DEATHS_HEADER + "\nP2,05/01/2023,85,F,E01000001,C34.9,Hospital\n")
    [result] = ingest_files(config, "deaths", [other], reporter=Reporter())
    assert result.rows_loaded == 1


# ---------------------------------------------------------------------------------------
# The synthetic sample, ingested twice


@pytest.mark.slow
def test_sample_ingested_twice_is_stable(tmp_path):
    import eolneeds.sample as sample
    root = tmp_path / "sample"
    sample.write_sample(root, deaths=20000, seed=1, reporter=Reporter())
    config = load_config(root)

    from eolneeds.run import mapping_for_file  # which mapping reads which inbox file

    def ingest_inbox() -> None:
        for folder in sorted(p for p in config.inbox.iterdir() if p.is_dir()):
            for file in sorted(p for p in folder.iterdir() if p.is_file()):
                mapping = mapping_for_file(config, folder.name, file.name)
                ingest_files(config, folder.name, [file], mapping=mapping, reporter=Reporter())

    ingest_inbox()
    tables = ("deaths", "register", "activity", "population", "areas", "projections",
              "rejects", "ingest_log")
    first = {t: query(config, f"SELECT count(*) FROM {t}") for t in tables}
    assert first["deaths"][0][0] > 0
    ingest_inbox()
    assert {t: query(config, f"SELECT count(*) FROM {t}") for t in tables} == first
    assert query(config, "SELECT count(*) FROM ingest_log "
                 "WHERE rows_read <> rows_loaded + rows_rejected") == [(0,)]
    # Every row is in exactly one place.
    for dataset in ("deaths", "register", "activity", "population", "areas", "projections"):
        assert query(config, f"""
            SELECT count(*) FROM ingest_log l WHERE dataset = '{dataset}' AND rows_loaded
              <> (SELECT count(*) FROM {dataset} d WHERE d.source_file_id = l.file_id)
              OR rows_rejected <> (SELECT count(*) FROM rejects r WHERE r.file_id = l.file_id)
        """) == [(0,)], dataset
