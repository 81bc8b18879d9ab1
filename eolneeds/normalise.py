"""Normalisers for the messy values of local extracts: ICD-10, UK dates, NHS numbers,
pseudonyms and coded fields.

Each normaliser exists twice, on purpose:

* a DuckDB SQL expression builder (`*_sql`), which ingest applies to a whole file in
  one vectorised statement, and
* a plain Python reference function, which the known-answer and property tests use to
  prove the SQL right (tests/test_normalise.py checks SQL == Python on examples).

Builders take a SQL expression (normally a quoted column name, already trimmed and with
empty strings turned into NULL) and return a SQL expression. Constants in the SQL are
the module's own code lists, never values from input files.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import re
import sys
import unicodedata
from collections.abc import Iterable, Mapping
from datetime import date, datetime, timedelta
from typing import NamedTuple

from eolneeds.schema import ACTIVITY_TYPES, AGE_BANDS_ESP, ETHNIC_GROUPS, PLACES_OF_DEATH, SEXES

# Dates before this are typing errors ("05/01/23" read as the year 23), not history, or
# Excel's day 0 (1899-12-30: an empty date cell of a workbook, its serial 0, which
# loaded a death and made the deaths' coverage start in 1899; round 6). 1900 is also the
# first year a --month or a population year may be.
EARLIEST_PLAUSIBLE_DATE = date(1900, 1, 1)
# HMAC-SHA256 truncated to 128 bits: ample against collisions at England scale
# (tens of millions of people) and short enough to read in a table.
PSEUDONYM_LENGTH = 32


class Normalised(NamedTuple):
    """A normalised value, or None with the reason it could not be normalised."""

    value: object | None
    reason: str | None


def sql_literal(text: str) -> str:
    """Quote one of this module's own constants for SQL (never input data)."""
    return "'" + text.replace("'", "''") + "'"


# ---------------------------------------------------------------------------------------
# ICD-10

# After cleaning: a chapter letter, two digits, then up to two more digits (the UK
# 5th character). "X" after the third character is the filler of a 3-character code.
# The dagger and asterisk marks come as symbols ('A17.0†', 'G01*') or, in NHS (SUS /
# HES) six-character diagnosis fields, as a letter after the code: D dagger, A asterisk
# ('A170D', 'G01XA'); either way the mark is dropped and the code kept.
# Spaces only (the space separators, as readers.WHITE_SPACE trims them at the ends): a
# control character inside a code ('C34.9\rx', 'C34\t9') makes it no code, not a
# shorter one ('\s' took them out, and 'C34.9\rx' loaded as C349).
_ICD10_STRIP = "[ \u00a0\u1680\u2000-\u200a\u202f\u205f\u3000.\\-*+†]"
# Group 1 is the code; trailing X's are filler, then the letter mark. One regular
# expression (not a chain of replacements) keeps the SQL fast over millions of rows.
_ICD10_SHAPE = r"([A-Z][0-9]{2}(?:[0-9]{2}|[0-9]?))X*[AD]?"


def normalise_icd10(value: str | None) -> Normalised:
    """'C34.9' / 'c349 ' -> 'C349'; 'C34X' / 'C34.X' / 'c34-' -> 'C34'; junk -> None.

    A code has at most one dot: 'C34.9.1' is not C3491 but junk."""
    if value is None or not value.strip():
        return Normalised(None, None)
    if value.count(".") > 1:
        return Normalised(None, f"{value.strip()!r} is not an ICD-10 code (expected a letter "
                          "and 2-4 digits, e.g. C34.9)")
    cleaned = re.sub(_ICD10_STRIP, "", value).upper()
    found = re.fullmatch(_ICD10_SHAPE, cleaned)
    if found:
        return Normalised(found.group(1), None)
    return Normalised(
        None, f"{value.strip()!r} is not an ICD-10 code (expected a letter and 2-4 digits, "
        "e.g. C34.9)"
    )


def icd10_sql(expr: str) -> str:
    """SQL: the normalised ICD-10 code of `expr`, or NULL when it is not one."""
    cleaned = f"upper(regexp_replace({expr}, {sql_literal(_ICD10_STRIP)}, '', 'g'))"
    shape = sql_literal("^" + _ICD10_SHAPE + "$")
    # More than one dot ('C34.9.1') is junk, not a longer code.
    return (f"(CASE WHEN length({expr}) - length(replace({expr}, '.', '')) <= 1 THEN "
            f"nullif(regexp_extract({cleaned}, {shape}, 1), '') END)")


# ---------------------------------------------------------------------------------------
# Dates

# A time part after the date ("2023-01-05 00:00:00", "05/01/2023 00:00") is common in
# database and Excel exports; it is dropped before the date is read.
_TIME_SUFFIX = (r"[ T:][0-9]{1,2}:[0-9]{2}(:[0-9]{2}([.,][0-9]+)?)?"
                r"( ?([AaPp][Mm]|Z|[+-][0-9]{2}:?[0-9]{2}))?$")
# Year first is read whatever the mapping says, with dashes, slashes or dots alike
# (2024-03-19, 2024/03/19 as some database tools write it, 2024.03.19): no one writes the
# day before the month after the year, so the order is never in doubt.
_ISO_SHAPE = r"[0-9]{4}[-/.][0-9]{1,2}[-/.][0-9]{1,2}"
_ISO_SEPARATORS = r"[/.]"  # read as '-'
# Day and month as numbers, year last, separated by slashes, dots or dashes (18/03/2024,
# 18.03.2024 as a German-configured Excel or SAP writes it, 18-03-2024). A mapping's
# numeric date_format says which of day and month is first; the separator tells nothing
# about the order, so any of the three reads under any of them (the order stays the
# mapping's: under "%m/%d/%Y", 03.18.2024 is 18 March).
_NUMERIC_SHAPE = r"[0-9]{1,2}[-/.][0-9]{1,2}[-/.][0-9]{2,4}"
_NUMERIC_FORMAT = r"%d[-/.]%m[-/.]%[Yy]|%m[-/.]%d[-/.]%[Yy]"
_NUMERIC_SEPARATORS = r"[-/.]"  # read as '/'
_COMPACT_SHAPE = r"[0-9]{8}"
# A month written as a word cannot be read the wrong way round, so these are always
# accepted too: Oracle's and SQL Server's "31-MAR-2024", "31 Mar 2024", "31 March 2024".
# A two-digit year ("31-MAR-24") is not: it could be 1924 or 2024.
_MONTH_NAME_SHAPE = r"[0-9]{1,2}[-/ ]?[A-Za-z]{3,9}[-/ ]?[0-9]{4}"
# Its parts, to join with dashes: SAS's DATE9 writes no separators ("01MAY2024", and
# DATETIME "01MAY2024:13:45:00", whose time the ':' before it marks).
_MONTH_NAME_PARTS = r"^([0-9]{1,2})[-/ ]?([A-Za-z]{3,9})[-/ ]?([0-9]{4})$"
_MONTH_NAME_FORMATS = ("%d-%b-%Y", "%d-%B-%Y")
# The month as a word first: SQL Server's default text of a datetime ("Jan  3 2024
# 12:00AM", as a view that casts dates to varchar exports them; the time is stripped as
# any time is), and "January 3, 2024". Read as the day-first shape above, reordered.
# (The years 1900-2099 only, so that the shape itself rules out dates before 1900; see
# date_sql. Spaces may follow: SQL Server pads the hour, "Feb 29 2024  1:30PM".)
_MONTH_FIRST_SHAPE = r"[A-Za-z]{3,9}\.?[-/ ]+[0-9]{1,2},?[-/ ]+(19|20)[0-9]{2} *"
_MONTH_FIRST_PARTS = r"^([A-Za-z]{3,9})\.?[-/ ]+([0-9]{1,2}),?[-/ ]+([0-9]{4}) *$"
# yyyymmdd written as a decimal ("20240103.0"): a column of such dates with blanks in it
# that pandas read as numbers and wrote back.
_COMPACT_DECIMAL_SHAPE = r"(19|20)[0-9]{6}\.0+"
# A date cell formatted as General shows (and a CSV saved from it holds) Excel's serial
# number: days since 1899-12-30. Five digits (1927-05-18 to 2173) has no other reading
# in a date column; four could be a year.
_EXCEL_SERIAL_SHAPE = r"([0-9]{5})(\.[0-9]+)?"  # a fraction is the time of day
_EXCEL_EPOCH = date(1899, 12, 30)


