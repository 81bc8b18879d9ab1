"""Reading extracts into DuckDB as text: CSV (any common delimiter, UTF-8 / UTF-8 with BOM
/ cp1252, optionally gzipped), XLSX and Parquet.

Every reader produces the same thing: a temporary table whose columns are `c0`, `c1`,
... (all VARCHAR, in file order), an optional `__extra` column that is non-null where a
row has more fields than the header, and a row-number expression giving the row as a
user sees it (CSV header = row 1, first data row = row 2; XLSX Excel's own row numbers;
Parquet record 1 = row 1). Everything is read as text so that nothing is lost to type
guessing; ingest parses and checks the values afterwards, in SQL. The CSV and Parquet
readers, told which headers are used (`choose`), keep only those columns, with
`__unmapped_data` TRUE where an unused column held a value (RawTable.loaded,
RawTable.unmapped_data).

Problems that make the whole file unusable (empty, duplicated headers, an encoding we
cannot read, a missing sheet) raise InputDataError with one readable line.
"""

from __future__ import annotations

import codecs
import csv
import difflib
import functools
import gzip
import hashlib
import html
import io
import itertools
import operator
import os
import re
import tempfile
import threading
import zipfile
import zlib
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path
from typing import IO, Any
from xml.etree.ElementTree import ParseError

import duckdb

from eolneeds.config import DELIMITER_WORDS, text_encoding
from eolneeds.db import naming_the_file
from eolneeds.errors import InputDataError, input_error

CHUNK = 1 << 20  # 1 MiB: streaming reads for hashing, encoding checks and transcoding
XLSX_BATCH = 50_000  # rows per Arrow batch when loading a worksheet
DELIMITERS = (",", ";", "\t", "|")
DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}

_MAGIC_GZIP = b"\x1f\x8b"
_MAGIC_ZIP = b"PK\x03\x04"
_MAGIC_PARQUET = b"PAR1"
_MAGIC_OLE = b"\xd0\xcf\x11\xe0"  # old .xls, or a password-protected .xlsx


@dataclass
class RawTable:
    """A file loaded into DuckDB as text, ready for ingest to map and check."""

    table: str
    headers: list[str]  # source column names, in file order; column i is "c{i}"
    row_expr: str  # SQL giving each row's number as the user sees it
    format: str  # csv | xlsx | parquet
    encoding: str | None = None  # text encoding detected or forced (CSV only)
    delimiter: str | None = None
    # SQL columns that are non-null only where a row has more fields than the header.
    extra_columns: list[str] = field(default_factory=list)
    # Positions of the headers whose columns were loaded (None: all). Columns nothing
    # reads are not kept; `unmapped_data` (SQL) is TRUE where one of them held a value.
    loaded: list[int] | None = None
    unmapped_data: str | None = None
    # SQL column TRUE where a row has fewer fields than the header (CSV only).
    short_row: str | None = None
    sheet: str | None = None  # the worksheet read (XLSX)
    header_row: int | None = None  # the header's row number as the user sees it
    # Merged cells that take in the header row (XLSX): named when a column is missing.
    merged_header: list[str] = field(default_factory=list)
    # A table reshaped from the file (ONS wide population) numbers its rows itself:
    # `row_map` is a TEMP table (__row, __src_row, __sheet) giving each row's place in
    # the file, for rejects and source_row.
    row_map: str | None = None
    # A workbook saved in Excel's 1904 date system (Excel for Mac before 2011, or the
    # option set): a date cell formatted as a number holds days since 1904-01-01, not
    # since 1899-12-30 (None), and was read four years and a day early.
    excel_epoch: date | None = None

    def column(self, header: str) -> str:
        return f'"c{self.headers.index(header)}"'

    def loaded_columns(self) -> list[str]:
        """SQL names of the loaded columns that have a header."""
        positions = range(len(self.headers)) if self.loaded is None else self.loaded
        return [f'"c{i}"' for i in positions]


# Which headers a reader must load (the rest are only checked for data), given all of
# them; None loads every column.
ColumnChooser = Callable[[list[str]], Collection[str]]


#: What is trimmed from either end of every value (trimmed_sql, is_no_value): the space
#: separators (Unicode Zs, which DuckDB's trim() removes: the space, the no-break
#: space, ...), the ASCII white space controls (tab, line feed, vertical tab, form feed,
#: carriage return) and NEL, the line and paragraph separators, and the invisible
#: zero-width space, word joiner and byte order mark. A date or code exported as
#: '\t2024-03-18' or '2024-03-18\r' is the value a spreadsheet shows.
WHITE_SPACE = ("\t\n\x0b\x0c\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005"
               "\u2006\u2007\u2008\u2009\u200a\u200b\u2028\u2029\u202f\u205f\u2060"
               "\u3000\ufeff")
# The same, for SQL: chr() of each, folded to one constant by DuckDB.
_WHITE_SPACE_SQL = " || ".join(f"chr({ord(c)})" for c in WHITE_SPACE)


def blank_sql(column: str) -> str:
    """SQL: TRUE when `column` is NULL or only WHITE_SPACE.

    Trimmed only when it starts with a space, a control character or a non-ASCII
    character (the only values trimming can empty): a cheap byte comparison spares
    the per-row string copy for the ordinary value.
    """
    return (f"({column} IS NULL OR (({column} < '!' OR {column} >= chr(127)) "
            f"AND {trimmed_sql(column)} = ''))")


# Text that national extracts, database clients and spreadsheets write for "no value",
# compared whatever its case once trimmed: SQL Server Management Studio writes NULL in
# every empty cell of any type, other clients (null) or null; Excel's failed look-ups
# #N/A; SUS / warehouse and GP-system exports N/A, '-' and 'Not known'. Read as a real
# value it would be, for example, one identifier shared by every person whose number is
# missing (all "linked" as one), a code quarantined as unknown, or a category of its own.
# The one rule for every column of every dataset (README "Mappings"); a cell of only
# white space is blank too (value_sql trims first).
NO_VALUE_TEXTS = ("null", "(null)", "#n/a", "n/a", "-", "not known")
# The first characters of NO_VALUE_TEXTS (as code points, either case): the cheap test
# that spares nearly every value the lower-casing.
_NO_VALUE_STARTS = tuple(sorted({ord(c) for w in NO_VALUE_TEXTS
                                 for c in (w[0], w[0].upper())}))
_NO_VALUE_LONGEST = max(len(w) for w in NO_VALUE_TEXTS)


def value_text(text: str | None) -> str | None:
    """A cell's text as ingest reads it: value_sql's Python twin, for inspect."""
    if text is None:
        return None
    text = text.strip(WHITE_SPACE)
    if text.startswith("'"):
        text = text[1:].strip(WHITE_SPACE)
    return None if not text or text.lower() in NO_VALUE_TEXTS else text


def is_no_value(text: str | None) -> bool:
    """Whether a cell's text means no value (blank, or one of NO_VALUE_TEXTS in any case):
    value_sql's Python twin, for inspect."""
    return value_text(text) is None


def trimmed_sql(column: str) -> str:
    """SQL: `column` with WHITE_SPACE trimmed from either end, the trimming run only
    where it can remove something.

    A value that starts and ends with a printable ASCII character other than the space
    comes back unchanged: a byte comparison and its last character say so for less than
    trim's per-row copy. The rest are trimmed by trim(), which removes the space
    separators (Unicode Zs) only; a value holding a character above ASCII or an ASCII
    white space control anywhere (byte searches) by trim() with WHITE_SPACE named, which
    costs about 20 times more a value, so a file whose values are padded with spaces
    does not pay it. (16.6 M values, one thread, CPU s: ordinary 0.61-0.64 against main's
    0.42-0.47; every value padded with spaces 2.2-2.3 against 1.3-1.4. One CASE, its
    tests on the column alone: a nested one computed trim() again in each branch.)"""
    controls = " OR ".join(f"contains({column}, chr({ord(c)}))" for c in "\t\n\x0b\x0c\r")
    return (f"(CASE WHEN NOT ({column} < '!' OR {column} >= chr(127) OR "
            f"NOT ({column}[-1] BETWEEN '!' AND '~')) THEN {column} "
            f"WHEN strlen({column}) <> length({column}) OR {controls} "
            f"THEN trim(trim({column}), {_WHITE_SPACE_SQL}) ELSE trim({column}) END)")


def value_sql(column: str) -> str:
    """SQL: the cell's text with surrounding white space trimmed, and one leading
    apostrophe after it (see below); NULL when nothing is left or it is one of
    NO_VALUE_TEXTS (any case).

    A leading apostrophe is Excel's mark that a cell is text ('45307, '2024-01-15,
    'E01000001, '0123): Excel shows the cell without it and never exports it, but some
    exports and hand-made files write it out. It is no part of any date, code, number or
    identifier, so it is read past in every column of every format, as the NHS number's
    clean-up read it past first (round 11): a date was quarantined and a code blanked
    (and a reason quoting it garbled). Text after it is trimmed again (' 12 is 12)."""
    # The ordinary value (printable ASCII at both ends, first '(' or after: so not the
    # apostrophe, not white space, not empty) is checked on the column itself; an empty
    # one is NULL at once. Only the rest is trimmed and unmarked, and in lambdas over a
    # one-element list so that each step is computed once: written out, the trimmed
    # text is repeated in each branch and DuckDB computes each copy (no common
    # subexpression is taken out of a CASE branch). Each source value goes through this
    # once per row: a first version that trimmed every value before testing it cost
    # a death file of 2.85 M rows about 8 CPU s more (BENCHMARKS.md, 2026-12-03 21:00).
    ordinary = (f"NOT ({column} < '(' OR {column} >= chr(127) OR "
                f"NOT ({column}[-1] BETWEEN '!' AND '~'))")
    rest = "substr(t, 2)"
    unmarked = (f"nullif(CASE WHEN NOT starts_with(t, chr(39)) THEN t "
                f"WHEN {rest} >= '!' AND {rest} < chr(127) THEN {rest} "
                f"ELSE trim(trim({rest}), {_WHITE_SPACE_SQL}) END, '')")
    odd = (f"list_transform([{trimmed_sql(column)}], lambda t: "
           f"list_transform([{unmarked}], lambda x: {_no_value_check_sql('x')})[1])[1]")
    return (f"(CASE WHEN {ordinary} THEN {_no_value_check_sql(column)} "
            f"WHEN {column} = '' THEN NULL ELSE {odd} END)")


def _no_value_check_sql(text: str) -> str:
    """SQL: `text` (trimmed, not empty), or NULL when it is one of NO_VALUE_TEXTS in any
    case. Only a short value starting with one of their first characters is lower-cased
    (20 M values: about the CPU time of the four exact comparisons it replaced)."""
    words = ", ".join(f"'{w}'" for w in NO_VALUE_TEXTS)
    starts = ", ".join(str(c) for c in _NO_VALUE_STARTS)
    return (f"(CASE WHEN strlen({text}) <= {_NO_VALUE_LONGEST} AND ascii({text}) IN ({starts}) "
            f"AND lower({text}) IN ({words}) THEN NULL ELSE {text} END)")


UNMAPPED_DATA = "__unmapped_data"
SHORT_ROW = "__short_row"
# The CSV reader's `nullstr`: text no extract holds, so that only the padding DuckDB
# adds to a row with too few fields is null (an empty field is '').
_PADDED = "\x1e\x1f eolneeds: no value \x1f\x1e"


def _choose_columns(headers: list[str], choose: ColumnChooser | None,
                    sql_name: Callable[[int], str],
                    empty_is_text: bool = False) -> tuple[list[int] | None, str | None]:
    """(positions of the headers to load, or None for all; SQL select item flagging a
    row with a value in a column left out, or None when none is).

    The columns left out are tested with IS NOT NULL only (an empty field is NULL): half
    the cost of the full blank test, since each tested column must still be read. A row
    whose only value is white space in an unused column is therefore quarantined as
    incomplete rather than skipped as blank."""
    if choose is None:
        return None, None
    wanted = set(choose(headers))
    loaded = [i for i, h in enumerate(headers) if h in wanted]
    unused = [sql_name(i) for i in range(len(headers)) if i not in loaded]
    if not unused:
        return None, None
    if empty_is_text:  # the CSV reader keeps an empty field as '' (see _PADDED)
        return loaded, "coalesce(" + " OR ".join(f"{c} <> ''" for c in unused) + \
            f", false) AS {UNMAPPED_DATA}"
    return loaded, "(" + " OR ".join(f"{c} IS NOT NULL" for c in unused) + \
        f") AS {UNMAPPED_DATA}"


def file_state(path: Path) -> tuple[int, int] | None:
    """Size and modification time: they change while a file is being written."""
    try:
        stat = path.stat()
    except OSError:
        return None
    return stat.st_size, stat.st_mtime_ns


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


class BackgroundSha256:
    """file_sha256 of `path`, computed in a thread while the caller reads the file (the
    hash releases the GIL). A daemon thread: an interrupted or failed ingest exits
    without waiting for it."""

    def __init__(self, path: Path) -> None:
        self._digest: str | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(path,), daemon=True,
                                        name="eolneeds-sha256")
        self._thread.start()

    def _run(self, path: Path) -> None:
        try:
            self._digest = file_sha256(path)
        except BaseException as exc:  # handed to the caller by result()
            self._error = exc

    def result(self) -> str:
        self._thread.join()
        if self._error is not None:
            raise self._error
        assert self._digest is not None
        return self._digest


