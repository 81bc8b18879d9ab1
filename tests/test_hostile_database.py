"""Red team: a project database whose tables are not the ones this version writes (a
newer eolneeds changed a column's type, an older one lacks a column, someone edited it
by hand). `assess` failed half-way with DuckDB's binder error: exit 1, 'a bug in
eolneeds'. Now ingest and assess say which table and column differ and what to do
(exit 3, as for a damaged database); extra columns are left alone. A real DuckDB file
and the real CLI."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

CLI = [sys.executable, "-c", "from eolneeds.cli import main; main()"]
CONFIG = '[project]\nicb_name = "Test ICB"\n\n[[places]]\ncode = "P1"\nname = "Place One"\n'
HEADER = "person_id,date_of_death,age,sex,lsoa_code,underlying_cause,place_of_death\n"
ROWS = ("9434765919,2024-01-15,80,F,E01000001,C34.9,home\n"
        "4010232137,2024-02-15,81,M,E01000001,C34.9,home\n")
MORE = ROWS.replace("9434765919", "4505577104").replace("4010232137", "4839298429")


def _cli(root: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([*CLI, *args, "--project", str(root)], capture_output=True,
                          text=True, encoding="utf-8", timeout=300, cwd=root,
                          env={**os.environ, "EOLNEEDS_KEY": "test-key-not-secret"})


@pytest.fixture
def root(tmp_path) -> Path:
    root = tmp_path / "project"
    root.mkdir()
    (root / "eolneeds.toml").write_text(CONFIG, encoding="utf-8")
    (tmp_path / "deaths.csv").write_text(HEADER + ROWS, encoding="utf-8")
    done = _cli(root, "ingest", "deaths", str(tmp_path / "deaths.csv"))
    assert done.returncode == 0, done.stderr
    return root


def _alter(root: Path, sql: str) -> None:
    with duckdb.connect(str(root / "eolneeds.duckdb")) as con:
        con.execute(sql)


@pytest.mark.parametrize("sql, says", [
    ("ALTER TABLE deaths ALTER age TYPE VARCHAR",
     "table deaths holds it as VARCHAR, where this version of eolneeds writes column age "
     "INTEGER"),
    ("ALTER TABLE rejects DROP COLUMN reason",
     "table rejects has no such column, where this version of eolneeds writes column "
     "reason VARCHAR"),
])
def test_a_table_of_another_version_is_exit_3_naming_table_and_column(root, tmp_path, sql,
                                                                        says):
    _alter(root, sql)
    before = (root / "eolneeds.duckdb").read_bytes()
    (tmp_path / "more.csv").write_text(HEADER + MORE, encoding="utf-8")
    for args in (["ingest", "deaths", str(tmp_path / "more.csv")], ["validate"],
                 ["assess", "--out", str(tmp_path / "out"), "--format", "csv"]):
        done = _cli(root, *args)
        assert done.returncode == 3, done.stderr
        assert done.stderr.splitlines()[-1] == (
            f"Error: {root / 'eolneeds.duckdb'}: {says} — the database was written by "
            "another version of eolneeds (or changed by hand): use that version, or move the "
            "database aside and ingest the extracts again")
    assert (root / "eolneeds.duckdb").read_bytes() == before


def test_validate_reads_a_database_from_before_a_table_existed(root):
    # validate opens read-only and creates nothing: a table an older version did not
    # make is not there to check (ingest and assess create it).
    _alter(root, "DROP TABLE field_actions")
    done = _cli(root, "validate")
    assert "Error" not in done.stderr and "Internal" not in done.stderr, done.stderr


def test_an_extra_column_is_left_alone(root, tmp_path):
    _alter(root, "ALTER TABLE deaths ADD COLUMN added_by_a_newer_version VARCHAR")
    (tmp_path / "more.csv").write_text(HEADER + MORE, encoding="utf-8")
    done = _cli(root, "ingest", "deaths", str(tmp_path / "more.csv"))
    assert done.returncode == 0, done.stderr
    with duckdb.connect(str(root / "eolneeds.duckdb"), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM deaths").fetchone() == (4,)


def _special(path: Path, kind: str) -> None:
    if kind == "pipe":
        os.mkfifo(path)
    elif kind == "link to /dev/zero":
        path.symlink_to("/dev/zero")
    elif kind == "folder":
        path.mkdir()
    elif kind == "link nowhere":
        path.symlink_to(path.parent / "not-mounted" / "eolneeds.duckdb")
    else:  # a loop of links
        path.symlink_to(path.name)


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX pipes, links and devices")
@pytest.mark.parametrize("kind, code, says", [
    ("pipe", 3, "is a pipe, socket or device, not a database file — move it aside; the next "
                "ingest makes a new database (then ingest the extracts again)"),
    ("link to /dev/zero", 3, "is a pipe, socket or device, not a database file — move it "
                             "aside; the next ingest makes a new database (then ingest the "
                             "extracts again)"),
    ("folder", 3, "is a folder, not a database file — move it aside; the next ingest makes a "
                  "new database (then ingest the extracts again)"),
    ("link nowhere", 2, "is a link to {target}, in a folder that does not exist — mount or "
                        "create that folder, or remove the link (the database is then made in "
                        "the project)"),
    ("loop", 2, "cannot be opened (Too many levels of symbolic links) — remove the link, or "
                "point it at the database file"),
])
def test_a_database_path_that_is_not_a_file_is_named_not_waited_on(tmp_path, kind, code,
                                                                    says):
    # A named pipe made ingest and assess wait for ever; the others were DuckDB's IO
    # error, exit 1 ('a bug in eolneeds').
    root = tmp_path / "project"
    root.mkdir()
    (root / "eolneeds.toml").write_text(CONFIG, encoding="utf-8")
    (tmp_path / "deaths.csv").write_text(HEADER + ROWS, encoding="utf-8")
    database = root / "eolneeds.duckdb"
    _special(database, kind)
    says = says.format(target=root / "not-mounted" / "eolneeds.duckdb")
    for args in (["ingest", "deaths", str(tmp_path / "deaths.csv")],
                 ["assess", "--out", str(tmp_path / "out"), "--format", "csv"]):
        done = _cli(root, *args)  # (its timeout fails the test rather than wait for ever)
        assert done.returncode == code, done.stderr
        assert done.stderr.splitlines()[-1] == f"Error: {database}: {says}"


@pytest.mark.parametrize("limit, says", [
    ("0GB", "is less than the 100MB eolneeds needs to run at all — use a value like 2GB or "
            "1500MB, or unset it (3GB)"),
    ("1MB", "is less than the 100MB eolneeds needs to run at all — use a value like 2GB or "
            "1500MB, or unset it (3GB)"),
    ("1.5.5GB", "is not a size — use a value like 2GB or 1500MB"),
    ("٢GB", "is not a size — use a value like 2GB or 1500MB"),
])
def test_a_memory_limit_no_command_can_run_in_is_exit_2(tmp_path, limit, says):
    # 0GB and 1MB made every command run out of memory, '1.5.5GB' was DuckDB's parser
    # error: exit 1 'a bug in eolneeds', from a setting in the scheduler's environment.
    root = tmp_path / "project"
    root.mkdir()
    (root / "eolneeds.toml").write_text(CONFIG, encoding="utf-8")
    (tmp_path / "deaths.csv").write_text(HEADER + ROWS, encoding="utf-8")
    done = subprocess.run([*CLI, "ingest", "deaths", str(tmp_path / "deaths.csv"),
                           "--project", str(root)], capture_output=True, text=True,
                          encoding="utf-8", timeout=300, cwd=root,
                          env={**os.environ, "EOLNEEDS_KEY": "test-key-not-secret",
                               "EOLNEEDS_MEMORY_LIMIT": limit})
    assert done.returncode == 2, done.stderr
    assert done.stderr.splitlines()[-1] == f"Error: EOLNEEDS_MEMORY_LIMIT={limit!r} {says}"


def test_running_out_of_the_memory_limit_is_a_users_error_not_a_bug(monkeypatch):
    from eolneeds.db import explain
    from eolneeds.errors import UsageError

    monkeypatch.setenv("EOLNEEDS_MEMORY_LIMIT", "200MB")
    known = explain(duckdb.OutOfMemoryException("Out of Memory Error: failed to allocate"))
    assert isinstance(known, UsageError)
    assert str(known) == (
        "the database ran out of the memory it may use (200MB, from EOLNEEDS_MEMORY_LIMIT or "
        "the 3GB default) — set EOLNEEDS_MEMORY_LIMIT higher (e.g. 6GB) if the machine has it "
        "free, or close other programs, then run the command again; the database keeps what "
        "the last finished command wrote")