# SUS and HES write 1800-01-01 for a date not applicable or not known (a spell not yet
# ended) and 1801-01-01 for one recorded invalid, however the date is written
# (1800-01-01, 18000101, 01/01/1800), with or without a time after it: no date.
NULL_DATES = r"(180[01]-?01-?01|01/01/180[01])([ T].*)?"


def describe_date_format(date_format: str) -> str:
    """'%d/%m/%Y' -> 'dd/mm/yyyy', for messages."""
    words = {"%d": "dd", "%m": "mm", "%Y": "yyyy", "%y": "yy", "%b": "mon", "%B": "month",
             "%H": "hh", "%M": "mm", "%S": "ss", "%j": "ddd"}
    return re.sub(r"%[a-zA-Z]", lambda m: words.get(m.group(0), m.group(0)), date_format)


def expected_dates(date_format: str) -> str:
    """What a date column accepts, for messages: the mapping's format and, always, ISO
    (parse_date reads yyyy-mm-dd whatever the format): 'dd/mm/yyyy or yyyy-mm-dd'. Naming
    only the mapping's format misled on an ISO file's impossible date ('2026-02-30')."""
    mine = describe_date_format(date_format)
    return mine if date_format == "%Y-%m-%d" else f"{mine} or yyyy-mm-dd"


#: The common shapes of a date as text and the date_format that reads each.
DATE_SHAPES = (
    (re.compile(r"\d{1,2}/\d{1,2}/\d{4}"), "%d/%m/%Y"),
    (re.compile(r"\d{4}-\d{2}-\d{2}"), "%Y-%m-%d"),
    (re.compile(r"(19|20)\d{2}(0[1-9]|1[0-2])(0[1-9]|[12]\d|3[01])"), "%Y%m%d"),
    (re.compile(r"\d{1,2}-\d{1,2}-\d{4}"), "%d-%m-%Y"),
    (re.compile(r"\d{1,2}\.\d{1,2}\.\d{4}"), "%d.%m.%Y"),
    # Two-digit years are never read unasked (1924 or 2024?), but a file of them is
    # common -- Oracle's default DD-MON-RR ('01-MAY-24'), Excel's dd/mm/yy -- and the
    # format that reads them is what a user must be told to set.
    (re.compile(r"\d{1,2}-[A-Za-z]{3}-\d{2}"), "%d-%b-%y"),
    (re.compile(r"\d{1,2} [A-Za-z]{3} \d{2}"), "%d %b %y"),
    (re.compile(r"\d{1,2}/\d{1,2}/\d{2}"), "%d/%m/%y"),
)


#: Each day-first numeric format and its month-first twin. Excel re-saves a CSV in the
#: computer's regional short date: on a PC set to US English that is m/d/yyyy
#: ('2/16/2024'), which has the same shape as dd/mm/yyyy.
MONTH_FIRST = {"%d/%m/%Y": "%m/%d/%Y", "%d-%m-%Y": "%m-%d-%Y", "%d.%m.%Y": "%m.%d.%Y",
               "%d/%m/%y": "%m/%d/%y"}
_DAY_FIRST = {month: day for day, month in MONTH_FIRST.items()}


def date_shape(text: str) -> str | None:
    """The date_format whose shape `text` has ('31.03.2024' -> '%d.%m.%Y'), else None.

    Numbers both ways round are day first (the UK's order), unless only month first
    can read them ('2/16/2024' -> '%m/%d/%Y'); date_order says which they are."""
    for pattern, fmt in DATE_SHAPES:
        if pattern.fullmatch(text):
            if fmt in MONTH_FIRST and date_order(text) == "month":
                return MONTH_FIRST[fmt]
            return fmt
    return None


def reads_shape(date_format: str, shape: str) -> bool:
    """Whether a mapping of `date_format` reads dates of `shape` (date_shape's format):
    then a date of that shape it did not read is no date, or before 1900."""
    return shape == date_format or shape in ALWAYS_READ_FORMATS


def date_order(text: str) -> str | None:
    """Of a date written as numbers with the year last ('16/2/2024', '2/16/2024',
    '3/4/2024'): 'day' when only day first reads it (its first number is above 12),
    'month' when only month first does (its second is), None when either could (or
    neither, or it is no such date)."""
    parts = re.fullmatch(r"(\d{1,2})[/.-](\d{1,2})[/.-]\d{2,4}", text)
    if parts is None:
        return None
    first, second = int(parts.group(1)), int(parts.group(2))
    if first > 12 >= second:
        return "day"
    if second > 12 >= first:
        return "month"
    return None


def other_order(date_format: str) -> str | None:
    """The same numeric format the other way round ('%d/%m/%Y' <-> '%m/%d/%Y'), else None."""
    return MONTH_FIRST.get(date_format) or _DAY_FIRST.get(date_format)


def strip_time(text: str) -> str:
    """`text` without a time after its date ('2024-12-15 00:00:00.000' -> '2024-12-15'),
    as parse_date reads it."""
    return re.sub(_TIME_SUFFIX, "", text)


#: A date with its month as a word and a four-digit year (31-MAR-2024, 31 Mar 2024, 31
#: March 2024: EMIS and SystmOne exports, Oracle), as inspect names its shape.
MONTH_NAME_FORMAT = "%d-%b-%Y"
#: The date formats read whatever a mapping's date_format is (parse_date, date_sql).
ALWAYS_READ_FORMATS = ("%Y-%m-%d", "%Y%m%d", MONTH_NAME_FORMAT)


def month_name_date(text: str) -> bool:
    """Whether `text` is a real date with its month as a word and a four-digit year
    ('20-Jun-2023', 'Jun 20 2023'), which parse_date reads whatever the date_format."""
    return ((re.fullmatch(_MONTH_NAME_SHAPE, text) is not None
             or re.fullmatch(_MONTH_FIRST_SHAPE, text) is not None)
            and parse_date(text, MONTH_NAME_FORMAT).value is not None)