def detect_format(path: Path, declared: str = "auto") -> tuple[str, bool]:
    """(format, gzipped) from the mapping's `format`, else from the file's first bytes."""
    with path.open("rb") as fh:
        head = fh.read(8)
    name = path.name
    if head[:4] == _MAGIC_OLE:
        raise input_error(
            name, "is an old-format (.xls) or password-protected Excel workbook",
            "save it from Excel as .xlsx without a password, or as CSV UTF-8",
        )
    gzipped = head[:2] == _MAGIC_GZIP
    if declared != "auto":
        # A mapping's format that the file's first bytes contradict would fail deep in
        # a reader: say so plainly.
        found = {_MAGIC_ZIP: "xlsx", _MAGIC_PARQUET: "parquet"}.get(head[:4], "csv")
        if declared in ("xlsx", "parquet") and found != declared or \
                declared == "csv" and found != "csv":
            what = {"xlsx": "an Excel workbook (.xlsx)", "parquet": "a Parquet file",
                    "csv": "a text (CSV) file"}
            raise input_error(
                name, f"is not {what[declared]} as the mapping's format = \"{declared}\" "
                f"says" + (f" (it looks like {what[found]})" if head else ""),
                "set format to match the file, or remove the format key so it is detected")
        return declared, gzipped
    if head[:4] == _MAGIC_ZIP:
        return "xlsx", False
    if head[:4] == _MAGIC_PARQUET:
        return "parquet", False
    return "csv", gzipped


def refuse_at_a_glance(path: Path, file_format: str = "auto",
                       encoding: str | None = "auto") -> tuple[str, bool]:
    """(format, gzipped), after refusing from its first bytes a file that no mapping
    reads: empty, an old .xls, a web page, a binary file. Ingest asks before it hashes
    the file (a 2 GB file of NULs took 45 s to refuse, the refusal waiting for its
    content hash)."""
    fmt, gzipped = detect_format(path, file_format)
    if path.stat().st_size == 0:
        raise input_error(path.name, "the file is empty (0 bytes)",
                          "re-export the extract; an empty file has nothing to load")
    if fmt == "csv":
        refuse_web_page(path, gzipped)
        if encoding in (None, "auto"):
            try:
                with open_bytes(path, gzipped) as fh:
                    head = fh.read(4096)
            except (OSError, EOFError):
                return fmt, gzipped  # the reader reports it
            _refuse_binary(path.name, head)
    return fmt, gzipped


def read_into(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    *,
    table: str,
    file_format: str = "auto",
    encoding: str = "auto",
    delimiter: str = "auto",
    sheet: str | None = None,
    header_row: int | None = None,
    workdir: Path | None = None,
    choose: ColumnChooser | None = None,
    matches: HeaderTest | None = None,
    where: str = "the mapping",
    plain_cells: bool = False,
    names: Sequence[str] = (),
) -> RawTable:
    """Load `path` into the temporary table `table` as text.

    `names`: the file has no header row (ODS's epraccur): its columns by position, and
    every line is a row (CSV only).

    `plain_cells`: the worksheet holds only text and numbers (no dates), as the ONS
    population workbook does; its cells are then read by fast_sheet_rows, several
    times faster than openpyxl.

    `choose` names the headers to load, once they are known. An extract often has far
    more columns than are mapped (a HES extract has hundreds): only the chosen ones are
    kept, which makes staging several times cheaper. XLSX loads every column.

    `header_row` None: the row found below any title rows (detect_header_row; in a
    CSV only when its first line is not a header the mapping reads: _csv_header_row).
    `sheet` None in a workbook of several sheets: the sheet whose header `matches`
    accepts (choose_sheet; `where` names the mapping in its advice)."""
    fmt, gzipped = refuse_at_a_glance(path, file_format, encoding)
    if fmt == "xlsx":
        try:
            return _read_xlsx(con, path, table=table, sheet=sheet, header_row=header_row,
                              matches=matches, where=where, plain_cells=plain_cells)
        except DAMAGED_WORKBOOK as exc:
            raise damaged_sheet(path, exc) from None
    if fmt == "parquet":
        return _read_parquet(con, path, table=table, choose=choose)
    return _read_csv(con, path, table=table, gzipped=gzipped, encoding=encoding,
                     delimiter=delimiter, header_row=header_row, workdir=workdir,
                     choose=choose, matches=matches, where=where, names=names)


# ---------------------------------------------------------------------------------------
# CSV

# Lines looked at above a CSV's header: a "sep=" line and empty lines before it.
LEADING_LINES = 25
# What a download that failed saves under the extract's name: the server's error page.
_WEB_PAGE = re.compile(rb"\s*(<!doctype html|<html|<\?xml|<!--)", re.I)


def refuse_web_page(path: Path, gzipped: bool) -> None:
    """Refuse a file saved from a failed download (an HTML error page) or an Excel XML
    workbook given as CSV: read as CSV it is one column of markup."""
    try:
        with open_bytes(path, gzipped) as fh:
            head = fh.read(512)
    except (OSError, EOFError):
        return  # the reader reports it
    for bom in (codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
        if head.startswith(bom):
            head = head[len(bom):]
            if bom != codecs.BOM_UTF8:
                head = head.replace(b"\x00", b"")
            break
    if _WEB_PAGE.match(head) and b"urn:schemas-microsoft-com:office:" in head:
        raise input_error(  # Excel 2003 "XML Spreadsheet", or a workbook saved as HTML
            path.name, "is an Excel XML or web-page workbook, not CSV or .xlsx",
            "open it in Excel and save it as .xlsx (Excel Workbook) or CSV UTF-8")
    if _WEB_PAGE.match(head):
        raise input_error(
            path.name, "is a web page (HTML or XML), not CSV: most likely an error page "
            "saved when a download or export failed",
            "open it in a browser to read what went wrong, then download the extract again")


class _GzipFile(gzip.GzipFile):
    """A gzip file whose damaged data is an OSError (gzip.BadGzipFile), as its bad header
    and its early end already are: zlib's own error ('invalid stored block lengths') is
    none, so every reader's `except OSError` let a .csv of garbage after gzip's two magic
    bytes through to exit 1, 'a bug in eolneeds' (ingest, inspect and the monthly run)."""

    def read(self, size: int | None = -1) -> bytes:
        with _damaged_gzip():
            return super().read(size)

    def read1(self, size: int = -1) -> bytes:
        with _damaged_gzip():
            return super().read1(size)

    def readinto(self, buffer: Any) -> int:
        with _damaged_gzip():
            return super().readinto(buffer)

    def readline(self, size: int | None = -1) -> bytes:
        with _damaged_gzip():
            return super().readline(size)

    def peek(self, n: int) -> bytes:
        with _damaged_gzip():
            return super().peek(n)


@contextmanager
def _damaged_gzip() -> Iterator[None]:
    try:
        yield
    except zlib.error as exc:
        raise gzip.BadGzipFile(f"its compressed data is damaged: {exc}") from None


def open_bytes(path: Path, gzipped: bool) -> IO[bytes]:
    if gzipped:
        return _GzipFile(path, "rb")  # type: ignore[return-value]
    return path.open("rb")


def _check_decodes(path: Path, gzipped: bool, codec: str) -> tuple[int, int] | None:
    """None when the whole file decodes as `codec`, else (offset, byte) of the first bad
    byte. Streams the file, so size does not matter."""
    decoder = codecs.getincrementaldecoder(codec)(errors="strict")
    offset = 0
    try:
        with open_bytes(path, gzipped) as fh:
            while chunk := fh.read(CHUNK):
                try:
                    decoder.decode(chunk)
                except UnicodeDecodeError as exc:
                    return offset + exc.start, chunk[exc.start]
                offset += len(chunk)
            decoder.decode(b"", final=True)
    except UnicodeDecodeError as exc:
        return offset + exc.start, 0
    except (OSError, EOFError) as exc:
        raise input_error(
            path.name, f"cannot be read ({exc})",
            "check that the file is complete (a gzip file may be truncated)",
        ) from None
    return None


def _utf16_without_bom(head: bytes) -> str | None:
    """'utf-16-le' / 'utf-16-be' for UTF-16 text with no byte order mark (SQL Server's
    `bcp -w` writes it): mostly ASCII, so nearly every other byte is NUL. A binary file
    has NULs anywhere."""
    pairs = len(head) // 2
    if pairs < 8:
        return None
    odd_nul = head[1:2 * pairs:2].count(0) / pairs
    even_nul = head[0:2 * pairs:2].count(0) / pairs
    if odd_nul > 0.9 and even_nul == 0:
        return "utf-16-le"
    if even_nul > 0.9 and odd_nul == 0:
        return "utf-16-be"
    return None


def _refuse_binary(name: str, head: bytes) -> None:
    """Refuse a file whose first bytes are binary, unless they are UTF-16 or UTF-32
    text. A stray NUL in a text export (a corrupted free-text field) is a bad value in
    one row, checked field by field like any other; a binary file (an .xlsx or .parquet
    named .csv, a database dump) is full of them."""
    if head.startswith((codecs.BOM_UTF8, codecs.BOM_UTF32_BE, codecs.BOM_UTF16_LE,
                        codecs.BOM_UTF16_BE)) or _utf16_without_bom(head) is not None:
        return  # (UTF-32 LE's mark starts as UTF-16 LE's)
    if head.count(0) > max(2, len(head) // 100):
        raise input_error(
            name, "looks like a binary file, not CSV text (it contains NUL bytes)",
            "export the data as CSV UTF-8, XLSX or Parquet",
        )


def detect_encoding(path: Path, gzipped: bool = False, forced: str = "auto") -> str:
    """utf-8, utf-8-sig, utf-16 (by BOM) or cp1252 (Excel's 'CSV' on Windows).

    A forced encoding is checked too, so a wrong --encoding is reported, not loaded as
    mojibake.
    """
    name = path.name
    try:
        with open_bytes(path, gzipped) as fh:
            head = fh.read(4096)
    except (OSError, EOFError) as exc:
        raise input_error(name, f"cannot be read ({exc})",
                          "check that the file is complete and not corrupted") from None
    if forced != "auto":
        try:
            codec = codecs.lookup(forced).name
            text_encoding(codec)
        except LookupError:
            raise input_error(name, f"encoding {forced!r} is not known",
                              "use utf-8, utf-8-sig or cp1252") from None
        bad = _check_decodes(path, gzipped, codec)
        if bad is not None:
            raise input_error(
                name, f"is not valid {forced} text (byte 0x{bad[1]:02x} at offset {bad[0]})",
                "pass the file's real encoding with --encoding (Excel exports are often "
                "cp1252), or re-export it as CSV UTF-8",
            )
        return codec
    if head.startswith(codecs.BOM_UTF8):
        candidates = ["utf-8-sig"]
    elif head.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        candidates = ["utf-32"]  # before UTF-16: UTF-32 LE's mark starts with UTF-16 LE's
    elif head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        candidates = ["utf-16"]
    elif (unmarked := _utf16_without_bom(head)) is not None:
        candidates = [unmarked]
    else:
        _refuse_binary(name, head)
        candidates = ["utf-8", "cp1252"]
    first_bad: tuple[int, int] | None = None
    for codec in candidates:
        bad = _check_decodes(path, gzipped, codec)
        if bad is None:
            return codec
        first_bad = first_bad or bad
    assert first_bad is not None
    raise input_error(
        name,
        f"is not readable text in UTF-8 or Windows-1252 (byte 0x{first_bad[1]:02x} at offset "
        f"{first_bad[0]})",
        "re-export it as CSV UTF-8, or pass the right encoding with --encoding",
    )


# A UTF-8 encoded character other than ASCII. In Windows-1252 text these byte pairs
# read as "Ã©", "â€™" ...: a file where they occur was written partly as UTF-8.
_UTF8_SEQUENCE = re.compile(rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}"
                            rb"|[\xf0-\xf4][\x80-\xbf]{3}")


def _transcode(path: Path, gzipped: bool, codec: str, workdir: Path | None,
               mixed_check: bool = False) -> Path:
    """Write a UTF-8 copy in streaming chunks (DuckDB reads only UTF-8/16 offline).

    With `mixed_check` (a detected cp1252 file), UTF-8 characters in it refuse the file:
    read as cp1252 they would be stored as mojibake."""
    target_dir = workdir or Path(tempfile.gettempdir())
    target_dir.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix="eolneeds-", suffix=".csv", dir=target_dir)
    decoder = codecs.getincrementaldecoder(codec)(errors="strict")
    lines = 1
    try:
        with os.fdopen(fd, "wb") as out, open_bytes(path, gzipped) as fh:
            while chunk := fh.read(CHUNK):
                if mixed_check and (found := _UTF8_SEQUENCE.search(chunk)):
                    line = lines + chunk.count(b"\n", 0, found.start())
                    raise input_error(
                        path.name, f"mixes text encodings: line {line} holds UTF-8 text "
                        f"({found.group().decode('utf-8')!r}) but the rest of the file is "
                        "Windows-1252, so it would be stored garbled",
                        "re-export the whole file in one encoding (CSV UTF-8), or pass "
                        "--encoding cp1252 if the file really is all Windows-1252")
                lines += chunk.count(b"\n")
                out.write(decoder.decode(chunk).encode("utf-8"))
            out.write(decoder.decode(b"", final=True).encode("utf-8"))
    except BaseException as exc:
        Path(name).unlink(missing_ok=True)
        named = naming_the_file(exc, name)
        if named is not exc:
            raise named from exc
        raise
    return Path(name)


def _head_lines(path: Path, gzipped: bool, codec: str, count: int) -> list[str]:
    """The first `count` physical lines, decoded (for the header and delimiter); a line
    longer than a row may be raises LineTooLong (a file of one 1 GB line was read whole
    into memory, then Python's csv module failed on it: exit 1)."""
    raw = open_bytes(path, gzipped)
    with io.TextIOWrapper(raw, encoding=codec, newline="") as text:
        lines = []
        for number in range(1, count + 1):
            line = text.readline(MAX_LINE_CHARS + 1)
            if not line:
                break
            if len(line) > MAX_LINE_CHARS:
                raise LineTooLong(number)
            lines.append(line)
        return lines


# DuckDB's max_line_size (its default): a longer row is refused naming it.
MAX_LINE_BYTES = 2_000_000
MAX_LINE_CHARS = MAX_LINE_BYTES  # (a character is at least one byte)


class LineTooLong(Exception):
    """Line `args[0]` of a text file is longer than a row may be."""


def line_too_long(name: str, row: int, limit: int = MAX_LINE_BYTES) -> Exception:
    return input_error(
        name, f"the row is longer than the {limit} bytes a row may be (a value of millions "
        "of characters, or a quote opened and never closed)",
        "remove or shorten that value (or close the quote), then ingest the file again",
        row=row)


