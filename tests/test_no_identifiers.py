"""No clear identifier anywhere in the project (issue 10.2): after every case of the
bad-input corpus -- loaded, quarantined or refused -- no NHS number that was in the
input is in the database (any table, any column) or in any file of the project folder,
temporary folder included. A killed ingest's transcoded copy is swept by the next
command that takes the lock."""

from __future__ import annotations

import gzip
import io
import re
import subprocess
import sys
from pathlib import Path

import duckdb
import openpyxl
import pytest
from test_bad_inputs import CASES, CORPUS, TEST_KEY, Case, _project

from eolneeds.db import TEMP_FOLDER
from eolneeds.errors import EolneedsError
from eolneeds.ingest import ingest_files
from eolneeds.reporting import Reporter

# Ten digits, plain or grouped 3-3-4 with spaces or dashes, not part of a longer number.
NHS_LIKE = re.compile(r"(?<![0-9])([0-9]{3})[ -]?([0-9]{3})[ -]?([0-9]{4})(?![0-9])")


def _text_of(path: Path) -> str:
    """Everything a file holds as text: cells of a workbook, decoded text otherwise."""
    data = path.read_bytes()
    if path.suffix == ".gz":
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError):
            data = data  # a truncated archive: what can be read is scanned below
    if path.suffix == ".xlsx":
        try:
            book = openpyxl.load_workbook(io.BytesIO(data), read_only=True)
            cells = [str(v) for ws in book.worksheets
                     for row in ws.iter_rows(values_only=True) for v in row if v is not None]
            book.close()
        except Exception:  # noqa: BLE001 - a corrupt workbook (or sheet) holds no readable cells
            return ""
        return "\n".join(cells)
    if path.suffix == ".parquet":  # its values (compressed pages hide them from a byte scan)
        import pyarrow.parquet as pq

        try:
            table = pq.read_table(path)
        except Exception:  # noqa: BLE001 - damaged pages hold no readable values
            return ""
        return "\n".join(str(v) for column in table.columns for v in column.to_pylist())
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16", errors="replace")
    if len(data) > 16 and data[1:64:2].count(0) > 28:  # UTF-16 LE without a BOM
        return data.decode("utf-16-le", errors="replace")
    return data.decode("cp1252", errors="replace")


def numbers_in(case: Case) -> set[str]:
    found: set[str] = set()
    for name in [*case.before, case.file]:
        found |= {"".join(m.groups()) for m in NHS_LIKE.finditer(_text_of(CORPUS / name))}
    return found


def leaks(root: Path, numbers: set[str]) -> list[str]:
    """Where any of `numbers` occurs in the project: files byte by byte (as ASCII and
    UTF-16), then every value of every table read back through DuckDB (its storage may
    compress strings, so the bytes alone prove nothing)."""
    found = []
    patterns = {n: [n.encode(), n.encode("utf-16-le"), f"{n[:3]} {n[3:6]} {n[6:]}".encode(),
                    f"{n[:3]}-{n[3:6]}-{n[6:]}".encode()] for n in numbers}
    for path in root.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            found += [f"{path.relative_to(root)}: {n}" for n, forms in patterns.items()
                      if any(f in data for f in forms)]
    database = root / "eolneeds.duckdb"
    if database.exists() and numbers:
        con = duckdb.connect(str(database), read_only=True)
        try:
            columns = con.execute("SELECT table_name, column_name FROM duckdb_columns() "
                                  "WHERE NOT internal").fetchall()
            for table, column in columns:
                hits = con.execute(
                    f'SELECT DISTINCT u.needle FROM "{table}" AS t, unnest($numbers) AS '
                    f"u(needle) WHERE contains(regexp_replace(CAST(t.\"{column}\" AS VARCHAR), "
                    "'[ -]', '', 'g'), regexp_replace(u.needle, '[ -]', '', 'g'))",
                    {"numbers": sorted(numbers)}).fetchall()
                found += [f"{table}.{column}: {n}" for (n,) in hits]
        finally:
            con.close()
    return found


def test_the_corpus_holds_nhs_numbers_to_look_for():
    with_numbers = [c.name for c in CASES if numbers_in(c)]
    assert len(with_numbers) >= 5, with_numbers


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_no_input_nhs_number_is_kept_anywhere_in_the_project(tmp_path, monkeypatch,
                                                             case: Case):
    monkeypatch.setenv("EOLNEEDS_KEY", TEST_KEY)
    root = tmp_path / "project"
    try:
        config = _project(root, case)
    except EolneedsError:  # a configuration case: refused before reading the file
        assert leaks(root, numbers_in(case)) == []
        return
    for name in [*case.before, case.file]:
        try:
            ingest_files(config, case.dataset, [CORPUS / name], encoding=case.encoding,
                         reporter=Reporter())
        except EolneedsError:
            pass  # refused: the point is what it left behind
    assert leaks(config.root, numbers_in(case)) == []


# What personal_columns.csv carries besides NHS numbers: names, postcodes, dates of
# birth (in the forms a database could hold them).
PERSONAL = {"Lovelace", "Turing", "Hopper", "Seacole", "SW1A 1AA", "CB2 1TN", "N1 9GU",
            "E1 6AN", "10/12/1915", "1915-12-10", "23/06/1912", "1912-06-23", "31/02/1906",
            "08/01/2023", "2023-01-08"}


def test_no_name_postcode_or_date_of_birth_is_kept(tmp_path, monkeypatch):
    monkeypatch.setenv("EOLNEEDS_KEY", TEST_KEY)
    [case] = [c for c in CASES if c.file == "personal_columns.csv"]
    config = _project(tmp_path / "project", case)
    ingest_files(config, case.dataset, [CORPUS / case.file], reporter=Reporter())
    assert leaks(config.root, PERSONAL | numbers_in(case)) == []


def test_a_killed_ingests_transcoded_copy_is_swept_by_the_next_command(tmp_path):
    """A kill -9 mid-ingest skips every finally: its transcoded copy stays until the
    next command that takes the project lock sweeps the temporary folder."""
    config = _project(tmp_path / "project", CASES[0])
    left = config.root / TEMP_FOLDER / "eolneeds-killed.csv"
    left.parent.mkdir(parents=True)
    left.write_text("person_id\n9434765919\n", encoding="utf-8")
    completed = subprocess.run(
        [sys.executable, "-c", "from eolneeds.cli import main; main()", "validate",
         "--project", str(config.root)],
        capture_output=True, text=True, timeout=120, env={"EOLNEEDS_KEY": TEST_KEY,
                                                          "PATH": "/usr/bin"})
    assert "Traceback" not in completed.stderr
    assert not left.exists()
    assert leaks(config.root, {"9434765919"}) == []