def parse_date(value: str | None, date_format: str = "%d/%m/%Y") -> Normalised:
    """Read a date: the mapping's format first, then yyyy-mm-dd, then yyyymmdd, then a
    day, month name and four-digit year (31-MAR-2024, 31 March 2024), then an Excel
    serial day number of five digits (45292 = 1 January 2024).

    Impossible dates (31/02/2023) and implausible ones (before 1900) are None + reason.
    """
    if value is None or not value.strip():
        return Normalised(None, None)
    text = re.sub(_TIME_SUFFIX, "", value.strip())
    candidates = [(text, date_format)]
    if re.fullmatch(_ISO_SHAPE, text):
        candidates.append((re.sub(_ISO_SEPARATORS, "-", text), "%Y-%m-%d"))
    if re.fullmatch(_NUMERIC_FORMAT, date_format) and re.fullmatch(_NUMERIC_SHAPE, text):
        candidates.append((re.sub(_NUMERIC_SEPARATORS, "/", text),
                           re.sub(_NUMERIC_SEPARATORS, "/", date_format)))
    if re.fullmatch(_COMPACT_SHAPE, text):
        candidates.append((text, "%Y%m%d"))
    if re.fullmatch(_MONTH_NAME_SHAPE, text):
        dashed = re.sub(_MONTH_NAME_PARTS, r"\1-\2-\3", text)
        candidates.extend((dashed, fmt) for fmt in _MONTH_NAME_FORMATS)
    if re.fullmatch(_MONTH_FIRST_SHAPE, text):
        dashed = re.sub(_MONTH_FIRST_PARTS, r"\2-\1-\3", text)
        candidates.extend((dashed, fmt) for fmt in _MONTH_NAME_FORMATS)
    if re.fullmatch(_COMPACT_DECIMAL_SHAPE, text):
        candidates.append((text[:8], "%Y%m%d"))
    for candidate, fmt in candidates:
        try:
            parsed = datetime.strptime(candidate, fmt).date()
        except ValueError:
            continue
        if parsed >= EARLIEST_PLAUSIBLE_DATE:
            return Normalised(parsed, None)
    if serial := re.fullmatch(_EXCEL_SERIAL_SHAPE, text):
        return Normalised(_EXCEL_EPOCH + timedelta(days=int(serial.group(1))), None)
    fault = date_fault(text, date_format)
    return Normalised(None, f"{value.strip()!r} is not a date" + (
        f": {fault}" if fault else f" (expected {expected_dates(date_format)})"))


_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December")


def _date_parts(text: str, date_format: str) -> tuple[int, int, int] | None:
    """(year, month, day) of `text` written as a date the mapping reads (year first, or
    day and month in the order of its numeric date_format, or yyyymmdd), else None."""
    if re.fullmatch(_ISO_SHAPE, text):
        y, m, d = re.split(_NUMERIC_SEPARATORS, text)
    elif re.fullmatch(_COMPACT_SHAPE, text) and text[:2] in ("19", "20"):
        y, m, d = text[:4], text[4:6], text[6:]
    elif re.fullmatch(_NUMERIC_SHAPE, text) and re.fullmatch(_NUMERIC_FORMAT, date_format):
        first, second, y = re.split(_NUMERIC_SEPARATORS, text)
        if len(y) != (4 if date_format.endswith("Y") else 2):
            return None
        if len(y) == 2:  # a two-digit year is read as strptime reads it
            y = str(datetime.strptime(y, "%y").year)
        d, m = (first, second) if date_format.startswith("%d") else (second, first)
    else:
        return None
    return int(y), int(m), int(d)


def _leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def date_fault(text: str, date_format: str) -> str | None:
    """Why `text`, written as the mapping reads dates, is no date ('29/02/2023': '2023 is
    not a leap year'; '31/04/2024': 'April has 30 days'), else None (date_fault_sql)."""
    parts = _date_parts(text, date_format)
    if parts is None:
        return None
    year, month, day = parts
    if not 1 <= month <= 12:
        return f"there is no month {month}"
    if day < 1:
        return "there is no day 0"
    if month == 2 and day == 29 and not _leap(year):
        return f"{year} is not a leap year"
    days = 30 if month in (4, 6, 9, 11) else 29 if month == 2 and _leap(year) else \
        28 if month == 2 else 31
    if day > days:
        return f"{_MONTHS[month - 1]} has {days} days" if month != 2 else \
            f"February {year} has {days} days"
    return None


def date_sql(expr: str, date_format_param: str, excel_epoch: date | None = None) -> str:
    """SQL: `expr` read as a DATE (same rules as parse_date), else NULL.

    `date_format_param` is a named parameter such as `$date_format`; `excel_epoch` the
    day an Excel serial number counts from (None: 1899-12-30; a 1904-system workbook's
    is 1904-01-01).
    """
    text = f"regexp_replace({expr}, {sql_literal(_TIME_SUFFIX)}, '')"
    earliest = sql_literal(EARLIEST_PLAUSIBLE_DATE.isoformat())

    def plausible(parsed: str) -> str:
        return f"(CASE WHEN {parsed} >= DATE {earliest} THEN {parsed} END)"

    custom = plausible(f"CAST(try_strptime({text}, {date_format_param}) AS DATE)")
    iso = plausible(
        f"(CASE WHEN regexp_full_match({text}, {sql_literal(_ISO_SHAPE)}) "
        f"THEN CAST(try_strptime(regexp_replace({text}, {sql_literal(_ISO_SEPARATORS)}, '-', "
        "'g'), '%Y-%m-%d') AS DATE) END)"
    )
    slash = sql_literal(_NUMERIC_SEPARATORS)
    numeric = plausible(
        f"(CASE WHEN regexp_full_match({date_format_param}, {sql_literal(_NUMERIC_FORMAT)}) "
        f"AND regexp_full_match({text}, {sql_literal(_NUMERIC_SHAPE)}) "
        f"THEN CAST(try_strptime(regexp_replace({text}, {slash}, '/', 'g'), "
        f"regexp_replace({date_format_param}, {slash}, '/', 'g')) AS DATE) END)"
    )
    compact = plausible(
        f"(CASE WHEN regexp_full_match({text}, {sql_literal(_COMPACT_SHAPE)}) "
        f"THEN CAST(try_strptime({text}, '%Y%m%d') AS DATE) END)"
    )
    dashed = f"regexp_replace({text}, {sql_literal(_MONTH_NAME_PARTS)}, '\\1-\\2-\\3')"
    month_name = plausible(
        f"(CASE WHEN regexp_full_match({text}, {sql_literal(_MONTH_NAME_SHAPE)}) "
        f"THEN CAST(coalesce(" + ", ".join(f"try_strptime({dashed}, {sql_literal(f)})"
                                          for f in _MONTH_NAME_FORMATS) + ") AS DATE) END)"
    )
    serial = (f"(CASE WHEN regexp_full_match({text}, {sql_literal(_EXCEL_SERIAL_SHAPE)}) "
              f"THEN DATE {sql_literal((excel_epoch or _EXCEL_EPOCH).isoformat())} + "
              "CAST(regexp_extract("
              f"{text}, '^[0-9]+') AS INTEGER) END)")
    # Rare shapes last: coalesce reads them only for the values nothing above read, so
    # a file of common dates pays nothing for them. Each expression is written once (not
    # in plausible(), whose repeat DuckDB would compute for every row, as it does the
    # repeated parts above: their shapes hold no year before 1900 instead).
    reordered = f"regexp_replace({text}, {sql_literal(_MONTH_FIRST_PARTS)}, '\\2-\\1-\\3')"
    formats = "[" + ", ".join(sql_literal(f) for f in _MONTH_NAME_FORMATS) + "]"
    month_first = (f"(CASE WHEN regexp_full_match({text}, {sql_literal(_MONTH_FIRST_SHAPE)}) "
                   f"THEN CAST(try_strptime({reordered}, {formats}) AS DATE) END)")
    compact_decimal = (
        f"(CASE WHEN regexp_full_match({text}, {sql_literal(_COMPACT_DECIMAL_SHAPE)}) "
        f"THEN CAST(try_strptime(left({text}, 8), '%Y%m%d') AS DATE) END)")
    return (f"coalesce({custom}, {iso}, {numeric}, {compact}, {month_name}, {serial}, "
            f"{month_first}, {compact_decimal})")