def detect_delimiter(header_line: str) -> str:
    """The candidate delimiter appearing most often in the header (outside quotes)."""
    unquoted = "".join(part for i, part in enumerate(header_line.split('"')) if i % 2 == 0)
    counts = {d: unquoted.count(d) for d in DELIMITERS}
    best = max(DELIMITERS, key=lambda d: counts[d])
    return best if counts[best] > 0 else ","


# Excel's last column is XFD: no real extract is wider. A wider header (a file of
# delimiters, a binary file read as text) would have DuckDB build a table that fills
# memory before a single row is looked at.
MAX_COLUMNS = 16_384


def check_headers(name: str, headers: list[str]) -> None:
    if len(headers) > MAX_COLUMNS:
        raise input_error(
            name, f"the header has {len(headers)} columns, more than the {MAX_COLUMNS} a "
            "spreadsheet can hold",
            "check the delimiter, or export only the columns the mapping reads, then ingest "
            "the file again")
    seen: dict[str, int] = {}
    for position, header in enumerate(headers, start=1):
        key = header.strip().lower()
        if key in seen and not key:  # blank header cells, then a named one further right
            raise input_error(
                name, f"columns {seen[key]} and {position} of the header are empty, and a "
                "column to their right has a name",
                "give every column a header, or delete the empty columns (and any stray "
                "value right of the data), then ingest the file again")
        if key in seen:
            raise input_error(
                name,
                f"column {header!r} appears twice in the header (columns {seen[key]} and "
                f"{position})",
                "rename or remove one of them, then ingest the file again",
            )
        seen[key] = position


def _read_csv(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    *,
    table: str,
    gzipped: bool,
    encoding: str,
    delimiter: str,
    header_row: int | None,
    workdir: Path | None,
    choose: ColumnChooser | None = None,
    matches: HeaderTest | None = None,
    where: str = "the mapping",
    names: Sequence[str] = (),
) -> RawTable:
    # Most extracts are UTF-8. DuckDB checks every byte as it reads, so a file whose
    # start is UTF-8 is read straight away and only scanned in Python (to find a
    # cp1252 file, or the offset of the bad byte for the message) if DuckDB finds
    # otherwise: one pass over the file instead of two.
    guess = _utf8_guess(path, gzipped) if encoding == "auto" else None
    if guess is not None:
        try:
            return _read_csv_as(con, path, table=table, gzipped=gzipped, codec=guess,
                                delimiter=delimiter, header_row=header_row, workdir=workdir,
                                choose=choose, matches=matches, where=where, names=names)
        except _NotUtf8:
            pass
    codec = detect_encoding(path, gzipped, encoding)
    try:
        return _read_csv_as(con, path, table=table, gzipped=gzipped, codec=codec,
                            delimiter=delimiter, header_row=header_row, workdir=workdir,
                            choose=choose, auto_codec=encoding == "auto", matches=matches,
                            where=where, names=names)
    except _NotUtf8:  # detect_encoding read the whole file: DuckDB should agree
        raise input_error(path.name, "is not valid UTF-8 text",
                          "re-export it as CSV UTF-8, or pass the right encoding with "
                          "--encoding") from None


def _line_cells(line: str, delimiter: str) -> list[str]:
    """One physical line of a CSV as cells (for finding the header: a quoted line break
    in a title line only makes that title look like two)."""
    text = line.lstrip("\ufeff").rstrip("\r\n")
    delim = detect_delimiter(text) if delimiter == "auto" else \
        DELIMITER_WORDS.get(delimiter, delimiter)
    try:
        return next(csv.reader([text], delimiter=delim), [])
    except csv.Error:
        return [text]


def _csv_header_row(lines: list[str], first: int, delimiter: str,
                    matches: HeaderTest | None) -> int:
    """The header's line number when a mapping gives no header_row: `first` (the first
    line with text) when the mapping reads it; else the first line below that it reads
    (a search export's title block is a different height month to month); else, when
    `first` does not look like a header (one cell: a title), the first line that does
    (detect_header_row), so that a message quotes the headers, never a title."""
    rows = [_line_cells(line, delimiter) for line in lines[first - 1:first - 1 + HEADER_SCAN_ROWS]]
    if not rows or (matches is not None and matches(_header_cells(rows[0]))):
        return first
    if matches is not None:
        below = next((i for i, cells in enumerate(rows[1:], 1)
                      if _header_cells(cells) and matches(_header_cells(cells))), None)
        if below is not None:
            return first + below
    if sum(1 for c in rows[0] if c.strip()) >= 2:
        return first  # a header the mapping cannot read: its message names the columns
    found, _matched = detect_header_row(rows)
    return first + found if found else first


def _check_given_header(name: str, lines: list[str], given: int, delimiter: str,
                        matches: HeaderTest | None, where: str) -> None:
    """A header_row that no longer holds the mapping's headers while another line near
    the top does (a title line added to or dropped from an export): name that line,
    rather than read a title, a blank line or a data row as the header."""
    if matches is None:
        return
    rows = [_line_cells(line, delimiter) for line in lines[:given + HEADER_SCAN_ROWS]]
    if len(rows) >= given and matches(_header_cells(rows[given - 1])):
        return
    other = next((i for i, cells in enumerate(rows, 1)
                  if i != given and _header_cells(cells) and matches(_header_cells(cells))),
                 None)
    if other is not None:
        raise _header_moved(name, given, other, where)


def _header_moved(name: str, given: int, other: int, where: str) -> InputDataError:
    return input_error(
        name, f"the headers the mapping reads are on row {other}, not on row {given} "
              f"(header_row in {where})",
        f"remove header_row from {where}: the header is then found below any title "
        f"rows, however many the export has (or set header_row = {other})")


class _NotUtf8(Exception):
    """DuckDB found a byte sequence that is not UTF-8."""


def _utf8_guess(path: Path, gzipped: bool) -> str | None:
    """'utf-8' or 'utf-8-sig' when the file's first block is UTF-8 text, else None."""
    try:
        with open_bytes(path, gzipped) as fh:
            head = fh.read(CHUNK)
    except (OSError, EOFError):
        return None  # detect_encoding reports it
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) or b"\x00" in head:
        return None
    try:
        codecs.getincrementaldecoder("utf-8")(errors="strict").decode(head)
    except UnicodeDecodeError:
        return None
    return "utf-8"


def _read_csv_as(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    *,
    table: str,
    gzipped: bool,
    codec: str,
    delimiter: str,
    header_row: int | None,
    workdir: Path | None,
    choose: ColumnChooser | None = None,
    auto_codec: bool = True,
    matches: HeaderTest | None = None,
    where: str = "the mapping",
    names: Sequence[str] = (),
) -> RawTable:
    name = path.name
    given = header_row
    header_row = header_row or 1
    if names:
        # No header row: every line is a row, the columns named by position. (A header
        # row "0": the row numbering and the line scans below take it as it is.)
        given, header_row = None, 0
    try:
        lines = _head_lines(path, gzipped, codec,
                            header_row + max(LEADING_LINES, HEADER_SCAN_ROWS))
    except UnicodeDecodeError:
        raise _NotUtf8 from None
    except LineTooLong as exc:
        raise line_too_long(name, exc.args[0]) from None
    if given is not None:
        _check_given_header(name, lines, given, delimiter, matches, where)
    # The line that gives the delimiter and the width of a file with no header row.
    first_row = next((line for line in lines if line.strip(" \t\r\n\ufeff")), "")
    if names and not first_row:
        raise input_error(name, "the file is empty (no rows)",
                          "re-export the file; an empty file has nothing to load")
    if header_row == 1:
        # Excel's "sep=;" first line names the delimiter (European exports): it is not
        # the header, and says what the delimiter is.
        hint = re.fullmatch(r"\ufeff?sep=(.)\r?\n?", lines[0]) if lines else None
        if hint:
            header_row = 2
            if delimiter == "auto":
                delimiter = hint.group(1)
        # Some exports start with empty lines: the header is the first line with text
        # (it was "the file is empty").
        header_row = next((i for i, line in enumerate(lines[header_row - 1:], header_row)
                           if line.strip(" \t\r\n\ufeff")), header_row)
        if given is None:
            header_row = _csv_header_row(lines, header_row, delimiter, matches)
    lines = lines[:header_row]
    # DuckDB's `skip` miscounts CR LF line ends and empty lines (2.0: skip = 3 over
    # "title CR LF, CR LF, header CR LF" left the header as a data row), so a header
    # below row 1 is passed over as the records those lines make (empty lines make
    # none) rather than as lines.
    skip, offset = (1, 0) if header_row == 1 else \
        (0, sum(1 for line in lines if line.strip("\r\n\ufeff")))
    # A quote left open in a title line would run on into the data (read as one value,
    # every row lost without a word).
    for number, title in enumerate(lines[:header_row - 1], start=1):
        opens = title.lstrip("\ufeff ").startswith('"') or any(d + '"' in title
                                                               for d in DELIMITERS)
        if title.count('"') % 2 and opens:  # (a quote inside a value is only a character)
            raise input_error(
                name, "a title line above the header holds a quote that is not closed, so "
                "the rows below it cannot be told apart",
                "delete the title lines (or close the quote), then ingest the file again",
                row=number)
    if not names and (len(lines) < header_row
                      or not lines[header_row - 1].strip(" \t\r\n\ufeff")):
        if not any(line.strip(" \t\r\n\ufeff") for line in lines):
            raise input_error(name, "the file is empty (no header row)",
                              "re-export the extract with its column headers")
        raise input_error(name, f"has no header on row {header_row}",
                          "set header_row in the mapping to the row that holds the headers")
    header_line = (first_row if names else lines[header_row - 1]).lstrip("\ufeff")
    if delimiter == "auto":
        delim = detect_delimiter(header_line)
    else:
        delim = DELIMITER_WORDS.get(delimiter, delimiter)
    headers = [h.strip() for h in next(csv.reader([header_line.rstrip("\r\n")], delimiter=delim))]
    # Excel leaves empty header cells after the last column ("a,b,,"): ignore them.
    while headers and headers[-1] == "":
        headers.pop()
    if names:
        headers = list(names)
    check_headers(name, headers)

    source = path
    temporary: Path | None = None
    duck_compression = "gzip" if gzipped else "none"
    width = max(_csv_width(header_line, delim), len(headers) if names else 0)
    cells = [f"c{i}" for i in range(width)]
    columns = "{" + ", ".join(f"'{n}': 'VARCHAR'" for n in cells + ["__extra"]) + "}"
    loaded, unmapped = _choose_columns(headers, choose, lambda i: f'"c{i}"',
                                       empty_is_text=True)
    # DuckDB pads a row with too few fields with nulls, and would read an empty field
    # as null too. With `nullstr` set to text no file holds, an empty field reads as ''
    # and only padding is null: a row is short when its last named column is null.
    # Columns past the headers stay: they are the "more fields than the header" check.
    selected = ", ".join(
        [f'"c{i}"' for i in (range(len(headers)) if loaded is None else loaded)]
        + [f'nullif("c{i}", \'\') AS "c{i}"' for i in range(len(headers), width)]
        + ["nullif(\"__extra\", '') AS \"__extra\""] + ([unmapped] if unmapped else [])
        + ([f'"c{len(headers) - 1}" IS NULL AS {SHORT_ROW}'] if headers else []))
    # Transcoded only now, after the mapping has chosen its columns (which may refuse
    # the file): from here on the copy is removed whatever happens.
    if codec not in ("utf-8", "utf-8-sig"):
        temporary = source = _transcode(path, gzipped, codec, workdir,
                                        mixed_check=codec == "cp1252" and auto_codec)
        duck_compression = "none"
    # DuckDB drops empty lines, which would make every later row number one low, and
    # reads a quoted line break as part of its record: count the lines (in a thread,
    # while DuckDB reads); only a file with fewer records than lines is looked at again.
    scan = ThreadPoolExecutor(max_workers=1)
    empty_line = scan.submit(_scan_lines, source, duck_compression == "gzip")
    scan.shutdown(wait=False)
    row_expr = f"(rowid + {header_row + 1})"  # rowid keeps file order; header = header_row
    try:
        for parallel in (True, False):
            try:
                con.execute(
                    f"CREATE OR REPLACE TEMP TABLE {table} AS SELECT {selected} FROM read_csv("
                    "$path, header = false, skip = $skip, delim = $delim, quote = '\"', "
                    f"escape = '\"', columns = {columns}, null_padding = true, "
                    "strict_mode = false, auto_detect = false, compression = $compression, "
                    "parallel = $parallel, nullstr = $padded, new_line = '\\n')"
                    + (f" OFFSET {int(offset)}" if offset else ""),  # the usual file: none
                    {"path": str(source), "skip": skip, "delim": delim,
                     "compression": duck_compression, "parallel": parallel,
                     "padded": _PADDED},
                )
                break
            except duckdb.Error as exc:
                # DuckDB's parallel scanner cannot pad short rows when a quoted field
                # spans lines; the serial scanner can.
                if parallel and "parallel" in str(exc):
                    continue
                raise
    except duckdb.Error as exc:
        if "invalid unicode" in str(exc).lower():
            raise _NotUtf8 from None
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        too_long = re.search(r"CSV Error on Line: (\d+)[\s\S]*Maximum line size of (\d+) "
                             r"bytes exceeded", str(exc))
        if too_long:  # (the error quotes the row itself: only its number is kept)
            raise line_too_long(name, int(too_long.group(1)), int(too_long.group(2))) from None
        raise input_error(name, f"cannot be read as CSV ({first})",
                          "check the quoting and the delimiter, or re-export the file") from None
    else:
        scanned = empty_line.result()
        text_codec = "utf-8-sig" if codec == "utf-8-sig" else "utf-8"
        gaps: list[int] = []
        records = con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]  # type: ignore[index]
        # As many records as lines: no empty line was dropped and no record spans lines
        # (either makes fewer records), so the file is not read again (the usual case).
        fewer = records < scanned.data_lines(header_row)
        if fewer and _scan_lines(source, duck_compression == "gzip", empty_lines=True).empty_line:
            gaps = _empty_line_positions(source, duck_compression == "gzip", text_codec,
                                         delim, header_row)
            if gaps:
                _renumber(con, table, gaps, header_row)
                row_expr = "__row"
        # A record spanning lines is a quoted line break -- or a quote left open that
        # swallows the rows after it. Only when the file has fewer records than lines
        # (and a quote) is it parsed again in Python to tell which.
        if scanned.quotes and headers and fewer:
            if records + len(gaps) < scanned.data_lines(header_row):
                swallowed = _swallowing_quote(source, duck_compression == "gzip",
                                              text_codec, delim, header_row, width)
                if swallowed is not None:
                    line, position, more = swallowed
                    column = headers[position] if position < len(headers) else \
                        f"number {position + 1}"
                    runs_on = (f"the next {more} lines, which look like rows of their own"
                               if more > 1 else "the next line, which looks like a row of "
                               "its own")
                    raise input_error(
                        name, f"a quote opened in column {column!r} is not closed where "
                        f"the value should end: it runs on over {runs_on}",
                        "close the quote, or double a quote that is part of a value (\"\"),"
                        " then ingest the file again", row=line)
    finally:
        empty_line.cancel()
        if temporary is not None:
            if not empty_line.cancelled():
                wait([empty_line])  # the scan may still be reading the file
            temporary.unlink(missing_ok=True)
    # Columns beyond the named headers (the "a,b,," case) count as extra fields.
    extra_parts = [f'"c{i}"' for i in range(len(headers), width)] + ['"__extra"']
    return RawTable(
        table=table,
        headers=headers,
        row_expr=row_expr,
        format="csv",
        encoding=codec,
        delimiter=delim,
        extra_columns=extra_parts,
        loaded=loaded,
        unmapped_data=UNMAPPED_DATA if unmapped else None,
        short_row=SHORT_ROW if headers else None,
    )


