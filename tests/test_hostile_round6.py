"""Red team, round 6: damaged compressed files, and dates and numbers at the edges.

* A .csv (or .csv.gz) that starts as gzip does (its two magic bytes) and then holds
  garbage -- a download cut off and padded, a file damaged on a share -- was exit 1,
  'a bug in eolneeds' (zlib's error is no OSError, which every reader caught), in
  ingest, inspect and the monthly run. Now it is exit 3 naming the file, and the fix
  (a complete copy) goes in.
* A deaths file of ISO dates before 1900 ('0001-01-01', '0000-00-00', a default date
  exported as such) with no mapping: ingest refused it and advised `date_format =
  "%Y-%m-%d"` -- the format it already reads (ISO is read by every mapping), so the
  advice looped. Now it says to correct the dates, and doing so goes in.
* The monthly run on a project it cannot write (a read-only share or mount) was exit 1,
  'a bug in eolneeds', making logs/ -- before the lock, whose refusal (exit 2, "copy the
  project somewhere writable") ingest and assess already gave. The run now says the same,
  and the copy runs.
* The zero date of Excel, Access and SQL Server exports ('30/12/1899', an empty date
  written out) loaded a death of 1899, and the report's coverage tables said the deaths
  ran from 1899-12-30. Dates before 1900 are now no dates (as a month or a population
  year before 1900 already were): the death is quarantined naming the value.
* An .xlsx workbook saved as deaths.csv (portals name downloads so) was refused with
  openpyxl's words, "openpyxl does not support .csv file format, please check you can
  open it with Excel first": it now says what the file is and to rename it.
* An optional column under a slip of its name ('agee', or 'age' with a NUL inside it) was
  read as absent: every death lost its age without a word (validate then advised
  correcting ages that field_actions had no rows of). Ingest now warns, naming the column
  and both fixes, each of which reads it.
* The other edges keep their behaviour, checked here: each impossible or implausible
  date quarantines its death, naming the value; 1e308, NaN, inf and 0x10 as a cost blank
  it ('not a number' or 'above'), -0 is 0.

Real files, a real DuckDB database, the real CLI where the exit code is the point.
"""

from __future__ import annotations

import gzip
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path

import duckdb
import pytest
from small_project import CONFIG, HEADER, small_project, stand_in_validation_and_assessment

from eolneeds import run as run_mod
from eolneeds.config import load_config
from eolneeds.errors import InputDataError
from eolneeds.ingest import ingest_files
from eolneeds.inspect import inspect_file
from eolneeds.reporting import Reporter

CLI = [sys.executable, "-c", "from eolneeds.cli import main; main()"]
ROWS = ("9434765919,2024-01-15,80,F,E01000001,C34.9,home\n"
        "4010232137,2024-02-15,81,M,E01000001,I21,hospital\n")
# gzip's magic, its deflate method and flags, then bytes no inflater reads: the stored
# block's length and its complement disagree (zlib: 'invalid stored block lengths').
DAMAGED = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03" + b"\x00\x05\x00\x05\x00hello" * 40


@pytest.fixture
def root(tmp_path, monkeypatch) -> Path:
    return small_project(tmp_path, monkeypatch)


def _cli(root: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, encoding="utf-8",
                          timeout=300, cwd=root,
                          env={**os.environ, "EOLNEEDS_KEY": "test-key-not-secret"})


@pytest.mark.parametrize("name", ["deaths.csv", "deaths.csv.gz"])
def test_damaged_gzip_data_is_exit_3_naming_the_file_and_a_complete_copy_goes_in(root, name):
    damaged = root / name
    damaged.write_bytes(DAMAGED)
    for args in (["ingest", "deaths", str(damaged), "--project", str(root)],
                 ["inspect", str(damaged)]):
        done = _cli(root, *args)
        assert done.returncode == 3, done.stderr
        assert done.stderr.splitlines()[-1] == (
            f"Error: {name}: cannot be read (its compressed data is damaged: Error -3 while "
            "decompressing data: invalid stored block lengths) — check that the file is "
            "complete and not corrupted")
    # The fix: a complete copy of the extract.
    damaged.write_bytes(gzip.compress((HEADER + ROWS).encode("utf-8")))
    done = _cli(root, "ingest", "deaths", str(damaged), "--project", str(root))
    assert done.returncode == 0, done.stderr
    assert f"{name}: 2 rows read, 2 loaded into deaths" in done.stderr