def date_fault_sql(expr: str, date_format: str) -> str:
    """SQL: why `expr`, written as the mapping reads dates, is no date, else NULL (the
    same as date_fault; `date_format` is the mapping's, as text)."""
    text = f"regexp_replace({expr}, {sql_literal(_TIME_SUFFIX)}, '')"
    piece = f"string_split_regex({text}, {sql_literal(_NUMERIC_SEPARATORS)})"

    def number(sql: str) -> str:
        return f"TRY_CAST({sql} AS INTEGER)"

    shapes = [(f"regexp_full_match({text}, {sql_literal(_ISO_SHAPE)})",
               number(f"{piece}[1]"), number(f"{piece}[2]"), number(f"{piece}[3]")),
              (f"regexp_full_match({text}, '(19|20)[0-9]{{6}}')", number(f"{text}[1:4]"),
               number(f"{text}[5:6]"), number(f"{text}[7:8]"))]
    if re.fullmatch(_NUMERIC_FORMAT, date_format):
        digits = 4 if date_format.endswith("Y") else 2
        year = number(f"{piece}[3]")
        if digits == 2:  # as strptime reads a two-digit year: 00-68 are 2000-2068
            year = f"(CASE WHEN {year} < 69 THEN 2000 + {year} ELSE 1900 + {year} END)"
        day, month = ((number(f"{piece}[1]"), number(f"{piece}[2]"))
                      if date_format.startswith("%d") else
                      (number(f"{piece}[2]"), number(f"{piece}[1]")))
        shapes.append((f"regexp_full_match({text}, {sql_literal(_NUMERIC_SHAPE)}) AND "
                       f"length({piece}[3]) = {digits}", year, month, day))

    def pick(i: int) -> str:
        return "(CASE " + " ".join(f"WHEN {s[0]} THEN {s[i]}" for s in shapes) + " END)"

    y, m, d = pick(1), pick(2), pick(3)
    leap = f"({y} % 4 = 0 AND ({y} % 100 <> 0 OR {y} % 400 = 0))"
    days = (f"(CASE WHEN {m} IN (4, 6, 9, 11) THEN 30 WHEN {m} = 2 AND {leap} THEN 29 "
            f"WHEN {m} = 2 THEN 28 ELSE 31 END)")
    months = "[" + ", ".join(sql_literal(name) for name in _MONTHS) + "]"
    return (f"(CASE WHEN {m} NOT BETWEEN 1 AND 12 THEN concat('there is no month ', {m}) "
            f"WHEN {d} < 1 THEN 'there is no day 0' "
            f"WHEN {m} = 2 AND {d} = 29 AND NOT {leap} THEN concat({y}, ' is not a leap year') "
            f"WHEN {d} > {days} AND {m} = 2 THEN concat('February ', {y}, ' has ', {days}, "
            "' days') "
            f"WHEN {d} > {days} THEN concat({months}[{m}], ' has ', {days}, ' days') END)")


# ---------------------------------------------------------------------------------------
# NHS numbers

# Spaces and dashes as printed ("943 476 5919"), and a ".0" after the number, which a
# tool that read the column as decimals writes (pandas does, when a value is missing):
# the same ten digits either way. "9.43E+09" lost digits and stays invalid.
# Also a no-break or thin space (pasted from a web page or a document) and dots
# (943.476.5919); the ".0" is tried first so that 9434765919.0 keeps ten digits. (The
# characters themselves, not escapes: DuckDB's RE2 \s is ASCII only.) A leading
# apostrophe ('9434765919) is Excel's mark that a cell is text, not part of the number:
# some exports write it out; the number is the ten digits after it.
_NHS_SEPARATORS = "^'|\\.0+$|[\\s\u00a0\u2009\u202f.\\-]"


def nhs_check_digit(first_nine: str) -> int | None:
    """Modulus 11 check digit of the first nine digits; None when 10 (never issued).

    Weights 10, 9, ..., 2; check = 11 - (sum mod 11), and 11 becomes 0.
    """
    total = sum(int(digit) * weight for digit, weight in zip(first_nine, range(10, 1, -1),
                                                             strict=True))
    check = 11 - total % 11
    if check == 11:
        return 0
    if check == 10:
        return None
    return check


def nhs_digits(value: str | None) -> str | None:
    """The ten digits of an NHS number written with spaces or dashes, else None. Digits
    of another script (full-width, Arabic-Indic: a form filled in on a phone, a
    spreadsheet in another locale) are the same number: read as ASCII (_NATIVE_DIGITS),
    so the person links as when written in ASCII."""
    if value is None:
        return None
    digits = re.sub(_NHS_SEPARATORS, "", value.translate(_TO_ASCII))
    return digits if re.fullmatch(r"[0-9]{10}", digits) else None


def is_valid_nhs_number(value: str | None) -> bool:
    """Ten digits with a correct check digit, and not one digit ten times (0000000000
    and 1111111111 pass modulus 11 but are placeholders, never issued)."""
    digits = nhs_digits(value)
    if digits is None or len(set(digits)) == 1:
        return False
    return nhs_check_digit(digits[:9]) == int(digits[9])


def nhs_digits_sql(expr: str) -> str:
    """SQL: `expr` without spaces and dashes, digits of any script as ASCII (not yet
    checked to be ten digits). Only a value beyond ASCII (more bytes than characters)
    is translated: the usual identifier pays one length comparison.

    Ten ASCII digits as they are, or spaced as printed ('943 476 5919'), are what
    nearly every extract holds: one pattern match says so, and the digits are kept or
    the spaces dropped without the search-and-replace over every separator (a death's
    or register entry's number is read per row: 1 M spaced numbers 0.36 -> 0.24 CPU s).
    Anything else goes through the whole clean-up; the result is the same."""
    separators = sql_literal(_NHS_SEPARATORS)
    spaced = f"replace({expr}, ' ', '')"
    return (f"(CASE WHEN regexp_full_match({expr}, '[0-9]{{10}}') THEN {expr} "
            f"WHEN regexp_full_match({spaced}, '[0-9]{{10}}') THEN {spaced} "
            f"ELSE regexp_replace({ascii_digits_sql(expr)}, {separators}, '', 'g') END)")


def ascii_digits_sql(expr: str) -> str:
    """SQL: `expr` with the digits of any script as ASCII ('٨١' -> '81'): a number, a date
    or an NHS number typed in full-width or Arabic-Indic digits is the same value. Only
    a value beyond ASCII (more bytes than characters) is translated."""
    return (f"(CASE WHEN strlen({expr}) = length({expr}) THEN {expr} ELSE "
            f"translate({expr}, {sql_literal(_NATIVE_DIGITS)}, "
            f"{sql_literal(_ASCII_FOR_NATIVE)}) END)")


# A number's marks as other scripts write them, read as ASCII with its digits (round 5:
# a cost of '١٢٣٤٫٥٠' or '１２３４．５０' was 'not a number' though an age or a date in
# the same digits was read): the Arabic decimal and thousands separators, the full-width
# point, comma, minus and plus an IME types, and the minus sign of typeset text.
_NATIVE_NUMBER_MARKS = "\u066b\u066c\uff0e\uff0c\uff0d\uff0b\u2212"
_ASCII_NUMBER_MARKS = ".,.,-+-"