_EMPTY_LINE = re.compile(rb"\n\r?\n|\r\r")  # LF, CR LF or old-Mac CR line ends
_NEWLINES = b"\r\n"


@dataclass
class _LineScan:
    """What one streaming pass over a CSV file's bytes finds (see _scan_lines)."""

    empty_line: bool = False  # an empty line comes before the last non-empty one
    line_breaks: int = 0  # LF, CR LF and a lone CR each end a line (as DuckDB reads)
    trailing_breaks: int = 0  # line breaks after the one ending the last non-empty line
    open_end: bool = False  # the last line has no line break
    quotes: bool = False  # the file holds a '"'

    def data_lines(self, header_row: int) -> int:
        """Physical lines after the header, less the empty ones at the end."""
        return (self.line_breaks + self.open_end - max(self.trailing_breaks, 0)
                - header_row)


# From this size a file's line ends are counted by numpy: the scan then costs 0.33
# CPU s per GB against 0.62-0.72 with bytes.count, which goes a byte at a time (the
# read itself is about 0.2). Below it, importing numpy (0.06-0.14 CPU s) would cost
# more than it saves, and a small CSV's ingest never loads numpy.
NUMPY_COUNT_FROM = 200 << 20


def _byte_counter(path: Path) -> Callable[[bytes, bytes], int]:
    """How to count one byte in a chunk of `path`: bytes.count, or numpy for a big file."""
    try:
        big = path.stat().st_size >= NUMPY_COUNT_FROM
    except OSError:
        big = False
    if not big:
        return bytes.count
    import numpy as np

    # The comparison writes into one buffer: a new 1 MiB array per chunk is mapped and
    # unmapped each time (230,000 page faults a GB, which cost more than the count).
    found = np.empty(CHUNK, dtype=np.bool_)

    def count(chunk: bytes, byte: bytes) -> int:
        nonlocal found
        if len(chunk) > len(found):
            found = np.empty(len(chunk), dtype=np.bool_)
        out = found[:len(chunk)]
        np.equal(np.frombuffer(chunk, np.uint8), byte[0], out=out)
        return int(np.count_nonzero(out))

    return count


def _scan_lines(path: Path, gzipped: bool, *, empty_lines: bool = False) -> _LineScan:
    """Counts line breaks and looks for a quote; with `empty_lines`, also for an empty
    line (empty lines at the end shift no row). Streams the file with byte counts and
    searches (a CR only where the block holds one), about 0.3 s per GB; the search for
    an empty line costs several times that, so it is made only when the counts differ."""
    scan = _LineScan()
    count = _byte_counter(path)
    pending = False  # an empty line seen, and nothing but line ends after it so far
    tail = b""
    last = b""
    try:
        with open_bytes(path, gzipped) as fh:
            while chunk := fh.read(CHUNK):
                scan.line_breaks += count(chunk, b"\n")
                if tail[-1:] == b"\r" or b"\r" in chunk:
                    scan.line_breaks += (count(chunk, b"\r") - chunk.count(b"\r\n")
                                         - (tail[-1:] == b"\r" and chunk[:1] == b"\n"))
                scan.quotes = scan.quotes or b'"' in chunk
                last = chunk
                if empty_lines and not scan.empty_line:
                    block = tail + chunk
                    if pending and block.strip(_NEWLINES):
                        scan.empty_line = True
                    found = _EMPTY_LINE.search(block)
                    if found:
                        if block[found.end():].strip(_NEWLINES):
                            scan.empty_line = True
                        pending = True
                tail = (tail + chunk[-2:])[-2:]
    except (OSError, EOFError):
        return _LineScan()  # DuckDB read the file: what it loaded stands
    end = last[len(last.rstrip(_NEWLINES)):]  # the run of line ends at the very end
    breaks = end.count(b"\n") + end.count(b"\r") - end.count(b"\r\n")
    scan.open_end = not end and bool(last)
    scan.trailing_breaks = breaks - 1 if len(end) < len(last) else 0
    return scan


_LINE_BREAK = re.compile(r"\r\n|\r|\n")


def _swallowing_quote(path: Path, gzipped: bool, codec: str, delim: str, header_row: int,
                      width: int) -> tuple[int, int, int] | None:
    """The first value whose quote runs on over lines that hold a whole row's worth of
    delimiters: (the line its row starts on, the column's position, the lines it runs
    over). A line break inside a quoted value is legal CSV; a quote left open (or an
    undoubled quote inside a value) instead swallows the rows after it into one value.
    Parses the file in Python (slow): only called when records span lines."""
    if width < 2:
        return None
    try:
        with open_bytes(path, gzipped) as raw, \
                io.TextIOWrapper(raw, encoding=codec, newline="") as text:
            for _ in range(header_row):
                text.readline()
            reader = csv.reader(text, delimiter=delim, quotechar='"', doublequote=True)
            start = header_row + 1
            for record in reader:
                for position, value in enumerate(record):
                    if "\n" in value or "\r" in value:
                        more = _LINE_BREAK.split(value.rstrip("\r\n"))[1:]
                        if any(part.count(delim) >= width - 1 for part in more):
                            return start, position, len(more)
                start = header_row + reader.line_num + 1
    except (OSError, EOFError, UnicodeDecodeError, csv.Error):
        return None
    return None


def _empty_line_positions(path: Path, gzipped: bool, codec: str, delim: str,
                          header_row: int) -> list[int]:
    """For each empty line after the header, the number of records before it. Only
    called for a file that has one: it parses the whole file in Python (slow)."""
    positions: list[int] = []
    records = 0
    try:
        with open_bytes(path, gzipped) as raw, \
                io.TextIOWrapper(raw, encoding=codec, newline="") as text:
            for _ in range(header_row):
                text.readline()
            for record in csv.reader(text, delimiter=delim, quotechar='"', doublequote=True):
                if record:
                    records += 1
                else:
                    positions.append(records)
    except (OSError, EOFError, UnicodeDecodeError, csv.Error):
        return []  # DuckDB read the file: keep its numbering
    return positions


def _renumber(con: duckdb.DuckDBPyConnection, table: str, gaps: list[int],
              header_row: int) -> None:
    """Give `table` a __row column: the row number counting the empty lines DuckDB
    dropped (`gaps`: the number of records before each, ascending)."""
    # Records from rowid `records` on follow `shift` empty lines in all.
    shifts = {records: n for n, records in enumerate(gaps, start=1)}
    con.execute(
        "CREATE OR REPLACE TEMP TABLE __eolneeds_gaps AS SELECT unnest($records) AS records, "
        "unnest($shifts) AS shift",
        {"records": list(shifts), "shifts": list(shifts.values())})
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {table}__numbered AS SELECT r.*, r.rowid + "
        f"{header_row + 1} + coalesce(g.shift, 0) AS __row FROM {table} r "
        "ASOF LEFT JOIN __eolneeds_gaps g ON r.rowid >= g.records ORDER BY r.rowid")
    con.execute(f"DROP TABLE {table}")
    con.execute(f"ALTER TABLE {table}__numbered RENAME TO {table}")
    con.execute("DROP TABLE __eolneeds_gaps")


def _csv_width(header_line: str, delim: str) -> int:
    return len(next(csv.reader([header_line.rstrip("\r\n")], delimiter=delim)))


# ---------------------------------------------------------------------------------------
# XLSX


def cell_text(value: Any) -> str | None:
    """A cell as the text a user would have typed: 85.0 -> '85', dates as ISO."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return repr(value)
    if isinstance(value, datetime):
        if value.time() == time(0, 0):
            return value.date().isoformat()
        return value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    text = str(value)
    return text if text.strip() else None


HEADER_SCAN_ROWS = 30  # title and note rows above a header: looked for this far down
SAMPLE_ROWS = 5
# Whether a row of headers is the one wanted (ingest: the mapping can read it).
HeaderTest = Callable[[list[str]], bool]


@dataclass
class SheetLayout:
    """Where a worksheet's data starts, as detect_header_row finds it."""

    name: str
    header_row: int | None  # Excel's row number of the header; None: nothing found
    headers: list[str]
    sample: list[list[str | None]]  # up to SAMPLE_ROWS rows after the header, as text
    matched: bool = False  # the header passed the test it was looked for with
    titles: list[str] = field(default_factory=list)  # text of the rows above the header
    hidden: bool = False  # hidden in Excel (an old copy, a look-up list): not the data


def _header_cells(cells: Sequence[Any]) -> list[str]:
    headers = [(cell_text(c) or "").strip() for c in cells]
    while headers and headers[-1] == "":
        headers.pop()
    return headers


def _looks_number(value: Any) -> bool:
    if isinstance(value, (int, float, date, datetime)) and not isinstance(value, bool):
        return True
    text = str(value).strip().replace(",", "")
    try:
        float(text)
    except ValueError:
        return False
    return True


def detect_header_row(rows: Sequence[Sequence[Any]],
                      matches: HeaderTest | None = None) -> tuple[int | None, bool]:
    """(index in `rows` of the header row, or None; whether `matches` accepted it).

    With `matches`, the first row it accepts. Otherwise (or when it accepts none) the
    first row filled at least half as wide as the widest of `rows`, with two or more
    cells and one that is text, not a number or date: title and note rows above a
    header fill one or two cells, data rows come after it.
    """
    if matches is not None:
        for i, cells in enumerate(rows):
            headers = _header_cells(cells)
            if len(headers) >= 1 and matches(headers):
                return i, True
    filled = [sum(1 for c in cells if cell_text(c) is not None) for cells in rows]
    widest = max(filled, default=0)
    for i, cells in enumerate(rows):
        values = [c for c in cells if cell_text(c) is not None]
        if (len(values) >= 2 and 2 * len(values) >= widest
                and any(not _looks_number(v) for v in values)):
            return i, False
    return None, False


def numbered_rows(worksheet: Any, min_row: int = 1, max_row: int | None = None
                  ) -> Iterator[tuple[int, tuple[Any, ...]]]:
    """(Excel's row number, values) of each row of a read-only openpyxl worksheet from
    `min_row`, in the order the file holds them. openpyxl's own iter_rows numbers rows by
    counting and drops a row numbered below one it has yielded: rows written out of
    order (r="5" before r="3", which LibreOffice reads by their numbers) were lost, and
    the rest misnumbered. A row without r="..." follows the row before it (openpyxl's
    parser, as Excel). `max_row` (sheet_xml's last_row, known only when the rows are in
    order) ends the read at the first row past it. (openpyxl 3.1's parser, as its
    ReadOnlyWorksheet drives it: pinned <3.2 in pyproject.toml.)"""
    from openpyxl.worksheet._reader import WorkSheetParser

    book = worksheet.parent
    seen = RowsSeen(worksheet.title)
    with worksheet._get_source() as source:
        parser = WorkSheetParser(source, SharedStrings(worksheet._shared_strings),
                                 data_only=book.data_only, epoch=book.epoch,
                                 date_formats=book._date_formats,
                                 timedelta_formats=book._timedelta_formats)
        try:
            for number, cells in parser.parse():
                if max_row is not None and number > max_row:
                    return
                yield from _placed(worksheet, seen, number, cells, min_row)
        except UnreadableCell:
            raise  # (a ValueError, already naming its cell)
        except IndexError:
            raise _unparsable_cell(worksheet) or UnreadableCell(
                f"a cell of sheet {worksheet.title!r} names a shared string the workbook "
                "does not have") from None
        except ValueError:
            # openpyxl's own words ("invalid literal for int() with base 10: 'NaN'") name
            # no cell: read the sheet again, cell by cell, to name it (a damaged sheet
            # only, so the good sheet's reading pays nothing). openpyxl's words where
            # they already name the cell ("'ZZZZ' is not a valid column name").
            named = _unparsable_cell(worksheet)
            if named is None:
                raise
            raise named from None