def test_the_monthly_run_stops_on_a_damaged_gzip_with_exit_3(root):
    (root / "inbox" / "deaths" / "deaths.csv").write_bytes(DAMAGED)
    done = _cli(root, "run", "--month", "2024-03", "--project", str(root))
    assert done.returncode == 3, done.stderr
    assert "deaths.csv: cannot be read (its compressed data is damaged" in done.stderr
    assert "Internal error" not in done.stderr


def test_inspect_reads_a_damaged_gzip_as_a_refusal_not_a_crash(tmp_path):
    damaged = tmp_path / "x.csv"
    damaged.write_bytes(DAMAGED)
    with pytest.raises(InputDataError, match="compressed data is damaged"):
        inspect_file(damaged)


@pytest.mark.parametrize("ancient", ["0001-01-01", "0000-00-00", "1850-06-01"])
def test_ancient_iso_dates_are_not_answered_with_the_format_they_have(root, ancient):
    extract = root / "deaths.csv"
    extract.write_text(HEADER + f"9434765919,{ancient},80,F,E01000001,C34.9,home\n"
                       f"4010232137,{ancient},81,M,E01000001,I21,hospital\n"
                       "4505577104,2024-03-01,82,M,E01000001,I21,hospital\n",
                       encoding="utf-8")
    config = load_config(root)
    with pytest.raises(InputDataError) as refused:
        ingest_files(config, "deaths", [extract], reporter=Reporter())
    message = str(refused.value)
    assert "date_format" not in message.split(" — ")[1]
    assert message.endswith(
        "— correct the dates in the file: they are written as the mapping reads dates "
        f"(yyyy-mm-dd) but are not real dates, or are before 1900, such as '{ancient}'")
    # The fix, literally: correct the dates.
    extract.write_text(extract.read_text(encoding="utf-8").replace(ancient, "2024-02-20"),
                       encoding="utf-8")
    [result] = ingest_files(config, "deaths", [extract], reporter=Reporter())
    assert (result.rows_read, result.rows_loaded) == (3, 3)


def test_dates_and_numbers_at_the_edges(root):
    (root / "eolneeds.toml").write_text(CONFIG + "\n[ingest]\nmax_rejected_share = 1.0\n",
                                        encoding="utf-8")
    deaths = root / "deaths.csv"
    edges = ["0000-00-00", "31/02/2025", "0", "1900-02-29", "-1", "9999-12-31"]
    numbers = ["9434765919", "4010232137", "4505577104", "4839298429", "4902316927",
               "4055677006"]
    deaths.write_text(HEADER + "".join(
        f"{n},{d},80,F,E01000001,C34.9,home\n" for n, d in zip(numbers, edges, strict=True))
        + "4010232145,2024-01-15,80,F,E01000001,C34.9,home\n", encoding="utf-8")
    activity = root / "activity.csv"
    costs = ["1e308", "NaN", "inf", "-inf", "0x10", "-0", "12.5"]
    activity.write_text("person_id,activity_type,start_date,cost\n" + "".join(
        f"P{i},emergency_admission,2024-01-0{i + 1},{c}\n" for i, c in enumerate(costs)),
        encoding="utf-8")
    config = load_config(root)
    [died] = ingest_files(config, "deaths", [deaths], reporter=Reporter())
    [spells] = ingest_files(config, "activity", [activity], reporter=Reporter())
    assert (died.rows_loaded, died.rows_rejected, spells.rows_loaded) == (1, 6, 7)
    with duckdb.connect(str(config.database_path), read_only=True) as con:
        rejected = con.execute("SELECT row_number, reason FROM rejects ORDER BY 1").fetchall()
        costs_read = con.execute("SELECT cost FROM activity ORDER BY source_row").fetchall()
        blanked = con.execute("SELECT row_number, reason FROM field_actions ORDER BY 1"
                              ).fetchall()
    # Written as dates are read, they say why they are none; the rest what is read.
    expected = ["there is no month 0", "February 2025 has 28 days", None,
                "1900 is not a leap year", None]
    assert rejected == [(2 + i, f"date_of_death '{d}' is not a date" + (
        f": {why}" if why else " (expected dd/mm/yyyy or yyyy-mm-dd)"))
                        for i, (d, why) in enumerate(zip(edges[:5], expected, strict=True))] + [
        (7, "date_of_death '9999-12-31' is in the future")]
    assert [c for (c,) in costs_read] == [None, None, None, None, None, 0.0, 12.5]
    assert blanked == [
        (2, "cost '1e308' is above 10,000,000, the most a cost can plausibly be"),
        (3, "cost 'NaN' is not a number"), (4, "cost 'inf' is not a number"),
        (5, "cost '-inf' is not a number"), (6, "cost '0x10' is not a number")]