def ascii_number_sql(expr: str) -> str:
    """SQL: `expr` with the digits and number marks of any script as ASCII ('١٬٢٣٤٫٥'
    -> '1,234.5'): ascii_digits_sql for numbers. Only a value beyond ASCII is translated."""
    return (f"(CASE WHEN strlen({expr}) = length({expr}) THEN {expr} ELSE "
            f"translate({expr}, {sql_literal(_NATIVE_DIGITS + _NATIVE_NUMBER_MARKS)}, "
            f"{sql_literal(_ASCII_FOR_NATIVE + _ASCII_NUMBER_MARKS)}) END)")


def number_sql(expr: str) -> str:
    """SQL: the number `expr` (text, thousands separated by commas or not) as DOUBLE,
    NULL when it is not one. DuckDB's cast, like Python's int(), reads '_' as a digit
    separator ('1_000' is 1000, '1_0.5' is 10.5): no national export writes one, so a
    value holding it is a damaged or hand-made cell, not a number. (contains() is a byte
    search: the cheapest test there is, on every value.)"""
    return (f"(CASE WHEN NOT contains({expr}, '_') THEN "
            f"TRY_CAST(replace(trim({expr}), ',', '') AS DOUBLE) END)")


def nhs_number_sql(digits_expr: str) -> str:
    """SQL: `digits_expr` (see nhs_digits_sql) as a BIGINT when it is ten digits, else
    NULL. Computed once, it serves both the check and the choice of what to hash."""
    return (f"(CASE WHEN regexp_full_match({digits_expr}, '[0-9]{{10}}') "
            f"THEN CAST({digits_expr} AS BIGINT) END)")


def nhs_number_valid_sql(number_expr: str) -> str:
    """SQL: TRUE when `number_expr` (see nhs_number_sql) has a correct check digit.

    The weighted sum is taken with integer arithmetic on the ten-digit number (an order
    of magnitude faster than ten substrings). With r = sum mod 11 the check digit is
    (11 - r) mod 11: r = 0 gives 0 (11 -> 0), and r = 1 gives 10, a number never
    issued, which no last digit can equal.
    """
    weighted = " + ".join(
        f"(({number_expr} // {10 ** (10 - i)}) % 10) * {11 - i}" for i in range(1, 10)
    )
    # One digit ten times is d x 1111111111: a placeholder, refused like a bad check.
    return (f"coalesce((11 - ({weighted}) % 11) % 11 = {number_expr} % 10 "
            f"AND {number_expr} % 1111111111 <> 0, false)")


def nhs_valid_sql(digits_expr: str) -> str:
    """SQL: TRUE when `digits_expr` (see nhs_digits_sql) is a valid NHS number."""
    return nhs_number_valid_sql(nhs_number_sql(digits_expr))


# What could be an NHS number wherever a value or reason is kept: ten digits, plain or
# grouped 3-3-4 however typed -- spaces (a no-break space is Excel's grouping), tabs,
# dashes, dots, slashes, underscores, up to two at a time, the first group bracketed --
# or written a digit at a time ('9 4 3 ...'), and any longer run of digits (a 17-digit
# identifier in a cost column), in the digits of any script. Dates and
# times (4-2-2) and ordinary counts do not have this shape. (Literal characters, not
# escapes, so Python's re and DuckDB's RE2 read the same pattern.)
_GAP = "[ \t\u00a0\u2009\u202f./_-]{0,2}"


# The zero of every script's decimal digits (category Nd) in Unicode 14.0, the
# database of Python 3.11 (`_digit_zeros` finds them; a test checks the two agree).
# Scanning all 1.1 M code points costs 0.1-0.3 CPU s, in every process that imports
# this module: each `eolneeds ingest` of a monthly run paid it.
_DIGIT_ZEROS_UNICODE_14 = (
    0x30, 0x660, 0x6F0, 0x7C0, 0x966, 0x9E6, 0xA66, 0xAE6, 0xB66, 0xBE6, 0xC66, 0xCE6,
    0xD66, 0xDE6, 0xE50, 0xED0, 0xF20, 0x1040, 0x1090, 0x17E0, 0x1810, 0x1946, 0x19D0,
    0x1A80, 0x1A90, 0x1B50, 0x1BB0, 0x1C40, 0x1C50, 0xA620, 0xA8D0, 0xA900, 0xA9D0,
    0xA9F0, 0xAA50, 0xABF0, 0xFF10, 0x104A0, 0x10D30, 0x11066, 0x110F0, 0x11136, 0x111D0,
    0x112F0, 0x11450, 0x114D0, 0x11650, 0x116C0, 0x11730, 0x118E0, 0x11950, 0x11C50,
    0x11D50, 0x11DA0, 0x16A60, 0x16AC0, 0x16B50, 0x1D7CE, 0x1D7D8, 0x1D7E2, 0x1D7EC,
    0x1D7F6, 0x1E140, 0x1E2F0, 0x1E950, 0x1FBF0)


def _digit_zeros() -> tuple[int, ...]:
    """The code point of the zero of every script's decimal digits (category Nd), from
    the running Python's Unicode database (the table above when it is Unicode 14.0;
    another version, with scripts added, is scanned)."""
    if unicodedata.unidata_version == "14.0.0":
        return _DIGIT_ZEROS_UNICODE_14
    return tuple(cp for cp in range(sys.maxunicode + 1)
                 if unicodedata.category(chr(cp)) == "Nd" and unicodedata.decimal(chr(cp)) == 0)


def _any_digit_class() -> str:
    """A character class of every decimal digit Unicode knows (category Nd: ASCII,
    full-width, Arabic-Indic, Devanagari, mathematical bold ...). An NHS number typed or
    exported in any of them is read as easily as in ASCII, so each is masked as it is
    (never rewritten). Each script's digits are ten consecutive code points, 0 to 9."""
    return "[0-9" + "".join(f"{chr(z)}-{chr(z + 9)}" for z in _digit_zeros()
                            if z != ord("0")) + "]"


_D = _any_digit_class()
# Every non-ASCII decimal digit, and the ASCII digit each stands for (nhs_digits): each
# script's ten digits from its zero (scanning every code point for them cost each
# process 0.1-0.15 CPU s at import again).
_NATIVE_DIGITS = "".join(chr(z + d) for z in _digit_zeros() if z != ord("0")
                         for d in range(10))