def _unparsable_cell(worksheet: Any) -> UnreadableCell | None:
    """The first cell (or row) of a sheet that openpyxl's parser cannot read: a reference
    with no row number (r="A"), a number cell holding 'NaN', a row numbered 'x', a
    shared string past the workbook's (IndexError). Named
    by its reference and row; its value is never shown (it may be an identifier). None
    for a cell openpyxl's own message names (a column past ZZZ)."""
    from openpyxl.worksheet._reader import WorkSheetParser

    sheet = worksheet.title

    class Naming(WorkSheetParser):  # type: ignore[misc]
        def _where(self, element: Any) -> str:
            """A cell's reference, or (none written) its place: the one counted last."""
            from openpyxl.utils import get_column_letter

            return element.get("r") or \
                f"{get_column_letter(max(self.col_counter, 1))}{self.row_counter}"

        def parse_row(self, row: Any) -> Any:
            try:
                return super().parse_row(row)
            except UnreadableCell:
                raise
            except ValueError:
                if not _XML_ROW_R.fullmatch(row.get("r", "1")):
                    raise UnreadableCell(
                        f"sheet {sheet!r} has a row numbered {_shown(row.get('r'))} (Excel "
                        "numbers rows from 1)") from None
                raise

        def parse_cell(self, element: Any) -> Any:
            try:
                return super().parse_cell(element)
            except IndexError:
                raise UnreadableCell(
                    f"sheet {sheet!r} has a cell {self._where(element)} naming a shared "
                    "string the workbook does not have") from None
            except ValueError:
                ref = element.get("r")
                if ref is not None and _XML_LONG_COLUMN.fullmatch(ref):
                    raise  # openpyxl names it
                if ref is not None and not _XML_CELL_R.fullmatch(ref):
                    raise UnreadableCell(
                        f"sheet {sheet!r} has a cell whose reference {_shown(ref)} (in row "
                        f"{self.row_counter}) is not a cell's: Excel writes a column and a "
                        "row, such as A2") from None
                from openpyxl.utils import get_column_letter

                # (A cell without a reference is counted once its style is read.)
                style_read = str(element.get("s", "0")).isdigit()
                where = ref or \
                    f"{get_column_letter(self.col_counter + (not style_read))}{self.row_counter}"
                if not style_read:
                    raise UnreadableCell(f"sheet {sheet!r} has a cell {where} whose style "
                                         "is not a number") from None
                raise not_holding(sheet, where, element.get("t", "n")) from None

    with worksheet._get_source() as source:
        book = worksheet.parent
        parser = Naming(source, SharedStrings(worksheet._shared_strings),
                        data_only=book.data_only, epoch=book.epoch,
                        date_formats=book._date_formats,
                        timedelta_formats=book._timedelta_formats)
        try:
            for _ in parser.parse():
                pass
        except UnreadableCell as found:
            return found
        except (ValueError, IndexError):
            pass
    return None


def not_holding(sheet: str, where: str, kind: str) -> UnreadableCell:
    """A cell whose value is not of the type its t="..." marks ('NaN' in a number cell,
    'yes' in a true-or-false one), in both readers' words: named, never shown."""
    kinds = {"n": "a number", "s": "a shared string's number", "b": "true or false (1 or 0)",
             "d": "a date", "e": "an error", "str": "text", "inlineStr": "text"}
    return UnreadableCell(f"sheet {sheet!r} has a cell {where} marked as holding "
                          f"{kinds.get(kind, repr(kind))} that does not hold one")


def beyond_a_double(sheet: str, where: str) -> UnreadableCell:
    """<v>1E+400</v>: openpyxl reads it as infinity, which was loaded as the code INF."""
    return UnreadableCell(f"sheet {sheet!r} has a cell {where} holding a number beyond the "
                          "largest a workbook can hold (about 1.8E+308)")


_XML_ROW_R = re.compile(r"[0-9]+")
_XML_CELL_R = re.compile(r"[A-Za-z]{1,3}[0-9]+")
_XML_LONG_COLUMN = re.compile(r"[A-Za-z]{4,}[0-9]+")


def _shown(text: str | None) -> str:
    """An attribute of a damaged workbook, for a message: quoted, escaped, cut short."""
    text = "" if text is None else text
    return repr(text[:12] + ("…" if len(text) > 12 else ""))


# A number cell's value past the largest a double holds (<v>1E+400</v>): openpyxl reads it
# as infinity, which became the code "INF". Excel cannot write one.
_INFINITIES = (float("inf"), float("-inf"))


class SharedStrings(list):  # type: ignore[type-arg]
    """A workbook's shared strings, refusing a negative index (IndexError) as one past
    the end: a cell's <v>-1</v> was read as the last string, a value Excel never
    showed there."""

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, int) and index < 0:
            raise IndexError(index)
        return super().__getitem__(index)


def _placed(worksheet: Any, seen: RowsSeen, number: int, cells: list[dict[str, Any]],
            min_row: int) -> Iterator[tuple[int, tuple[Any, ...]]]:
    """numbered_rows' row `number`: checked (a row number below 1, a cell of another
    row, a cell written twice refused), its cells placed by their references."""
    if number < 1:
        raise UnreadableCell(f"sheet {worksheet.title!r} has a row numbered {number} "
                             "(Excel numbers rows from 1)")
    if any(cell["row"] != number for cell in cells):
        cell = next(cell for cell in cells if cell["row"] != number)
        from openpyxl.utils import get_column_letter

        raise cell_in_another_row(worksheet.title, get_column_letter(cell["column"]),
                                  cell["row"], number)
    columns = [cell["column"] for cell in cells]
    if columns:
        seen.add(number, columns[0])
    if not all(map(operator.lt, columns, columns[1:])):
        # Cells out of order (C3 before A3) are placed by their references, as
        # Excel shows them: openpyxl sized the row by the last one, dropping the
        # cells right of it. A column claimed twice is refused.
        twice = next((c for c in columns if columns.count(c) > 1), None)
        if twice is not None:
            from openpyxl.utils import get_column_letter

            raise CellWrittenTwice(worksheet.title, f"{get_column_letter(twice)}{number}")
        cells = sorted(cells, key=lambda cell: cell["column"])
    if number >= min_row:
        values = worksheet._get_row(cells, 1, None, values_only=True)
        if _INFINITIES[0] in values or _INFINITIES[1] in values:
            from openpyxl.utils import get_column_letter

            column = next(i for i, v in enumerate(values, 1) if v in _INFINITIES)
            raise beyond_a_double(worksheet.title, f"{get_column_letter(column)}{number}")
        yield number, values


class RowsSeen:
    """The numbers of a sheet's rows read so far that held cells: a second row with
    cells claiming one of them is refused (CellWrittenTwice, naming its first cell). A
    byte per row of Excel's grid (1 MB), made at the first row; numbers past the grid
    (refused elsewhere) in a set."""

    def __init__(self, sheet: str) -> None:
        self.sheet = sheet
        self.bits = bytearray()
        self.beyond: set[int] = set()

    def add(self, number: int, first: int) -> None:
        """Row `number`, whose first cell is in column `first` (1 = A)."""
        if number <= MAX_SHEET_ROWS:
            if not self.bits:
                self.bits = bytearray(MAX_SHEET_ROWS + 1)
            twice = self.bits[number]
            self.bits[number] = 1
        else:
            twice = number in self.beyond
            self.beyond.add(number)
        if twice:
            from openpyxl.utils import get_column_letter

            raise CellWrittenTwice(self.sheet, f"{get_column_letter(first)}{number}")


def head_rows(worksheet: Any, first: int, last: int) -> list[tuple[Any, ...]]:
    """Rows `first` to `last` of a worksheet in Excel's order, an absent row as (): the
    few rows a header is looked for in, placed by their numbers however the file orders
    them (numbered_rows). The read ends at the first row past `last`, so a sheet's head
    costs the same whatever its length."""
    found: dict[int, tuple[Any, ...]] = {}
    for number, cells in numbered_rows(worksheet, first):
        if number > last:
            break
        found.setdefault(number, cells)
    return [found.get(n, ()) for n in range(first, max(found, default=first - 1) + 1)]


def scan_sheet(worksheet: Any, matches: HeaderTest | None = None, *,
               header_row: int | None = None) -> SheetLayout:
    """The header row of an openpyxl worksheet (given, or found in its first rows)."""
    first = header_row or 1
    last = first + SAMPLE_ROWS if header_row else HEADER_SCAN_ROWS + SAMPLE_ROWS
    try:
        rows = head_rows(worksheet, first, last)
    except ValueError as exc:  # openpyxl: "'ZZZZZ' is not a valid column name"
        raise UnreadableCell(str(exc)) from None
    if header_row:
        found, matched = (0, bool(matches and rows and matches(_header_cells(rows[0])))) \
            if rows else (None, False)
    else:
        found, matched = detect_header_row(rows[:HEADER_SCAN_ROWS], matches)
    hidden = getattr(worksheet, "sheet_state", "visible") != "visible"
    if found is None:
        return SheetLayout(worksheet.title, None, [], [], hidden=hidden)
    sample = [[cell_text(c) for c in r] for r in rows[found + 1:found + 1 + SAMPLE_ROWS]]
    titles = [" ".join(t for t in (cell_text(c) for c in r) if t) for r in rows[:found]]
    return SheetLayout(worksheet.title, first + found, _header_cells(rows[found]), sample,
                       matched, [t for t in titles if t], hidden)


def scan_workbook(path: Path, matches: HeaderTest | None = None) -> list[SheetLayout]:
    """Every sheet of a workbook with its header row (see detect_header_row), for
    choosing the data sheet and for `inspect`."""
    workbook = _open_workbook(path)
    try:
        return [scan_sheet(ws, matches) for ws in workbook.worksheets]
    except DAMAGED_WORKBOOK as exc:
        raise damaged_sheet(path, exc) from None
    finally:
        workbook.close()


# A part of a workbook that would expand past this size, at least this many times its
# compressed size, is a "zip bomb" (a tiny file that fills memory: openpyxl holds the
# shared strings and each cell's text whole). Real extracts compress 5-30 times.
BOMB_PART_BYTES = 256 * 1024 * 1024
BOMB_RATIO = 100


#: The endings openpyxl opens a workbook under.
WORKBOOK_SUFFIXES = (".xlsx", ".xlsm", ".xltx", ".xltm")


def check_workbook_archive(path: Path) -> None:
    """Before openpyxl opens a zip file: refuse what is not an .xlsx workbook (a .zip
    of extracts, an .ods or .xlsb) with what to do, and a workbook one of whose parts
    would expand absurdly. The sizes are the zip directory's; a part that lies about
    its size fails its CRC check when read."""
    try:
        with zipfile.ZipFile(path) as archive:
            parts = archive.infolist()
            mimetype = archive.read("mimetype")[:100] if "mimetype" in archive.namelist() \
                else b""
    except (zipfile.BadZipFile, OSError, KeyError, zlib.error):
        return  # openpyxl reports it
    names = {p.filename for p in parts}
    if b"opendocument" in mimetype:
        raise input_error(path.name, "is an OpenDocument spreadsheet (.ods), not .xlsx",
                          "save it as Excel 2007-365 (.xlsx) or CSV UTF-8 from LibreOffice "
                          "or Excel")
    if "xl/workbook.bin" in names:
        raise input_error(path.name, "is an Excel binary workbook (.xlsb), not .xlsx",
                          "open it in Excel and save it as Excel Workbook (.xlsx) or CSV UTF-8")
    if "xl/workbook.xml" not in names and "[Content_Types].xml" not in names:
        inside = sorted(n for n in names if not n.endswith("/"))
        shown = ", ".join(inside[:3]) + (", ..." if len(inside) > 3 else "")
        raise input_error(path.name, f"is a zip archive, not an Excel workbook (it holds "
                          f"{shown or 'nothing'})",
                          "unzip it and ingest the extract files inside")
    if path.suffix.lower() not in WORKBOOK_SUFFIXES:
        # openpyxl opens a workbook by its name's ending only, and said "openpyxl does
        # not support .csv file format" of a workbook a portal saved as deaths.csv.
        raise input_error(path.name, f"is an Excel workbook saved under a {path.suffix or 'plain'} "
                          "name", f"rename it to {path.stem}.xlsx and ingest that")
    for part in parts:
        if part.file_size > BOMB_PART_BYTES and \
                part.file_size > BOMB_RATIO * max(part.compress_size, 1):
            raise input_error(
                path.name, f"part {part.filename} would expand from "
                f"{part.compress_size / 1e6:,.1f} MB to {part.file_size / 1e6:,.0f} MB, "
                f"more than {BOMB_RATIO} times: not a workbook a program saved, so it is "
                "not opened",
                "check where the file came from, then export the data again as .xlsx or CSV")
    _refuse_long_xml_runs(path, parts)


# The longest markup of a workbook part's XML (a tag with its attributes, a comment),
# from its '<' to its '>': Excel writes none near it (its longest attribute is a few KB;
# a cell's text, which is no markup, holds at most 32,767 characters). Python's XML
# parser (expat 2.5) parses such a token again each time it is fed more of it, so its
# time grows with the square of the token's length: a 10 MB attribute stalled openpyxl
# for ~13 s, and 62 of them fit in a part the bomb check passes. (Text is parsed as it
# comes: a long cell is refused when read, naming it.)
MAX_XML_RUN_BYTES = 1_000_000
# Markup that runs to its own end marker, whatever '<' and '>' it holds.
_XML_MARKUP_START = re.compile(rb"<(!--|!\[CDATA\[|\?|!)")
_XML_MARKUP_END = {b"!--": b"-->", b"![CDATA[": b"]]>", b"?": b"?>", b"!": b">"}


def _refuse_long_xml_runs(path: Path, parts: Sequence[zipfile.ZipInfo]) -> None:
    """Refuse a workbook one of whose XML parts holds markup of MAX_XML_RUN_BYTES or more,
    before openpyxl parses it: one streamed pass over each part (_long_markup)."""
    try:
        with zipfile.ZipFile(path) as archive:
            for part in parts:
                if not part.filename.endswith((".xml", ".rels")) or \
                        part.file_size <= MAX_XML_RUN_BYTES:
                    continue
                with archive.open(part) as fh:
                    if _long_markup(fh, MAX_XML_RUN_BYTES - 1):
                        raise input_error(
                            path.name, f"part {part.filename} holds a tag or comment "
                            f"of {MAX_XML_RUN_BYTES:,} bytes or more (an attribute far "
                            "longer than any Excel writes): a damaged workbook or not "
                            "one a program saved, so it is not opened",
                            "open it in Excel and save it again as .xlsx, or export CSV")
    except (zipfile.BadZipFile, OSError, KeyError, zlib.error, EOFError):
        return  # openpyxl reports it


