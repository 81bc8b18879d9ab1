"""`eolneeds inspect FILE`: what a file holds, which preset reads it, a mapping to start from.

For a first look at an extract before any mapping exists: the encoding and delimiter of
a text file, every sheet of a workbook and the one that looks like data, the header row
(title rows above it are common), each column with its completeness and a few example
values, the national layout it is in (presets.recognise) and so the preset to use.
`write_mapping` saves mappings/NAME.toml filled with what was found, for the user to check
and finish.

Privacy: the file is read, never stored. Example values of identifier and other
personal columns (NHS number, name, address, postcode, date of birth) are never shown,
only how many there are and, for NHS numbers, how many pass the modulus 11 check.

Completeness is counted over the first MAX_ROWS data rows, fewer for a wide file (about
MAX_CELLS cells; said so when the file is longer): enough to judge a column, and quick
on a file of any size (the all-England ONS workbook, 35,000 rows by 187 columns, is
profiled on its first 2,600 rows).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import IO, Any

from eolneeds import presets
from eolneeds.config import ProjectConfig
from eolneeds.errors import EolneedsError, UsageError, input_error, shell_arg
from eolneeds.formatting import plural
from eolneeds.normalise import (
    ACTIVITY_TYPE_CODES,
    ALWAYS_READ_FORMATS,
    BOOLEAN_CODES,
    BOOLEAN_NOT_KNOWN,
    ETHNICITY_CODES,
    MASK,
    MONTH_FIRST,
    MONTH_NAME_FORMAT,
    PLACE_OF_DEATH_CODES,
    POSTCODE_MASK,
    SEX_CODES,
    TITLE_RE,
    WITHHELD,
    code_key,
    code_words,
    data_as_header,
    date_order,
    date_shape,
    is_valid_nhs_number,
    mask,
    month_name_date,
    nhs_digits,
    shown_name,
    strip_time,
)
from eolneeds.readers import (
    DAMAGED_WORKBOOK,
    DELIMITERS,
    MAX_LINE_CHARS,
    cell_text,
    check_workbook_archive,
    checked_rows,
    damaged_sheet,
    detect_encoding,
    detect_format,
    detect_header_row,
    head_rows,
    line_too_long,
    numbered_rows,
    open_bytes,
    refuse_web_page,
    scan_workbook,
    sheet_xml,
    value_text,
)
from eolneeds.schema import (
    ACTIVITY_TYPES,
    CANONICAL_COLUMNS,
    DATASETS,
    PLACES_OF_DEATH,
    PRACTICE_CODE_SHAPE,
    SEXES,
)

MAX_ROWS = 200_000  # data rows profiled at most ...
MAX_CELLS = 500_000  # ... and about this many cells (a wide sheet: fewer rows)
MIN_ROWS = 1_000  # however wide the file
EXAMPLES = 3  # example values shown per column
HEAD_ROWS = 30  # rows searched for the header
SHEETS_LISTED = 20  # sheets of a workbook listed by name (the data sheets always)
# Presets that find their own sheets and header rows in a workbook (a sheet per sex, a
# sheet named after the year): a mapping must not pin them to one sheet.
WORKBOOK_PRESETS = ("ons_population", "ons_projections", "iod_file1")

_IDENTIFIER = re.compile(r"nhs.?(number|no\b|num\b)|^nhs$|person.?id|patient.?id|pseudo|"
                         r"\bmrn\b|hospital.?number", re.I)
_PERSONAL = re.compile(r"name|address|post.?code|birth|\bdob\b|telephone|phone|mobile|"
                       r"\btel\b|e.?mail", re.I)
# Ten or more digits, however grouped by spaces or dashes (NHS and phone numbers):
# never shown as an example ...
_LONG_NUMBER = re.compile(r"\d(?:[ -]?\d){9,}")
# ... except a date, or a date and time, as databases export them ('2024-12-15
# 00:00:00.000' from SQL Server, '15/12/2024 00:00'): a real calendar date, so digits
# starting 19 or 20 -- which no NHS number in England does (they start 4, 6, 7, 8 or 9)
# -- and the time after it colon-separated. The date is kept whole; the rest of the value
# is masked as ever.
_DATE_TIME = re.compile(
    r"(?:(?:19|20)\d\d-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12]\d|3[01])"
    r"|(?:0?[1-9]|[12]\d|3[01])/(?:0?[1-9]|1[0-2])/(?:19|20)\d\d)"
    r"(?:[ T](?:[01]\d|2[0-3]):[0-5]\d(?::[0-5]\d(?:[.,]\d{1,7})?)?)?")


def _mask_example(text: str) -> str:
    """An example value as inspect shows it: NHS-number shapes and long digit runs
    masked; a value that is a date, or a date and time (_DATE_TIME), whole, shown."""
    if _DATE_TIME.fullmatch(text):
        return text
    return _LONG_NUMBER.sub(MASK, mask(text) or "")


# Columns whose values are names of places or areas, not of people.
_NOT_PERSONAL = re.compile(r"lsoa|msoa|lad|local authority|district|\bla\b|area|place|"
                           r"practice|establishment|provider|icb|ccg|region|ward|site",
                           re.I)


@dataclass
class ColumnProfile:
    name: str
    filled: int = 0
    examples: list[str] = field(default_factory=list)
    identifier: bool = False  # NHS numbers or another person identifier: values hidden
    personal: bool = False  # names, addresses, dates of birth: values hidden
    nhs_valid: int = 0  # values passing the NHS number check (identifier columns)
    ten_digits: int = 0  # values that are ten digits (spaces or dashes allowed)
    excel_dates: int = 0
    # Whole numbers of five digits (an Excel serial day, as a date cell formatted as
    # General holds one, and ingest reads one in a date column): how many, and the
    # smallest and largest, shown as the dates ingest would load.
    serial_days: int = 0
    serial_first: int = 0
    serial_last: int = 0
    text_dates: dict[str, int] = field(default_factory=dict)  # date format -> count
    # Of text_dates' day-first counts, the dates month first reads too ('3/4/2024')
    either_way: dict[str, int] = field(default_factory=dict)
    distinct: dict[str, int] = field(default_factory=dict)  # up to 50 values, counted

    @property
    def hidden(self) -> bool:
        return self.identifier or self.personal


@dataclass
class SheetInfo:
    name: str
    rows: int | None  # as the workbook records its size (None when it does not)
    header_row: int | None
    columns: int
    preset: str | None
    filled_rows: int = 0  # rows with a value among the first HEAD_ROWS
    hidden: bool = False  # hidden in Excel: an old copy or a working sheet, not the data


@dataclass
class Inspection:
    path: Path
    file_format: str  # csv | xlsx | parquet
    gzipped: bool = False
    encoding: str | None = None
    delimiter: str | None = None
    sheets: list[SheetInfo] = field(default_factory=list)
    sheet: str | None = None  # the sheet profiled
    data_sheets: list[str] = field(default_factory=list)  # every sheet in the layout
    header_row: int = 1
    rows: int = 0  # data rows profiled
    truncated: bool = False  # more rows than were profiled
    row_limit: int = MAX_ROWS  # rows profiled at most (fewer for a wide file)
    # The day an Excel serial counts from: 1899-12-30, or 1904-01-01 for a workbook in
    # Excel's 1904 date system (as readers.RawTable.excel_epoch: ingest counts so).
    excel_epoch: date = date(1899, 12, 30)
    columns: list[ColumnProfile] = field(default_factory=list)
    preset: str | None = None
    dataset: str | None = None  # the preset's dataset, else a guess from the headers

    @property
    def headers(self) -> list[str]:
        return [c.name for c in self.columns]

    def render_text(self, *, next_step: bool = True) -> str:
        return render_text(self, next_step=next_step)


# ---------------------------------------------------------------------------------------
# Reading


_UNREADABLE_SHEET: tuple[type[BaseException], ...] = (*DAMAGED_WORKBOOK, ValueError)


def inspect_file(path: Path, *, encoding: str = "auto", sheet: str | None = None
                 ) -> Inspection:
    """Look at one extract; raise InputDataError when it cannot be read."""
    path = Path(path)
    if not path.is_file():
        what = ("is a folder, not a file — name an extract file inside it" if path.is_dir()
                else "is not a regular file (a pipe, socket or device) — copy the extract to "
                "a file and inspect that" if path.exists()
                else "no such file — check the path")
        raise UsageError(f"{path}: {what}")
    if path.stat().st_size == 0:
        raise input_error(path.name, "the file is empty (0 bytes)",
                          "re-export the extract; an empty file has nothing to load")
    fmt, gzipped = detect_format(path)
    if fmt == "xlsx":
        try:
            result = _inspect_xlsx(path, sheet)
        except _UNREADABLE_SHEET as exc:
            # A sheet's XML damaged, entities that expand without bound ("billion
            # laughs"), a cell past column ZZZ: exit 3 as ingest says it, not exit 1.
            raise damaged_sheet(path, exc) from None
    elif fmt == "parquet":
        result = _inspect_parquet(path)
    else:
        refuse_web_page(path, gzipped)
        result = _inspect_csv(path, gzipped, encoding)
    if data_as_header(result.headers) and not presets.epraccur_row(result.headers):
        # (ODS's epraccur has no header row either, and is said to be so: render_text.)
        from eolneeds.ingest import NO_HEADER_FIX, NO_HEADER_ROW  # (ingest imports this)

        raise input_error(path.name, NO_HEADER_ROW, NO_HEADER_FIX.format("inspect"),
                          row=result.header_row)
    result.preset = presets.recognise(result.headers)
    if result.preset is not None:
        result.dataset = presets.get_preset(result.preset).dataset
    else:
        result.dataset = guess_dataset(result.headers, result.columns)
    _withhold_words(result)
    return result


def _withhold_words(result: Inspection) -> None:
    """In a file of people's records (a people's dataset, or a column of NHS numbers or
    another identifier), an example that names a person (a title: 'Mrs Joan Smith'; a
    name's shape; any word no code or header has, in fewer than SHARED_BY rows:
    'smith', 'Joan'), looks like an address (a number beside words: '12 Acacia
    Avenue'), is an old date (a date of birth) or a postcode or NHS number spread out
    ('l s 1 4 a p') is shown only as WITHHELD (and offered as no recode); a column
    named for a person's details ('D.O.B', 'Born') is hidden whole. Printed to a
    console that may be logged, it was a clear identifier kept outside the project.
    Other words are shown: the mapping's recodes are written from a column's local
    words (a team type, a place of death written out), and which column is recoded is
    often decided only later (--dataset, a date or team column found by its values).
    Withheld values are counted under WITHHELD: still evidence that a column holds no
    codes."""
    from eolneeds.ingest import PERSON_DATASETS  # (ingest imports this module)

    if result.dataset not in PERSON_DATASETS and not any(c.identifier
                                                         for c in result.columns):
        return  # Place and area names are words, and name no one
    old = date.today().year - OLD_DATE_YEARS
    for column in result.columns:
        if _PERSONAL_LETTERS.search(re.sub(r"[^a-z]", "", column.name.lower())):
            column.personal = True  # 'D.O.B', 'Born', 'Next of kin': hidden whole
            column.examples, column.distinct = [], {}
            continue
        # The column's own words, and those of the masks already in its examples.
        own = {w.lower() for w in re.findall(r"[^\W\d_]{2,}",
                                             f"{column.name} {MASK} {POSTCODE_MASK}")}
        # A recent date with its month in words ('03 Jan 2025', '14 Feb 2024 10:30':
        # SystmOne's) is a number beside a word, a word no code has, but names no one.
        hidden = {v for v in (*column.examples, *column.distinct)
                  if _old_date(v, old) or not month_name_date(strip_time(v)) and (
                      names_someone(v) or _scattered(v)
                      or column.distinct.get(v, 0) < SHARED_BY and _unknown_words(v, own))}
        column.examples = list(dict.fromkeys(
            WITHHELD if e in hidden else e for e in column.examples))
        kept: dict[str, int] = {}
        for value, n in column.distinct.items():
            key = WITHHELD if value in hidden else value
            kept[key] = kept.get(key, 0) + n
        column.distinct = kept


#: In a file of people's records, a value holding a word that is no code's is shown
#: only when at least this many of the rows profiled hold it: a local code ('SPCT',
#: 'Own hm') recurs, a person's name ('smith', 'Joan', "o'neill"), whatever its case
#: and however many words, rarely does. A word of a code the product reads, or of the
#: column's own header, is shown however rare.
SHARED_BY = 5
#: ... and a date this many years or more before today is withheld (a date of birth
#: under any header: no event an extract records is that old).
OLD_DATE_YEARS = 20
# Headers of a person's details, compared as letters only ('D.O.B' is dob).
_PERSONAL_LETTERS = re.compile(r"^dob|dob$|born|kin$|initials|forename|surname|nok$")
# A postcode with its space and any marks between its characters taken out.
_COMPACT_POSTCODE = re.compile(r"(?i)[A-Z]{1,2}[0-9][A-Z0-9]?[0-9][A-Z]{2}(?![A-Z])")
_YEAR = re.compile(r"(?<!\d)(1[89]\d\d|20\d\d)(?!\d)")


def _old_date(text: str, before: int) -> bool:
    """Whether `text` is a date (or a date and time) in a year before `before`."""
    year = _YEAR.search(text)
    return bool(year and int(year.group(1)) < before
                and (date_shape(strip_time(text)) or month_name_date(strip_time(text))))


def _scattered(text: str) -> bool:
    """Whether `text`, its spaces and marks taken out, holds a postcode ('l s 1 4 a p')
    or ten digits or more that are not a date and time ('943 / 476 / 5919'): an NHS
    number or a postcode written to slip past normalise.mask."""
    compact = re.sub(r"[\W_]", "", text)
    if compact != text and _COMPACT_POSTCODE.search(compact):
        return True
    return sum(c.isdigit() for c in compact) >= 10 and not date_shape(strip_time(text))


def _unknown_words(text: str, own: set[str]) -> bool:
    """Whether `text` holds a word (two letters or more) that is neither a word of a
    code the product reads (_SERVICE_WORDS) nor one of `own`."""
    return any(w.lower() not in _SERVICE_WORDS and w.lower() not in own
               for w in re.findall(r"[^\W\d_]{2,}", text))


# Words that name a person or an address even among a column's local codes: a title
# (Mr, Mrs, Dr ...), or a number beside a word (12 Acacia Avenue, Flat 3).
_PERSON_WORDS = re.compile(f"{TITLE_RE}|\\d\\w*\\s+[^\\W\\d_]{{3,}}|[^\\W\\d_]{{3,}}\\s+\\d")
# A name without a title: two to four words, each starting with a capital ('Joan
# Smith', 'SMITH, Joan', 'J. Smith', "Mary-Anne O'Neill"), ...
_NAME_WORD = re.compile(r"[^\W\d_](?:(?:[^\W\d_]|['’-])*[^\W\d_])?\.?")
# ... unless one of its words is a word of a code the product reads (care, home,
# hospital, hospice, nursing, team ...: 'Care Home', 'Marie Curie Hospice', 'District
# Nursing Team' are places and services, shown so that a recode can be written for
# them).
_SERVICE_WORDS = frozenset(code_words(
    PLACE_OF_DEATH_CODES, SEX_CODES, ACTIVITY_TYPE_CODES, ETHNICITY_CODES, BOOLEAN_CODES,
    BOOLEAN_NOT_KNOWN, PLACES_OF_DEATH, ACTIVITY_TYPES,
    ("team service nurse nurses nursing district community specialist palliative end life "
     "residence usual own house residential ward unit centre center clinic trust hospital "
     "hospice practice surgery medical health group partnership referral discharge "
     "admission emergency elective outpatient inpatient day attendance contact visit "
     "telephone video face macmillan marie curie sue ryder st saint".split())))


def names_someone(text: str) -> bool:
    """Whether an example value names a person or an address: a title, a number beside
    words (_PERSON_WORDS), or the shape of a name without a title ('Joan Smith', 'SMITH,
    Joan') whose words are none of a code's (_SERVICE_WORDS)."""
    if _PERSON_WORDS.search(text):
        return True
    words = [w for w in re.split(r"[\s,]+", text.strip()) if w]
    if not 2 <= len(words) <= 4 or not all(_NAME_WORD.fullmatch(w) and w[0].isupper()
                                           for w in words):
        return False
    return not any(w.rstrip(".").lower() in _SERVICE_WORDS for w in words)


def mapping_for_file(config: ProjectConfig, dataset: str, file: str | Path) -> str | None:
    """The mapping a file is read with when none is named: `ingest` without --mapping and
    `run` for its inbox alike (ProjectConfig.mapping_name_for_file). Given a path, the
    national layout of the file counts too; given a name, only the name."""
    path = Path(file)
    layout = (lambda: recognise_file(path)) if isinstance(file, Path) else None
    return config.mapping_name_for_file(dataset, path.name, layout)


def run_choice_text(config: ProjectConfig, dataset: str, file: Path, written: str) -> str:
    """Whether `run` (and `ingest` without --mapping) will read files like `file` with the
    mapping just written, and if not the rename that makes it so."""
    try:
        chosen = mapping_for_file(config, dataset, Path(file))
    except UsageError as exc:  # several mappings read its layout
        return str(exc)
    if chosen == written:
        return (f"`eolneeds run` reads {Path(file).name} in inbox/{dataset}/ with it too "
                "(and `ingest` without --mapping)")
    other = "no mapping (the canonical column names)" if chosen is None else \
        f"mapping {chosen!r}"
    folder = config.root / "mappings"
    fix = (f"rename it to {folder / dataset}.toml (read for files of {dataset} that no "
           "other mapping's name or preset fits)" if dataset not in config.mappings
           else "rename it to a name that the file's name starts with (a mapping whose "
           "name starts a file's name reads that file)")
    return (f"Note: `eolneeds run` (and `ingest` without --mapping) would read "
            f"{Path(file).name} with {other}, not {written!r} — for them to use it, {fix}")


def recognise_file(path: Path) -> str | None:
    """The national layout (preset name) of a file, from its first rows only, or None.

    Used to choose a mapping for a file no mapping's name fits (ProjectConfig.
    mapping_name_for_file): cheap, and silent on a file it cannot read -- the ingest that
    follows names that fault properly."""
    try:
        fmt, gzipped = detect_format(Path(path))
        if fmt == "xlsx":
            return next((found for sheet in scan_workbook(Path(path)) if sheet.headers
                         and (found := presets.recognise(sheet.headers)) is not None), None)
        if fmt != "csv":
            return None
        codec = detect_encoding(Path(path), gzipped)
        with _text(Path(path), gzipped, codec) as fh:
            # Bounded: a file of one 1 GB line was read whole into memory here.
            head = [line for line in (fh.readline(MAX_LINE_CHARS + 1) for _ in range(HEAD_ROWS))
                    if line]
        if not head or any(len(line) > MAX_LINE_CHARS for line in head):
            return None  # ingest names the fault
        parsed = list(csv.reader(_lines(head), delimiter=_choose_delimiter(head)))
        row = find_header_row(parsed)
        if row is None:
            return None
        return presets.recognise(_header_names([h.lstrip("\ufeff") for h in parsed[row - 1]]))
    except (EolneedsError, OSError, UnicodeError, csv.Error, ValueError):
        return None


def _profile(headers: Sequence[str], rows: Iterable[Sequence[Any]], result: Inspection
             ) -> None:
    columns = [ColumnProfile(h) for h in headers]
    for c in columns:
        c.identifier = bool(_IDENTIFIER.search(c.name))
        c.personal = bool(_PERSONAL.search(c.name)) and not _NOT_PERSONAL.search(c.name)
    count = 0
    limit = min(MAX_ROWS, max(MIN_ROWS, MAX_CELLS // max(len(columns), 1)))
    result.row_limit = limit
    for row in rows:
        if count >= limit:
            result.truncated = True
            break
        cells = list(row)
        if not any(cell_text(v) for v in cells):
            continue  # a blank line is not a row
        count += 1
        for column, value in zip(columns, cells, strict=False):
            _observe(column, value)
    # A column that is mostly ten-digit numbers is NHS numbers whatever its name.
    for c in columns:
        _settle_date_order(c)
        if c.filled and c.ten_digits >= 0.8 * c.filled:
            c.identifier = True
        if c.hidden:
            c.examples = []
            c.distinct = {}
    result.columns = columns
    result.rows = count


def _settle_date_order(column: ColumnProfile) -> None:
    """Dates that read either way round ('3/4/2024') take the order of the column's
    others: a column of m/d/yyyy dates (some '2/16/2024', none '16/2/2024') is all
    %m/%d/%Y, else its days up to 12 would be read as months (finding: an Excel re-save
    on a US-English PC was called %d/%m/%Y)."""
    for day_first, month_first in MONTH_FIRST.items():
        either = column.either_way.get(day_first, 0)
        if (month_first in column.text_dates and either
                and column.text_dates.get(day_first, 0) == either):
            column.text_dates[month_first] += column.text_dates.pop(day_first)


def _observe(column: ColumnProfile, value: Any) -> None:
    if isinstance(value, datetime | date):
        column.excel_dates += 1
    text = cell_text(value)
    if text is None:
        return
    text = value_text(text)  # trimmed, Excel's apostrophe read past, as ingest reads it
    if text is None:
        return  # ingest reads NULL, N/A, '-', Not known ... as no value: so does inspect
    column.filled += 1
    if len(text) == 5 and text.isdigit():
        days = int(text)
        if not column.serial_days:
            column.serial_first = column.serial_last = days
        column.serial_days += 1
        column.serial_first = min(column.serial_first, days)
        column.serial_last = max(column.serial_last, days)
    # Cheap tests first: most cells are neither NHS numbers nor dates.
    if 10 <= len(text) <= 12 and text[0].isdigit():
        digits = nhs_digits(text)
        if digits is not None:
            column.ten_digits += 1
            if is_valid_nhs_number(digits):
                column.nhs_valid += 1
    month_first = text[:3].isalpha() and text[-1].isalnum()  # 'Jan  3 2024 12:00AM'
    if (6 <= len(text) <= 30 and (text[0].isdigit() or month_first)
            and not isinstance(value, datetime | date)):
        # A time after the date (SQL Server's '2024-12-15 00:00:00.000') is read past by
        # ingest: the date's shape is the format.
        shape = None if month_first else date_shape(strip_time(text))
        if shape is None and month_name_date(strip_time(text)):
            # '20-Jun-2023' (EMIS): a date, read whatever the date_format (never the
            # mapping's format: see mapping_text), counted so the column is known as one
            shape = MONTH_NAME_FORMAT
        if shape:
            column.text_dates[shape] = column.text_dates.get(shape, 0) + 1
            if shape in MONTH_FIRST and date_order(strip_time(text)) is None:
                column.either_way[shape] = column.either_way.get(shape, 0) + 1
    if column.hidden:
        return
    # A column not named as an identifier can still hold one (a shifted row, a phone
    # number under an unexpected header): long runs of digits are never shown.
    text = _mask_example(text)  # (dots, slashes, brackets too)
    if len(column.examples) < EXAMPLES and text not in column.examples:
        column.examples.append(text)
    if text in column.distinct or len(column.distinct) < 50:
        column.distinct[text] = column.distinct.get(text, 0) + 1


def _national(headers: list[str]) -> bool:
    return presets.recognise(headers) is not None


def find_header_row(rows: Sequence[Sequence[Any]]) -> int | None:
    """1-based index of the header among the first rows, as ingest finds it
    (readers.detect_header_row): a row in a national layout, else the first row as wide
    as the table below title and blank rows. None when there is none."""
    index, _matched = detect_header_row(rows, _national)
    return None if index is None else index + 1


def _header_names(row: Sequence[Any]) -> list[str]:
    names = [(cell_text(v) or "").strip() for v in row]
    while names and not names[-1]:
        names.pop()
    return [n or f"(column {i + 1}, no header)" for i, n in enumerate(names)]


def _inspect_csv(path: Path, gzipped: bool, encoding: str) -> Inspection:
    codec = detect_encoding(path, gzipped, encoding)
    result = Inspection(path, "csv", gzipped=gzipped, encoding=codec)
    with _text(path, gzipped, codec) as fh:
        # Bounded: a file of one 1 GB line took 6 GB of memory to be refused.
        head = [fh.readline(MAX_LINE_CHARS + 1) for _ in range(HEAD_ROWS)]
    head = [line for line in head if line]
    too_long = next((n for n, line in enumerate(head, 1) if len(line) > MAX_LINE_CHARS), None)
    if too_long is not None:
        raise line_too_long(path.name, too_long)
    if not head:
        raise input_error(path.name, "holds no text lines", "re-export the extract")
    reader: Any = None
    try:
        delimiter = _choose_delimiter(head)
        reader = csv.reader(_lines(head), delimiter=delimiter)
        parsed = list(reader)
        header_row = find_header_row(parsed) or 1
        result.delimiter = delimiter
        result.header_row = header_row
        with _text(path, gzipped, codec) as fh:
            reader = csv.reader(fh, delimiter=delimiter)
            for _ in range(header_row - 1):
                next(reader, None)
            headers = _header_names([h.lstrip("\ufeff") for h in next(reader, [])])
            _profile(headers, reader, result)
    except csv.Error as exc:  # a value of millions of characters, a quote never closed
        row = reader.line_num if reader is not None else next(
            (n for n, line in enumerate(head, 1) if len(line) > csv.field_size_limit()), None)
        raise input_error(path.name, f"cannot be read as CSV ({exc})",
                          "check the quoting and the delimiter (a quote opened and never "
                          "closed runs on to the end of the file), or re-export the file",
                          row=row) from None
    return result


def _text(path: Path, gzipped: bool, codec: str) -> IO[str]:
    return io.TextIOWrapper(open_bytes(path, gzipped), encoding=codec, newline="")


def _lines(head: list[str]) -> IO[str]:
    """The first lines read again, split as they were read (newline="": a bare CR, an
    old Mac's line end or one inside a quoted value, is a line end, as ingest reads it;
    StringIO's default split on LF only, and csv refused the file)."""
    return io.StringIO("".join(head), newline="")


def _choose_delimiter(lines: list[str]) -> str:
    """The delimiter giving the most fields on the widest line, among , ; tab |."""
    def fields(delim: str) -> int:
        return max(len(row) for row in csv.reader(_lines(lines), delimiter=delim))

    best = max(DELIMITERS, key=fields)
    return best if fields(best) > 1 else ","


def _inspect_xlsx(path: Path, sheet: str | None) -> Inspection:
    from openpyxl import load_workbook

    result = Inspection(path, "xlsx")
    check_workbook_archive(path)
    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a damaged file
        raise input_error(path.name, f"cannot be opened as an Excel workbook ({exc})",
                          "open and save it again in Excel as .xlsx") from None
    try:
        heads: dict[str, list[str]] = {}
        for ws in book.worksheets:
            rows = [tuple(r) for r in checked_rows(
                path.name, ws.title, head_rows(ws, 1, HEAD_ROWS))]
            header_row = find_header_row(rows)
            headers = _header_names(rows[header_row - 1]) if header_row else []
            found = presets.recognise(headers) if headers else None
            heads[ws.title] = headers
            filled = sum(1 for r in rows if any(cell_text(v) for v in r))
            result.sheets.append(SheetInfo(
                ws.title, ws.max_row, header_row, len(headers), found, filled,
                hidden=getattr(ws, "sheet_state", "visible") != "visible"))
        if sheet is not None and sheet not in heads:
            names = ", ".join(repr(s.name) for s in result.sheets)
            raise UsageError(f"{path.name} has no sheet {sheet!r} (sheets: {names})")
        chosen = sheet or _data_sheet(result.sheets)
        found_preset = next(s for s in result.sheets if s.name == chosen).preset
        result.data_sheets = ([s.name for s in result.sheets if s.preset == found_preset]
                              if found_preset else [chosen])
        by_sex = [n for n in result.data_sheets if "male" in n.lower()]
        if found_preset in ("ons_population", "ons_projections") and by_sex:
            # A sheet per sex (the older ONS estimates, the 2022-based projections) is
            # read; the Persons sheet is not.
            result.data_sheets = by_sex
            chosen = sheet or by_sex[0]
        info = next(s for s in result.sheets if s.name == chosen)
        result.sheet = chosen
        result.header_row = info.header_row or 1
        if book.epoch.year == 1904:
            result.excel_epoch = date(1904, 1, 1)
        ws = book[chosen]
        # As ingest reads it: to the last row with a value, whatever the sheet's recorded
        # size says (a stale one hid rows; formatted empty rows cost seconds each 100,000).
        ws.reset_dimensions()
        last_row = sheet_xml(path, chosen).last_row
        # inspect profiles about 500,000 cells: a tenth of this is plenty for them.
        # Every row, in the file's order (numbered_rows: openpyxl's iter_rows drops rows
        # written out of order).
        rows_after = checked_rows(
            path.name, chosen, (cells for _, cells in numbered_rows(
                ws, result.header_row + 1, last_row)),
            first_row=result.header_row + 1, limit=100_000_000)
        _profile(heads[chosen], rows_after, result)
    finally:
        book.close()
    return result


def _data_sheet(sheets: list[SheetInfo]) -> str:
    """The sheet that looks like data: one in a national layout, else the widest table
    with the most rows (cover, contents and notes sheets are a column or two of text;
    a workbook written in streaming mode records no sizes, so rows are counted in the
    first HEAD_ROWS rows)."""
    shown = [s for s in sheets if not s.hidden] or sheets  # as ingest chooses
    for s in shown:
        if s.preset is not None:
            return s.name
    # (the first of equals: the index counted, not looked up, for thousands of sheets)
    return max(enumerate(shown), key=lambda e: (e[1].columns * e[1].filled_rows,
                                                e[1].rows or 0, -e[0]))[1].name


def _inspect_parquet(path: Path) -> Inspection:
    import pyarrow as pa
    import pyarrow.parquet as pq

    result = Inspection(path, "parquet")
    try:
        parquet = pq.ParquetFile(path)
        headers = list(parquet.schema_arrow.names)

        def rows() -> Iterator[tuple[Any, ...]]:
            for batch in parquet.iter_batches(batch_size=50_000):
                yield from zip(*(col.to_pylist() for col in batch.columns), strict=True)

        _profile(headers, rows(), result)
    except (pa.ArrowException, OSError) as exc:
        # Cut short in a copy or a download, or damaged: as ingest says it (exit 3), not
        # 'a bug in eolneeds'.
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise input_error(path.name, f"is not a readable Parquet file ({first})",
                          "re-export it, or export CSV instead") from None
    return result


# ---------------------------------------------------------------------------------------
# Guessing a mapping from the headers

# Other names an analyst's extract gives each canonical column (compared by code_key).
SYNONYMS: dict[str, tuple[str, ...]] = {
    "person_id": ("nhs number", "nhs no", "nhsnumber", "nhs num", "nhs", "person id",
                  "patient id", "nhs number patient",
                  # SystmOne reports' free-text headers
                  "patient nhs number", "patient nhs no", "patients nhs number",
                  "nhs number of patient"),
    "date_of_death": ("date of death", "dod", "death date", "died"),
    "date_of_registration": ("date registered", "registration date", "date of registration"),
    "age": ("age at death", "age years"),
    "date_of_birth": ("dob", "birth date"),
    "sex": ("gender",),
    "lsoa_code": ("lsoa", "lsoa of residence", "lsoa21cd", "lsoa11cd", "lsoa 2021 code",
                  "lsoa 2011 code"),
    "underlying_cause": ("underlying cause icd 10", "cause of death", "icd10", "icd 10"),
    "place_of_death": ("pod",),
    "ethnicity": ("ethnic group", "ethnic category", "ethnic origin"),
    # GP systems' exports: EMIS "Usual GP's Organisation Code", "Organisation code"
    "gp_practice": ("practice code", "practice", "gp practice code", "gp code", "ods code",
                    "organisation code", "org code", "registered practice",
                    "registered practice code", "usual gp s organisation code",
                    "usual gp practice", "usual gp", "gp practice", "registered gp practice",
                    "registered gp", "practice ods code", "gp practice ods code"),
    "date_added": ("date added to register", "date entered", "entry date", "added on",
                   "date of entry", "date identified",
                   # (a prefix too: 'Date added to palliative care register')
                   "date added"),
    "preferred_place_of_death": ("ppd", "ppod", "preferred place", "preferred place of care"),
    "dnacpr": ("dnar", "dnacpr in place", "dnacpr status", "resus status"),
    "advance_care_plan": ("acp", "acp in place", "advance care plan in place"),
    # Community and hospice extracts (CSDS and local systems) say what a contact was by
    # the team or service that made it.
    "activity_type": ("type", "contact type", "activity", "team type", "service type",
                      "team", "service", "activity type description"),
    "start_date": ("admission date", "admidate", "contact date", "arrival date", "date"),
    "end_date": ("discharge date", "disdate"),
    "admission_method": ("admimeth",),
    "treatment_function": ("tretspef", "specialty", "treatment function code"),
    "cost": ("spell cost", "tariff", "price", "cost gbp"),
    "place": ("place code", "place name", "locality"),
    "imd_decile": ("imd decile", "decile", "deprivation decile"),
    "rural_urban": ("rural urban classification", "ruc"),
    "area_code": ("area", "code"),
}


# A header naming an NHS number anywhere in it ('Patient NHS number', 'NHS No. of patient').
_NHS_NUMBER_WORDS = re.compile(r"\bnhs ?(number|no|num)\b")


def _key(text: str) -> str:
    return code_key(text.replace("_", " "))


def guess_columns(dataset: str, headers: Sequence[str]) -> dict[str, str]:
    """canonical column -> header, matching names, then known other names, then a
    known name at the start of a longer header ('Date added to register')."""
    keys = {h: _key(h) for h in headers}
    taken: set[str] = set()
    found: dict[str, str] = {}
    names = [name for name, _t, _r in CANONICAL_COLUMNS[dataset]
             if name != "contributory_causes"]
    for rule in ("exact", "synonym", "prefix"):
        for name in names:
            if name in found:
                continue
            wanted = [_key(name)] if rule == "exact" else [_key(name), *SYNONYMS.get(name, ())]
            for header, key in keys.items():
                if header in taken:
                    continue
                hit = (key in wanted if rule != "prefix"
                       else any(key.startswith(w + " ") for w in wanted if len(w) > 3)
                       # SystmOne reports name it freely: 'Patient NHS number'
                       or name == "person_id" and _NHS_NUMBER_WORDS.search(key) is not None)
                if hit:
                    found[name] = header
                    taken.add(header)
                    break
    return found


def _guess_dates(dataset: str, found: dict[str, str], columns: Sequence[ColumnProfile]
                 ) -> dict[str, str]:
    """A required date column no name matched ('Care Contact Date' for start_date): the
    first column not yet mapped whose values are (nine in ten or more) dates."""
    free = [c for c in columns if c.name not in found.values() and c.filled
            and not c.identifier and not c.personal
            and c.excel_dates + sum(c.text_dates.values()) >= 0.9 * c.filled]
    guessed: dict[str, str] = {}
    for name, _t, required in CANONICAL_COLUMNS[dataset]:
        if required and "date" in name and name not in found and free:
            guessed[name] = free.pop(0).name
    return guessed


def _holds_practice_codes(column: ColumnProfile) -> bool:
    """Whether at least half the values seen in `column` are ODS practice codes (no
    values seen, as in a hidden column: no evidence against it)."""
    seen = sum(column.distinct.values())
    codes = sum(n for value, n in column.distinct.items()
                if re.fullmatch(PRACTICE_CODE_SHAPE, value.upper()))
    return not seen or codes >= 0.5 * seen


def _guess_person(dataset: str, found: dict[str, str], columns: Sequence[ColumnProfile]
                  ) -> dict[str, str]:
    """person_id no name matched ('Patient NHS number', a report's free-text header):
    the one column not yet mapped whose values (nine in ten or more) pass the NHS
    number check, as inspect itself reports them."""
    if "person_id" in found or not any(n == "person_id" for n, _t, _r in
                                       CANONICAL_COLUMNS[dataset]):
        return {}
    numbers = [c.name for c in columns if c.name not in found.values() and c.filled
               and c.nhs_valid >= 0.9 * c.filled]
    return {"person_id": numbers[0]} if len(numbers) == 1 else {}


def guess_dataset(headers: Sequence[str], columns: Sequence[ColumnProfile] = ()
                  ) -> str | None:
    """The dataset whose required columns the headers all name (the one reading the
    most of them when several do), else None. `columns` (the profiles) may name
    person_id by its values (_guess_person)."""
    best: tuple[int, float, str] | None = None
    for dataset in DATASETS:
        required = [n for n, _t, r in CANONICAL_COLUMNS[dataset] if r]
        found = guess_columns(dataset, headers)
        found.update(_guess_person(dataset, found, columns))
        if not all(n in found for n in required):
            continue
        # The dataset that reads the most of the file's columns: a deaths extract holds
        # an LSOA and a place (of death) too, but is not an LSOA-to-Place lookup.
        score = (len(found), len(found) / len(CANONICAL_COLUMNS[dataset]), dataset)
        if best is None or score[:2] > best[:2]:
            best = score
    return best[2] if best else None


# Words in a local value that suggest a canonical code, tried in order.
_GUESSES: dict[str, tuple[tuple[str, str], ...]] = {
    "place_of_death": (("hospice", "hospice"), ("nursing", "care_home"), ("care", "care_home"),
                       ("residential", "care_home"), ("hospital", "hospital"),
                       ("home", "home"), ("residence", "home"), ("house", "home")),
    "activity_type": (("hospice", "hospice_inpatient"),
                      ("palliative", "specialist_palliative_contact"),
                      ("specialist", "specialist_palliative_contact"),
                      ("community", "community_contact"), ("district", "community_contact"),
                      ("a&e", "ae_attendance"), ("a+e", "ae_attendance"),
                      ("emergency department", "ae_attendance"),
                      ("emergency", "emergency_admission"), ("elective", "elective_admission")),
}


def _recode_guess(value: str, canonical: str) -> str | None:
    """A code for a local word the built-in table does not know, by the words in it."""
    key = code_key(value)
    kind = "place_of_death" if canonical.endswith("place_of_death") else canonical
    for needle, code in _GUESSES.get(kind, ()):
        if needle in key:
            return code
    return None


# ---------------------------------------------------------------------------------------
# Output


def _completeness(c: ColumnProfile, rows: int) -> str:
    return f"{100 * c.filled / rows:.0f}%" if rows else "-"


def _note(c: ColumnProfile, epoch: date) -> str:
    if c.identifier:
        if c.ten_digits:
            return (f"identifier, values hidden; {c.nhs_valid:,} of {c.filled:,} pass the "
                    "NHS number check")
        return "identifier, values hidden"
    if c.personal:
        return "personal data, values hidden"
    parts = []
    if c.excel_dates:
        parts.append(f"{c.excel_dates:,} Excel dates")
    for fmt, n in sorted(c.text_dates.items(), key=lambda kv: -kv[1]):
        parts.append(f"{n:,} text dates {fmt}")
    if c.serial_days >= 0.9 * c.filled:
        # Shown as the dates ingest loads from them in a date column, counted from the
        # workbook's own date system (a 1904-system workbook's are 1,462 days later).
        first, last = (epoch + timedelta(days=d) for d in (c.serial_first, c.serial_last))
        system = " (a 1904 date system workbook)" if epoch.year == 1904 else ""
        if first.year >= 1950 and last.year <= 2099:
            parts.append(f"{c.serial_days:,} Excel serial dates{system}, "
                         f"{first.isoformat()} to {last.isoformat()} in a date column")
    examples = ", ".join(repr(e) for e in c.examples)
    return "; ".join([examples, *parts] if examples else parts)


def _preset_reads(ins: Inspection) -> str:
    """'person_id <- NHS_NUMBER, ...': the columns the recognised preset would read."""
    assert ins.preset is not None
    preset = presets.get_preset(ins.preset)
    if preset.layout_test is not None:
        return ""  # reshaped as a whole (a wide population table), not column by column
    parts = []
    for canonical, spec in presets.resolve(preset, ins.headers).columns.items():
        if isinstance(spec, str):
            parts.append(f"{canonical} <- {spec}")
        elif isinstance(spec, presets.Derived):
            # Only the sources the file has: a Derived names its optional ones too.
            found = [h for h in (presets.find_header(n, ins.headers) for n in spec.names())
                     if h is not None]
            parts.append(f"{canonical} <- {' + '.join(dict.fromkeys(found)) or '(none found)'}")
        else:
            parts.append(f"{canonical} <- {len(spec)} columns")
    return ", ".join(parts)


def render_text(ins: Inspection, *, next_step: bool = True) -> str:
    lines = [shown_name(ins.path.name)]  # one line, as every name is shown
    if ins.file_format == "csv":
        delim = {"\t": "tab", ",": "comma", ";": "semicolon", "|": "pipe"}.get(
            ins.delimiter or ",", repr(ins.delimiter))
        zipped = ", gzip" if ins.gzipped else ""
        lines.append(f"  format     CSV{zipped}, encoding {ins.encoding}, delimiter {delim}")
    else:
        lines.append(f"  format     {ins.file_format.upper()}")
    if ins.sheets:
        lines.append("  sheets")
        # A workbook of thousands of sheets (a report split per practice, or one built to
        # flood a logged console) lists the first few and the data, and counts the rest.
        listed = [s for i, s in enumerate(ins.sheets)
                  if i < SHEETS_LISTED or s.name in ins.data_sheets or s.name == ins.sheet]
        for s in listed:
            mark = "  <- data" if s.name in ins.data_sheets else (
                "  (hidden)" if s.hidden else "")
            size = (f"{s.rows:,} {plural(s.rows, 'row')}" if s.rows is not None
                    else "size not recorded")
            lines.append(f"    {s.name!r:<32} {size}, {s.columns} "
                         f"{plural(s.columns, 'column')}{mark}")
        if len(listed) < len(ins.sheets):
            rest = len(ins.sheets) - len(listed)
            lines.append(f"    ... and {rest:,} more {plural(rest, 'sheet')}, not listed "
                         "(--sheet NAME profiles any one)")
    titles = (f" ({ins.header_row - 1} title {plural(ins.header_row - 1, 'row')} above it)"
              if ins.header_row > 1 else "")
    where = f" of sheet {ins.sheet!r}" if ins.sheet else ""
    # A layout with no header row (epraccur): its first line is a row too.
    headerless = bool(ins.preset and presets.get_preset(ins.preset).positional)
    lines.append("  header     none (the first line is a row)" if headerless else
                 f"  header     row {ins.header_row}{where}{titles}")
    more = (f" (profiled the first {ins.row_limit:,}; the file has more)" if ins.truncated
            else "")
    lines.append(f"  rows       {ins.rows + headerless:,} data rows{more}")
    if ins.preset:
        lines.append(f"  layout     national layout {ins.preset!r} (dataset {ins.dataset}): "
                     f"a mapping with preset = \"{ins.preset}\" reads it")
        reads = _preset_reads(ins)
        if reads:
            lines.append(f"  reads      {reads}")
        if headerless:
            lines.append("  note       the file has no header row: the column names shown "
                         "are its first row's values; the preset reads the columns by "
                         "position")
    elif ins.dataset:
        lines.append(f"  layout     no national layout; the columns look like {ins.dataset}")
    else:
        lines.append("  layout     no national layout recognised")
    lines.append("  columns    (filled, examples)")
    width = min(max((len(shown_name(c.name)) for c in ins.columns), default=10), 40)
    for c in ins.columns:
        lines.append(f"    {shown_name(c.name):<{width}} {_completeness(c, ins.rows):>5}  "
                     f"{_note(c, ins.excel_epoch)}")
    if next_step:  # not when the mapping is being written: the next step is then to check it
        lines.append("")
        lines.append(f"Next: eolneeds inspect {shell_arg(ins.path)} --write-mapping NAME "
                     "--project DIR writes mappings/NAME.toml from this")
    return "\n".join(lines)


def mapping_text(ins: Inspection, *, dataset: str | None = None) -> str:
    """A mapping pre-filled from the inspection, with comments on what to check."""
    dataset = dataset or ins.dataset
    if dataset is None or dataset not in DATASETS:
        raise UsageError(
            f"{shown_name(ins.path.name)}: cannot tell which dataset this is — pass --dataset "
            f"({' | '.join(DATASETS)})")
    # The file's name shown escaped: a line break in it wrote its own lines (keys) into
    # the mapping below this comment.
    lines = [f"# Written by `eolneeds inspect {shown_name(ins.path.name)}`: check it, then "
             "ingest with "
             "--mapping and this file's name."]
    lines.append(f'dataset = "{dataset}"')
    preset = ins.preset if ins.preset and presets.get_preset(ins.preset).dataset == dataset \
        else None
    if preset:
        lines.append(f'preset = "{preset}"')
    if ins.file_format == "xlsx" and preset not in WORKBOOK_PRESETS:
        first = ins.sheets[0].name if ins.sheets else None
        if ins.sheet and (ins.sheet != first or len(ins.sheets) > 1):
            lines.append(f"sheet = {_toml(ins.sheet)}")
        if ins.header_row != 1:
            lines.append(f"header_row = {ins.header_row}"
                         f"{'  # title rows above the header' if ins.header_row > 1 else ''}")
    elif ins.file_format == "csv" and ins.header_row != 1:
        # Not pinned: ingest finds the header below the title lines itself, and a search
        # export's title block gains or loses a line when the search is edited.
        lines.append(f"# header_row = {ins.header_row}  # found below the title lines by "
                     "itself, however many a later export has")
    if preset == "ons_population" and ins.file_format == "csv" \
            and presets.ons_file_year(ins.path.name) is None:
        lines.append("# year = 2022  # a CSV does not say its year: set the estimates' year")
    if preset:
        return "\n".join(lines) + "\n"

    found = guess_columns(dataset, ins.headers)
    profiles = {c.name: c for c in ins.columns}
    guessed = _guess_dates(dataset, found, ins.columns)
    found.update(guessed)
    numbers = _guess_person(dataset, found, ins.columns)
    found.update(numbers)
    person = found.get("person_id")
    if person and profiles[person].ten_digits >= 0.5 * max(profiles[person].filled, 1):
        lines.append("nhs_number = true  # person_id holds NHS numbers: checked, then "
                     "pseudonymised")
    text_formats: dict[str, int] = {}
    for canonical, header in found.items():
        if "date" in canonical:
            for fmt, n in profiles[header].text_dates.items():
                text_formats[fmt] = text_formats.get(fmt, 0) + n
    # ISO and yyyymmdd dates are read whatever date_format says, so naming one of them
    # would only stop the column's other dates being read: '15/05/2024' among a
    # majority of '20240501' would be quarantined under date_format = "%Y%m%d".
    others = {f: n for f, n in text_formats.items() if f not in ALWAYS_READ_FORMATS}
    usual = max(others, key=lambda f: others[f]) if others else None
    if usual:
        lines.append(f'date_format = "{usual}"')
    lines.append("")
    lines.append("[columns]  # canonical = \"column in your file\"")
    for name, _t, required in CANONICAL_COLUMNS[dataset]:
        if name in guessed:
            lines.append(f"{name} = {_toml(found[name])}  # guessed: its values are dates; "
                         "check it is the right one")
        elif name in numbers:
            lines.append(f"{name} = {_toml(found[name])}  # guessed: its values pass the "
                         "NHS number check")
        elif name == "gp_practice" and name in found and not _holds_practice_codes(
                profiles[found[name]]):
            # EMIS's 'Usual GP' is the clinician's name ('Dr Smith, Jane'): mapped, it
            # would be published as a practice and never match the practice lookup.
            lines.append(f"# {name} = {_toml(found[name])}  # not mapped: its values are "
                         "not ODS practice codes (a letter and 5 digits, e.g. A81001); "
                         "map the column that holds them")
        elif name in found:
            lines.append(f"{name} = {_toml(found[name])}")
        elif required:
            lines.append(f"# {name} = \"?\"   # required: name the column that holds it "
                         "(or set it in [defaults])")
    unused = [h for h in ins.headers if h not in found.values()]
    if unused:
        lines.append(f"# not mapped: {', '.join(unused)}")
    for canonical, table, words in (("place_of_death", PLACE_OF_DEATH_CODES, PLACES_OF_DEATH),
                                    ("preferred_place_of_death", PLACE_OF_DEATH_CODES,
                                     PLACES_OF_DEATH),
                                    ("sex", SEX_CODES, SEXES),
                                    ("activity_type", ACTIVITY_TYPE_CODES, ACTIVITY_TYPES)):
        column = found.get(canonical)
        if column is None:
            continue
        unknown = [v for v in profiles[column].distinct
                   if code_key(v) not in table and v != WITHHELD]
        if not unknown:
            continue
        lines.append("")
        lines.append(f"[recode.{canonical}]  # local words -> {' | '.join(words)}; "
                     "check each guess")
        for value in unknown:
            guess = _recode_guess(value, canonical)
            if guess:
                lines.append(f"{_toml(value)} = \"{guess}\"")
            else:
                lines.append(f"# {_toml(value)} = \"?\"")
    return "\n".join(lines) + "\n"


def _toml(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


def write_mapping(ins: Inspection, name: str, project: Path, *, dataset: str | None = None
                  ) -> Path:
    """Save mapping_text as project/mappings/NAME.toml (never over an existing file)."""
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*", name):
        raise UsageError(f"--write-mapping {name!r}: use letters, digits, _ . - "
                         "(the mapping's file name without .toml)")
    text = mapping_text(ins, dataset=dataset)
    folder = Path(project) / "mappings"
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{name}.toml"
    if target.exists():
        raise UsageError(f"{target} already exists — choose another name, or delete it to "
                         "write it again")
    target.write_text(text, encoding="utf-8")
    return target
