"""Red team: files shaped to exhaust the reader -- a header of 100,000 columns, a row of
ten million characters -- are refused at once with one line naming the file (and the row)
and the fix, exit 3: never a DuckDB out-of-memory error or 'CSV Error on Line: 2'."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from eolneeds.config import load_config
from eolneeds.errors import InputDataError, UsageError
from eolneeds.ingest import ingest_files
from eolneeds.inspect import inspect_file
from eolneeds.readers import MAX_COLUMNS
from eolneeds.reporting import Reporter

CONFIG = '[project]\nicb_name = "Test ICB"\n\n[[places]]\ncode = "P1"\nname = "Place One"\n'
HEADER = "person_id,date_of_death,age,sex,lsoa_code,underlying_cause,place_of_death"
ROW = "9434765919,2024-01-15,80,F,E01000001,C34.9,home"


@pytest.fixture
def config(tmp_path, monkeypatch):
    monkeypatch.setenv("EOLNEEDS_KEY", "test-key-not-secret")
    root = tmp_path / "project"
    root.mkdir()
    (root / "eolneeds.toml").write_text(CONFIG, encoding="utf-8")
    return load_config(root)


def _refusal(config, path: Path) -> str:
    with pytest.raises(InputDataError) as refused:
        ingest_files(config, "deaths", [path], reporter=Reporter())
    assert not config.database_path.exists() or path.name not in \
        config.database_path.read_bytes().decode("latin-1")
    return str(refused.value)


def test_a_header_wider_than_a_spreadsheet_is_refused_before_it_is_read(config, tmp_path):
    assert MAX_COLUMNS == 16_384  # Excel's last column, XFD
    wide = tmp_path / "deaths_wide.csv"
    extra = ",".join(f"x{i}" for i in range(100_000 - 7))
    wide.write_text(f"{HEADER},{extra}\n{ROW}{',' * (100_000 - 7)}\n", encoding="utf-8")
    assert _refusal(config, wide) == (
        "deaths_wide.csv: the header has 100000 columns, more than the 16384 a spreadsheet "
        "can hold — check the delimiter, or export only the columns the mapping reads, then "
        "ingest the file again")


def test_the_widest_spreadsheet_header_is_still_read(config, tmp_path):
    widest = tmp_path / "deaths_widest.csv"
    extra = ",".join(f"x{i}" for i in range(MAX_COLUMNS - 7))
    widest.write_text(f"{HEADER},{extra}\n{ROW}{',' * (MAX_COLUMNS - 7)}\n", encoding="utf-8")
    [result] = ingest_files(config, "deaths", [widest], reporter=Reporter())
    assert (result.rows_read, result.rows_loaded) == (1, 1)


def test_a_row_of_ten_million_characters_is_refused_naming_the_row(config, tmp_path):
    long = tmp_path / "deaths_long.csv"
    long.write_text(f"{HEADER},notes\n{ROW},x\n{ROW},{'A' * 10_000_000}\n{ROW},y\n",
                    encoding="utf-8")
    message = _refusal(config, long)
    assert message == (
        "deaths_long.csv row 3: the row is longer than the 2000000 bytes a row may be (a "
        "value of millions of characters, or a quote opened and never closed) — "
        "remove or shorten that value (or close the quote), then ingest the file again")
    assert "9434765919" not in message


def test_inspect_refuses_a_row_of_ten_million_characters_in_one_line(tmp_path):
    import subprocess
    import sys

    long = tmp_path / "deaths_long.csv"
    long.write_text(f"{HEADER},notes\n{ROW},x\n{ROW},{'A' * 10_000_000}\n", encoding="utf-8")
    done = subprocess.run([sys.executable, "-c", "from eolneeds.cli import main; main()",
                           "inspect", str(long)], capture_output=True, text=True,
                          encoding="utf-8", timeout=300)
    assert done.returncode == 3, done.stderr
    # As ingest says it (a line over a row's limit is no longer read whole: hostile4).
    assert done.stderr == (
        "Error: deaths_long.csv row 3: the row is longer than the 2000000 bytes a row may be "
        "(a value of millions of characters, or a quote opened and never closed) — remove or "
        "shorten that value (or close the quote), then ingest the file again\n")


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes are POSIX")
def test_a_named_pipe_given_as_the_file_is_named_as_one_not_as_missing(config, tmp_path):
    pipe = tmp_path / "deaths.csv"
    os.mkfifo(pipe)  # opening it to read would wait for a writer for ever
    with pytest.raises(InputDataError) as refused:
        ingest_files(config, "deaths", [pipe], reporter=Reporter())
    assert str(refused.value) == (f"{pipe}: is not a regular file (a pipe, socket or device) "
                                  "— check the path and the file name")
    with pytest.raises(UsageError) as refused_too:
        inspect_file(pipe)
    assert str(refused_too.value) == (
        f"{pipe}: is not a regular file (a pipe, socket or device) — copy the extract to a "
        "file and inspect that")
    with pytest.raises(UsageError) as folder:
        inspect_file(tmp_path)
    assert str(folder.value) == f"{tmp_path}: is a folder, not a file — name an extract file " \
                                "inside it"


@pytest.mark.parametrize("encoding", ["rot13", "hex", "base64"])
def test_an_encoding_option_that_is_not_a_text_encoding_is_refused(config, tmp_path,
                                                                   encoding):
    extract = tmp_path / "deaths.csv"
    extract.write_text(f"{HEADER}\n{ROW}\n", encoding="utf-8")
    with pytest.raises(InputDataError) as refused:
        ingest_files(config, "deaths", [extract], encoding=encoding, reporter=Reporter())
    assert str(refused.value) == (f"deaths.csv: encoding {encoding!r} is not known — use "
                                  "utf-8, utf-8-sig or cp1252")


def test_blank_header_cells_before_a_stray_name_far_right_are_named_as_such(config,
                                                                             tmp_path):
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(HEADER.split(","))
    sheet.append(ROW.split(","))
    sheet.cell(row=1, column=16_384, value="stray")  # column XFD, the last there is
    path = tmp_path / "deaths.xlsx"
    book.save(path)
    assert _refusal(config, path) == (
        "deaths.xlsx: columns 8 and 9 of the header are empty, and a column to their right "
        "has a name — give every column a header, or delete the empty columns (and any "
        "stray value right of the data), then ingest the file again")


def test_a_utf32_file_with_its_byte_order_mark_is_read(config, tmp_path):
    # UTF-32 LE's mark (FF FE 00 00) starts with UTF-16 LE's: it was read as UTF-16, every
    # header a run of NULs ('\x00D\x00E...'), and refused as missing its columns.
    extract = tmp_path / "deaths.csv"
    extract.write_bytes(f"{HEADER}\n{ROW}\n".encode("utf-32"))
    [result] = ingest_files(config, "deaths", [extract], reporter=Reporter())
    assert (result.rows_read, result.rows_loaded) == (1, 1)