def _long_markup(stream: IO[bytes], limit: int) -> bool:
    """Whether the XML read from `stream` holds a tag, comment, processing instruction
    or CDATA section longer than `limit` bytes, read in chunks of `limit`. A tag runs
    from its '<' to the last '>' before the next '<': its attribute values hold no '<'
    but may hold '>' (a first-'>' rule let `x="a>a>a>..."` of 8 MB through). A comment
    or the like may hold both, so one begun in a chunk must end within `limit` bytes of
    its start: in that chunk or the next, both held."""
    last_open: int | None = None  # the offset of the last '<' read
    closed = True  # a '>' read after it
    offset = 0  # the offset of the chunk's first byte
    previous = b""
    while True:
        chunk = stream.read(limit)
        if previous and (b"<!" in previous or b"<?" in previous
                         or previous.endswith(b"<") and chunk[:1] in (b"!", b"?")):
            window = previous + chunk
            for start in _XML_MARKUP_START.finditer(window, 0, len(previous) + 9):
                if start.start() >= len(previous):
                    break
                end = window.find(_XML_MARKUP_END[start.group(1)], start.end())
                # Not ended within the window: longer than `limit` unless the part ends.
                if (end < 0 and len(chunk) == limit) or end - start.start() > limit:
                    return True
        if not chunk:
            return False
        # A tag begun in an earlier chunk ends here, before this chunk's first '<' (one
        # begun and ended within a chunk is shorter than the chunk).
        first = chunk.find(b"<")
        close = chunk.rfind(b">", 0, len(chunk) if first < 0 else first)
        if close >= 0 and last_open is not None and offset + close - last_open > limit:
            return True
        if (last := chunk.rfind(b"<")) >= 0:
            last_open = offset + last
            closed = chunk.find(b">", last) >= 0
        else:
            closed = closed or close >= 0
        offset += len(chunk)
        # A tag still open (no '>' yet) is as long as what has been read of it.
        if not closed and last_open is not None and offset - last_open > limit:
            return True
        previous = chunk


def _open_workbook(path: Path) -> Any:
    import openpyxl
    from openpyxl.utils.exceptions import InvalidFileException

    check_workbook_archive(path)
    try:
        workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError, InvalidFileException,
            *DAMAGED_WORKBOOK) as exc:
        raise input_error(path.name, f"is not a readable Excel workbook ({exc})",
                          "open it in Excel and save it again as .xlsx, or export CSV") from None
    for worksheet in workbook.worksheets:
        # Read-only mode stops at the used range the writing program recorded
        # (<dimension>), and some write a stale one (A1:G2 over thousands of rows): the
        # rows beyond it were dropped without a word. Read to the real end instead.
        worksheet.reset_dimensions()
    if not workbook.worksheets:
        workbook.close()
        raise input_error(path.name, "is a workbook with no worksheets",
                          "check that the right file was exported, then save the data "
                          "sheet from Excel as .xlsx or CSV")
    return workbook


def _describe_sheets(sheets: Sequence[SheetLayout]) -> str:
    def one(s: SheetLayout) -> str:
        if s.header_row is None:
            return f"{s.name!r} (empty)"
        shown = ", ".join(s.headers[:4]) + (", ..." if len(s.headers) > 4 else "")
        return f"{s.name!r} (row {s.header_row}: {shown})"
    return "; ".join(one(s) for s in sheets)


def choose_sheet(file_name: str, sheets: Sequence[SheetLayout], *,
                 where: str = "the mapping") -> SheetLayout:
    """The one sheet whose header `matches` accepted (scan_workbook), else stop and list
    the sheets so the user can name one in the mapping."""
    matched = [s for s in sheets if s.matched]
    if len(matched) > 1:
        # A hidden sheet with the same columns is an old copy or a working sheet; the
        # one the user sees in Excel is the data.
        matched = [s for s in matched if not s.hidden] or matched
    if len(matched) == 1:
        return matched[0]
    if matched:
        raise input_error(
            file_name, f"several sheets have the columns the mapping reads: "
                       f"{_describe_sheets(matched)}",
            f'set sheet = "{matched[0].name}" (or another of them) in {where}')
    raise input_error(
        file_name, f"no sheet has the columns the mapping reads (sheets: "
                   f"{_describe_sheets(sheets)})",
        f"set sheet = \"NAME\" to the data sheet in {where}, and map its columns under "
        "[columns]")


class UnreadableCell(ValueError):
    """openpyxl's ValueError on a cell it cannot place (a reference past column ZZZ),
    met while a sheet's first rows are scanned."""


def cell_in_another_row(sheet: str, letters: str, row: int | str, number: int
                        ) -> UnreadableCell:
    """A cell whose reference names a row other than the row it is written in (<c
    r="B7"> in <row r="5">, or r="A0"): Excel never writes one. openpyxl placed it in
    its row's place and the fast reader did too, while the pass that finds a sheet's
    last row read the cell's reference: a row after it could be dropped unread, and a
    last cell called A0 made the sheet 'empty'. Refused, as which row is meant cannot
    be known."""
    return UnreadableCell(f"sheet {sheet!r} has a cell {letters}{row} inside row {number} "
                          "(Excel writes each cell in the row its reference names)")


class CellWrittenTwice(Exception):
    """Two cells of a sheet's XML claim one address (r="B3" twice in a row, or two rows
    r="3" holding cells): Excel never writes one, and which value is meant cannot be
    known. openpyxl kept the last and the fast reader shifted the rest of the row one
    column right; both now refuse the sheet, naming the cell. (Not a ValueError: the
    fast reader's callers fall back to openpyxl on those.)"""

    def __init__(self, sheet: str, cell: str) -> None:
        super().__init__(f"cell {cell} of sheet {sheet!r} is written twice")
        self.sheet, self.cell = sheet, cell


# What reading a damaged worksheet raises (its XML cut short or not XML, its
# compressed part corrupt, a cell openpyxl cannot place, one written twice): the
# workbook, not eolneeds, is at fault.
DAMAGED_WORKBOOK: tuple[type[BaseException], ...] = (
    ParseError, zipfile.BadZipFile, zlib.error, EOFError, UnreadableCell, CellWrittenTwice)


def _cells_text(cells: Sequence[Any]) -> list[str | None]:
    return [cell_text(c) for c in cells]


def damaged_sheet(path: Path, exc: BaseException) -> Exception:
    """The workbook opened, but a sheet's XML or its compression is damaged."""
    if isinstance(exc, CellWrittenTwice):
        return input_error(
            path.name, f"sheet {exc.sheet!r}, cell {exc.cell}: two cells in the sheet's "
            "XML claim this one address, so which value is meant cannot be known (Excel "
            "never writes a cell twice: a script or another program wrote this file)",
            "open it in Excel or LibreOffice, check that cell and save it again as .xlsx, "
            "or export CSV")
    kind = "ValueError" if isinstance(exc, UnreadableCell) else type(exc).__name__
    return input_error(path.name, f"has a damaged worksheet ({kind}: "
                       f"{str(exc).splitlines()[0] if str(exc) else 'unreadable'})",
                       "open it in Excel and save it again as .xlsx, or export CSV")


# Excel holds at most 32,767 characters in a cell: a longer one was not saved by Excel.
MAX_CELL_CHARS = 32_767
# Text read from one sheet, in characters: a whole ICB's extract is a few hundred
# million; beyond this the workbook is refused rather than fill memory and disk.
MAX_SHEET_CHARS = 1_000_000_000
MAX_BATCH_CHARS = 100_000_000  # a batch is loaded early past this, to bound memory


def check_sheet_text(file_name: str, sheet: str, row: int, cells: Sequence[Any],
                     used: int, headers: Sequence[str] = (),
                     limit: int | None = None) -> int:
    """The characters of text read from a sheet up to and including this row (`used`
    before it). Stops at a cell longer than Excel allows, naming it, and at a sheet
    whose text passes `limit`: one shared string is stored once however many
    cells use it, so a small workbook can expand to any size when read (a "shared
    strings bomb")."""
    from openpyxl.utils import get_column_letter

    limit = MAX_SHEET_CHARS if limit is None else limit
    total = used
    for i, cell in enumerate(cells):
        if not isinstance(cell, str):
            continue
        total += len(cell)
        if len(cell) > MAX_CELL_CHARS:
            column = headers[i] if i < len(headers) and headers[i] else None
            raise input_error(
                file_name, f"cell {get_column_letter(i + 1)}{row} of sheet {sheet!r} holds "
                f"{len(cell):,} characters, more than Excel's limit of {MAX_CELL_CHARS:,}: "
                "not a workbook Excel saved, so it is not read",
                "check where the file came from, then export the data again as .xlsx or "
                "CSV", row=row, column=column)
    if total > limit:
        raise input_error(
            file_name, f"sheet {sheet!r} holds over {limit:,} characters of "
            "text by this row, far more than any extract: a workbook built to fill "
            "memory, so it is not read",
            "check where the file came from, then export the data again as CSV", row=row)
    return total


def checked_rows(file_name: str, sheet: str, rows: Iterable[Sequence[Any]],
                 first_row: int = 1, limit: int | None = None) -> Iterator[Sequence[Any]]:
    """`rows` of a worksheet, refused as check_sheet_text says."""
    used = 0
    for row, cells in enumerate(rows, start=first_row):
        used = check_sheet_text(file_name, sheet, row, cells, used, limit=limit)
        yield cells