_ASCII_FOR_NATIVE = "0123456789" * (len(_NATIVE_DIGITS) // 10)
_TO_ASCII = str.maketrans(_NATIVE_DIGITS, _ASCII_FOR_NATIVE)
_NHS_LIKE = ("\\(?" + _D + "{3}\\)?" + _GAP + _D + "{3}" + _GAP + _D + "{4}" + _D + "*"
             "|" + _D + "(?:[ \t\u00a0]" + _D + "){9}")
MASK = "[10+ digits withheld]"


# A UK postcode (SW1A 1AA, M1 1AE, cb2 1tn), wherever a value or reason is kept: one
# given where an LSOA (or a code, a date) was expected was kept verbatim in field_actions
# and rejects, beside the row's number -- and the loaded row keeps the age and date of
# death, enough with the postcode to find the person. LSOA, practice and ICD-10 codes and
# dates do not have this shape. (Python's re and DuckDB's RE2 read it alike.)
_POSTCODE = "(?i)\\b[A-Z]{1,2}[0-9][A-Z0-9]?[ \t\u00a0]{0,2}[0-9][A-Z]{2}\\b"
POSTCODE_MASK = "[postcode withheld]"


def mask(text: str | None) -> str | None:
    """`text` with whatever could be an NHS number replaced by MASK, and any UK postcode
    by POSTCODE_MASK."""
    return None if text is None else re.sub(_POSTCODE, POSTCODE_MASK,
                                            re.sub(_NHS_LIKE, MASK, text))


# A name is not a value: a file's name, a column's header, a message. Dates and
# timestamps there (deaths_20241001123456.csv) must survive, so only what is an NHS number
# -- ten digits with a correct check digit, not part of a longer number -- is masked.
_NHS_IN_NAME = re.compile("(?<!" + _D + ")\\(?" + _D + "{3}\\)?" + _GAP + _D + "{3}" + _GAP
                          + _D + "{4}(?!" + _D + ")")


def mask_nhs_numbers(text: str) -> str:
    """`text` with every valid NHS number in it replaced by MASK (for names and messages,
    which are kept in the database, logs and outputs, and printed)."""
    return _NHS_IN_NAME.sub(
        lambda m: MASK if is_valid_nhs_number(_ascii_digits(m.group())) else m.group(), text)


# A postcode in a name: 'smith_M1_1AE.csv', 'deaths-SW1A1AA.csv' (a file saved per person
# by a caseworker). _POSTCODE's word boundaries do not end at '_', and its space may be
# '_', '-' or '.' here. LSOA, practice and ICD-10 codes, dates and versions ('v2',
# 'Q4_2024') do not have this shape.
_POSTCODE_IN_NAME = re.compile(
    "(?i)(?<![A-Z0-9])[A-Z]{1,2}[0-9][A-Z0-9]?[ _.\\-\u00a0]{0,2}[0-9][A-Z]{2}(?![A-Z0-9])")


def mask_identifiers(text: str) -> str:
    """A name or a message as it is kept and shown: NHS numbers (mask_nhs_numbers) and
    UK postcodes masked. These two are identifiers by their shape alone. A date of birth
    beside a name is not masked: no shape tells it from the extract date a file's name
    carries (deaths_20241001.csv), and a person's name has no shape at all."""
    return _POSTCODE_IN_NAME.sub(POSTCODE_MASK, mask_nhs_numbers(text))


# How a name (a file's, a mapping's, a sheet's) is shown, everywhere it is kept or printed:
# the run log, messages, ingest_log and so the manifest, run.json, report and packs. A
# line break in a file's name forged a second line of the run's log ("INFO all fine"); a
# right-to-left override (U+202E) showed "deaths\u202egpj.csv" as "deathscsv.jpg"; other
# control characters rewrite a terminal or are not allowed in XML. Each is shown as its
# Python escape ('\n', '\x1b', '\u202e'): visible, one line, and the same in every
# output. C0 and C1 controls, DEL, the line and paragraph separators and every Unicode
# mark that changes the direction of text around it.
UNSHOWN = ("\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e"
           "\u2066-\u2069")
_UNSHOWN = re.compile(f"[{UNSHOWN}]")


# A cell as data has it, not as a header names a column: a number, a date, a code of a
# few letters and digits (80, 1,234.50, 15/01/2024, E01000001, C34.9, A81001). Headers
# hold words (S_COD_CODE_1, LSOA11CD are neither).
_DATA_CELL = re.compile(r"[A-Za-z]{0,3}\d[\d.,/:\- ]*")


def data_as_header(headers: Iterable[str]) -> bool:
    """Whether a header row is a row of a person's data: it holds an NHS number or a
    postcode (mask_identifiers would mask it), and at least half its cells are such
    values, numbers, dates or codes. An extract exported without its header row gives
    its first row as the header, and the names of its columns were shown, logged and
    written into a mapping (person_id = "9434765919"). (One such cell among names is a
    shifted header: its columns are listed, masked.)"""
    cells = [str(h).strip() for h in headers if str(h).strip()]
    marked = [mask_identifiers(c) != c for c in cells]
    data = sum(m or bool(_DATA_CELL.fullmatch(c)) for m, c in zip(marked, cells, strict=True))
    return any(marked) and 2 * data >= len(cells)


def escape_unshown(text: str, *, keep: str = "") -> str:
    """`text` with the characters of UNSHOWN (but those in `keep`) as Python escapes."""
    return _UNSHOWN.sub(lambda m: m.group() if m.group() in keep else
                        repr(m.group())[1:-1], text)


# UNSHOWN for RE2 (DuckDB): the same characters, as escapes.
_UNSHOWN_RE2 = (r"[\x00-\x1f\x7f-\x9f\x{061c}\x{200e}\x{200f}\x{2028}\x{2029}"
                r"\x{202a}-\x{202e}\x{2066}-\x{2069}]")


def holds_unshown_sql(expr: str) -> str:
    """SQL: TRUE when `expr` holds a character of UNSHOWN (a control character, ...)."""
    return f"regexp_matches({expr}, {sql_literal(_UNSHOWN_RE2)})"


def escape_unshown_sql(expr: str) -> str:
    """SQL: escape_unshown(expr), for the values and reasons kept in rejects and
    field_actions: a control character in a value ('C34.9\rx', a NUL, an ESC) was kept
    and printed raw by validate and the report. The per-character work runs only on a
    value holding one (a regular expression's test otherwise)."""
    one = (f"lambda c: CASE WHEN NOT {holds_unshown_sql('c')} THEN c "
           "WHEN c = chr(9) THEN '\\t' WHEN c = chr(10) THEN '\\n' "
           "WHEN c = chr(13) THEN '\\r' "
           "WHEN unicode(c) < 256 THEN printf('\\x%02x', unicode(c)) "
           "ELSE printf('\\u%04x', unicode(c)) END")
    return (f"(CASE WHEN {holds_unshown_sql(expr)} THEN "
            f"array_to_string(list_transform(string_split({expr}, ''), {one}), '') "
            f"ELSE {expr} END)")


def shown_name(name: str) -> str:
    """A file's (or mapping's, or sheet's) name as eolneeds keeps and shows it: NHS
    numbers and postcodes masked (mask_identifiers), hidden and line-breaking characters
    escaped (the one rule)."""
    return escape_unshown(mask_identifiers(name))


def _ascii_digits(text: str) -> str:
    """The digits of `text`, whatever their script, as ASCII ('٩٤٣' -> '943')."""
    return "".join(str(unicodedata.decimal(c)) for c in text if c.isdecimal())


def mask_sql(expr: str) -> str:
    """SQL: mask(expr)."""
    numbers = f"regexp_replace({expr}, {sql_literal(_NHS_LIKE)}, {sql_literal(MASK)}, 'g')"
    return (f"regexp_replace({numbers}, {sql_literal(_POSTCODE)}, "
            f"{sql_literal(POSTCODE_MASK)}, 'g')")


# What a value of a coded column may be when it is kept word for word (in rejects,
# field_actions and their reasons): a code. A person's name in the wrong column ('Mrs
# Joan Smith' as a cause or a place of death) was kept verbatim beside the row's number,
# and the loaded row keeps the age, date of death and LSOA: enough to find the person.
# The rule, one for every column that expects a code, a date or a number:
#   * a token holding a digit (C34.9, E01000001, 31/02/2025, 1e308, POD9) is a code;
#   * a word of the column's own vocabulary (its code table's words: 'care', 'home',
#     'nursing' for a place of death; month names; 'unknown', 'null', 'nan') is a code;
#   * what is left may be one short word of up to three letters (NK, HSP, X) -- an
#     abbreviation a recode needs; a longer word, two words of three letters or more, or
#     a title (Mr, Mrs, Dr ...) anywhere is free text, kept only as WITHHELD.
# Free text is not recognisably a name, so it is never kept at all; the row number
# says where to look in the file. (Python's re and DuckDB's RE2 read the patterns alike.)
WITHHELD = "[words withheld]"
_TITLES = ("mr", "mrs", "ms", "miss", "mx", "dr", "rev", "revd", "sir", "dame", "lady",
           "lord", "prof", "master")
_COMMON_WORDS = (
    "january", "february", "march", "april", "may", "june", "july", "august", "september",
    "october", "november", "december", "jan", "feb", "mar", "apr", "jun", "jul", "aug",
    "sep", "sept", "oct", "nov", "dec", "unknown", "not", "known", "stated", "recorded",
    "specified", "applicable", "null", "none", "nan", "inf", "infinity", "missing", "blank",
    "true", "false", "yes", "no", "and", "or", "other", "any")
TITLE_RE = "(?i)\\b(?:" + "|".join(_TITLES) + ")\\b"
_CODE_TOKEN = "[\\pL\\pN]*\\pN[\\pL\\pN]*"


def code_words(*tables: Iterable[str]) -> tuple[str, ...]:
    """The words (two letters or more) of code tables' keys: a coded column's vocabulary."""
    words = {w for table in tables for key in table for w in re.findall(r"[a-z]{2,}", key)}
    return tuple(sorted(words | set(_COMMON_WORDS)))


def _vocabulary_re(words: Iterable[str]) -> str:
    return "(?i)\\b(?:" + "|".join(sorted(set(words) | set(_COMMON_WORDS))) + ")\\b"


def is_free_text(text: str, words: Iterable[str] = ()) -> bool:
    """True when `text`, found in a coded column, is words rather than a code (see
    WITHHELD): it is then kept nowhere."""
    if re.search(TITLE_RE, text):
        return True
    # '_' joins words ('date_of_death', a repeated header) but is a word character to \b.
    rest = re.sub(r"[^\W_]*\d[^\W_]*", " ",
                  re.sub(_vocabulary_re(words), " ", text.replace("_", " ")))
    letters = re.findall(r"[^\W\d_]+", rest)
    return any(len(w) >= 4 for w in letters) or sum(len(w) >= 3 for w in letters) >= 2


def withhold_sql(expr: str, words: Iterable[str] = ()) -> str:
    """SQL: `expr`, or WITHHELD when it is free text (is_free_text) rather than a code."""
    rest = (f"regexp_replace(regexp_replace(replace({expr}, '_', ' '), "
            f"{sql_literal(_vocabulary_re(words))}, "
            f"' ', 'g'), {sql_literal(_CODE_TOKEN)}, ' ', 'g')")
    # (A run of four letters is found with regexp_extract_all: regexp_matches with a
    # letter class costs DuckDB about 5 ms to bind, per use and again per thread, and
    # an ingest statement holds dozens of these.)
    free = (f"(regexp_matches({expr}, {sql_literal(TITLE_RE)}) "
            f"OR len(regexp_extract_all({rest}, '\\pL{{4,}}')) > 0 "
            f"OR len(regexp_extract_all({rest}, '\\pL{{3,}}')) >= 2)")
    return f"(CASE WHEN {free} THEN {sql_literal(WITHHELD)} ELSE {expr} END)"


def shape(text: str | None) -> str | None:
    """An identifier's shape, never its value: digits as #, letters as A ('### ### ####'),
    in any script (an NHS number in Arabic-Indic digits is as readable as in ASCII)."""
    if text is None:
        return None
    return re.sub(r"[^\W\d_]", "A", re.sub(_D, "#", text))[:20]


def shape_sql(expr: str) -> str:
    """SQL: shape(expr). RE2's \\pL is every letter, as Python's [^\\W\\d_] is."""
    return (f"left(regexp_replace(regexp_replace({expr}, {sql_literal(_D)}, '#', 'g'), "
            "'\\pL', 'A', 'g'), 20)")


# ---------------------------------------------------------------------------------------
# Pseudonymisation: HMAC-SHA256 (RFC 2104)


def pseudonymise_one(identifier: str, key: bytes) -> str:
    return hmac.new(key, identifier.encode("utf-8"), hashlib.sha256).hexdigest()[
        :PSEUDONYM_LENGTH
    ]


def pseudonymise(ids: Iterable[str | None], key: bytes) -> list[str | None]:
    """HMAC-SHA256 of each identifier with the project key, hex, first 32 characters."""
    return [None if i is None else pseudonymise_one(i, key) for i in ids]


def hmac_pads(key: bytes) -> tuple[bytes, bytes]:
    """The inner and outer key blocks of HMAC-SHA256 (RFC 2104, block size 64)."""
    if len(key) > 64:
        key = hashlib.sha256(key).digest()
    block = key.ljust(64, b"\0")
    return bytes(b ^ 0x36 for b in block), bytes(b ^ 0x5C for b in block)


def pseudonymise_sql(expr: str, inner_param: str, outer_param: str) -> str:
    """SQL: HMAC-SHA256(key, expr) as hex, first 32 characters.

    HMAC = H(outer || H(inner || message)); the pads come from hmac_pads(key) as BLOB
    parameters, so the key itself never appears in the SQL text.
    """
    inner = f"unhex(sha256({inner_param} || encode({expr})))"
    return f"left(sha256({outer_param} || {inner}), {PSEUDONYM_LENGTH})"


# ---------------------------------------------------------------------------------------
# Coded fields. Lookups use a key: lower case, runs of anything but letters, digits, '&'
# and '+' turned into one space, trimmed -- so "Care_Home", "care-home" and "CARE HOME"
# are the same key.

# (Control characters are kept: 'care\rhome' is no code, where taking the CR for a
# space made it care home.)
_KEY_JUNK = r"[^a-z0-9&+\x00-\x1f\x7f-\x9f]+"
# A whole-number code written as a decimal ('1.0', '83.00'): what a tool that read the
# column as numbers writes (pandas does whenever a value is missing). The same code.
_DECIMAL_ZEROS = r"^\s*([0-9]+)\.0+\s*$"


def code_key(value: str) -> str:
    return re.sub(_KEY_JUNK, " ", re.sub(_DECIMAL_ZEROS, r"\1", value).lower()).strip()


def code_key_sql(expr: str) -> str:
    # The decimal is looked for only where there is a dot (a byte search): most values
    # have none, and a regular expression on every row of a large file costs.
    unzeroed = (f"(CASE WHEN contains({expr}, '.') THEN regexp_replace({expr}, "
                f"{sql_literal(_DECIMAL_ZEROS)}, '\\1') ELSE {expr} END)")
    return f"trim(regexp_replace(lower({unzeroed}), {sql_literal(_KEY_JUNK)}, ' ', 'g'))"


def _with_canonical(words: Iterable[str], aliases: Mapping[str, str]) -> dict[str, str]:
    table = {code_key(word): word for word in words}
    table.update({code_key(k): v for k, v in aliases.items()})
    return table


SEX_CODES: dict[str, str] = _with_canonical(SEXES, {
    # NHS Data Dictionary person stated gender: 1 male, 2 female, 9 not specified,
    # 0 not known.
    # (Written with a leading zero too, as a two-character code field exports them.)
    "1": "male", "01": "male", "m": "male", "man": "male",
    "2": "female", "02": "female", "f": "female", "woman": "female",
    "0": "unknown", "00": "unknown", "9": "unknown", "09": "unknown", "u": "unknown",
    "x": "unknown", "i": "unknown",
    "not known": "unknown", "not specified": "unknown", "indeterminate": "unknown",
})

PLACE_OF_DEATH_CODES: dict[str, str] = _with_canonical(PLACES_OF_DEATH, {
    "own home": "home", "usual residence": "home", "private residence": "home",
    "private home": "home", "house": "home", "residence": "home",
    "carehome": "care_home", "nursing home": "care_home", "residential home": "care_home",
    "care home nursing": "care_home", "care home residential": "care_home",
    "residential care home": "care_home", "nursing care home": "care_home",
    "care home with nursing": "care_home", "care home without nursing": "care_home",
    "own residence": "home",
    "nhs hospital": "hospital", "acute hospital": "hospital",
    "community hospital": "hospital", "non nhs hospital": "hospital",
    "hospice inpatient": "hospice",
    "religious establishment": "religious",
    "elsewhere": "other", "other communal establishment": "other",
    "public place": "other", "other place": "other",
    "not known": "unknown", "not stated": "unknown",
    # ONS's place-of-death categories as its tables and extracts name them (psychiatric
    # hospitals are 'other' in the PHE classification, REFERENCE.md).
    "home usual residence": "home", "usual place of residence": "home", "at home": "home",
    "hospital acute or community not psychiatric": "hospital",
    "nhs hospital acute or community": "hospital", "hospital acute": "hospital",
    "care home nursing or residential": "care_home", "nursing residential home": "care_home",
    "care home nhs": "care_home", "care home non nhs": "care_home",
    "hospice nhs": "hospice", "hospice non nhs": "hospice", "nhs hospice": "hospice",
    "non nhs hospice": "hospice",
    "psychiatric hospital": "other", "communal establishment": "other",
    "other communal establishments": "other", "elsewhere other": "other",
    "religious establishments": "religious",
})

# NHS ethnic category (Data Dictionary): the letter codes' five broad groups.
_ETHNIC_LETTERS = {
    "white": "ABC", "mixed": "DEFG", "asian": "HJKL", "black": "MNP", "other": "RS",
    "not_known": "Z",
}
ETHNIC_LETTER_CODES: dict[str, str] = {
    letter.lower(): group for group, letters in _ETHNIC_LETTERS.items() for letter in letters
}
ETHNICITY_CODES: dict[str, str] = _with_canonical(ETHNIC_GROUPS, {
    "white british": "white", "white irish": "white", "any other white background": "white",
    "mixed white and black caribbean": "mixed", "mixed white and black african": "mixed",
    "mixed white and asian": "mixed", "any other mixed background": "mixed",
    "mixed multiple ethnic groups": "mixed",
    "asian or asian british": "asian", "indian": "asian", "pakistani": "asian",
    "bangladeshi": "asian", "any other asian background": "asian",
    "black or black british": "black", "caribbean": "black", "african": "black",
    "any other black background": "black", "black african caribbean or black british": "black",
    # NHS category R (Chinese) sits in "Other ethnic groups".
    "chinese": "other", "other ethnic group": "other", "other ethnic groups": "other",
    "any other ethnic group": "other",
    "not stated": "not_known", "not known": "not_known", "unknown": "not_known",
    "prefer not to say": "not_known", "refused": "not_known", "99": "not_known",
})

ACTIVITY_TYPE_CODES: dict[str, str] = _with_canonical(ACTIVITY_TYPES, {
    "emergency": "emergency_admission", "non elective": "emergency_admission",
    "nonelective": "emergency_admission", "non elective admission": "emergency_admission",
    "nel": "emergency_admission", "unplanned admission": "emergency_admission",
    "elective": "elective_admission", "planned admission": "elective_admission",
    "el": "elective_admission", "day case": "elective_admission",
    "a&e": "ae_attendance", "a e": "ae_attendance", "ae": "ae_attendance",
    "ed": "ae_attendance", "a&e attendance": "ae_attendance",
    "emergency department": "ae_attendance", "ed attendance": "ae_attendance",
    "community": "community_contact",
    "spc": "specialist_palliative_contact",
    "specialist palliative care": "specialist_palliative_contact",
    "specialist palliative care contact": "specialist_palliative_contact",
    "hospice": "hospice_inpatient", "hospice admission": "hospice_inpatient",
    "op": "outpatient", "outpatient attendance": "outpatient",
})

# Yes/no flags recorded as not known: no value, not a fault (code_key form).
BOOLEAN_NOT_KNOWN = ("unknown", "not known", "not recorded", "not stated", "u", "n a",
                     "not applicable", "not discussed", "not asked")

BOOLEAN_CODES: dict[str, str] = {
    "y": "true", "yes": "true", "true": "true", "t": "true", "1": "true",
    "n": "false", "no": "false", "false": "false", "f": "false", "0": "false",
}


def _age_band_codes() -> dict[str, str]:
    table: dict[str, str] = {}
    for band in AGE_BANDS_ESP:
        if band.endswith("+"):
            lo = band[:-1]
            for form in (f"{lo}+", f"{lo} +", f"{lo} and over", f"{lo} plus", f"{lo}plus",
                         f"{lo} over"):
                table[code_key(form)] = band
        else:
            lo, hi = band.split("-")
            for form in (f"{lo}-{hi}", f"{int(lo):02d}-{int(hi):02d}", f"{lo} to {hi}",
                         f"aged {lo} to {hi}", f"{lo}_{hi}"):
                table[code_key(form)] = band
    return table


AGE_BAND_CODES: dict[str, str] = _age_band_codes()


def user_recode(user: Mapping[str, str]) -> dict[str, str]:
    """A mapping's [recode.X] table by code_key: what ingest looks values up in. Where
    two entries have one key ('Own home' and 'own-home') the first wins. Cached: a
    large table (100,000 old-to-new codes) is keyed once, not at every use."""
    return _user_recode(tuple(user.items()))


@functools.lru_cache(maxsize=32)
def _user_recode(items: tuple[tuple[str, str], ...]) -> dict[str, str]:
    keyed: dict[str, str] = {}
    for source, target in items:
        keyed.setdefault(code_key(source), target)
    return keyed


def recode(value: str | None, table: Mapping[str, str], *, fallback: str | None = None,
           user: Mapping[str, str] | None = None) -> str | None:
    """Python reference of recode_sql: the user's [recode] table first (by key), then
    the built-in table, then `fallback` (None: unmappable)."""
    if value is None or not value.strip():
        return None
    key = code_key(value)
    if user:
        user_keys = user_recode(user)
        if key in user_keys:
            return user_keys[key]
    return table.get(key, fallback)


def ethnicity(value: str | None, user: Mapping[str, str] | None = None) -> str | None:
    """Words first, then a letter code (first letter of 'A', 'CA', 'J1'), else not_known."""
    found = recode(value, ETHNICITY_CODES, user=user)
    if found is None and value is not None and value.strip():
        key = code_key(value)
        if re.fullmatch(r"[a-z][a-z0-9]?", key):
            found = ETHNIC_LETTER_CODES.get(key[0])
        found = found or "not_known"
    return found


def case_sql(key_expr: str, table: Mapping[str, str]) -> str:
    """SQL: CASE key WHEN 'k' THEN 'v' ... END over one of this module's code tables."""
    whens = " ".join(f"WHEN {sql_literal(k)} THEN {sql_literal(v)}" for k, v in table.items())
    return f"(CASE {key_expr} {whens} END)"


def ethnicity_letter_sql(key_expr: str) -> str:
    letter = case_sql(f"left({key_expr}, 1)", ETHNIC_LETTER_CODES)
    return f"(CASE WHEN regexp_full_match({key_expr}, '[a-z][a-z0-9]?') THEN {letter} END)"