@contextmanager
def read_only(folder: Path) -> Iterator[Path]:
    """`folder` seen through a read-only bind mount (as root, the suite's and CI's user,
    a mode bit does not stop a write)."""
    view = folder.parent / f"{folder.name}-read-only"
    view.mkdir()
    done = subprocess.run(["mount", "--bind", str(folder), str(view)], capture_output=True,
                          text=True)
    if done.returncode != 0:  # not root, or a container without CAP_SYS_ADMIN
        pytest.skip(f"cannot bind-mount here: {done.stderr.strip()}")
    try:
        subprocess.run(["mount", "-o", "remount,ro,bind", str(view)], check=True)
        yield view
    finally:
        subprocess.run(["umount", "-l", str(view)], check=True)


@pytest.mark.skipif(sys.platform != "linux", reason="bind mounts are Linux's")
def test_the_monthly_run_on_a_read_only_project_is_exit_2_and_its_fix_runs(root,
                                                                           monkeypatch):
    (root / "inbox" / "deaths" / "deaths.csv").write_text(HEADER + ROWS, encoding="utf-8")
    with read_only(root) as view:
        done = _cli(root, "run", "--month", "2024-02", "--project", str(view))
        assert done.returncode == 2, done.stderr
        assert done.stderr.splitlines() == [
            f"Error: {view}/logs cannot be written (Read-only file system), so the run "
            "cannot keep its log — run eolneeds as a user who can write to the project "
            "folder, or copy the project somewhere writable"]
        # The fix, literally: a copy somewhere writable runs (its assessment stood in:
        # not what is tested here).
        copy = root.parent / "copy"
        shutil.copytree(view, copy)
    stand_in_validation_and_assessment(monkeypatch)
    result = run_mod.run_month(load_config(copy), "2024-02", reporter=Reporter())
    assert result.files_ingested and (copy / "output" / "2024-02" / "run.json").is_file()


def test_a_workbook_named_csv_says_so_and_renaming_it_reads_it(root):
    from openpyxl import Workbook

    book = Workbook()
    for row in (HEADER + ROWS).splitlines():
        book.active.append(row.split(","))
    named = root / "deaths.csv"
    book.save(named)
    config = load_config(root)
    said = ("deaths.csv: is an Excel workbook saved under a .csv name — rename it to "
            "deaths.xlsx and ingest that")
    with pytest.raises(InputDataError) as refused:
        ingest_files(config, "deaths", [named], reporter=Reporter())
    assert str(refused.value) == said
    with pytest.raises(InputDataError) as refused:
        inspect_file(named)
    assert str(refused.value) == said
    [result] = ingest_files(config, "deaths", [named.rename(root / "deaths.xlsx")],
                            reporter=Reporter())
    assert (result.rows_read, result.rows_loaded) == (2, 2)