def _read_xlsx(
    con: duckdb.DuckDBPyConnection, path: Path, *, table: str, sheet: str | None,
    header_row: int | None, matches: HeaderTest | None = None, where: str = "the mapping",
    plain_cells: bool = False,
) -> RawTable:
    import pyarrow as pa

    name = path.name
    given = header_row
    workbook = _open_workbook(path)
    try:
        if sheet is None:
            if len(workbook.worksheets) == 1 or matches is None:
                worksheet = workbook.worksheets[0]
            else:
                # Several sheets and none named: the one whose header the mapping reads.
                layouts = [scan_sheet(ws, matches, header_row=header_row)
                           for ws in workbook.worksheets]
                chosen = choose_sheet(name, layouts, where=where)
                worksheet = workbook[chosen.name]
                header_row = chosen.header_row
        elif sheet in workbook.sheetnames:
            worksheet = workbook[sheet]
        else:
            names = ", ".join(repr(s) for s in workbook.sheetnames)
            close = difflib.get_close_matches(sheet, workbook.sheetnames, n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            raise input_error(name, f"has no sheet {sheet!r} (sheets: {names})",
                              f"{hint}set sheet in {where} to one of these")
        xml = sheet_xml(path, worksheet.title)
        _refuse_beyond_grid(path, xml, worksheet.title)
        if header_row is None:
            # Title rows above the header: find it.
            header_row = scan_sheet(worksheet, matches).header_row or 1
        elif given is not None and matches is not None and \
                not scan_sheet(worksheet, matches, header_row=given).matched:
            # The mapping's header_row no longer holds its headers (a title row added to
            # the report): name the row that does, as for a CSV.
            found = scan_sheet(worksheet, matches)
            if found.matched and found.header_row not in (None, given):
                raise _header_moved(name, given, found.header_row, where)  # type: ignore[arg-type]
        rows: Iterator[tuple[int, Sequence[Any]]] = numbered_rows(
            worksheet, header_row, xml.last_row)
        as_text: Callable[[Sequence[Any]], list[str | None]] = _cells_text
        if plain_cells:
            try:
                rows = numbered_sheet_rows(path, worksheet.title, header_row, xml.last_row)
                as_text = list  # already text
            except (KeyError, ValueError, IndexError, zipfile.BadZipFile):
                pass  # an unusual workbook: openpyxl reads it
        # Rows come in the file's order with Excel's numbers: rows written before the
        # header row (out of order) are kept for after it.
        header_cells: Sequence[Any] | None = None
        early: list[tuple[int, Sequence[Any]]] = []
        for number, cells in rows:
            if number == header_row:
                header_cells = cells
                break
            early.append((number, cells))
        if header_cells is None or all(cell_text(c) is None for c in header_cells):
            if header_row == 1 and header_cells is None:
                raise input_error(name, f"sheet {worksheet.title!r} is empty",
                                  "check the sheet name and that the data was saved")
            raise input_error(name, f"sheet {worksheet.title!r} has no header on row "
                              f"{header_row}",
                              f"set header_row in {where} to the row that holds the headers")
        headers = _header_cells(header_cells)
        check_headers(name, headers)
        _refuse_uncalculated(path, xml, worksheet.title, header_row, headers)
        width = len(headers)
        column_names = [f"c{i}" for i in range(width)]
        schema = pa.schema([("__row", pa.int64())] + [(n, pa.string()) for n in column_names]
                           + [("__extra", pa.string())])
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE {table} (__row BIGINT, "
            + ", ".join(f"{n} VARCHAR" for n in column_names) + ", __extra VARCHAR)"
        )

        def flush(batch: list[list[Any]]) -> None:
            arrow = pa.Table.from_arrays(
                [pa.array(col, type=typ.type) for col, typ in zip(batch, schema, strict=True)],
                schema=schema,
            )
            con.register("__xlsx_batch", arrow)
            con.execute(f"INSERT INTO {table} SELECT * FROM __xlsx_batch")
            con.unregister("__xlsx_batch")

        batch: list[list[Any]] = [[] for _ in range(width + 2)]
        batch_chars = sheet_chars = 0
        for row_number, cells in itertools.chain(early, rows):
            texts = as_text(cells)
            if all(t is None for t in texts):
                continue  # a blank row carries nothing to load or reject
            # One shared string is stored once however many cells use it, so a small
            # workbook can expand to any size here (a "shared strings bomb"): count.
            chars = sum(map(len, filter(None, texts)))
            if chars > MAX_CELL_CHARS or sheet_chars + chars > MAX_SHEET_CHARS:
                check_sheet_text(name, worksheet.title, row_number, texts, sheet_chars,
                                 headers)
            sheet_chars += chars
            batch_chars += chars
            values = (texts + [None] * width)[:width]
            extra = next((t for t in texts[width:] if t is not None), None)
            batch[0].append(row_number)
            for i, value in enumerate(values):
                batch[i + 1].append(value)
            batch[-1].append(extra)
            if len(batch[0]) >= XLSX_BATCH or batch_chars > MAX_BATCH_CHARS:
                flush(batch)
                batch = [[] for _ in range(width + 2)]
                batch_chars = 0
        if batch[0]:
            flush(batch)
    finally:
        workbook.close()
    return RawTable(table=table, headers=headers, row_expr="__row", format="xlsx",
                    extra_columns=['"__extra"'], sheet=worksheet.title, header_row=header_row,
                    merged_header=xml.merged_on(header_row),
                    excel_epoch=date(1904, 1, 1) if workbook.epoch.year == 1904 else None)


def _refuse_beyond_grid(path: Path, found: SheetXml, sheet: str) -> None:
    if found.beyond is None:
        return
    letters, row = found.beyond
    where = f"{letters}{row}" if letters and row else f"row {row}" if row else \
        f"column {letters}"
    raise input_error(
        path.name, f"sheet {sheet!r} has a cell at {where}, beyond the last row "
        f"({MAX_SHEET_ROWS:,}) or column (XFD) a worksheet can have: not a workbook Excel "
        "saved, so it is not read",
        "check where the file came from, then export the data again as .xlsx or CSV")


def _refuse_uncalculated(path: Path, found: SheetXml, sheet: str, header_row: int,
                         headers: Sequence[str]) -> None:
    """Refuse a sheet holding a formula whose result was never saved (see
    _XML_UNCALCULATED): its value would be read as blank."""
    below = [(letters, row) for letters, row in found.uncalculated if row >= header_row]
    if not below:
        return
    letters, row = below[0]
    from openpyxl.utils import column_index_from_string

    index = column_index_from_string(letters) - 1
    column = headers[index] if index < len(headers) and headers[index] else None
    raise input_error(
        path.name, f"cell {letters}{row} of sheet {sheet!r} holds a formula whose result "
        "was never saved (the program that wrote the file did not calculate it), so its "
        "value would be read as blank",
        "open the file in Excel or LibreOffice and save it (that calculates and saves "
        "every formula's result), or paste the values as values, then ingest it again",
        row=row, column=column)


_XML_ROW = re.compile(rb"<(?:\w+:)?row\b([^>]*?)(?:/>|>(.*?)</(?:\w+:)?row>)", re.S)
_XML_CELL = re.compile(rb"<(?:\w+:)?c\b([^>]*?)(?:/>|>(.*?)</(?:\w+:)?c>)", re.S)
_XML_REF = re.compile(rb'\br="([A-Z]*)(\d*)"')
_XML_ANY_R = re.compile(rb'\br="([^"]*)"')
_XML_TYPE = re.compile(rb'\bt="(\w+)"')
_XML_V = re.compile(rb"<(?:\w+:)?v>(.*?)</(?:\w+:)?v>", re.S)
_XML_T = re.compile(rb"<(?:\w+:)?t(?:\s[^>]*)?>(.*?)</(?:\w+:)?t>", re.S)
_XML_SI = re.compile(rb"<(?:\w+:)?si\b[^>]*>(.*?)</(?:\w+:)?si>", re.S)
_XML_RPH = re.compile(rb"<(?:\w+:)?rPh\b.*?</(?:\w+:)?rPh>", re.S)
_XML_ENTRY = re.compile(r"<(?:\w+:)?(?:sheet|Relationship)\b([^>]*)/?>")
_XML_ATTR = re.compile(r'([\w:]+)="([^"]*)"')


def _xml_text(raw: bytes) -> str:
    return html.unescape(raw.decode("utf-8"))


def _column_index(letters: bytes) -> int:
    index = 0
    for letter in letters:
        index = index * 26 + letter - 64
    return index - 1


def fast_sheet_rows(path: Path, sheet: str, min_row: int = 1,
                    max_row: int | None = None) -> Iterator[list[str | None]]:
    """The rows of one worksheet from `min_row` to `max_row` (None: the end), every row
    number in turn (empty rows
    as []), each cell as the text of its value: shared, inline and formula strings,
    numbers as written, booleans as true/false. No styles are read, so a date is its
    serial number: only for sheets without dates (the ONS population workbook, where
    openpyxl's cell objects cost 95% of the time). Raises KeyError / ValueError before
    the first row on a workbook it does not understand, for the caller to fall back to
    openpyxl."""
    numbered = numbered_sheet_rows(path, sheet, min_row, max_row)

    def in_turn() -> Iterator[list[str | None]]:
        expected = min_row
        for number, cells in numbered:
            while expected < number:  # as openpyxl yields them, an absent row empty
                yield []
                expected += 1
            if number >= expected:
                yield cells
                expected = number + 1

    return in_turn()


def numbered_sheet_rows(path: Path, sheet: str, min_row: int = 1, max_row: int | None = None
                        ) -> Iterator[tuple[int, list[str | None]]]:
    """(Excel's row number, cells) of each row from `min_row`, in the file's order (as
    numbered_rows; the cells as fast_sheet_rows reads them)."""
    with zipfile.ZipFile(path) as archive:
        member = _sheet_member(archive, sheet)
        shared = _shared_strings(archive)
    return _stream_rows(path, member, shared, min_row, max_row, sheet)


def _shared_strings(archive: zipfile.ZipFile) -> list[str]:
    if "xl/sharedStrings.xml" not in archive.namelist():
        return SharedStrings()
    strings = archive.read("xl/sharedStrings.xml")
    return SharedStrings(_xml_text(b"".join(_XML_T.findall(_XML_RPH.sub(b"", si))))
                         for si in _XML_SI.findall(strings))


def _sheet_member(archive: zipfile.ZipFile, sheet: str) -> str:
    """The zip member holding the worksheet named `sheet` (KeyError if none)."""
    book = archive.read("xl/workbook.xml").decode("utf-8")
    rels = archive.read("xl/_rels/workbook.xml.rels").decode("utf-8")
    targets = {}
    for entry in _XML_ENTRY.finditer(rels):
        attrs = dict(_XML_ATTR.findall(entry.group(1)))
        if "Id" in attrs and "Target" in attrs:
            targets[attrs["Id"]] = attrs["Target"]
    member = None
    for entry in _XML_ENTRY.finditer(book):
        attrs = dict(_XML_ATTR.findall(entry.group(1)))
        rid = next((v for k, v in attrs.items() if k.endswith(":id")), None)
        if html.unescape(attrs.get("name", "")) == sheet and rid in targets:
            target = targets[rid]
            member = target.lstrip("/") if target.startswith("/") else f"xl/{target}"
    if member is None or member not in archive.namelist():
        raise KeyError(sheet)
    return member


# A formula cell with no saved result: <c r="C2"><f>B2*2</f></c>, or a shared formula's
# <c r="C3"><f t="shared" si="0"/></c>, with no <v> or an empty one (openpyxl writes
# <v />). Excel and LibreOffice save each formula's result beside it (an empty text
# result as <v></v> in a t="str" cell); a file a script wrote (openpyxl, pandas, a
# reporting tool) may hold only the formulas, and reading its values gives blanks: the
# column's values were lost without a word, and a row of only formulas was skipped as
# empty.
_XML_UNCALCULATED = re.compile(
    rb"<(?:\w+:)?c\b([^>]*)>\s*<(?:\w+:)?f\b[^>]*(?:/>|>[^<]*</(?:\w+:)?f>)\s*"
    rb"(?:<(?:\w+:)?v\s*/>|<(?:\w+:)?v>\s*</(?:\w+:)?v>)?\s*</(?:\w+:)?c>")
# Kept from one chunk to the next so that a cell cut by a chunk's end is seen whole: a
# formula is at most 8,192 characters.
_FORMULA_OVERLAP = 65_536


# Excel's grid: a row or column past it is no workbook Excel saved. openpyxl (and
# _stream_rows) yield every row up to a row's number, so one cell at row 900,000,000 of a
# 5 KB file kept the monthly run busy for hours, and a column past ZZZ was openpyxl's
# ValueError (exit 1).
MAX_SHEET_ROWS = 1_048_576
MAX_SHEET_COLUMNS = 16_384
# A cell or row reference with a row of 7 digits or more, or a column of 3 letters or
# more: the only ones that can be past the grid (found by its literal start).
_XML_FAR_REF = re.compile(rb'r="([A-Z]{3,}|[A-Z]*(?=\d{7,}))(\d*)"')
_FORMULAS_KEPT = 100  # uncalculated formula cells remembered (title rows may hold some)


@dataclass
class SheetXml:
    """What one pass over a worksheet's XML found (sheet_xml)."""

    uncalculated: list[tuple[str, int]]  # formula cells with no saved result
    beyond: tuple[str, int] | None = None  # the first cell or row past Excel's grid
    # Merged ranges ('C1:D1', first rows, last rows), the first _MERGES_KEPT.
    merged: list[tuple[str, int, int]] = field(default_factory=list)
    # The last row holding a value, a text or a formula (None: not known, read to the
    # end). Rows below it are formatted but empty: a sheet with a fill or a border
    # applied to whole columns holds 1,048,576 of them, and openpyxl yields each one
    # (~20 CPU s and 620 MB for nothing), whatever the sheet's <dimension> says.
    last_row: int | None = None

    def merged_on(self, row: int) -> list[str]:
        """The merged ranges that take in `row` (a header row: its columns under one
        merged cell have no header of their own)."""
        return [ref for ref, first, last in self.merged if first <= row <= last]


# A cell's value, inline text or formula: what makes a row more than formatting.
_XML_FILLED = re.compile(rb"<(?:\w+:)?(?:v|is|f)[\s>/]")
_XML_SHEET_END = re.compile(rb"</(?:\w+:)?sheetData>")
# Row tags with their numbers: a literal start is searched fast (a '<' is at every cell);
# a sheet written with a namespace prefix (<x:row ...>) takes the slower pattern.
_XML_ROW_NUMBER = re.compile(rb'<row\b[^>]*?\br="(\d+)"')
_XML_ROW_NUMBER_NS = re.compile(rb'<\w+:row\b[^>]*?\br="(\d+)"')


def _last_filled_row(data: bytes, first: int, end: int) -> int | None:
    """The row number of the last filled cell of `data[first:end]` (read from its row's
    tag, as the readers number rows: a cell's own reference may name another row, which
    they refuse, and must not end the read before it), 0 when there is none, None when
    the row's tag has no number or is out of reach. Searched from the end in growing
    windows, so a chunk of data costs one short search, not a match per cell."""
    size = 4096
    while True:
        start = max(first, end - size)
        last = None
        for found in _XML_FILLED.finditer(data, start, end):
            last = found
        if last is not None:
            break
        if start == first:
            return 0
        size *= 8
    at = last.start()
    while (at := data.rfind(b"row", 0, at)) > 0:
        tag = _XML_ROW_TAG.match(data, max(0, data.rfind(b"<", 0, at)))
        if tag and tag.end(1) == at + 3:  # this "row" is a row tag's name (not text's)
            ref = _XML_REF.search(tag.group(2))
            return int(ref.group(2)) if ref and ref.group(2) else None
    return None


_XML_ROW_TAG = re.compile(rb"<(?:\w+:)?(row)\b([^>]*)>")


# <mergeCell ref="C1:D1"/> (after the sheet's data): the merged ranges of a sheet.
_XML_MERGE = re.compile(rb'<(?:\w+:)?mergeCell\s[^>]*?\bref="([A-Z]+)(\d+):([A-Z]+)(\d+)"')
_MERGES_KEPT = 1000


def sheet_xml(path: Path, sheet: str) -> SheetXml:
    """One streamed pass over the sheet's XML: formula cells whose result was never
    saved (see _XML_UNCALCULATED; the first _FORMULAS_KEPT), and the first reference past
    Excel's grid (the pass stops there). A chunk with neither costs a search for `<f`
    and one for a far reference's literal start. A workbook laid out otherwise finds
    nothing: openpyxl reads (or refuses) it."""
    found = SheetXml([])
    last_row: int | None = 0
    in_data = True  # before </sheetData>
    previous = 0  # the number of the last row tag read
    try:
        with zipfile.ZipFile(path) as archive:
            member = _sheet_member(archive, sheet)
            with archive.open(member) as fh:
                tail = b""
                while chunk := fh.read(CHUNK * 4):
                    data = tail + chunk
                    if in_data:
                        data_end = _XML_SHEET_END.search(data)
                        in_data = data_end is None
                        # The overlap was searched with the chunk before (less a tag's
                        # length, for a tag cut in two); a filled cell with no reference
                        # leaves the end unknown.
                        end = data_end.start() if data_end else len(data)
                        row = _last_filled_row(data, max(0, len(tail) - 16), end)
                        if row is None or last_row is None:
                            last_row = None
                        elif row:
                            last_row = max(last_row, row)
                        # The last filled row is the end only when the rows are in order:
                        # rows out of order (r="5" before r="3") leave it unknown. (Read
                        # from the last row tag begun before this chunk: read again if it
                        # was whole, a number equal to the one before is no disorder.)
                        rows = _XML_ROW_NUMBER_NS if b":row" in data else _XML_ROW_NUMBER
                        begun = data.rfind(b"row", 0, len(tail))
                        numbers = list(map(int, rows.findall(
                            data, max(0, data.rfind(b"<", 0, max(begun, 0))), end)))
                        if numbers:
                            if numbers[0] < previous or numbers != sorted(numbers):
                                last_row = None
                            previous = numbers[-1]
                    for far in _XML_FAR_REF.finditer(data):
                        letters, digits = far.group(1).decode("ascii"), far.group(2)
                        row = int(digits) if digits else 0
                        if row > MAX_SHEET_ROWS or letters and \
                                _column_index(far.group(1)) >= MAX_SHEET_COLUMNS:
                            found.beyond = (letters, row)
                            return found
                    if b"mergeCell" in data and len(found.merged) < _MERGES_KEPT:
                        for merge in _XML_MERGE.finditer(data):
                            a, r1, b, r2 = (g.decode("ascii") for g in merge.groups())
                            merged = (f"{a}{r1}:{b}{r2}", int(r1), int(r2))
                            if merged not in found.merged:  # seen again in the overlap
                                found.merged.append(merged)
                    if (b"<f" in data or b":f" in data) and \
                            len(found.uncalculated) < _FORMULAS_KEPT:
                        for cell in _XML_UNCALCULATED.finditer(data):
                            ref = _XML_REF.search(cell.group(1))
                            if ref is None or not ref.group(2) or \
                                    b't="str"' in cell.group(1) and b"<v" in cell.group(0):
                                continue  # no position, or a saved empty text result
                            spot = (ref.group(1).decode("ascii"), int(ref.group(2)))
                            if spot not in found.uncalculated:  # seen again in the overlap
                                found.uncalculated.append(spot)
                    tail = data[-_FORMULA_OVERLAP:]
    except (KeyError, zipfile.BadZipFile, OSError, zlib.error, EOFError):
        return found
    found.last_row = last_row
    return found


def uncalculated_formula(path: Path, sheet: str, min_row: int = 1) -> tuple[str, int] | None:
    """The first cell (column letters, row) at or below `min_row` of the sheet holding a
    formula whose result was never saved, else None."""
    return next(((letters, row) for letters, row in sheet_xml(path, sheet).uncalculated
                 if row >= min_row), None)


def _stream_rows(path: Path, member: str, shared: list[str], min_row: int,
                 max_row: int | None, sheet: str
                 ) -> Iterator[tuple[int, list[str | None]]]:
    expected = 1  # the number of a row without r="...": the one after the row before
    seen = RowsSeen(sheet)
    with zipfile.ZipFile(path) as archive, archive.open(member) as fh:
        pending = b""
        while True:
            chunk = fh.read(CHUNK * 4)
            data = pending + chunk
            if chunk:
                end = data.rfind(b"</row>")
                if end < 0:
                    pending = data
                    continue
                end += len(b"</row>")
            else:
                end = len(data)
            pending = data[end:]
            for found in _XML_ROW.finditer(data, 0, end):
                ref = _XML_REF.search(found.group(1))
                number = int(ref.group(2)) if ref and ref.group(2) else expected
                if ref is None and (odd := _XML_ANY_R.search(found.group(1))):
                    number = 0  # r="-1", r="x": refused below, as openpyxl's parser does
                    shown = odd.group(1).decode("utf-8", "replace")[:20]
                else:
                    shown = str(number)
                if max_row is not None and number > max_row:
                    return  # formatted rows below the last value
                expected = number + 1
                body = found.group(2) or b""
                if number < 1:
                    raise UnreadableCell(f"sheet {sheet!r} has a row numbered {shown} "
                                         "(Excel numbers rows from 1)")
                if body:
                    first = _XML_REF.search(body)
                    seen.add(number, _column_index(first.group(1)) + 1
                             if first and first.group(1) else 1)
                if number >= min_row:
                    try:
                        cells = _row_cells(body, shared, number)
                    except CellInAnotherRow as other:
                        raise cell_in_another_row(sheet, other.letters, other.row,
                                                  number) from None
                    except CellWrittenTwice as twice:
                        raise CellWrittenTwice(sheet, f"{twice.cell}{number}") from None
                    except _OddValue as odd:
                        where = f"{odd.letters}{number}"
                        raise (beyond_a_double(sheet, where) if odd.kind == "inf" else
                               not_holding(sheet, where, odd.kind)) from None
                    except IndexError:
                        raise UnreadableCell(
                            f"sheet {sheet!r} has a cell {_past_shared(body, shared, number)} "
                            "naming a shared string the workbook does not have") from None
                    yield number, cells
            if not chunk:
                break


def _past_shared(body: bytes, shared: list[str], number: int) -> str:
    """The reference of row `number`'s first cell naming a shared string `shared` does
    not have (a cell without a reference named by its place, as _row_cells_any does)."""
    from openpyxl.utils import get_column_letter

    position = -1
    for cell in _XML_CELL.finditer(body):
        attrs, inner = cell.group(1), cell.group(2) or b""
        ref = _XML_REF.search(attrs)
        position = _column_index(ref.group(1)) if ref and ref.group(1) else position + 1
        kind, v = _XML_TYPE.search(attrs), _XML_V.search(inner)
        if kind and kind.group(1) == b"s" and v is not None:
            try:
                _shared_string(shared, v.group(1), "")
            except IndexError:
                return f"{get_column_letter(position + 1)}{number}"
            except _OddValue:
                pass
    return f"in row {number}"


# The cells most writers write: a number, a shared or an inline string, attributes in
# this order. A row with any other cell is read by _row_cells_any.
_XML_PLAIN_CELL = re.compile(
    rb'<c r="([A-Z]+)(\d+)"(?: s="\d+")?(?: t="(n|s|inlineStr)")?(?: s="\d+")?'
    rb'(?:/>|>(?:<v>([^<]*)</v>|<is><t>([^<]*)</t></is>)?</c>)')


class CellInAnotherRow(Exception):
    """_row_cells met a cell whose reference names another row (see cell_in_another_row)."""

    def __init__(self, letters: str, row: str) -> None:
        super().__init__(f"{letters}{row}")
        self.letters, self.row = letters, row


class _OddValue(Exception):
    """_row_cells_any met a value its cell's type cannot hold (`kind`, or "inf" for a
    number past a double): the fast reader's side of openpyxl's refusal."""

    def __init__(self, letters: str, kind: str) -> None:
        super().__init__(f"{letters}: {kind}")
        self.letters, self.kind = letters, kind


# A <v> whose text is not a whole number as openpyxl gives it back (no sign but '-', no
# leading zero, at most 15 digits: the shared strings' numbers and the counts of the ONS
# workbooks): its row is read by _row_cells_any, which reads each value as openpyxl does.
_XML_V_NOT_PLAIN = re.compile(rb"<v>(?!(?:-?[1-9][0-9]{0,14}|0)</v>)")


@functools.cache
def _openpyxl_casts() -> tuple[Callable[[str], Any], Callable[[str], Any]]:
    """openpyxl's reader's own casts of a number's and a date's text (imported once)."""
    from openpyxl.worksheet._reader import _cast_number, from_ISO8601

    return _cast_number, from_ISO8601


def _cell_value(kind: bytes, raw: bytes, letters: str) -> str | None:
    """A cell's value of type `kind` (not a string's) as openpyxl reads it, as text
    (cell_text): the two readers gave '1e3' and '1000', 'NaN' and a refusal, 'false' and
    a refusal for a true-or-false cell holding 'yes', and the fast one failed on digits
    of another script (UnicodeDecodeError, exit 1). openpyxl's own casts, so the two
    cannot drift; what it refuses raises _OddValue."""
    _cast_number, from_ISO8601 = _openpyxl_casts()
    text = _xml_text(raw)
    if not text:
        return None
    try:
        if kind in (b"n", b""):
            value: Any = _cast_number(text)
            if value in _INFINITIES:
                raise _OddValue(letters, "inf")
        elif kind == b"b":
            value = bool(int(text))
        elif kind == b"d":
            value = from_ISO8601(text)
        else:  # an error's text (#N/A), a formula's text, a type openpyxl does not know
            value = text
    except ValueError:
        raise _OddValue(letters, kind.decode("ascii", "replace")) from None
    return cell_text(value)


def _shared_string(shared: list[str], raw: bytes, letters: str) -> str | None:
    """The shared string a t="s" cell's <v> names, read as openpyxl reads it (IndexError
    past the end, _OddValue for a <v> that is no number)."""
    text = _xml_text(raw)
    if not text:
        return None
    try:
        index = int(text)
    except ValueError:
        raise _OddValue(letters, "s") from None
    return shared[index]


def _row_cells(body: bytes, shared: list[str], number: int) -> list[str | None]:
    """Row `number`'s cells (a cell naming another row raises CellInAnotherRow)."""
    plain = _XML_PLAIN_CELL.findall(body)
    if len(plain) != body.count(b"<c "):
        return _row_cells_any(body, shared, number)
    # A row of whole numbers (and shared strings) pays one search; in any other row each
    # value is read as openpyxl reads it (a decimal, 1E3, NaN).
    exact = _XML_V_NOT_PLAIN.search(body) is None
    cells: list[str | None] = []
    digits = str(number).encode("ascii")
    for letters, row, kind, value, inline in plain:
        if row != digits and int(row) != number:
            raise CellInAnotherRow(letters.decode("ascii"), row.decode("ascii"))
        position = _column_index(letters)
        if position < len(cells):  # out of order, or written twice: placed by reference
            return _row_cells_any(body, shared, number)
        while len(cells) < position:
            cells.append(None)
        if kind == b"s" and value:
            text: str | None = shared[int(value)] if exact else \
                _shared_string(shared, value, letters.decode("ascii"))
        elif kind == b"inlineStr":
            text = _xml_text(inline)
        elif exact or not value:
            text = value.decode("ascii") if value else None
        else:
            text = _cell_value(b"n", value, letters.decode("ascii"))
        cells.append(text if text is None or text.strip() else None)
    return cells


def _row_cells_any(body: bytes, shared: list[str], number: int) -> list[str | None]:
    """Row `number`'s cells, each placed by its reference (a cell without one follows the
    cell before it); a column claimed twice raises CellWrittenTwice naming its letters,
    a cell naming another row CellInAnotherRow."""
    from openpyxl.utils import get_column_letter

    cells: list[str | None] = []
    claimed: set[int] = set()
    position = -1
    for cell in _XML_CELL.finditer(body):
        attrs, inner = cell.group(1), cell.group(2) or b""
        ref = _XML_REF.search(attrs)
        if ref and ref.group(2) and int(ref.group(2)) != number:
            raise CellInAnotherRow(ref.group(1).decode("ascii"), ref.group(2).decode("ascii"))
        position = _column_index(ref.group(1)) if ref and ref.group(1) else position + 1
        kind_match = _XML_TYPE.search(attrs)
        kind = kind_match.group(1) if kind_match else b"n"
        if kind == b"inlineStr":
            value: str | None = _xml_text(b"".join(_XML_T.findall(inner)))
        else:
            v = _XML_V.search(inner)
            if v is None:
                value = None
            elif kind == b"s":
                value = _shared_string(shared, v.group(1), get_column_letter(position + 1))
            elif kind == b"str":
                value = _xml_text(v.group(1))
            else:
                value = _cell_value(kind, v.group(1), get_column_letter(position + 1))
        if position in claimed:
            raise CellWrittenTwice("", get_column_letter(position + 1))
        claimed.add(position)
        while len(cells) <= position:
            cells.append(None)
        cells[position] = value if value is None or value.strip() else None
    return cells


# ---------------------------------------------------------------------------------------
# Parquet


def _read_parquet(con: duckdb.DuckDBPyConnection, path: Path, *, table: str,
                  choose: ColumnChooser | None = None) -> RawTable:
    name = path.name
    try:
        described = con.execute(
            "SELECT column_name FROM (DESCRIBE SELECT * FROM read_parquet($path))",
            {"path": str(path)},
        ).fetchall()
    except duckdb.Error as exc:
        first = str(exc).strip().splitlines()[0]
        raise input_error(name, f"is not a readable Parquet file ({first})",
                          "re-export it, or export CSV instead") from None
    headers = [str(row[0]).strip() for row in described]
    check_headers(name, headers)
    quoted = ['"' + str(row[0]).replace('"', '""') + '"' for row in described]
    loaded, unmapped = _choose_columns(headers, choose, quoted.__getitem__)
    selects = [f"CAST({quoted[i]} AS VARCHAR) AS c{i}"
               for i in (range(len(headers)) if loaded is None else loaded)]
    # read_parquet's file_row_number option clashes with a column of that name; the
    # temporary table's rowid keeps file order too (rows inserted in one statement).
    clash = any(h.lower() == "file_row_number" for h in headers)
    numbered = [] if clash else ["file_row_number + 1 AS __row"]
    try:
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE {table} AS SELECT "
            + ", ".join([*numbered, *selects, *([unmapped] if unmapped else [])])
            + f" FROM read_parquet($path, file_row_number = {str(not clash).lower()})",
            {"path": str(path)},
        )
    except duckdb.Error as exc:  # the footer read, but a page is damaged
        first = str(exc).strip().splitlines()[0]
        first = first.split(f'"{path}": ', 1)[-1]  # the cause, without our own path
        raise input_error(name, f"is not a readable Parquet file ({first})",
                          "re-export it, or export CSV instead") from None
    return RawTable(table=table, headers=headers, row_expr="(rowid + 1)" if clash else "__row",
                    format="parquet", loaded=loaded,
                    unmapped_data=UNMAPPED_DATA if unmapped else None)


def closest_header(wanted: str, headers: list[str]) -> str | None:
    """The header most like `wanted` (case-insensitive), for 'did you mean' hints."""
    lowered = {h.lower(): h for h in headers}
    found = difflib.get_close_matches(wanted.lower(), list(lowered), n=1, cutoff=0.6)
    return lowered[found[0]] if found else None


def closest_header_of(names: Sequence[str], headers: list[str]) -> str | None:
    """The header most like any of `names` (the names a preset knows one column by):
    'Dec_Age_At_Death' is like Der_Age_At_Death, though nothing like DEC_AGEC."""
    scored = [(difflib.SequenceMatcher(None, name.lower(), found.lower()).ratio(), found)
              for name in names if (found := closest_header(name, headers)) is not None]
    return max(scored, key=lambda pair: pair[0])[1] if scored else None

