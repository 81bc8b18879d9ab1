"""Where a clear identifier was kept in a project (issue 10.2): the values that look like
NHS numbers in input files, and every place in a project folder (files byte by byte,
then every value of every table of its database) where any of them occurs. Used by
tests/test_bad_inputs.py (after every case of the corpus), test_no_identifiers.py and
the hostile-input tests."""

from __future__ import annotations

import gzip
import io
import re
from collections.abc import Iterable
from pathlib import Path

import duckdb
import openpyxl

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


def numbers_in(files: Iterable[Path]) -> set[str]:
    """The NHS-number-like values in `files`, as 10 digits."""
    found: set[str] = set()
    for path in files:
        found |= {"".join(m.groups()) for m in NHS_LIKE.finditer(_text_of(path))}
    return found


def leaks(root: Path, numbers: set[str], read_database: bool = True) -> list[str]:
    """Where any of `numbers` occurs in the project: files byte by byte (as ASCII and
    UTF-16), then every value of every table read back through DuckDB (its storage may
    compress strings, so the bytes alone prove nothing). `read_database=False` for a
    database file that is no DuckDB database (a damaged one a test planted): its bytes
    are scanned, as every file's are."""
    found = []
    patterns = {n: [n.encode(), n.encode("utf-16-le"), f"{n[:3]} {n[3:6]} {n[6:]}".encode(),
                    f"{n[:3]}-{n[3:6]}-{n[6:]}".encode()] for n in numbers}
    for path in root.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            found += [f"{path.relative_to(root)}: {n}" for n, forms in patterns.items()
                      if any(f in data for f in forms)]
    database = root / "eolneeds.duckdb"
    if read_database and database.exists() and numbers:
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