def test_a_population_year_out_of_range_is_a_mapping_error_and_a_year_reads_the_file(root):
    """Round 6: `year = 99999` quarantined every row with the advice to check a [columns]
    mapping of year there was none of (test_hostile_config has the message); the advice
    given now, a year such as 2022, reads the file."""
    from eolneeds.errors import ConfigError

    (root / "mappings").mkdir()
    mapping = root / "mappings" / "population.toml"
    estimates = root / "population.csv"
    estimates.write_text("LSOA 2021 Code," + ",".join(
        [f"F{a}" for a in range(91)] + [f"M{a}" for a in range(91)]) + "\n"
        + "E01000001," + ",".join(["1"] * 182) + "\n", encoding="utf-8")
    mapping.write_text('dataset = "population"\npreset = "ons_population"\nyear = 99999\n',
                       encoding="utf-8")
    with pytest.raises(ConfigError, match="key 'year' is 99999"):
        ingest_files(load_config(root), "population", [estimates], reporter=Reporter())
    mapping.write_text(mapping.read_text(encoding="utf-8").replace("99999", "2022"),
                       encoding="utf-8")
    [result] = ingest_files(load_config(root), "population", [estimates], reporter=Reporter())
    assert result.rows_loaded == result.rows_read == 38  # 19 bands x 2 sexes


class _Said(Reporter):
    def __init__(self) -> None:
        self.said: list[str] = []

    def message(self, text: str, *, level: str = "info") -> None:
        self.said.append(f"{level}: {text}")


@pytest.mark.parametrize("header, fix", [("agee", "map"), ("a\x00ge", "rename")])
def test_an_optional_column_under_a_slip_of_its_name_is_said_and_either_fix_reads_it(
        root, header, fix):
    extract = root / "deaths.csv"
    extract.write_text(HEADER.replace(",age,", f",{header},") + ROWS, encoding="utf-8")
    config = load_config(root)
    reporter = _Said()
    [result] = ingest_files(config, "deaths", [extract], reporter=reporter)
    assert result.rows_loaded == 2
    shown = repr(header)
    assert (f"warning: deaths.csv: column {shown} is not read, so no row has age — if it "
            f"holds age, rename it age in the file, or add age = {json.dumps(header)} under "
            "[columns] in mappings/deaths.toml") in reporter.said
    if fix == "map":
        (root / "mappings").mkdir()
        (root / "mappings" / "deaths.toml").write_text(
            f"[columns]\nage = {json.dumps(header)}\n", encoding="utf-8")
    else:
        extract.write_text(HEADER + ROWS, encoding="utf-8")
    config = load_config(root)
    reporter = _Said()
    [again] = ingest_files(config, "deaths", [extract], replace=True, reporter=reporter)
    assert not [s for s in reporter.said if "is not read" in s]
    with duckdb.connect(str(config.database_path), read_only=True) as con:
        assert con.execute("SELECT age FROM deaths ORDER BY source_row").fetchall() == [
            (80,), (81,)]


def test_extra_columns_unlike_any_are_not_mentioned(root):
    extract = root / "deaths.csv"
    extract.write_text(HEADER.replace("\n", ",note,ward\n")
                       + ROWS.replace("\n", ",x,y\n"), encoding="utf-8")
    reporter = _Said()
    ingest_files(load_config(root), "deaths", [extract], reporter=reporter)
    assert not [s for s in reporter.said if "is not read" in s]


@pytest.mark.parametrize("zero", ["30/12/1899", "1899-12-30", "31/12/1899"])
def test_the_zero_date_of_excel_and_access_is_no_date_of_death(root, zero):
    extract = root / "deaths.csv"
    extract.write_text(HEADER + ROWS + f"4505577104,{zero},82,M,E01000001,I21,hospital\n",
                       encoding="utf-8")
    (root / "eolneeds.toml").write_text(CONFIG + "\n[ingest]\nmax_rejected_share = 1.0\n",
                                        encoding="utf-8")
    config = load_config(root)
    [result] = ingest_files(config, "deaths", [extract], reporter=Reporter())
    assert (result.rows_loaded, result.rows_rejected) == (2, 1)
    with duckdb.connect(str(config.database_path), read_only=True) as con:
        assert con.execute("SELECT min(date_of_death) FROM deaths").fetchone()[0] == \
            date(2024, 1, 15)
        assert con.execute("SELECT row_number, reason FROM rejects").fetchall() == [
            (4, f"date_of_death '{zero}' is not a date (expected dd/mm/yyyy or yyyy-mm-dd)")]
