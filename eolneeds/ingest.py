"""Ingest: read an extract, map it onto a canonical table, normalise and check every value,
and load each row -- or quarantine it in `rejects` with a readable reason.

The "nothing lost" contract (DESIGN.md section 10):

* every row read lands in exactly one place: the canonical table or `rejects` (one
  reject row per rejected input row, all its problems joined with "; "), and
  ingest_log records rows_read = rows_loaded + rows_rejected;
* one transaction per file: a crash or kill mid-file leaves the database as it was;
* the same bytes again (content hash) are a no-op; `replace=True` swaps out earlier
  files of the same name and dataset (ingest_log.replaced_by);
* problems with the whole file (empty, unreadable, missing or duplicated columns) raise
  InputDataError with one line naming the file and the fix.

The work is SQL over the whole file, never a Python loop per row, and costs little more
than reading the file (the benchmark's target is 1.5x the pseudonymised floor):

1. the file is read as text into a temporary table (readers.read_into). The lookups'
   DISTINCT scans, the typing pass and the count of rows read all read it again;
   streaming the file twice instead (its lookups' values in one GROUPING SETS pass,
   then the typing pass over `read_csv(...) WITH ORDINALITY`) measured no cheaper on
   the 16.6 M-row England community file (BENCHMARKS.md, 2026-12-01 19:27-21:00);
2. one query computes every row's typed values and whether it fails a check. What
   depends on one source column (cleaning, pseudonymising, parsing, recoding and the
   checks on it) is computed once per DISTINCT value and joined back, not once per
   row; the rows that pass go straight into the dataset's table, in the file's
   transaction (a row with a field fixed marked by a negative source_row), and the
   rows left out are found by counting (_loads_direct, _mark_left_out);
3. the rows left out and the marked ones are read again to spell out all their
   problems, and moved with any duplicates to `rejects` (see _select_sql, _quarantine).
   (Into a dataset with unique keys that holds rows already, and for a reshaped table,
   every typed row goes into a temporary table first: ROWS_TABLE says why.)

Person identifiers are pseudonymised inside DuckDB (HMAC-SHA256), so clear identifiers
never reach a persistent table.
"""

from __future__ import annotations

import csv
import dataclasses
import difflib
import functools
import hashlib
import json
import math
import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from pathlib import Path
from typing import Any

import duckdb

from eolneeds import normalise as nz
from eolneeds import presets, readers
from eolneeds.config import AREA_PARTS, CANONICAL_MAPPING, YEAR_RANGE, ProjectConfig, resolve_key
from eolneeds.db import TEMP_FOLDER, connect
from eolneeds.errors import (
    ConfigError,
    EolneedsError,
    InputDataError,
    ProjectLockedError,
    UsageError,
    input_error,
    shell_arg,
)
from eolneeds.formatting import plural
from eolneeds.inspect import mapping_for_file
from eolneeds.presets import Derived, Preset, get_preset, recognise
from eolneeds.reporting import Reporter
from eolneeds.schema import (
    ACTIVITY_TYPES,
    AGE_BANDS_ESP,
    CANONICAL_COLUMNS,
    DATASETS,
    ETHNIC_GROUPS,
    PLACES_OF_DEATH,
    create_schema,
)

MAX_VALUE_LENGTH = 255  # longer values are a delimiter/quoting fault, not data
SHOWN_VALUE_LENGTH = 50  # values quoted in reasons are cut to this
RAW_TABLE = "__eolneeds_raw"
STAGE_TABLE = "__eolneeds_stage"  # the file's rejected rows and their reasons
ACTIONS_TABLE = "__eolneeds_actions"  # the file's field-level actions
BAD_RAW_TABLE = "__eolneeds_bad_raw"  # the raw text of the rows marked bad
ROW_MAP_TABLE = "__eolneeds_row_map"  # a reshaped table's rows -> the file's rows
ROW_SEX = "__sex"  # a reshaped table's column of each row's sex (Nomis's tables per sex)
# The rows of an episode file without an episode order (presets.unordered_episodes)
# that do not give their spell's discharge date: (__row).
DISCHARGED_TABLE = "__eolneeds_discharged"
LATER_TABLE = "__eolneeds_later"  # their later episodes (_quarantine_same_spell)
# The file's typed rows before they go into the dataset's table. DuckDB writes a large
# INSERT straight to the database file, but deleting any row the transaction inserted
# makes its COMMIT write every row again (16 M activity rows: 8 s), and so does
# inserting from a table the transaction deleted rows of: so the rows are marked here,
# and those that load are inserted once, the rejected ones left out by a filter.
ROWS_TABLE = "__eolneeds_rows"
# The rows read again to spell out their problems: (__row, __loaded) -- left out of the
# dataset's table (a check failed), or loaded with a field fixed.
MARKED_TABLE = "__eolneeds_marked"
READ_BLOCKS_TABLE = "__eolneeds_blocks"  # rows per block of row numbers (_mark_left_out)
# Row numbers are counted in blocks of this many to find the rows left out.
ROW_BLOCK = 65_536
# Up to this many marked rows are spelt out on one thread (_quarantine).
FEW_MARKED_ROWS = 10_000

# Rows that must be unique per dataset: (key columns, what a duplicate is called).
UNIQUE_KEYS: dict[str, tuple[tuple[str, ...], str]] = {
    "deaths": (("person_id",), "death for this person"),
    "areas": (("lsoa_code",), "row for this lsoa_code"),
    "lsoa_places": (("lsoa_code",), "row for this lsoa_code"),
    "population": (("lsoa_code", "year", "sex", "age_band"),
                   "row for this lsoa_code, year, sex and age_band"),
    "projections": (("area_code", "year", "sex", "age_band"),
                    "row for this area_code, year, sex and age_band"),
}
# Datasets whose rows may repeat within a file (two A&E attendances in a day, the later
# episodes of one spell), but a row repeating one loaded from an earlier file of the same
# feed (read with the same mapping) is the same event sent again: a cumulative
# (year-to-date) SUS / HES / ECDS re-supply, a register snapshot repeating every entry.
# Such repeats are quarantined as duplicates, counted as a multiset: the k-th row of a key
# in this file repeats the k-th earlier row of it, so an event new to this file loads even
# when an earlier file holds another of the same key. (key columns, what a row is called)
# Where the extract gives a spell identifier (spell_id: SUS APCS_IDENT, SPELL_ID), it is
# part of the key, so a second spell of a person on one day is a new admission, not a
# repeat of the first; keys are compared NULL-safe (IS NOT DISTINCT FROM), so a feed
# without one compares as before.
REPEAT_KEYS: dict[str, tuple[tuple[str, ...], str]] = {
    "activity": (("person_id", "activity_type", "start_date", "spell_id"),
                 "activity row for this person, activity_type and start_date"),
    "register": (("person_id", "date_added"), "register row for this person and date_added"),
}
# The datasets whose cumulative re-supplies replace the earlier loads they repeat whole
# (_superseded_loads), by these keys: a monthly PCMD / DARS death extract holds every
# registration again, amendments applied (a cause or place corrected after an inquest).
SUPERSEDE_KEYS: dict[str, tuple[str, ...]] = {
    "deaths": UNIQUE_KEYS["deaths"][0],
    **{dataset: keys for dataset, (keys, _what) in REPEAT_KEYS.items()},
}

# What a death with no identifier is recognised by when it is sent again (its unlinked
# id): facts an ONS amendment does not change (a cause or place of death may be).
UNLINKED_DEATH_FACTS = ("date_of_death", "date_of_registration", "date_of_birth", "age",
                        "sex", "lsoa_code")

# The null dates of SUS / HES extracts (normalise.NULL_DATES).
NULL_DATES = nz.NULL_DATES
DATE_COLUMNS = {"date_of_death", "date_of_registration", "date_of_birth", "date_added",
                "start_date", "end_date"}
# canonical column -> (lowest, highest) whole number accepted
WHOLE_NUMBER_RANGES = {"age": (0, 120), "year": YEAR_RANGE, "imd_decile": (1, 10),
                       "imd_rank": (1, 1_000_000)}
NUMBER_COLUMNS = {"cost", "population",
                  # benchmarks (the Fingertips download): values, limits, count, denominator
                  "value", "lower_ci_95", "upper_ci_95", "lower_ci_99_8", "upper_ci_99_8",
                  "count", "denominator"}
# Plausibility bounds (README "Plausibility bounds"): (dataset, column) -> (highest value,
# whole numbers only). £10m is far above any one hospital episode's cost; 10 million
# people is more than any ICB, let alone one LSOA cell; projections may be fractional.
# The bounds also keep every sum the queries take exact and in range (a DECIMAL(18, 2)
# cost, SII fits on populations).
NUMBER_BOUNDS: dict[tuple[str, str], tuple[int, bool]] = {
    ("activity", "cost"): (10_000_000, False),
    ("population", "population"): (10_000_000, True),
    ("projections", "population"): (10_000_000, False),
    # National values (the Fingertips download) may be negative (a slope index, a change)
    # and a bad one blanks only itself: the row still records its indicator and period.
    **{("benchmarks", c): (1_000_000_000_000, False) for c in (
        "value", "lower_ci_95", "upper_ci_95", "lower_ci_99_8", "upper_ci_99_8", "count",
        "denominator")},
}
SIGNED_NUMBER_DATASETS = {"benchmarks"}
LSOA_SHAPE = "[EW]01[0-9]{6}"
# What the number parser strips ('[£,\s]': RE2's \s is [\t\n\f\r ]; \v is added to be
# safe), as SQL literals.
NUMBER_JUNK = ("'£'", "','", "' '", "chr(9)", "chr(10)", "chr(11)", "chr(12)", "chr(13)")
# A number with a comma is read as thousands-separated only when its commas group
# digits in threes ("1,234.50"); anything else with a comma is a decimal comma.
# (A partial match, cheaper than matching the whole value against a thousands pattern:
# a comma not followed by exactly three digits, or a point before a comma.)
NOT_THOUSANDS = r",([0-9]{0,2}|[0-9]{4,})([^0-9]|$)|\.[0-9]*,"
DECIMAL_COMMA = r"[-+]?([0-9]{1,3}(\.[0-9]{3})+|[0-9]*),[0-9]+"
DECIMAL_COMMA_REASON = "uses a comma as the decimal mark"
UPPER_CASE_CODES = {"lsoa_code", "gp_practice", "admission_method", "practice_code",
                    "pcn_code"}
# An extract exported without its header row (normalise.data_as_header).
NO_HEADER_ROW = ("its header row holds an NHS number or a postcode, not column names: the "
                 "extract was exported without its header row (so its columns are not "
                 "listed here)")
NO_HEADER_FIX = "export it again with the column names as its first row, then {} it again"
# Datasets of people: a value there may be a person's name in the wrong column.
PERSON_DATASETS = {"deaths", "register", "activity"}
# Each coded column's vocabulary (normalise.is_free_text): words its codes are made of.
COLUMN_WORDS: dict[str, tuple[str, ...]] = {
    "sex": nz.code_words(nz.SEX_CODES),
    # With the words of the pcmd_deaths preset's own description of a code pair no PHE
    # rule fits (presets.py): it is the product's wording, not the file's.
    "place_of_death": nz.code_words(nz.PLACE_OF_DEATH_CODES,
                                    ("no phe rule for nhs establishment type",)),
    "preferred_place_of_death": nz.code_words(nz.PLACE_OF_DEATH_CODES),
    "ethnicity": nz.code_words(nz.ETHNICITY_CODES),
    "activity_type": nz.code_words(nz.ACTIVITY_TYPE_CODES),
    "dnacpr": nz.code_words(nz.BOOLEAN_CODES, nz.BOOLEAN_NOT_KNOWN),
    "advance_care_plan": nz.code_words(nz.BOOLEAN_CODES, nz.BOOLEAN_NOT_KNOWN),
}
# Text kept as it comes in a dataset of people (and published: a practice is a
# breakdown of the indicator table): words with no digit there are blanked, not loaded.
KEPT_CODES = ("gp_practice", "admission_method", "treatment_function")
# Datasets with (about) one row per person: person_id is pseudonymised row by row
# rather than through a lookup of distinct values.
ONE_ROW_PER_PERSON = {"deaths", "register"}
# Columns with about as many distinct values as rows: per row too. (Costs looked up
# once per distinct value instead -- a tariff repeats -- measured no better on the
# whole process, paired at load 14-21: community 4 M rows 0.98-1.08x, HES 1.5 M
# spells with 557,000 distinct costs 0.97-1.03x; BENCHMARKS.md 2026-12-02 12:00.)
PER_ROW_COLUMNS = {"cost", "spell_id"}


@dataclass(frozen=True)
class FileResult:
    file: Path
    dataset: str
    file_id: int
    rows_read: int
    rows_loaded: int
    rows_rejected: int
    skipped: bool = False  # the same content was already loaded: nothing done


# ---------------------------------------------------------------------------------------
# Building the SQL


class _Params:
    """Collects named parameters so that no value is ever formatted into SQL."""

    def __init__(self) -> None:
        self.values: dict[str, Any] = {}

    def used_in(self, sql: str) -> dict[str, Any]:
        """The parameters `sql` refers to (DuckDB refuses unused ones)."""
        used = set(re.findall(r"\$(p[0-9]+)\b", sql))
        return {k: v for k, v in self.values.items() if k in used}

    def add(self, value: Any) -> str:
        name = f"p{len(self.values)}"
        self.values[name] = value
        return f"${name}"


@dataclass
class _Check:
    reason: _When  # the condition under which the check fails, and the reason it gives
    column: str | None  # canonical column it concerns (None: the whole row)
    value: str  # SQL: the value shown in rejects.value
    # Where the check can be evaluated: the source columns ("sN") it depends on, () when
    # it needs the whole row. Checks on one source are evaluated once per distinct value.
    home: tuple[str, ...] = ()
    source: str | None = None  # a check on one source column, whatever feeds from it
    # None: the row is quarantined. Otherwise the field-level action taken while the row
    # still loads ('blanked', 'set to unknown', 'unlinked', 'code dropped'): the value SQL
    # must already give the blank/unknown value whenever `reason` is not NULL.
    action: str | None = None


@dataclass
class _Plan:
    """The SQL pieces for one file, filled in by _plan_columns."""

    sources: dict[str, str] = field(default_factory=dict)  # header -> "sN"
    # canonical -> the sources ("sN") its text is computed from; () for a constant
    keys: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # list columns (several sources, one ICD-10 code each): canonical -> sources
    list_sources: dict[str, list[str]] = field(default_factory=dict)
    extra_fields: str | None = None  # SQL over the raw table: row wider than the header
    short_fields: str | None = None  # SQL over the raw table: row narrower than the header
    header_again: str | None = None  # SQL over the raw table: the row repeats the header
    texts: dict[str, str] = field(default_factory=dict)  # canonical -> text SQL (over sN)
    values: dict[str, str] = field(default_factory=dict)  # canonical -> typed SQL (over t_)
    checks: list[_Check] = field(default_factory=list)
    prep: dict[str, str] = field(default_factory=dict)  # canonical -> helper SQL (over t_)
    prep2: dict[str, str] = field(default_factory=dict)  # canonical -> helper SQL (over x_)
    finals: dict[str, str] = field(default_factory=dict)  # canonical -> final SQL (over v_)
    totals_sources: list[str] = field(default_factory=list)  # "sN" names
    # A value quoted in a reason is withheld when it is words (normalise.withhold_sql:
    # six regular expressions, which DuckDB compiles however few rows it reads), so it
    # is computed once per column, and only in the pass over the marked rows:
    # helper name -> SQL, "w_<canonical>" and "wr_<canonical>" (its rejected value) over
    # the column's text, "ws_<sN>" over one source column.
    withheld: dict[str, str] = field(default_factory=dict)
    preset_note: str = ""  # which of their known names the preset's columns were read as
    unread: list[str] = field(default_factory=list)  # optional columns under a slip of name


def _number_sql(t: str, decimal: str) -> str:
    """SQL: the number in text `t` as DOUBLE, NULL when it is not one; '£', white space
    and thousands separators allowed. `decimal` is the mapping's decimal mark: "," reads
    "1.234,56" as 1234.56; otherwise a comma must separate thousands (see NOT_THOUSANDS).

    Most values cast directly; only those that do not are searched for the characters
    to strip. Same result as stripping first: a value DuckDB casts holds no '£' or ','
    and at most surrounding white space, which its cast ignores anyway -- and the direct
    cast is 4x cheaper than the searches."""
    bare = f"regexp_replace({t}, '[£\\s]', '', 'g')"
    # DuckDB's cast reads '_' as a digit separator (nz.number_sql): never a number here.
    if decimal == ",":
        european = r"[-+]?([0-9]{1,3}(\.[0-9]{3})+|[0-9]+)(,[0-9]+)?"
        return (f"(CASE WHEN NOT contains({t}, '_') THEN coalesce((CASE WHEN NOT "
                f"contains({t}, '.') THEN TRY_CAST({t} AS DOUBLE) "
                f"END), (CASE WHEN regexp_full_match({bare}, '{european}') THEN TRY_CAST("
                f"replace(replace({bare}, '.', ''), ',', '.') AS DOUBLE) END)) END)")
    strip = " OR ".join(f"contains({t}, {c})" for c in NUMBER_JUNK)
    return (f"(CASE WHEN NOT contains({t}, '_') THEN "
            f"coalesce(TRY_CAST({t} AS DOUBLE), (CASE WHEN {strip} THEN (CASE WHEN NOT "
            f"regexp_matches({t}, '{NOT_THOUSANDS}') THEN "
            f"TRY_CAST(regexp_replace({t}, '[£,\\s]', '', 'g') AS DOUBLE) END) END)) END)")


def _shown(expr: str) -> str:
    """SQL: a value cut short for quoting inside a reason."""
    return (f"(CASE WHEN length({expr}) > {SHOWN_VALUE_LENGTH} "
            f"THEN left({expr}, {SHOWN_VALUE_LENGTH - 3}) || '...' ELSE {expr} END)")


def _say(*parts: str) -> str:
    """SQL concat of literal text (odd positions) and SQL expressions (even positions)."""
    pieces = [nz.sql_literal(p) if i % 2 == 0 else p for i, p in enumerate(parts)]
    return "concat(" + ", ".join(pieces) + ")"


@dataclass(frozen=True)
class _When:
    """A check: `message` (SQL text) when `condition` (SQL) holds."""

    condition: str
    message: str

    def reason(self) -> str:
        """SQL: the reason text, NULL when the value is fine."""
        return f"(CASE WHEN {self.condition} THEN {self.message} END)"

    def flag(self) -> str:
        """SQL: TRUE where `reason` is not NULL, else NULL. The typing pass only asks
        whether a check fails; the reason's text (values quoted, words withheld: dozens
        of regular expressions per column) is built only for the rows marked. DuckDB
        binds and compiles every expression of a statement however few rows reach it:
        the reasons made the deaths typing pass cost 2 CPU s more, whatever the rows."""
        return f"(CASE WHEN {self.condition} THEN true END)"


def _when(condition: str, message: str) -> _When:
    return _When(condition, message)


_find_header = presets.find_header


def _mapping_file(config: ProjectConfig, mapping_name: str) -> str:
    """The mapping as messages name it: its file, or its table in eolneeds.toml."""
    if mapping_name == CANONICAL_MAPPING:
        return "no mapping (the canonical column names)"
    path = config.root / "mappings" / f"{mapping_name}.toml"
    return str(path) if path.is_file() else f"the [mappings.{mapping_name}] table"


def preset_advice(national: str, path: Path, config: ProjectConfig) -> str:
    """The fix for a file in a national layout that the mapping in use does not name:
    the preset is the whole of it (ARCHITECTURE.md, "Presets"). The commands name the
    file as the user gave it and the project, so they run as written from where the
    user is; a mapping that already reads the layout is named rather than written again
    (`run` and `ingest` without --mapping choose it: inspect.mapping_for_file)."""
    root = config.root
    kind = get_preset(national).dataset
    file, project = shell_arg(path), shell_arg(root)
    ingest = f"eolneeds ingest {kind} {file} --mapping {{}} --project {project}"
    have = sorted(m.name for m in config.mappings.values()
                  if m.preset == national and m.dataset == kind)
    if have:
        return (f"the file is in the national {national} layout, which mapping {have[0]!r} "
                f"reads: run {ingest.format(have[0])}")
    target = root / "mappings" / f"{national}.toml"
    if national in config.mappings or target.exists():
        return (f"the file is in the national {national} layout: set dataset = \"{kind}\" "
                f"and preset = \"{national}\" in {target}, then run {ingest.format(national)}")
    return (f"the file is in the national {national} layout: write "
            f"{target} holding dataset = \"{kind}\" and preset = "
            f"\"{national}\" (eolneeds inspect {file} --write-mapping {national} --project "
            f"{project} does it), then run {ingest.format(national)}")


def _starts_like_epraccur(path: Path) -> bool:
    """Whether a plain CSV's first line is a row of ODS's epraccur (presets.epraccur_row):
    looked at only when the file could not be read, to say what it is."""
    try:
        if readers.detect_format(path)[0] != "csv" or readers.detect_format(path)[1]:
            return False
        with path.open("rb") as fh:
            first = fh.read(4096).decode("latin-1").splitlines()[:1]
    except (OSError, EolneedsError):
        return False
    return bool(first) and presets.epraccur_row(next(csv.reader(first)))


def _epraccur_error(path: Path, config: ProjectConfig) -> Exception:
    """ODS's epraccur practice list read with a mapping that expects a header row: what
    it is, and the mapping that reads it (preset ods_epraccur, by position)."""
    file, project = shell_arg(path), shell_arg(config.root)
    have = sorted(m.name for m in config.mappings.values()
                  if m.preset == "ods_epraccur" and m.dataset == "practices")
    ingest = f"eolneeds ingest practices {file} --mapping {{}} --project {project}"
    # Named 'epraccur', the mapping is also the one `run` takes for epraccur.csv.
    run = (f"run {ingest.format(have[0])}" if have else
           f"write {config.root / 'mappings' / 'epraccur.toml'} holding dataset = "
           f"\"practices\" and preset = \"ods_epraccur\", then run "
           f"{ingest.format('epraccur')}")
    return input_error(
        path.name, "is NHS ODS's epraccur practice list: it has no header row (its first "
        "line is a practice), so only preset ods_epraccur, which reads its columns by "
        "position, reads it", run)


def _national_sheet(path: Path) -> tuple[str, str] | None:
    """(sheet, preset) of the first sheet of a workbook in a national layout, else None."""
    if readers.detect_format(path)[0] != "xlsx":
        return None
    try:
        sheets = readers.scan_workbook(path)
    except InputDataError:  # only a hint: the error already found is the one to show
        return None
    for sheet in sheets:
        national = recognise(sheet.headers) if sheet.headers else None
        if national is not None:
            return sheet.name, national
    return None


def _plan_columns(
    config: ProjectConfig,
    dataset: str,
    raw: readers.RawTable,
    mapping: Any,
    preset: Preset | None,
    file_name: str,
    params: _Params,
    date_format: str,
    inner_pad: str,
    outer_pad: str,
    today: str,
    given: Path | None = None,  # the file as the user named it, for commands in advice
) -> _Plan:
    plan = _Plan()
    headers = raw.headers
    where = _mapping_file(config, mapping.name)

    def source(header: str) -> str:
        if header not in plan.sources:
            plan.sources[header] = f"s{len(plan.sources)}"
        return f'"{plan.sources[header]}"'

    # What the preset reads from this file (the mapping's own [columns] win).
    resolution = (presets.resolve(preset, headers, overridden=mapping.columns.keys(),
                                  defaulted=mapping.defaults.keys())
                  if preset is not None else None)
    if resolution is not None:
        plan.preset_note = resolution.describe()

    # Headers already spoken for (canonical names, mapped or preset columns) are no
    # good as "did you mean" suggestions.
    taken = {c.lower() for c, _, _ in CANONICAL_COLUMNS[dataset]}
    taken |= {str(s).lower() for s in mapping.columns.values() if isinstance(s, str)}
    if preset is not None:
        for preset_spec in preset.columns.values():
            taken |= {n.lower() for n in presets.spec_names(preset_spec)}

    def listed() -> str:
        found = ", ".join(repr(h) for h in headers[:20]) + (" ..." if len(headers) > 20 else "")
        if raw.merged_header:
            # One merged cell over several columns leaves the others without a header
            # (and a header split over two merged rows is read as blanks).
            cells = ", ".join(raw.merged_header[:5])
            found += (f"; the header row has merged cells ({cells}) — unmerge them in "
                      "Excel (Home > Merge & Center > Unmerge Cells) and give each column "
                      "its own header on one row, then ingest again")
        return found

    def no_header() -> Exception | None:
        """A row of a person's data read as the header: never listed (it is printed and
        logged), and no column to rename."""
        if nz.data_as_header(headers):
            return input_error(file_name, NO_HEADER_ROW, NO_HEADER_FIX.format("ingest"))
        return None

    def missing(wanted: str, canonical: str) -> Exception:
        if (refused := no_header()) is not None:
            return refused
        close = readers.closest_header(wanted, [h for h in headers if h.lower() not in taken])
        hint = f"did you mean {close!r}? " if close else ""
        if len(headers) == 1:
            hint += ("only one column was found: check the delimiter, or set header_row in "
                     "the mapping if the headers are not on the first row; ")
        national = recognise(headers) if preset is None else None
        if wanted != canonical and close:
            # A column the mapping names, misspelt: the spelling is the fix.
            fix = (f"did you mean {close!r}? set {canonical} = \"{close}\" under [columns] "
                   f"in {where}")
        elif national is not None:
            fix = preset_advice(national, given or Path(file_name), config)
        elif wanted == canonical:
            # No mapping in use: mappings/<dataset>.toml is the one ingest would read.
            target = where if mapping.name != CANONICAL_MAPPING else f"mappings/{dataset}.toml"
            fix = (f"{hint}rename the column, or map it with {canonical} = "
                   f"\"{close or 'Your column'}\" under [columns] in {target}")
        else:
            fix = (f"set {canonical} under [columns] in {where} to one of the columns found, "
                   "or check that this is the file the mapping is for")
        return input_error(file_name, f"required column {wanted!r} is missing (found: "
                           f"{listed()})", fix)

    def preset_missing(canonical: str, names: tuple[str, ...]) -> Exception:
        assert preset is not None
        if (refused := no_header()) is not None:
            return refused
        free = [h for h in headers if h.lower() not in taken]
        # A column like one of the preset's names, or like the canonical name itself
        # ("Place of death" for place_of_death).
        close = next((c for c in (readers.closest_header(n, free)
                                  for n in (*names, canonical)) if c), None)
        source = close or "<your column>"
        derived = preset.columns.get(canonical)
        if isinstance(derived, Derived):
            # Sources the preset derives the column from (POD_* -> place_of_death): a
            # source is read under its own name, so the fix is the header's name. The
            # header suggested is the one most like any name the source goes by (so
            # 'Dec_Age_At_Death', like Der_Age_At_Death, rather than 'DEC_SEX_DESC').
            known = {presets.spec_names(s)[0]: presets.spec_names(s)
                     for s in derived.sources}
            pairs = [(n, c) for n, c in ((n, readers.closest_header_of(known.get(n, (n,)),
                                                                       free))
                                         for n in names) if c]
            quoted = [repr(n) for n in names]
            wanted = (quoted[0] if len(quoted) == 1 else
                      ", ".join(quoted[:-1]) + " and " + quoted[-1])
            rename = "; ".join(f"rename the file's column {c!r} to {n}" for n, c in pairs)
            itself = readers.closest_header(canonical, free)
            if pairs and len(pairs) == len(names):
                # Renames only when they are the whole fix (each missing one is there
                # under a name like it).
                fix = (f"{rename} (the preset reads it by that name), or set {canonical} "
                       f"under [columns] in {where} to a column that holds {canonical} "
                       "itself")
            elif itself:
                fix = (f"did you mean {itself!r}? add {canonical} = \"{itself}\" under "
                       f"[columns] in {where}")
            else:
                fix = (f"check that the file is in that layout, or set {canonical} under "
                       f"[columns] in {where} to a column that holds {canonical} itself")
            return input_error(
                file_name, f"required column{'s' if len(names) > 1 else ''} {wanted} "
                f"(the {preset.name} preset derives {canonical} from "
                f"{'them' if len(names) > 1 else 'it'}) missing (found: {listed()})", fix)
        looked = (f"{names[0]!r}" if len(names) == 1 else
                  f"{canonical} as one of {', '.join(repr(n) for n in names)}")
        hint = f"did you mean {close!r}? " if close else ""
        return input_error(
            file_name, f"required column {looked} is missing (found: {listed()})",
            f"{hint}the {preset.name} preset needs this column: check that the file is in "
            f"that layout, or add {canonical} = \"{source}\" under [columns] in {where}")

    # -- which source feeds each canonical column ------------------------------------
    if resolution is not None and resolution.missing:
        raise preset_missing(*resolution.missing[0])

    specs: dict[str, Any] = {}
    for canonical, _dtype, required in CANONICAL_COLUMNS[dataset]:
        spec: Any = None
        explicit = canonical in mapping.columns
        if explicit:
            spec = mapping.columns[canonical]
        elif resolution is not None and canonical in resolution.columns:
            spec = resolution.columns[canonical]
        default = mapping.defaults.get(canonical)
        if default is None and resolution is not None:
            default = resolution.defaults.get(canonical)
        if spec is None:
            spec = _find_header(canonical, headers)
            if spec is None and required and default is None:
                raise missing(canonical, canonical)
        if isinstance(spec, list) and canonical != "contributory_causes":
            # Suggest the listed column the file has (a preset-like list of alternatives).
            held = [h for h in (_find_header(str(n), headers) for n in spec) if h is not None]
            pick = held[0] if held else next((str(n) for n in spec), "your column")
            raise ConfigError(
                f"{where}: [columns] {canonical} must name one column, not a list — replace "
                f"the list with {canonical} = {json.dumps(pick, ensure_ascii=False)} (the column "
                "that holds it)")
        if isinstance(spec, str):
            header = _find_header(spec, headers)
            if header is None:
                if explicit or (required and default is None):
                    raise missing(spec, canonical)
                spec = None
            else:
                spec = header
        specs[canonical] = (spec, default)

    # An optional column the file has under a slip of its name ('agee', 'Ethnicty', a
    # NUL inside 'age') was read as absent: every row lost it without a word (validate
    # then advised correcting ages field_actions had no rows of). Said, with both fixes.
    spoken = {s for s, _ in specs.values() if isinstance(s, str)}
    unread = {h.lower(): h for h in headers if h not in spoken and h.lower() not in taken}
    target = where if mapping.name != CANONICAL_MAPPING else f"mappings/{dataset}.toml"
    for canonical, (spec, default) in specs.items():
        close = difflib.get_close_matches(canonical, list(unread), n=1, cutoff=0.8) \
            if spec is None and default is None else []
        if close:
            header = unread.pop(close[0])
            plan.unread.append(
                f"column {header!r} is not read, so no row has {canonical} — if it holds "
                f"{canonical}, rename it {canonical} in the file, or add {canonical} = "
                f"{json.dumps(header)} under [columns] in {target}")

    # One source column read as two canonical columns (person_id = "lsoa_code" beside
    # the file's own lsoa_code) is a slip in [columns]; say which, rather than fail.
    readers_of: dict[str, list[str]] = {}
    for canonical, (spec, _default) in specs.items():
        if isinstance(spec, str):
            readers_of.setdefault(spec, []).append(canonical)
    for header, canonicals in readers_of.items():
        if len(canonicals) > 1 and any(c in mapping.columns for c in canonicals):
            raise ConfigError(
                f"{where}: column {header!r} of {file_name} is read as both "
                f"{canonicals[0]} and {canonicals[1]} — map each to its own column under "
                "[columns]")

    # Every Place column a preset finds (a lookup may hold a code and a name column).
    place_columns: list[str] = []
    if preset is not None and "place" in preset.columns and "place" not in mapping.columns:
        place_columns = [h for h in (_find_header(n, headers)
                                     for n in presets.spec_names(preset.columns["place"]))
                         if h is not None]
        place_columns = list(dict.fromkeys(place_columns))
        if len(place_columns) > 1 and config.places:
            # Say that all are read (a lookup with LAD and sub-ICB columns), not one.
            plan.preset_note = plan.preset_note.replace(
                f"place from {place_columns[0]}", "place from whichever of "
                f"{', '.join(place_columns)} names a Place of eolneeds.toml")

    # -- canonical text ---------------------------------------------------------------
    labels: dict[str, str] = {}
    raw_text: dict[str, str] = {}  # canonical -> SQL of the untouched source text
    for canonical, (spec, default) in specs.items():
        labels[canonical] = canonical
        plan.keys[canonical] = ()
        if isinstance(spec, str):
            text = source(spec)
            raw_text[canonical] = text
            if spec.strip().lower() != canonical:
                labels[canonical] = f"{canonical} ({spec})"
            plan.totals_sources.append(plan.sources[spec])
            plan.keys[canonical] = (plan.sources[spec],)
            others = [h for h in place_columns if h != spec] if canonical == "place" else []
            if others and config.places:
                # A lookup with a code and a name column (LAD22CD, LAD22NM): the first
                # whose value is a Place of eolneeds.toml, else the preferred one's value.
                text = "coalesce(" + ", ".join(
                    _place_code_sql(config, source(h)) for h in [spec, *others]) + f", {text})"
                plan.keys[canonical] = tuple(plan.sources[h] for h in [spec, *others])
        elif isinstance(spec, Derived):
            parts = []
            for needed in spec.names():  # the headers resolve() found
                header = _find_header(needed, headers)
                parts.append(source(header) if header is not None else "NULL")
            if spec.reads_dates:
                text = spec.build(parts, functools.partial(
                    nz.date_sql, date_format_param=params.add(date_format)))
            else:
                text = spec.build(parts)
            # The lookup is keyed by the source columns the expression reads, not every
            # one the spec names: SUS spells' end date (no SPELDUR) reads DISDATE alone,
            # and keyed by (DISDATE, ADMIDATE) its lookup held 27 times the values and its
            # two-column join cost three times one column's (HES-shaped file, EXPLAIN
            # ANALYZE).
            plan.keys[canonical] = tuple(dict.fromkeys(
                plan.sources[h] for h in (_find_header(n, headers) for n in spec.names())
                if h is not None and f'"{plan.sources[h]}"' in text))
            labels[canonical] = f"{canonical} ({', '.join(spec.names())})"
            raw_text[canonical] = "NULL"
        elif isinstance(spec, list):
            found = [h for h in (_find_header(s, headers) for s in spec) if h is not None]
            text = "[" + ", ".join(source(h) for h in found) + "]" if found else "NULL"
            raw_text[canonical] = "NULL"
            if found:
                plan.list_sources[canonical] = [plan.sources[h] for h in found]
            if canonical == "contributory_causes" and found:
                for header in found:
                    text_expr = source(header)
                    code = f'"icd_{plan.sources[header]}"'
                    kept = f'"ws_{plan.sources[header]}"'  # a code, or no words at all
                    plan.withheld[kept.strip('"')] = nz.withhold_sql(text_expr)
                    plan.checks.append(_Check(
                        _when(f"{text_expr} IS NOT NULL AND {code} IS NULL",
                              _say(f"contributory_causes ({header}) '", _shown(kept),
                                   "' is not an ICD-10 code (expected a letter and 2-4 "
                                   "digits, e.g. C34.9)")),
                        "contributory_causes", kept, home=(plan.sources[header],),
                        # A death counts whatever its other causes (README "What rejects
                        # a row"): the junk code is left out of the list, the rest kept.
                        action="code dropped" if dataset == "deaths" else None))
        else:
            text = "NULL"
            raw_text[canonical] = "NULL"
        if default is not None and not isinstance(spec, list):
            text = f"coalesce({text}, {params.add(str(default))})"
            if raw_text[canonical] == "NULL":
                raw_text[canonical] = text
        user = mapping.recode.get(canonical)
        if user and not isinstance(spec, list):
            # Looked up in the table passed as two list parameters (a join DuckDB plans
            # as a hash join), not spelt out as CASE WHEN ...: a 100,000-entry table of
            # old-to-new codes took 95 s to plan as a CASE, and takes under a second so.
            keyed = nz.user_recode(user)
            table = (f"(SELECT unnest({params.add(list(keyed))}) AS __k, "
                     f"unnest({params.add(list(keyed.values()))}) AS __v)")
            text = (f"coalesce((SELECT __v FROM {table} WHERE __k = {nz.code_key_sql(text)}),"
                    f" {text})")
        if canonical == "place" and config.places:
            # Place names are resolved to the codes of [[places]] (codes win over
            # names); any other value is kept as given (a Place outside the ICB).
            text = f"coalesce({_place_code_sql(config, text)}, {text})"
        if canonical in DATE_COLUMNS:
            # SUS and HES write 1800-01-01 for a date not applicable or not known (a
            # spell not yet ended) and 1801-01-01 for one recorded invalid: no date, so
            # an optional date is empty and the spell still counts.
            text = (f"(CASE WHEN regexp_full_match({text}, {nz.sql_literal(NULL_DATES)}) "
                    f"THEN NULL ELSE {text} END)")
        plan.texts[canonical] = text

    # -- over-long values and rows wider than the header -------------------------------
    for header, name in plan.sources.items():
        plan.checks.append(_Check(
            # strlen (bytes, free) is never below length (characters): test it first.
            _when(f'strlen("{name}") > {MAX_VALUE_LENGTH} AND '
                  f'length("{name}") > {MAX_VALUE_LENGTH}',
                  _say(f"{header} is ", f'CAST(length("{name}") AS VARCHAR)',
                       f" characters long (the limit is {MAX_VALUE_LENGTH}); check the "
                       "delimiter and quoting")),
            header, f'left("{name}", {MAX_VALUE_LENGTH})', source=name))
    if raw.extra_columns:
        any_extra = " OR ".join(f"{c} IS NOT NULL" for c in raw.extra_columns)
        # A worksheet has no delimiter: a value right of the last header is a column
        # nobody named (or a note typed beside the table).
        extra_reason = (f"row has a value right of the last header ({len(headers)} "
                        "columns); give that column a header, or delete the value"
                        if raw.format == "xlsx" else
                        f"row has more fields than the header ({len(headers)} columns); "
                        "check the delimiter and quoting on this row")
        plan.checks.append(_Check(_when("__extra_fields", nz.sql_literal(extra_reason)),
                                  None, "NULL"))
        plan.extra_fields = f"({any_extra})"
    if raw.short_row:
        plan.checks.append(_Check(
            _when("__short_fields",
                  nz.sql_literal(f"row has fewer fields than the header ({len(headers)} "
                                 "columns); check the delimiter and quoting on this row")),
            None, "NULL"))
        plan.short_fields = raw.short_row
    # Two exports joined together repeat the header mid-file: say so, rather than only
    # that 'date_of_death' is not a date. Two columns tell it (a value equal to its own
    # column's name in both is no death); comparing more would cost every row more.
    # trim() copies every value: it runs only on the rare rows that contain both names
    # (contains() is a byte search), which spares 15% of the typing pass.
    named = [h for h in plan.sources if h.strip()][:2]
    if len(named) == 2:
        names = [(raw.column(h), params.add(h.strip())) for h in named]
        plan.header_again = (
            "(CASE WHEN " + " AND ".join(f"contains({c}, {n})" for c, n in names)
            + " THEN " + " AND ".join(f"trim({c}) = {n}" for c, n in names) + " END)")
        plan.checks.append(_Check(
            _when("__header_again", nz.sql_literal(
                "row repeats the header (two exports joined together?); delete it")),
            None, "NULL"))

    # -- typed values and value checks --------------------------------------------------
    # Checks refer to the typed column "v_x" and to helper columns computed once in the
    # `prep` layer, so no expression is evaluated twice per row.
    required_cols = {c for c, _, r in CANONICAL_COLUMNS[dataset] if r}
    # A death counts with any field unknown except its date: a bad value elsewhere is
    # blanked (or set to unknown, or the death left unlinked) and recorded in
    # field_actions; the row is never lost to it (README "What rejects a row").
    keeps_row = dataset == "deaths"
    for canonical, _dtype, _required in CANONICAL_COLUMNS[dataset]:
        t = f'"t_{canonical}"'
        v = f'"v_{canonical}"'
        aux = f'"x_{canonical}"'  # the column's helper value in the prep layer
        label = labels[canonical]
        shown = _shown(t)
        reject_value = "NULL" if canonical == "person_id" else raw_text[canonical]
        if raw_text[canonical] == "NULL":
            reject_value = t if canonical != "person_id" else "NULL"
        if canonical in ("person_id", "date_of_birth"):
            reject_value = nz.shape_sql(t)  # never the identifier: only its shape
            shown = reject_value
        elif dataset in PERSON_DATASETS:
            # A value is kept (as the rejected value, and quoted in the reason) only
            # when it is a code: words -- a name in the wrong column -- are withheld
            # (normalise.WITHHELD; README "Privacy").
            # (The column's own names are words of it too: a repeated header row.)
            words = (*COLUMN_WORDS.get(canonical, ()),
                     *re.findall(r"[a-z]{2,}", labels[canonical].lower()))
            plan.withheld[f"w_{canonical}"] = nz.withhold_sql(t, words)
            shown = _shown(f'"w_{canonical}"')
            if reject_value == t:
                reject_value = f'"w_{canonical}"'
            elif reject_value != "NULL":
                plan.withheld[f"wr_{canonical}"] = nz.withhold_sql(reject_value, words)
                reject_value = f'"wr_{canonical}"'
        blank = "blanked" if keeps_row and canonical != "date_of_death" else None
        if dataset == "activity" and canonical == "end_date":
            # An admission, attendance or contact counts by its start: a discharge date
            # exported as 'Not discharged' (a death in hospital, a spell still open; '-'
            # and 'N/A' are no value at all, readers.NO_VALUE_TEXTS) is no end date, not
            # a lost admission, which would undercount
            # every 'admissions in the last 90 days' indicator. The end is blanked and
            # recorded in field_actions. An empty end (a spell open at death) runs to the
            # date of death; one that is not a date or is in the future is of unknown
            # length (its reason ends UNKNOWN_LENGTH): no bed days, as for an end before
            # the start, rather than days up to the death that no record gives.
            blank = "blanked"
        checks: list[tuple[_When, str | None]] = []  # (check, action or None = reject)
        if canonical in required_cols:
            missing_action = {"person_id": "unlinked", "sex": "set to unknown",
                              "place_of_death": "set to unknown"}.get(canonical)
            if keeps_row and missing_action:
                checks.append((_when(f"{t} IS NULL", nz.sql_literal(
                    f"{label} is missing; the death still counts")), missing_action))
            else:
                checks.append((_when(f"{t} IS NULL", nz.sql_literal(
                    f"{label} is missing (a value is required)")), None))
        if canonical == "person_id":
            plan.prep[canonical] = nz.nhs_digits_sql(t)
            number = f'"y_{canonical}"'  # the ten digits as a number, else NULL
            plan.prep2[canonical] = nz.nhs_number_sql(aux)
            # NHS numbers written with spaces or dashes hash the same as plain digits,
            # so the same person links across datasets however each extract wrote it.
            clear = f"(CASE WHEN {number} IS NOT NULL THEN {aux} ELSE {t} END)"
            plan.values[canonical] = nz.pseudonymise_sql(clear, inner_pad, outer_pad)
            source_header = specs[canonical][0]
            check_nhs = (mapping.nhs_number if mapping.nhs_number is not None
                         else preset is not None and preset.nhs_number
                         and not (isinstance(source_header, str)
                                  and presets.already_pseudonymised(source_header)))
            if check_nhs:
                invalid = f"{t} IS NOT NULL AND NOT {nz.nhs_number_valid_sql(number)}"
                if keeps_row:
                    # Still a death: no pseudonym of its own (it must link to nothing).
                    plan.values[canonical] = (f"(CASE WHEN NOT ({invalid}) THEN "
                                              f"{plan.values[canonical]} END)")
                    checks.append((_when(invalid, nz.sql_literal(
                        f"{label} is not a valid NHS number (10 digits with a correct "
                        "modulus 11 check digit); the death counts but cannot be linked to "
                        "register or activity rows")), "unlinked"))
                else:
                    checks.append((_when(invalid, nz.sql_literal(
                        f"{label} is not a valid NHS number (10 digits with a correct "
                        "modulus 11 check digit); the value is withheld because it "
                        "identifies a person")), None))
            if keeps_row:
                # An unlinked death gets an id no pseudonym can equal ('u' + 32 hex
                # characters; pseudonyms are 32): a keyed hash of the invalid identifier
                # and the date of death, or, when there is no identifier, of the facts
                # of the death that an amendment does not change (dates of death,
                # registration and birth, age, sex, LSOA). Either way the same death sent
                # again (a cumulative re-supply) is a duplicate, not a second death.
                facts = ", '|', ".join(f'coalesce(CAST("v_{c}" AS VARCHAR), \'\')'
                                       for c in UNLINKED_DEATH_FACTS)
                unlinked_of = (f"concat(coalesce({t}, concat('no identifier|', {facts})), "
                               """'|', CAST("v_date_of_death" AS VARCHAR))""")
                plan.finals[canonical] = (
                    f'coalesce("v_person_id", \'u\' || '
                    f'{nz.pseudonymise_sql(unlinked_of, inner_pad, outer_pad)})')
        elif canonical in DATE_COLUMNS:
            # Digits of any script are read as ASCII ones (an NHS number's are too).
            plan.prep[canonical] = nz.date_sql(nz.ascii_digits_sql(t),
                                               params.add(date_format), raw.excel_epoch)
            plan.values[canonical] = aux if not blank else f"(CASE WHEN {aux} <= {today} " \
                                                           f"THEN {aux} END)"
            expected = nz.expected_dates(date_format)
            # Written as the mapping reads dates but no date ('29/02/2023'): say why
            # ('2023 is not a leap year'), not which format was expected. Never of a
            # date of birth, which is shown only by its shape: the why would tell its
            # year.
            fault = "NULL" if canonical == "date_of_birth" else \
                nz.date_fault_sql(nz.ascii_digits_sql(t), date_format)
            length = UNKNOWN_LENGTH if dataset == "activity" and canonical == "end_date" \
                else ""
            checks.append((_when(f"{t} IS NOT NULL AND {aux} IS NULL",
                                 _say(f"{label} '", shown, "' is not a date",
                                      f"coalesce(': ' || {fault}, "
                                      f"{nz.sql_literal(f' (expected {expected})')})",
                                      length)),
                           blank))
            if canonical == "date_of_birth" and TWO_DIGIT_YEAR in date_format:
                # A two-digit year of birth: strptime reads 00-68 as 2000-2068, but no
                # one is born in the future ('01-MAY-45' is 1945). The century is settled
                # against the date of death below (_BIRTH_CENTURY).
                plan.values[canonical] = (f"(CASE WHEN {aux} > {today} THEN CAST({aux} - "
                                          f"INTERVAL 100 YEAR AS DATE) ELSE {aux} END)")
            else:
                checks.append((_when(f"{aux} > {today}",
                                     _say(f"{label} '", shown, "' is in the future" + length)),
                               blank))
        elif canonical in WHOLE_NUMBER_RANGES:
            lo, hi = WHOLE_NUMBER_RANGES[canonical]
            # (No number holds '_': see nz.number_sql.)
            plan.prep[canonical] = (f"(CASE WHEN NOT contains({t}, '_') THEN TRY_CAST("
                                    f"replace({nz.ascii_number_sql(t)}, ',', '') AS DOUBLE) "
                                    "END)")
            whole = f"({aux} = round({aux}) AND isfinite({aux}))"
            plan.values[canonical] = (f"(CASE WHEN {whole} AND {aux} BETWEEN {lo} AND {hi} "
                                      f"THEN CAST({aux} AS INTEGER) END)")
            checks.append((_when(f"{t} IS NOT NULL AND NOT coalesce({whole}, false)",
                                 _say(f"{label} '", shown, "' is not a whole number")), blank))
            checks.append((_when(f"{whole} AND NOT {aux} BETWEEN {lo} AND {hi}",
                                 _say(f"{label} '", shown, f"' is not between {lo} and {hi}")),
                           blank))
        elif canonical in NUMBER_COLUMNS:
            # Most values cast directly; only those that do not are searched for the
            # characters to strip. Same result as stripping first: a value DuckDB casts
            # holds no '£' or ',' and at most surrounding white space, which its cast
            # ignores anyway -- and the direct cast is 4x cheaper than the searches.
            # Digits and number marks of any script are read as ASCII ones, as an age's
            # and a date's are ('١٢٣٤٫٥' is 1234.5): the text in x_, the number in y_.
            plan.prep[canonical] = nz.ascii_number_sql(t)
            plan.prep2[canonical] = _number_sql(aux, mapping.decimal)
            ascii_text, aux = aux, f'"y_{canonical}"'
            top, whole_only = NUMBER_BOUNDS[(dataset, canonical)]
            # Only a cost can go while its row still counts (an admission without a cost).
            action = ("blanked" if canonical == "cost" or dataset in SIGNED_NUMBER_DATASETS
                      else None)
            number = f"isfinite({aux})"
            not_number = f"{t} IS NOT NULL AND NOT coalesce({number}, false)"
            low = f"-{top}" if dataset in SIGNED_NUMBER_DATASETS else "0"
            in_bounds = f"{aux} BETWEEN {low} AND {top}"
            if whole_only:
                in_bounds += f" AND {aux} = round({aux})"
            plan.values[canonical] = f"(CASE WHEN {number} AND {in_bounds} THEN {aux} END)"
            if mapping.decimal == ",":
                checks.append((_when(not_number, _say(
                    f"{label} '", shown, "' is not a number written with a decimal comma "
                    "(the mapping sets decimal = \",\": e.g. 1234,5 or 1.234,56)")), action))
            else:
                # A comma that cannot separate thousands ("12,50", "1.234,56") is a
                # decimal comma: never read as 1250 or 1.23456.
                comma = (f"regexp_full_match(regexp_replace({ascii_text}, '[£\\s]', '', 'g'), "
                         f"'{DECIMAL_COMMA}')")
                # Never blanked: the file is refused (its other numbers are misread).
                checks.append((_when(f"{not_number} AND {comma}", _say(
                    f"{label} '", shown, f"' {DECIMAL_COMMA_REASON}")), None))
                checks.append((_when(f"{not_number} AND NOT {comma}",
                                     _say(f"{label} '", shown, "' is not a number")), action))
            if dataset not in SIGNED_NUMBER_DATASETS:
                checks.append((_when(f"{number} AND {aux} < 0",
                                     _say(f"{label} '", shown, "' is negative")), action))
            checks.append((_when(f"{number} AND {aux} > {top}",
                                 _say(f"{label} '", shown, f"' is above {top:,}, the most "
                                      f"a {canonical} can plausibly be")), action))
            if whole_only:
                checks.append((_when(f"{number} AND {aux} BETWEEN 0 AND {top} AND "
                                     f"{aux} <> round({aux})",
                                     _say(f"{label} '", shown, "' is not a whole number")),
                               action))
        elif canonical == "underlying_cause":
            plan.values[canonical] = nz.icd10_sql(t)
            checks.append((_when(f"{t} IS NOT NULL AND {v} IS NULL",
                                 _say(f"{label} '", shown, "' is not an ICD-10 code (expected "
                                      "a letter and 2-4 digits, e.g. C34.9)")), blank))
        elif canonical == "contributory_causes":
            spec = specs[canonical][0]
            if isinstance(spec, str):
                # One column holding a list: "C34.9; I25.1" or "[C349, I251]".
                plan.prep[canonical] = (
                    f"list_transform(list_filter(string_split_regex({t}, "
                    "'[;,|\\s\\[\\]]+'), lambda x: x <> ''), "
                    f"lambda x: {nz.icd10_sql('x')})")
                plan.values[canonical] = (f"coalesce(list_filter({aux}, lambda x: x IS NOT "
                                          "NULL), [])" if blank else f"coalesce({aux}, [])")
                checks.append((_when(
                    f"{t} IS NOT NULL AND list_contains(list_transform({aux}, "
                    "lambda x: x IS NULL), true)",
                    _say(f"{label} '", shown, "' holds a value that is not an ICD-10 code "
                         "(expected codes like C34.9 separated by ;)")),
                    "code dropped" if blank else None))
            elif isinstance(spec, list) and canonical in plan.list_sources:
                # Each source's code comes from its per-value lookup ("icd_sN").
                codes = ", ".join(f'"icd_{s}"' for s in plan.list_sources[canonical])
                plan.values[canonical] = f"list_filter([{codes}], lambda x: x IS NOT NULL)"
            else:
                plan.values[canonical] = "CAST(NULL AS VARCHAR[])"
        elif canonical in ("sex", "place_of_death", "preferred_place_of_death", "ethnicity",
                           "activity_type", "age_band", "dnacpr", "advance_care_plan"):
            plan.prep[canonical] = nz.code_key_sql(t)
            plan.values[canonical], check, action = _code_sql(
                dataset, canonical, t, aux, v, label, shown, keeps_row)
            if check:
                checks.append((check, action))
        elif canonical == "spell_id":
            # A record key of SUS / HES: pseudonymised like person_id, never kept clear.
            plan.values[canonical] = nz.pseudonymise_sql(f"trim({t})", inner_pad, outer_pad)
        elif canonical == "lsoa_vintage":
            plan.values[canonical] = f"(CASE WHEN {t} IN ('2011', '2021') THEN {t} END)"
            checks.append((_when(f"{t} IS NOT NULL AND {v} IS NULL",
                                 _say(f"{label} '", shown, "' is not 2011 or 2021")), None))
        else:
            # Text stored as it comes (a practice code or name, ADMIMETH, a Fingertips
            # label): a shifted row or a careless export can put an NHS number there,
            # which is masked like one in a reason (README "Privacy"). Under ten bytes a
            # value cannot hold one: the usual short code skips the pattern.
            kept = f"upper({t})" if canonical in UPPER_CASE_CODES else t
            if canonical == "treatment_function":
                # Reporting tools export the code with its description ('315 -
                # Palliative Medicine', '315: ...') or as a number ('315.0'): the code
                # is what the queries test (315, specialist palliative care).
                kept = (f"(CASE WHEN strlen({t}) = 3 THEN {t} ELSE coalesce(nullif("
                        f"regexp_extract({t}, '^([0-9]{{3}})(\\.0+)?([^0-9.]|$)', 1), ''), "
                        f"{t}) END)")
            plan.values[canonical] = (f"(CASE WHEN strlen({t}) < 10 THEN {kept} "
                                      f"ELSE {nz.mask_sql(kept)} END)")
            if dataset in PERSON_DATASETS and canonical in KEPT_CODES:
                # A name where a practice code is expected would be loaded, and
                # published as a breakdown of the indicator table: words are no code.
                # Every such code has a digit (A81001, 2A, 300); a value with one is
                # kept ('300 - General Medicine' is a code with its description).
                free = (f"{t} IS NOT NULL AND NOT regexp_matches({t}, '\\pN') AND "
                        f"{nz.withhold_sql(t)} = {nz.sql_literal(nz.WITHHELD)}")
                plan.values[canonical] = (f"(CASE WHEN NOT ({free}) THEN "
                                          f"{plan.values[canonical]} END)")
                checks.append((_when(free, _say(
                    f"{label} '{nz.WITHHELD}' is words, not a code (a name in the wrong "
                    "column?); the value was left out")), "blanked"))
            if dataset == "practices" and canonical == "practice_code":
                # epraccur lists every prescribing organisation: only GP practices are
                # read (presets.gp_practice_sql); the rest say so, and never count
                # towards refusing the file.
                other = f"starts_with({t}, {nz.sql_literal(presets.NOT_GP_PRACTICE)})"
                checks.append((_when(other, _say(
                    f"{NOT_GP_PRACTICE_REASON} (prescribing setting ",
                    f"substr({t}, {len(presets.NOT_GP_PRACTICE) + 1})",
                    f"): ODS's practice list names every prescribing organisation; only GP "
                    f"practices (setting {presets.EPRACCUR_GP_PRACTICE}) are read")), None))
            if canonical == "lsoa_code" and (dataset in ("population", "areas", *AREA_PARTS)
                                             or keeps_row):
                if keeps_row:
                    plan.values[canonical] = (f"(CASE WHEN regexp_full_match(upper({t}), "
                                              f"'{LSOA_SHAPE}') THEN upper({t}) END)")
                checks.append((_when(
                    f"{t} IS NOT NULL AND NOT regexp_full_match(upper({t}), '{LSOA_SHAPE}')",
                    _say(f"{label} '", shown, "' is not an LSOA code (expected E01 or W01 "
                         "and 6 digits, e.g. E01000001)")), blank))
        for check, action in checks:
            plan.checks.append(_Check(check, canonical, reject_value,
                                      home=plan.keys[canonical], action=action))

    # -- checks across columns --------------------------------------------------------
    def cross(first: str, second: str, text: str, *, action: str | None = None,
              shown_first: bool = True) -> None:
        if first in plan.values and second in plan.values:
            plan.checks.append(_Check(
                _when(f'"v_{first}" < "v_{second}"',
                      _say(f"{labels[first]} '", f'CAST("v_{first}" AS VARCHAR)',
                           f"' is before {labels[second]} '", f'CAST("v_{second}" AS VARCHAR)',
                           f"'{text}")),
                first if shown_first else second,
                f'CAST("v_{first if shown_first else second}" AS VARCHAR)', action=action))

    if dataset == "deaths":
        # Both blank the other date, never the date of death: the death counts.
        cross("date_of_registration", "date_of_death", "; a death is registered after it "
              "happens", action="blanked")
        two_digit = "date_of_birth" in plan.values and TWO_DIGIT_YEAR in date_format
        if "date_of_birth" in plan.values and not two_digit:
            # The date of birth is quoted by its shape only (see below).
            plan.checks.append(_Check(
                _when('"v_date_of_death" < "v_date_of_birth"',
                      _say(f"{labels['date_of_birth']} is after {labels['date_of_death']} '",
                           'CAST("v_date_of_death" AS VARCHAR)', "'")),
                "date_of_birth", "NULL", action="blanked"))
        plan.finals["date_of_registration"] = (
            '(CASE WHEN "v_date_of_registration" >= "v_date_of_death" '
            'OR "v_date_of_death" IS NULL THEN "v_date_of_registration" END)')
        # Born before the death: with a two-digit year, '01-MAY-24' of a death in March
        # 2024 is 1924 (_BIRTH_CENTURY).
        birth = _BIRTH_CENTURY if two_digit else (
            '(CASE WHEN "v_date_of_birth" <= "v_date_of_death" '
            'OR "v_date_of_death" IS NULL THEN "v_date_of_birth" END)')
        from_birth = f'CAST(date_sub(\'year\', {birth}, "v_date_of_death") AS INTEGER)'
        if two_digit:
            # Where both centuries give a possible age (a child or a centenarian: 2 or
            # 102), the age column decides; without one the age is not guessed.
            either = f"{from_birth} + 100 <= {WHOLE_NUMBER_RANGES['age'][1]}"
            plan.checks.append(_Check(
                _when(f'"v_age" IS NULL AND {either}',
                      _say(f"{labels['date_of_birth']} has a two-digit year, so the age at "
                           "death could be ", f"CAST({from_birth} AS VARCHAR)", " or ",
                           f"CAST({from_birth} + 100 AS VARCHAR)",
                           "; map the file's age column, or export years of four digits")),
                "age", "NULL", action="blanked"))
            from_birth = f"(CASE WHEN NOT ({either}) THEN {from_birth} END)"
        # A date of birth beside the date of death and the LSOA identifies a person
        # almost surely, and nothing needs it once the age is known: it gives the age
        # here and is never stored (README "Privacy").
        plan.finals["date_of_birth"] = "CAST(NULL AS DATE)"
        plan.finals["age"] = f'coalesce("v_age", {from_birth})'
    if dataset == "activity":
        # An end before the start: the admission, attendance or contact still counts by
        # its start; how long it lasted is what cannot be known. The end is blanked and
        # recorded, and such a stay has no bed days (last90_activity.sql finds it by
        # its field action), rather than running to the date of death as a stay with
        # no end does (a death in hospital).
        cross("end_date", "start_date", UNKNOWN_LENGTH, action="blanked")
        plan.finals["end_date"] = ('(CASE WHEN "v_end_date" >= "v_start_date" OR '
                                   '"v_start_date" IS NULL THEN "v_end_date" END)')
    return plan


#: The end of an activity's reason for a blanked end date before its start; the bed-day
#: count (queries/last90_activity.sql) leaves out the stays whose reason ends so.
UNKNOWN_LENGTH = "; the activity counts by its start, with no bed days (its length is unknown)"


#: The reason a CSDS contact that did not take place is quarantined with (not a fault of
#: the file: such rows never count towards refusing it).
NOT_ATTENDED_REASON = "contact not attended"
#: The reason a row of ODS's practice list that is no GP practice is quarantined with
#: (nor is that a fault of the file).
NOT_GP_PRACTICE_REASON = "not a GP practice"
#: The strptime code of a two-digit year ('24'), which reads 00-68 as 2000-2068.
TWO_DIGIT_YEAR = "%y"
#: A two-digit year of birth in the century before the death's where it would fall after it.
_BIRTH_CENTURY = ('(CASE WHEN "v_date_of_birth" > "v_date_of_death" THEN CAST('
                  '"v_date_of_birth" - INTERVAL 100 YEAR AS DATE) ELSE "v_date_of_birth" END)')


def _place_code_sql(config: ProjectConfig, text: str) -> str:
    """SQL: the [[places]] code that `text` is the code or the name of, else NULL."""
    places = {nz.code_key(p.name): p.code for p in config.places}
    places.update({nz.code_key(p.code): p.code for p in config.places})
    return nz.case_sql(nz.code_key_sql(text), places)


def _code_sql(dataset: str, column: str, t: str, key: str, v: str, label: str,
              shown: str, keeps_row: bool) -> tuple[str, _When, str | None]:
    """(value SQL, check, action) for a coded column; `key` is its code_key
    column. action None: a failing check quarantines the row."""
    fix = f"; add a [recode.{column}] entry to the mapping"
    unmapped = f"{t} IS NOT NULL AND {v} IS NULL"
    if column == "sex" and dataset in ("population", "projections"):
        table = {k: val for k, val in nz.SEX_CODES.items() if val != "unknown"}
        return nz.case_sql(key, table), _when(
            unmapped, _say(f"{label} '", shown, "' is not male or female (population counts "
                           f"are by sex){fix}")), None
    if column in ("sex", "place_of_death", "preferred_place_of_death", "ethnicity"):
        # An unrecognised code is loaded as unknown ('not_known' for ethnicity, a
        # canonical value), shown in data quality and recorded in field_actions. For a
        # death a missing sex or place of death is unknown too (checked as missing).
        table = nz.SEX_CODES if column == "sex" else (
            nz.ETHNICITY_CODES if column == "ethnicity" else nz.PLACE_OF_DEATH_CODES)
        known = nz.case_sql(key, table)
        if column == "ethnicity":
            known = f"coalesce({known}, {nz.ethnicity_letter_sql(key)})"
        unknown = "'not_known'" if column == "ethnicity" else "'unknown'"
        value = f"(CASE WHEN {t} IS NOT NULL THEN coalesce({known}, {unknown}) END)"
        if keeps_row and column in ("sex", "place_of_death"):
            value = f"coalesce({known}, {unknown})"
        # A control character in it ('care\rhome') is a fault of the export: a recode
        # cannot be written for it (eolneeds.toml and mappings refuse one).
        said = (f"(CASE WHEN {nz.holds_unshown_sql(t)} THEN " + _say(
            f"{label} '", shown, "' holds a control character, so it is no code; correct "
            "it in the system that exported the file") + " ELSE "
            + _say(f"{label} '", shown, f"' is not a known code{fix}") + " END)")
        return value, _when(f"{t} IS NOT NULL AND {known} IS NULL", said), "set to unknown"
    if column == "activity_type":
        # A CSDS contact that did not take place (presets.attended_contact_sql): its own
        # reason, with the recode that counts such contacts after all (quoting the text
        # the preset made, a code, never the file's value).
        not_attended = f"starts_with({t}, {nz.sql_literal(presets.NOT_ATTENDED)})"
        code = f"substr({t}, {len(presets.NOT_ATTENDED) + 1})"
        return nz.case_sql(key, nz.ACTIVITY_TYPE_CODES), _when(unmapped, (
            f"(CASE WHEN {not_attended} THEN "
            + _say(f"{NOT_ATTENDED_REASON} (attendance status ", code, "): only attended "
                   "contacts (5, 6) count; to count these too, add \"", t, "\" = "
                   "\"community_contact\" under [recode.activity_type] in the mapping")
            + " ELSE " + _say(f"{label} '", shown, "' is not a known activity type (use one "
                              f"of {', '.join(ACTIVITY_TYPES)}){fix}") + " END)")), None
    if column == "age_band":
        return nz.case_sql(key, nz.AGE_BAND_CODES), _when(
            unmapped, _say(f"{label} '", shown, "' is not an age band (use 0-4, 5-9, ..., "
                           f"85-89, 90+){fix}")), None
    # dnacpr, advance_care_plan. "Not known" is an answer a register records: the flag
    # is unknown (NULL), the entry still counts.
    not_known = " OR ".join(f"{key} = {nz.sql_literal(k)}" for k in nz.BOOLEAN_NOT_KNOWN)
    return f"CAST({nz.case_sql(key, nz.BOOLEAN_CODES)} AS BOOLEAN)", _when(
        f"{unmapped} AND NOT ({not_known})",
        _say(f"{label} '", shown, f"' is not yes or no{fix}")), None


RECODE_TARGETS: dict[str, tuple[str, ...]] = {
    "sex": ("male", "female", "unknown"),
    "place_of_death": PLACES_OF_DEATH,
    "preferred_place_of_death": PLACES_OF_DEATH,
    "ethnicity": ETHNIC_GROUPS,
    "activity_type": ACTIVITY_TYPES,
    "age_band": AGE_BANDS_ESP,
}


def _check_recode_targets(mapping: Any, where: str) -> None:
    for column, table in mapping.recode.items():
        allowed = RECODE_TARGETS.get(column)
        if allowed is None:
            continue
        for source_value, target in table.items():
            if target not in allowed:
                close = difflib.get_close_matches(str(target).lower(), allowed, n=1)
                hint = f" — did you mean {close[0]!r}?" if close else ""
                raise ConfigError(
                    f"{where}: [recode.{column}] maps {source_value!r} to {target!r}, which is "
                    f"not one of {', '.join(allowed)}{hint}"
                )


# What a coded column's [defaults] value may be, for messages: the canonical words, then
# the national codes read as them.
_CODE_EXAMPLES: dict[str, str] = {
    "sex": "male, female, unknown (or a code read as one: 1, 2, 9, 0, M, F)",
    "place_of_death": f"{', '.join(PLACES_OF_DEATH)} (or a name read as one: 'Care "
                      "home', 'Elsewhere')",
    "preferred_place_of_death": f"{', '.join(PLACES_OF_DEATH)}",
    "ethnicity": f"{', '.join(ETHNIC_GROUPS)} (or an NHS ethnic category letter, A-Z)",
    "activity_type": ", ".join(ACTIVITY_TYPES),
    "age_band": "0-4, 5-9, ..., 85-89, 90+",
    "dnacpr": "yes, no (or Y, N, true, false, 1, 0)",
    "advance_care_plan": "yes, no (or Y, N, true, false, 1, 0)",
}


def _default_problem(dataset: str, column: str, value: Any, mapping: Any) -> str | None:
    """Why a [defaults] value cannot be read as its column, else None. A default stands
    for a value in every row that lacks one, so it is read as such a value would be
    (the mapping's [recode] first); one that no row could hold is a slip in the
    mapping, not in the data -- caught before any file is read."""
    text = str(value).strip()
    if isinstance(value, bool) or not text:
        return f"is not a {column}"
    user = mapping.recode.get(column) or {}
    if nz.code_key(text) in nz.user_recode(user):
        return None
    tables = {"sex": nz.SEX_CODES, "place_of_death": nz.PLACE_OF_DEATH_CODES,
              "preferred_place_of_death": nz.PLACE_OF_DEATH_CODES,
              "activity_type": nz.ACTIVITY_TYPE_CODES, "age_band": nz.AGE_BAND_CODES}
    if column in tables:
        found = nz.recode(text, tables[column])
        if column == "sex" and dataset in ("population", "projections") and found == "unknown":
            found = None
        return None if found else f"is not a code of {column}"
    if column == "ethnicity":
        known = nz.recode(text, nz.ETHNICITY_CODES)
        key = nz.code_key(text)
        if known or re.fullmatch(r"[a-z][a-z0-9]?", key) and key[0] in nz.ETHNIC_LETTER_CODES:
            return None
        return "is not a code of ethnicity"
    if column in ("dnacpr", "advance_care_plan"):
        key = nz.code_key(text)
        return None if key in nz.BOOLEAN_CODES or key in nz.BOOLEAN_NOT_KNOWN else \
            "is not yes or no"
    if column in DATE_COLUMNS:
        parsed = nz.parse_date(text, mapping.date_format)
        return None if parsed.value is not None else \
            f"is not a date (write it as {nz.expected_dates(mapping.date_format)})"
    if column in WHOLE_NUMBER_RANGES or column in NUMBER_COLUMNS:
        try:
            number = float(text.replace(",", "").replace("\u00a3", ""))
        except ValueError:
            return "is not a number"
        lo, hi = WHOLE_NUMBER_RANGES.get(column, (0, None))
        if not math.isfinite(number) or number < lo or (hi is not None and number > hi) \
                or (column in WHOLE_NUMBER_RANGES and number != round(number)):
            return (f"is not a whole number from {lo} to {hi}" if hi is not None
                    else "is not a number of 0 or more")
        return None
    if column == "lsoa_vintage":
        return None if text in ("2011", "2021") else "is not an LSOA vintage (2011 or 2021)"
    return None


def _check_defaults(dataset: str, mapping: Any, where: str) -> None:
    for column, value in mapping.defaults.items():
        problem = _default_problem(dataset, column, value, mapping)
        if problem is None:
            continue
        if column in _CODE_EXAMPLES:
            close = difflib.get_close_matches(nz.code_key(str(value)).replace(" ", "_"),
                                              RECODE_TARGETS.get(column, ()), n=1,
                                              cutoff=0.8)
            fix = (f"did you mean {column} = {json.dumps(close[0])}? " if close else "") + \
                f"use one of {_CODE_EXAMPLES[column]}"
            if column in RECODE_TARGETS:
                fix += (f", or add the value under [recode.{column}] with the code it "
                        "stands for")
        elif column in DATE_COLUMNS:
            fix = "write a date the mapping reads"
        else:
            fix = "correct the value, or delete the line to leave the column empty"
        raise ConfigError(f"{where}: [defaults] {column} = "
                          f"{json.dumps(value, ensure_ascii=False)} {problem} — {fix}")


def _looks_total(s: str) -> str:
    """SQL: `s` starts with 'total' or 'grand total', in any case.

    Only a first character of T, G (either case) or beyond ASCII can lower-case to 't'
    or 'g'; the cheap ascii() test spares lower() on every other value.
    """
    return (f"((ascii({s}) IN (71, 84, 103, 116) OR ascii({s}) > 127) AND "
            f"(starts_with(lower({s}), 'total') OR starts_with(lower({s}), 'grand total')))")


def _segment_sql(checks: list[tuple[int, _Check]], name: str) -> list[str]:
    """SQL select items for a run of consecutive checks evaluated in one place: the
    joined reasons, and the column and value of the first check that fails."""
    reason = (f"nullif(concat_ws('; ', {', '.join(f'r{i}' for i, _ in checks)}), '')"
              if len(checks) > 1 else f"r{checks[0][0]}")
    column = "(CASE " + " ".join(
        f"WHEN r{i} IS NOT NULL THEN {nz.sql_literal(c.column) if c.column else 'NULL'}"
        for i, c in checks) + " END)"
    value = "(CASE " + " ".join(
        f"WHEN r{i} IS NOT NULL THEN CAST({c.value} AS VARCHAR)" for i, c in checks) + " END)"
    return [f"{reason} AS {name}_r", f"{column} AS {name}_c", f"{value} AS {name}_v"]


def _select_sql(dataset: str, raw: readers.RawTable, plan: _Plan, *, full: bool) -> str:
    """One query over the whole file: typed values per row, and whether it fails a check.

    Values in extracts repeat (ten activity rows per person, a few thousand dates, a
    handful of codes), so everything that depends on one source column -- cleaning,
    pseudonymising, parsing, recoding and the checks on it -- is computed once per
    DISTINCT raw value in a small lookup (`lkN`) and joined back by that value. Only
    checks across columns and the totals-row test run per row.

    Columns: __row, "v_<canonical>" for each column, then `__bad` (the row fails a
    check or is a totals row), or with `full` the reasons' assembly instead: `__reason`
    (all problems joined with "; ", '' when none), `__column`, `__value` (of the first).
    `full` is for the few rejected rows: its result for a row is bad exactly when
    `__reason` is not ''.
    """
    columns = [c for c, _, _ in CANONICAL_COLUMNS[dataset]]
    header_of = {name: header for header, name in plan.sources.items()}
    # Computed per row: constants, columns with about as many values as rows, and
    # person_id where each row is a different person (a lookup would only add a join).
    per_row = [c for c in columns if not plan.keys.get(c) or c in PER_ROW_COLUMNS
               or (c == "person_id" and dataset in ONE_ROW_PER_PERSON)]

    # -- lookups: one per set of source columns a canonical column is computed from ----
    hosted: dict[tuple[str, ...], list[str]] = {}
    for canonical in columns:
        if canonical not in per_row:
            hosted.setdefault(plan.keys[canonical], []).append(canonical)
    for sources in plan.list_sources.values():
        for name in sources:
            hosted.setdefault((name,), [])
    homes: list[tuple[str, ...]] = []  # where each check is evaluated; () = per row
    for check in plan.checks:
        if check.source is not None:
            found: list[tuple[str, ...]] = [k for k in hosted if k == (check.source,)] or [
                k for k in hosted if check.source in k]
            homes.append(found[0] if found else ())
        else:
            homes.append(check.home if check.home in hosted else ())
    row_sources = list(dict.fromkeys(
        [n for c in per_row for n in plan.keys.get(c, ())]
        + [c.source for c, home in zip(plan.checks, homes, strict=True)
           if c.source is not None and home == ()]))
    lookup_of = {key: f"lk{i}" for i, key in enumerate(hosted)}
    hosted_sources = {n for key in hosted for n in key}
    row_totals = [n for n in row_sources if n in plan.totals_sources
                  and n not in hosted_sources]

    # -- runs of consecutive checks with the same home, in the order reasons are shown -
    # (Field-level actions are not in segments: each is spelt out on its own.)
    segments: list[tuple[str, tuple[str, ...], list[tuple[int, _Check]]]] = []
    for i, (check, home) in enumerate(zip(plan.checks, homes, strict=True)):
        if check.action is not None:
            continue
        if segments and segments[-1][1] == home:
            segments[-1][2].append((i, check))
        else:
            segments.append((f"seg{len(segments)}", home, [(i, check)]))

    def flags(home: tuple[str, ...], totals: list[str]) -> list[str]:
        """SQL conditions: a check evaluated at `home` rejects the row, or a totals cell."""
        return ([f"r{i} IS NOT NULL" for i, h in enumerate(homes)
                 if h == home and plan.checks[i].action is None]
                + [f'"tot_{n}" IS NOT NULL' for n in totals])

    def fixes(home: tuple[str, ...]) -> list[str]:
        """SQL conditions: a check evaluated at `home` takes a field-level action."""
        return [f"r{i} IS NOT NULL" for i, h in enumerate(homes)
                if h == home and plan.checks[i].action is not None]

    def spelt_actions(home: tuple[str, ...]) -> list[str]:
        """SQL select items: each field-level action's reason and value (full mode)."""
        return [item for i, h in enumerate(homes) if h == home
                and plan.checks[i].action is not None
                for item in (f"r{i} AS fa{i}_r",
                             f"CAST({plan.checks[i].value} AS VARCHAR) AS fa{i}_v")]

    def reason(check: _Check) -> str:
        """SQL: the check's reason text (full), or only whether it fails (_When.flag)."""
        return check.reason.reason() if full else check.reason.flag()

    def withheld(columns: list[str], sources: Sequence[str]) -> str:
        """SQL select items: the reasons' withheld values (_Plan.withheld) of these
        canonical and source columns; none in the typing pass, which quotes nothing."""
        names = [f"{p}_{c}" for c in columns for p in ("w", "wr")] + [
            f"ws_{n}" for n in sources]
        return ", ".join(f'{plan.withheld[n]} AS "{n}"' for n in names
                         if full and n in plan.withheld)

    list_elements = {name for sources in plan.list_sources.values() for name in sources}
    ctes = []
    joined = ["src.__row"] + (["src.__heading"] if full else []) + (
        ["src.__extra_fields"] if plan.extra_fields else []) + (
        ["src.__short_fields"] if plan.short_fields else []) + (
        ["src.__header_again"] if plan.header_again else []) + [
        f'src."{n}"' for n in row_sources]
    joins = []
    bad_flags = []
    fix_flags = []
    for key, hosted_columns in hosted.items():
        lk = lookup_of[key]
        raw_cols = [raw.column(header_of[name]) for name in key]
        layers = [
            "SELECT " + ", ".join(
                [f'{c} AS "{lk}_k{j}"' for j, c in enumerate(raw_cols)]
                + [f"{readers.value_sql(c)} AS \"{name}\"" for c, name in zip(raw_cols, key,
                                                                          strict=True)])
            + f" FROM (SELECT DISTINCT {', '.join(raw_cols)} FROM {raw.table})"
        ]
        if hosted_columns:
            layers.append(", ".join(f'{plan.texts[c]} AS "t_{c}"' for c in hosted_columns))
        for helpers, prefix in ((plan.prep, "x"), (plan.prep2, "y")):
            preps = [c for c in hosted_columns if c in helpers]
            if preps:
                layers.append(", ".join(f'{helpers[c]} AS "{prefix}_{c}"' for c in preps))
        values = [f'{plan.values[c]} AS "v_{c}"' for c in hosted_columns]
        values += [f'{nz.icd10_sql(chr(34) + n + chr(34))} AS "icd_{n}"'
                   for n in key if n in list_elements]
        if values:
            layers.append(", ".join(values))
        if withheld(hosted_columns, key):
            layers.append(withheld(hosted_columns, key))
        own = [f"{reason(c)} AS r{i}" for i, (c, home) in enumerate(
            zip(plan.checks, homes, strict=True)) if home == key]
        totals = [n for n in key if n in plan.totals_sources]
        own += [f'(CASE WHEN {_looks_total(chr(34) + n + chr(34))} THEN "{n}" END) '
                f'AS "tot_{n}"' for n in totals]
        if own:
            layers.append(", ".join(own))
        outputs = [f'"{lk}_k{j}"' for j in range(len(key))]
        outputs += [f'"v_{c}"' for c in hosted_columns]
        outputs += [f'"icd_{n}"' for n in key if n in list_elements]
        joined += [f'{lk}."v_{c}"' for c in hosted_columns]
        joined += [f'{lk}."icd_{n}"' for n in key if n in list_elements]
        if full:
            outputs += [f'"tot_{n}"' for n in totals]
            joined += [f'{lk}."tot_{n}"' for n in totals]
            for name, home, run in segments:
                if home == key:
                    outputs += _segment_sql(run, name)
                    joined += [f"{lk}.{name}_{part}" for part in "rcv"]
            spelt = spelt_actions(key)
            outputs += spelt
            joined += [f"{lk}.{item.rsplit(' AS ', 1)[1]}" for item in spelt]
        else:
            if flags(key, totals):
                outputs.append(f"({' OR '.join(flags(key, totals))}) AS \"{lk}_bad\"")
                joined.append(f'{lk}."{lk}_bad"')
                bad_flags.append(f'"{lk}_bad"')
            if fixes(key):
                outputs.append(f"({' OR '.join(fixes(key))}) AS \"{lk}_fix\"")
                joined.append(f'{lk}."{lk}_fix"')
                fix_flags.append(f'"{lk}_fix"')
        sql = layers[0]
        for layer in layers[1:]:
            sql = f"SELECT *, {layer} FROM ({sql})"
        ctes.append(f"{lk} AS (SELECT {', '.join(outputs)} FROM ({sql}))")
        joins.append(f"LEFT JOIN {lk} ON " + " AND ".join(
            f'src.{c} IS NOT DISTINCT FROM {lk}."{lk}_k{j}"' for j, c in enumerate(raw_cols)))

    # -- per row: join the lookups, then what needs the whole row -----------------------
    blank = _blank_row_sql(raw)
    used_raw = list(dict.fromkeys(raw.column(header_of[n]) for key in hosted for n in key))
    src_cols = [f"{raw.row_expr} AS __row"] + used_raw + [
        f"{readers.value_sql(raw.column(header_of[n]))} AS \"{n}\"" for n in row_sources]
    if plan.extra_fields:
        src_cols.append(f"{plan.extra_fields} AS __extra_fields")
    if plan.short_fields:
        src_cols.append(f"{plan.short_fields} AS __short_fields")
    if plan.header_again:
        src_cols.append(f"coalesce({plan.header_again}, false) AS __header_again")
    if full:
        src_cols.append(f"{_heading_sql(raw)} AS __heading")
    ctes.append(f"src AS (SELECT {', '.join(src_cols)} FROM {raw.table} WHERE NOT ({blank}))")
    ctes.append(f"j AS (SELECT {', '.join(joined)} FROM src {' '.join(joins)})")

    layers = [", ".join(
                  [f'{plan.texts[c]} AS "t_{c}"' for c in per_row if c not in plan.list_sources]
                  + [f'(CASE WHEN {_looks_total(chr(34) + n + chr(34))} THEN "{n}" END) '
                     f'AS "tot_{n}"' for n in row_totals]),
              ", ".join(f'{plan.prep[c]} AS "x_{c}"' for c in per_row if c in plan.prep),
              ", ".join(f'{plan.prep2[c]} AS "y_{c}"' for c in per_row if c in plan.prep2),
              ", ".join(f'{plan.values[c]} AS "v_{c}"' for c in per_row),
              withheld([c for c in per_row if c not in plan.list_sources], row_sources),
              ", ".join(f"{reason(c)} AS r{i}" for i, (c, home) in enumerate(
                  zip(plan.checks, homes, strict=True)) if home == ())]
    if full:
        totals_cell = ("coalesce(" + ", ".join(f'"tot_{n}"' for n in plan.totals_sources)
                       + ")" if plan.totals_sources else "CAST(NULL AS VARCHAR)")
        layers.append(", ".join([f"{totals_cell} AS __totals_cell"] + [
            item for name, home, run in segments if home == ()
            for item in _segment_sql(run, name)] + spelt_actions(())))
    sql = "SELECT * FROM j"
    for layer in layers:
        if layer:
            sql = f"SELECT *, {layer} FROM ({sql})"

    finals = [f'{plan.finals.get(c, f""""v_{c}" """.strip())} AS "v_{c}"' for c in columns]
    head = "WITH " + ",\n".join(ctes) + f"\nSELECT __row, {', '.join(finals)}, "
    if not full:
        any_bad = " OR ".join(bad_flags + flags((), row_totals)) or "false"
        any_fix = " OR ".join(fix_flags + fixes(())) or "false"
        return head + (f"coalesce({any_bad}, false) AS __bad, "
                       f"coalesce({any_fix}, false) AS __fixed FROM ({sql})")
    actions = [
        f"{{'column_name': {nz.sql_literal(c.column or '')}, 'value': fa{i}_v, "
        f"'action': {nz.sql_literal(c.action)}, 'reason': fa{i}_r}}"
        for i, c in enumerate(plan.checks) if c.action is not None]
    spelt_all = ("list_filter([" + ", ".join(actions) + "], lambda x: x.reason IS NOT NULL)"
                 if actions else "CAST([] AS STRUCT(column_name VARCHAR, value VARCHAR, "
                 "action VARCHAR, reason VARCHAR)[])")
    is_total = "(__totals_cell IS NOT NULL)"
    reasons = [f"{name}_r" for name, _, _ in segments]
    failed = " OR ".join(f"{r} IS NOT NULL" for r in reasons) or "false"
    base_reason = f"concat_ws('; ', {', '.join(reasons)})" if reasons else "''"
    first_column = "(CASE " + " ".join(
        f"WHEN {name}_r IS NOT NULL THEN {name}_c" for name, _, _ in segments) + " END)" \
        if segments else "NULL"
    first_value = "(CASE " + " ".join(
        f"WHEN {name}_r IS NOT NULL THEN {name}_v" for name, _, _ in segments) + " END)" \
        if segments else "NULL"
    # A heading inside the data fails a check as any row of one value would; it is
    # named as what it is (a row that passes keeps '' whatever it looks like).
    heading, why = f"({failed}) AND __heading IS NOT NULL", HEADING_WHY
    return head + (
        f"{spelt_all} AS __actions, "
        f"CASE WHEN {is_total} THEN {_say('row looks like a totals row (', '__totals_cell', ')')} "
        f"WHEN {heading} THEN {_say(HEADING_REASON + ' (words in column ', '__heading', why)} "
        f"WHEN {failed} THEN {base_reason} ELSE '' END AS __reason, "
        f"CASE WHEN {is_total} OR NOT ({failed}) THEN NULL ELSE {first_column} END AS __column, "
        f"CASE WHEN {is_total} THEN __totals_cell WHEN {failed} THEN {first_value} END "
        f"AS __value FROM ({sql})"
    )


# A row of one cell of words among the data rows: a sub-heading (a register grouped by
# practice, "Practice: B81001 Riverside" in a merged cell across the table), a count
# ("Patients: 4") or a note. Quarantined with this reason (rows read = loaded +
# quarantined holds), never read as a person whose other fields are missing.
HEADING_REASON = "heading row"
HEADING_WHY = " and no other value: a heading or a note, not a record)"
# Month names, which a date alone in a row has ('03-Jan-2025'): not words of a heading.
_MONTH_WORDS = (r"\b(jan(uary)?|feb(ruary)?|mar(ch)?|apr(il)?|may|june?|july?|aug(ust)?|"
                r"sept?(ember)?|oct(ober)?|nov(ember)?|dec(ember)?)\b")


def _heading_sql(raw: readers.RawTable) -> str:
    """SQL over the raw table (full pass only: rows already failing a check): the
    header of the row's only cell with a value when that value has a word of three
    letters or more that is not a month's name, else NULL. A row with any second value
    (a patient whose NHS number is missing has a date, a place), a value in a column
    nothing reads, one cell of digits or a date alone, or one holding a delimiter (a
    record split on the wrong one) is no heading."""
    positions = range(len(raw.headers)) if raw.loaded is None else raw.loaded
    cells = raw.loaded_columns() + raw.extra_columns
    headers = [raw.headers[i] for i in positions] + ["right of the last header"] * len(
        raw.extra_columns)
    values = [readers.value_sql(c) for c in cells]
    filled = " + ".join(f"({v} IS NOT NULL)::INTEGER" for v in values)
    lone = "coalesce(" + ", ".join(values) + ")"
    which = "(CASE " + " ".join(f"WHEN {v} IS NOT NULL THEN {nz.sql_literal(h)}"
                                for v, h in zip(values, headers, strict=True)) + " END)"
    words = (f"regexp_matches(regexp_replace(lower({lone}), {nz.sql_literal(_MONTH_WORDS)}, "
             "'', 'g'), '\\pL{3}')")
    # A whole record in one cell (a line split on the wrong delimiter: 'P2;05/01/2023;
    # 85;F') keeps its delimiter advice: a heading holds no ; | or tab, nor two commas.
    split = f"regexp_matches({lone}, '[;|\\t]|,.*,')"
    quiet = f"NOT coalesce({raw.unmapped_data}, false)" if raw.unmapped_data else "true"
    return (f"(CASE WHEN {filled} = 1 AND {quiet} AND {words} AND NOT {split} "
            f"THEN {which} END)")


def _blank_row_sql(raw: readers.RawTable) -> str:
    """SQL over the raw table: TRUE for a row with nothing in it (not read, not counted)."""
    raw_cols = raw.loaded_columns() + raw.extra_columns
    blank = " AND ".join(readers.blank_sql(c) for c in raw_cols) or "false"
    if raw.unmapped_data:
        blank = f"({blank}) AND NOT {raw.unmapped_data}"
    return blank


def _duplicates_sql(dataset: str, this_file: str) -> str:
    """Rows of this file (`this_file`: its typed rows, source_row and the key columns)
    whose key repeats a valid row earlier in the file or one already loaded into
    `dataset` from another file: (__row, __reason).

    Duplicates are found by aggregation (keys seen more than once), far cheaper than a
    window over the whole file; the first valid row wins. Keys are required columns, so
    valid rows never have NULL keys and plain = joins are right. Rows still marked bad
    (negative source_row) are not candidates.
    """
    keys, what = UNIQUE_KEYS[dataset]
    key_cols = ", ".join(f'"{k}"' for k in keys)
    join_repeat = " AND ".join(f'r."{k}" = s."{k}"' for k in keys)
    join_earlier = " AND ".join(f'e."{k}" = s."{k}"' for k in keys)
    shown_key = "" if keys == ("person_id",) else " ".join(
        f"{k} ''' || coalesce(CAST(s.\"{k}\" AS VARCHAR), '') || '''" for k in keys)
    described = f"duplicate {what}"
    if shown_key:
        described += f" ({shown_key})"
    within = (f"'{described}: first seen on row ' || "
              "CAST(r.first_row AS VARCHAR) || ' of this file'")
    against = (f"'{described}: already loaded from ' || e.first_file || ' row ' || "
               "CAST(e.first_row AS VARCHAR)")
    return (
        f"WITH repeats AS (SELECT {key_cols}, min(source_row) AS first_row FROM {this_file} "
        "GROUP BY ALL HAVING count(*) > 1), "
        "earlier AS (SELECT " + ", ".join(f'd."{k}"' for k in keys)
        + ", arg_min(d.source_row, d.source_file_id) AS first_row, "
        "arg_min(l.file_name, d.source_file_id) AS first_file "
        f"FROM {dataset} d JOIN ingest_log l ON l.file_id = d.source_file_id "
        "WHERE d.source_file_id <> $file_id GROUP BY ALL) "
        f"SELECT s.source_row AS __row, CASE WHEN e.first_row IS NOT NULL THEN {against} "
        f"ELSE {within} END AS __reason FROM {this_file} s "
        f"LEFT JOIN repeats r ON {join_repeat} LEFT JOIN earlier e ON {join_earlier} "
        "WHERE e.first_row IS NOT NULL OR r.first_row <> s.source_row"
    )


# ---------------------------------------------------------------------------------------
# Driving it


def ingest_files(
    config: ProjectConfig,
    dataset: str,
    files: Sequence[Path],
    *,
    mapping: str | None = None,
    encoding: str | None = None,
    replace: bool = False,
    replace_file: str | None = None,
    reporter: Reporter,
) -> list[FileResult]:
    """Load `files` into `dataset`, one transaction per file. See the module docstring.

    `replace_file`: the name of a file loaded earlier that the one file given replaces
    (a corrected extract sent under a new name); implies `replace`."""
    if dataset not in DATASETS:
        raise UsageError(f"unknown dataset {dataset!r} — use one of {', '.join(DATASETS)}")
    if mapping is not None:
        _mapping_and_preset(config, dataset, mapping)  # a bad --mapping before any file
    paths = [Path(f) for f in files]
    for path in paths:
        if path.is_dir():
            raise input_error(str(path), "is a folder, not a file",
                              "name the extract files inside it (e.g. folder/*.csv)")
        if not path.is_file():
            problem = "file not found"
            if path.exists():  # a named pipe, a socket, a device: reading could hang
                problem = "is not a regular file (a pipe, socket or device)"
            elif path.is_symlink():  # a link to nothing, or to itself through others
                problem = "is a link that leads to no file (broken, or a loop)"
            raise input_error(str(path), problem, "check the path and the file name")
    # Each file's mapping: --mapping, else chosen by its name as `run` chooses.
    chosen = {path: _mapping_and_preset(config, dataset, mapping if mapping is not None else
                                        mapping_for_file(config, dataset, path))
              for path in paths}
    if replace_file is not None and len(paths) != 1:
        raise UsageError(f"--replace-file {replace_file}: give the one file that replaces it "
                         f"(not {len(paths)})")
    key = resolve_key(config, on_weak=lambda text: reporter.message(text, level="warning"))
    con = _open(config)
    results: list[FileResult] = []
    try:
        create_schema(con)
        if replace or replace_file is not None:
            for path in paths:
                _check_replace_target(con, chosen[path][2], path, replace_file)
        with reporter.progress(f"Ingesting {dataset}", total=len(paths)) as step:
            for path in paths:
                used, preset, target = chosen[path]
                results.append(_ingest_one(con, config, target, path, used, preset,
                                           key=key, encoding=encoding,
                                           replace=replace or replace_file is not None,
                                           replace_name=replace_file, reporter=reporter))
                step(1)
    finally:
        con.close()
    return results


def _check_replace_target(con: duckdb.DuckDBPyConnection, dataset: str, path: Path,
                          replace_file: str | None) -> None:
    """Refuse a replacement that would replace nothing (UsageError, before anything is
    read): --replace-file naming no file loaded, or --replace for a file whose name and
    bytes match no earlier load while others are loaded -- a corrected file under a new
    name would otherwise load beside the old one, its rows quarantined as duplicates."""
    live = [row[0] for row in con.execute(
        "SELECT file_name FROM ingest_log WHERE dataset = $dataset AND replaced_by IS NULL "
        "ORDER BY file_id", {"dataset": dataset}).fetchall()]
    shown = ", ".join(live[-10:]) + (" ..." if len(live) > 10 else "")
    if replace_file is not None:
        wanted = nz.shown_name(Path(replace_file).name)
        if wanted not in live:
            raise UsageError(
                f"--replace-file {replace_file}: no file of that name is loaded into "
                f"{dataset} (" + (f"loaded: {shown}" if live else "none is loaded") + ") — "
                "give the name of the file to replace as ingest_log shows it")
        return
    name = nz.shown_name(path.name)
    if not live or name in live:
        return
    if path.is_file():
        same = con.execute("SELECT 1 FROM ingest_log WHERE dataset = $dataset AND "
                           "replaced_by IS NULL AND content_hash = $hash",
                           {"dataset": dataset, "hash": readers.file_sha256(path)}).fetchone()
        if same:
            return
    raise UsageError(
        f"{path.name}: --replace matches no file loaded into {dataset} (by name or by "
        f"content; loaded: {shown}) — to put it in place of one loaded under another name, "
        f"give that name: --replace-file {shell_arg(live[-1])} (instead of --replace); to load it "
        "beside them, drop --replace")


def _mapping_and_preset(config: ProjectConfig, dataset: str, name: str | None
                        ) -> tuple[Any, Preset | None, str]:
    """(mapping, its preset or None, the dataset its files load into)."""
    chosen = config.mapping_for(dataset, name)
    where = _mapping_file(config, chosen.name)
    _check_recode_targets(chosen, where)
    _check_defaults(chosen.dataset, chosen, where)
    # The lookup and the deprivation file are parts of the areas: accepted as `ingest
    # areas`, loaded into their own tables (schema.AREAS_VIEW).
    target = chosen.dataset if dataset == "areas" and chosen.dataset in AREA_PARTS else dataset
    preset = None
    if chosen.preset:
        preset = get_preset(chosen.preset, emergency_methods=config.methods.
                            emergency_admission_methods, where=where)
        if target == "areas" and preset.dataset in AREA_PARTS:
            target = preset.dataset
        if preset.dataset != target:
            raise ConfigError(f"{where}: preset {preset.name!r} is for {preset.dataset}, "
                              f"not {target} — if the file is {preset.dataset} data, set "
                              f"dataset = \"{preset.dataset}\" in {where} and run `eolneeds "
                              f"ingest {preset.dataset} FILE --mapping {chosen.name}`; "
                              "otherwise change the preset")
    return chosen, preset, target


def mapping_hash(mapping: Any) -> str:
    """A fingerprint of everything a mapping says (to notice that it changed)."""
    fields = dataclasses.asdict(mapping)
    # nhs_number not said (None) was False before it could turn a preset's check off:
    # the same fingerprint, so unchanged projects are not told their mappings changed.
    if fields.get("nhs_number", False) is None:
        fields["nhs_number"] = False
    text = json.dumps(fields, sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def _open(config: ProjectConfig) -> duckdb.DuckDBPyConnection:
    try:
        return connect(config.database_path)
    except duckdb.IOException as exc:
        if "lock" in str(exc).lower():
            raise ProjectLockedError(
                f"{config.database_path} is in use by another eolneeds process — wait for "
                "it to finish and try again"
            ) from None
        raise


def _ingest_one(
    con: duckdb.DuckDBPyConnection,
    config: ProjectConfig,
    dataset: str,
    path: Path,
    mapping: Any,
    preset: Preset | None,
    *,
    key: bytes,
    encoding: str | None,
    replace: bool,
    replace_name: str | None = None,
    reporter: Reporter,
) -> FileResult:
    started = datetime.now()
    state = readers.file_state(path)  # compared once the file is read: was it still being written?
    fingerprint = mapping_hash(mapping)
    where = _mapping_file(config, mapping.name)
    # The name and path kept (ingest_log, rejects, field_actions, and so the manifest and
    # packs): an NHS number in a file's name is masked like one in a value, and a line
    # break or text-direction mark in it is escaped (nz.shown_name, the one rule).
    stored_name = nz.shown_name(path.name)
    # The earlier file a --replace takes out: of this name, or the one --replace-file names.
    replaced = stored_name if replace_name is None else nz.shown_name(
        Path(replace_name).name)
    stored_mapping = nz.shown_name(mapping.name)  # a mapping is named by its file too

    def skipped(content_hash: str) -> FileResult | None:
        """The result when these bytes are already loaded (and not --replace)."""
        same = con.execute(
            "SELECT file_id, rows_read, rows_loaded, rows_rejected, mapping, mapping_hash "
            "FROM ingest_log WHERE dataset = $dataset AND content_hash = $hash "
            "AND replaced_by IS NULL ORDER BY file_id LIMIT 1",
            {"dataset": dataset, "hash": content_hash},
        ).fetchone()
        if same is None or replace:
            return None
        # The same bytes again: nothing to do -- unless the mapping changed since, which
        # only --replace acts on (a reload is a choice, not a side effect).
        changed = same[4] != stored_mapping or (same[5] is not None and same[5] != fingerprint)
        reporter.event("file_skipped", file=str(path), dataset=dataset, file_id=same[0],
                       reason="the same content was already loaded",
                       mapping_changed=changed)
        if changed and mapping.name == CANONICAL_MAPPING:
            # Loaded with a mapping named then; none fits its name or layout now. Never
            # advise reloading with no mapping: the load it had stands.
            reporter.message(f"{path.name}: already loaded (file {same[0]}) with mapping "
                             f"{same[4]!r}, skipped")
        elif changed:
            reporter.message(
                f"{path.name}: already loaded (file {same[0]}) with "
                + (f"mapping {same[4]!r}" if same[4] != stored_mapping else "an earlier "
                   "version of the mapping")
                + f"; {where} is different now — add --replace to reload it with {where}",
                level="warning")
        else:
            reporter.message(f"{path.name}: already loaded (file {same[0]}), skipped")
        return FileResult(path, dataset, same[0], same[1], same[2], same[3], skipped=True)

    # The content hash (0.7 CPU s per GB) is computed while DuckDB reads the file -- or
    # first, when a file of this name was loaded before: the same bytes again are then
    # likely, and are skipped before anything is read.
    named_before = con.execute(
        "SELECT count(*) FROM ingest_log WHERE dataset = $dataset AND file_name = $name "
        "AND replaced_by IS NULL", {"dataset": dataset, "name": stored_name}).fetchone()
    # A file no mapping reads (empty, binary, a web page) is refused first: its hash
    # would be waited for (2 GB of NULs took 45 s to refuse).
    readers.refuse_at_a_glance(path, mapping.format, encoding or mapping.encoding)
    hashing: readers.BackgroundSha256 | None = None
    if named_before and named_before[0]:
        content_hash = readers.file_sha256(path)
        done = skipped(content_hash)
        if done is not None:
            return done
    else:
        hashing = readers.BackgroundSha256(path)

    # The file is read into a temporary table before the transaction starts: temporary
    # tables never reach the database file, and rows inserted outside a transaction get
    # row ids 0, 1, 2 ... in file order, which give the row numbers.
    seen_headers: list[str] = []  # the file's headers, for advice if they do not fit

    def used_headers(headers: list[str]) -> Collection[str]:
        """The headers the mapping reads: the only columns worth keeping."""
        seen_headers[:] = headers
        provisional = readers.RawTable(table=RAW_TABLE, headers=headers, row_expr="NULL",
                                       format="csv")
        return _plan_columns(config, dataset, provisional, mapping, preset, path.name,
                             _Params(), mapping.date_format, "NULL", "NULL", "NULL",
                             given=path).sources

    # Where advice tells the user to add a key: the mapping in use, else the mapping
    # file ingest would read by default.
    advice_file = (str(config.root / "mappings" / f"{dataset}.toml")
                   if mapping.name == CANONICAL_MAPPING else where)

    def readable(headers: list[str]) -> bool:
        """Whether the mapping can read a sheet with these headers (to find the sheet
        and the header row of a workbook)."""
        try:
            used_headers(headers)
        except EolneedsError:
            return False
        return True

    try:
        if preset is not None and preset.name == "ons_population":
            raw = _read_ons_population(con, path, mapping, where, reporter)
        elif preset is not None and preset.name == "ons_projections":
            raw = _read_ons_projections(con, config, path, mapping, where, reporter)
        else:
            raw = readers.read_into(
                con, path, table=RAW_TABLE, file_format=mapping.format,
                encoding=encoding or mapping.encoding, delimiter=mapping.delimiter,
                sheet=mapping.sheet, header_row=mapping.header_row,
                workdir=config.database_path.parent / TEMP_FOLDER, choose=used_headers,
                matches=readable, where=advice_file,
                # IoD File 1 holds only text and numbers: the fast reader (33,755 rows)
                plain_cells=preset is not None and preset.name == "iod_file1",
                names=preset.positional if preset is not None else (),
            )
    except InputDataError as exc:
        for table in (RAW_TABLE, ROW_MAP_TABLE):
            _quietly(con, f"DROP TABLE IF EXISTS {table}")
        # Bytes already loaded are skipped whatever the mapping now makes of them.
        try:
            done = skipped(hashing.result()) if hashing is not None else None
        except OSError:
            done = None  # the read's own error says more
        if done is not None:
            return done
        # (its first line, a practice, read as headers)
        if (preset is None or not preset.positional) and _starts_like_epraccur(path):
            raise _epraccur_error(path, config) from None
        other = _other_mapping_reads(config, dataset, mapping, path, seen_headers) \
            if "is missing" in str(exc) else None
        if other is not None:
            missing = re.search(r"required column '[^']*' is missing", str(exc))
            raise input_error(
                path.name, f"read with {where}, which cannot read it"
                + (f" ({missing.group(0)})" if missing else "")
                + f"; {_mapping_file(config, other)} reads its columns",
                _choose_mapping_advice(config, dataset, path, other)) from None
        # A workbook in a national layout read without its preset: name the preset.
        found = _national_sheet(path) if preset is None else None
        if found is None:
            raise
        raise input_error(path.name, f"the mapping in use reads no sheet of it (the data "
                          f"are on sheet {found[0]!r})",
                          preset_advice(found[1], path, config)) from exc
    except BaseException:
        for table in (RAW_TABLE, ROW_MAP_TABLE):
            _quietly(con, f"DROP TABLE IF EXISTS {table}")
        raise
    if hashing is not None:
        try:
            content_hash = hashing.result()
            done = skipped(content_hash)
        except BaseException:
            for table in (RAW_TABLE, ROW_MAP_TABLE):
                _quietly(con, f"DROP TABLE IF EXISTS {table}")
            raise
        if done is not None:
            for table in (RAW_TABLE, ROW_MAP_TABLE):
                con.execute(f"DROP TABLE IF EXISTS {table}")
            return done
    if readers.file_state(path) != state:
        # Read while a copy or an export was still writing it: the rows read, the hash
        # and the file as it ends up would not agree. Nothing of it is kept.
        for table in (RAW_TABLE, ROW_MAP_TABLE):
            _quietly(con, f"DROP TABLE IF EXISTS {table}")
        raise input_error(path.name, "changed while it was being read (it was still being "
                          "written or copied)", "wait until it is complete, then ingest it "
                          "again (nothing of it was kept)")
    try:
        params = _Params()
        inner, outer = nz.hmac_pads(key)
        plan = _plan_columns(
            config, dataset, raw, mapping, preset, path.name, params, mapping.date_format,
            params.add(inner), params.add(outer), params.add(date.today()), given=path,
        )
        if preset is not None and plan.preset_note:
            reporter.message(f"{path.name}: {preset.name}: {plan.preset_note}")
        for note in plan.unread:
            reporter.message(f"{path.name}: {note}", level="warning")
        if not replace:
            earlier = con.execute(
                "SELECT count(*) FROM ingest_log WHERE dataset = $dataset AND file_name = $name "
                "AND replaced_by IS NULL", {"dataset": dataset, "name": stored_name},
            ).fetchone()
            if earlier and earlier[0]:
                reporter.message(
                    f"{path.name}: a different file of this name was loaded into {dataset} "
                    "before; both are kept — use --replace to swap the old one out",
                    level="warning",
                )
        columns = [c for c, _, _ in CANONICAL_COLUMNS[dataset]]
        # One pass types every row; a row failing a check (or a totals row) is left out,
        # and one that only had a field fixed is marked with a negative source_row. The
        # rows left out and the marked ones are then read again to assemble their
        # reasons (_quarantine). Straight into the dataset's table, in the transaction
        # (_loads_direct); otherwise into ROWS_TABLE before it, the duplicates found
        # there, and the rows that load inserted from it.
        select = _select_sql(dataset, raw, plan, full=False)
        direct = _loads_direct(con, dataset, raw, stored_mapping)
        # The lookups are small, and must be the hash tables the file's rows probe:
        # DuckDB's estimate for a DISTINCT is the whole input, so it may otherwise build
        # the hash table from the file itself (all its columns) instead.
        con.execute("SET disabled_optimizers = 'build_side_probe_side'")
        try:
            if direct:
                con.execute("BEGIN TRANSACTION")
                file_id = int(con.execute("SELECT nextval('ingest_file_id')").fetchone()[0])  # type: ignore[index]
                if replace:
                    _replace_earlier(con, dataset, replaced, content_hash, file_id)
                insert = (f"INSERT INTO {dataset} ({', '.join(columns)}, source_file_id, "
                          "source_row) SELECT " + ", ".join(f'"v_{c}"' for c in columns)
                          + ", $file_id, CASE WHEN __fixed THEN -__row ELSE __row END "
                          f"FROM ({select}) WHERE NOT __bad")
                con.execute(insert, {**params.used_in(insert), "file_id": file_id})
                rows_read = _mark_left_out(con, dataset, raw, file_id)
            else:
                insert = (f"CREATE OR REPLACE TEMP TABLE {ROWS_TABLE} AS SELECT "
                          + ", ".join(f'"v_{c}" AS "{c}"' for c in columns)
                          + ", CASE WHEN __bad OR __fixed THEN -__row ELSE __row END AS "
                          f"source_row FROM ({select})")
                con.execute(insert, params.used_in(insert))
                rows_read = int(con.execute(f"SELECT count(*) FROM {ROWS_TABLE}").fetchone()[0])  # type: ignore[index]
                con.execute(f"CREATE OR REPLACE TEMP TABLE {MARKED_TABLE} AS SELECT "
                            f"-source_row AS __row, false AS __loaded FROM {ROWS_TABLE} "
                            "WHERE source_row < 0")
            _quarantine(con, dataset, raw, plan, params)
        except BaseException:
            _quietly(con, "RESET disabled_optimizers")
            raise
        con.execute("RESET disabled_optimizers")
        if direct:
            # The rows left out are exactly the rejected ones (the two passes agree),
            # and those that only had a field fixed load: their numbers made positive
            # (an UPDATE of the few, which COMMIT writes cheaply, unlike a DELETE).
            disagree = con.execute(
                f"SELECT count(*) FROM {MARKED_TABLE} m LEFT JOIN {STAGE_TABLE} s "
                "ON s.__row = m.__row WHERE m.__loaded = (s.__row IS NOT NULL)").fetchone()
            if disagree != (0,):
                raise RuntimeError(f"ingest: {disagree} rows left out without a reason, or "
                                   "loaded with one")
            con.execute(f"UPDATE {dataset} SET source_row = -source_row WHERE "
                        "source_file_id = $file_id AND source_row < 0", {"file_id": file_id})
        else:
            # Rows that only had a field blanked load: unmark them (before the duplicate
            # check, which looks at loaded rows only).
            con.execute(f"UPDATE {ROWS_TABLE} SET source_row = -source_row WHERE "
                        f"source_row < 0 AND -source_row NOT IN (SELECT __row FROM "
                        f"{STAGE_TABLE})")
        episodes = preset is not None and presets.unordered_episodes(
            preset, raw.headers, mapping.columns.keys())
        # Episodes that give their spell's discharge date, told apart by it.
        discharges = episodes and _note_discharged(con, raw)
        # The file's text is no longer needed: dropped, its memory is free before the
        # rows are written (else DuckDB spills to disk).
        for table in (RAW_TABLE, BAD_RAW_TABLE, MARKED_TABLE):
            con.execute(f"DROP TABLE IF EXISTS {table}")
        # A refusal in the transaction (direct) rolls back what was inserted.
        if mapping.decimal == "auto":
            _refuse_decimal_commas(con, config, dataset, path.name, mapping.name)
        _refuse_swapped_dates(con, config, dataset, path.name, mapping,
                              f"(SELECT * FROM {dataset} WHERE source_file_id = {file_id})"
                              if direct else f"(SELECT * FROM {ROWS_TABLE} WHERE source_row > 0)")
        _refuse_mostly_rejected(con, config, dataset, path.name, mapping, rows_read)
        superseded: list[tuple[int, str]] = []
        revised: list[tuple[int, int, list[str], bool]] = []
        if not direct:
            if dataset in SUPERSEDE_KEYS and not replace:
                superseded = _superseded_loads(con, dataset, stored_mapping)
            con.execute("BEGIN TRANSACTION")
            file_id = int(con.execute("SELECT nextval('ingest_file_id')").fetchone()[0])  # type: ignore[index]
            if replace:
                _replace_earlier(con, dataset, replaced, content_hash, file_id)
            for old_id, _old_name in superseded:
                _take_out(con, dataset, old_id, file_id)
            if dataset in REVISED_BY_YEAR:
                revised = _replace_revised_years(con, dataset, file_id, stored_name)
        # After the earlier loads are replaced: their rows are no duplicates.
        repeats, corrections, repeated_from = _quarantine_duplicates(
            con, dataset, file_id, direct=direct, mapping=stored_mapping, episodes=episodes,
            discharges=discharges)
        counted = con.execute(f"SELECT count(*) FROM {STAGE_TABLE}").fetchone()
        rows_loaded = rows_read - int(counted[0])  # type: ignore[index]
        if not direct:
            # The rows that load, in one INSERT; the rejected ones are left out by a
            # filter (deleting them from ROWS_TABLE would make the COMMIT copy every row
            # again). A reshaped table's rows are numbered as the sheet's rows.
            numbered = "coalesce(m.__src_row, r.source_row)" if raw.row_map else "r.source_row"
            mapped = (f"LEFT JOIN {raw.row_map} m ON m.__row = r.source_row" if raw.row_map
                      else "")
            con.execute(
                f"INSERT INTO {dataset} ({', '.join(columns)}, source_file_id, source_row) "
                f"SELECT {', '.join(f'r.{c}' for c in columns)}, $file_id, {numbered} "
                f"FROM {ROWS_TABLE} r {mapped} WHERE r.source_row > 0 AND r.source_row "
                f"NOT IN (SELECT __row FROM {STAGE_TABLE} WHERE __row IS NOT NULL)",
                {"file_id": file_id})
        if preset is not None and presets.episode_extract(preset, raw.headers,
                                                          mapping.columns.keys()):
            _spell_ends(con, file_id)
        # A shifted row can put an NHS number in any column: whatever looks like one is
        # masked in every value and reason kept.
        if rows_loaded < rows_read:
            if raw.row_map:
                con.execute(
                    f"UPDATE {STAGE_TABLE} s SET __row = m.__src_row, __reason = "
                    "coalesce('sheet ' || m.__sheet || ': ', '') || s.__reason FROM "
                    f"{raw.row_map} m "
                    "WHERE m.__row = s.__row")
            con.execute(
                "INSERT INTO rejects SELECT $file_id, $name, $dataset, __row, __column, "
                f"{_kept('__value')}, {_kept('__reason')} FROM {STAGE_TABLE} "
                "ORDER BY __row",
                {"file_id": file_id, "name": stored_name, "dataset": dataset},
            )
        if raw.row_map:
            con.execute(
                f"UPDATE {ACTIONS_TABLE} s SET __row = m.__src_row, __reason = "
                "coalesce('sheet ' || m.__sheet || ': ', '') || s.__reason FROM "
                f"{raw.row_map} m WHERE m.__row = s.__row")
        con.execute(
            "INSERT INTO field_actions SELECT $file_id, $name, $dataset, __row, __column, "
            f"{_kept('__value')}, __action, {_kept('__reason')} "
            f"FROM {ACTIONS_TABLE} ORDER BY __row, __column",
            {"file_id": file_id, "name": stored_name, "dataset": dataset},
        )
        con.execute(
            "INSERT INTO ingest_log (file_id, dataset, file_name, file_path, content_hash, "
            "mapping, encoding, rows_read, rows_loaded, rows_rejected, started_at, "
            "finished_at, replaced_by, mapping_hash) VALUES ($file_id, $dataset, $name, $path, "
            "$hash, $mapping, $encoding, $read, $loaded, $rejected, $started, $finished, NULL, "
            "$mapping_hash)",
            {"file_id": file_id, "dataset": dataset, "name": stored_name,
             "path": nz.shown_name(str(path.resolve())), "hash": content_hash,
             "mapping": stored_mapping,
             "mapping_hash": fingerprint,
             "encoding": raw.encoding, "read": rows_read, "loaded": rows_loaded,
             "rejected": rows_read - rows_loaded, "started": started,
             "finished": datetime.now()},
        )
        # Dropped before COMMIT: committing a temporary table that the transaction
        # created and then deleted from copies every row of it again.
        for table in (ROWS_TABLE, BAD_RAW_TABLE, STAGE_TABLE, ACTIONS_TABLE, MARKED_TABLE,
                      DISCHARGED_TABLE):
            con.execute(f"DROP TABLE IF EXISTS {table}")
        con.execute("COMMIT")
    except BaseException:
        # Clean-up never masks the cause: what failed is what the user must see.
        _quietly(con, "ROLLBACK")
        _quietly(con, "RESET disabled_optimizers")
        raise
    finally:
        for table in (STAGE_TABLE, ACTIONS_TABLE, BAD_RAW_TABLE, RAW_TABLE, ROW_MAP_TABLE,
                      ROWS_TABLE, MARKED_TABLE, READ_BLOCKS_TABLE, DISCHARGED_TABLE,
                      LATER_TABLE):
            _quietly(con, f"DROP TABLE IF EXISTS {table}")
    result = FileResult(path, dataset, file_id, rows_read, rows_loaded, rows_read - rows_loaded)
    if rows_read == 0:
        reporter.message(f"{path.name}: the file has a header but no data rows",
                         level="warning")
    reporter.event("file_ingested", file=str(path), dataset=dataset, file_id=file_id,
                   rows_read=rows_read, rows_loaded=rows_loaded,
                   rows_rejected=rows_read - rows_loaded)
    quarantined = rows_read - rows_loaded
    reporter.message(
        f"{path.name}: {rows_read} {plural(rows_read, 'row')} read, {rows_loaded} loaded "
        f"into {dataset}, "
        f"{quarantined} quarantined" + (" (see `eolneeds validate`)" if quarantined else "")
        + f"; read with {_mapping_file(config, mapping.name)}"
    )
    for old_id, old_name in superseded:
        reporter.event("file_superseded", file=str(path), dataset=dataset, file_id=file_id,
                       replaced_file_id=old_id, replaced_file=old_name)
        reporter.message(
            f"{path.name}: repeats every row of {old_name} (file {old_id}), read with the same "
            f"mapping: a cumulative re-supply, so it replaced that load (its values stand "
            f"where they differ); `eolneeds validate` lists {old_name} as replaced by file "
            f"{file_id}", level="warning")
    for year, rows, names, other_vintage in revised:
        reporter.event(f"{dataset}_revised", file=str(path), file_id=file_id, year=year,
                       rows_replaced=rows, replaced_files=names)
        areas = "LSOA" if dataset == "population" else "area"
        cells = (f"in other {areas}s (another vintage: {areas}s the earlier rows do not have, "
                 f"and at least {OTHER_VINTAGE_SHARE:.0%} of the {areas}, sex and age band "
                 "cells they had)" if other_vintage else
                 f"for every {areas}, sex and age band it had")
        reporter.message(
            f"{path.name}: re-states the {dataset} of {year} loaded from "
            f"{', '.join(names)} ({rows} {plural(rows, 'row')}) {cells}: "
            f"{REVISED_BY_YEAR[dataset][1]}, so they replaced the earlier ones; "
            "`eolneeds validate` lists what was replaced", level="warning")
    _say_repeats(path, dataset, mapping.name, rows_read, repeats, corrections, repeated_from,
                 reporter)
    return result


# Datasets a file re-states by the year (_replace_revised_years): the area column of
# their key, and what the earlier rows are called in the reason they are moved with.
REVISED_BY_YEAR: dict[str, tuple[str, str]] = {
    "population": ("lsoa_code", "revised estimates"),
    "projections": ("area_code", "re-based projections"),
}
# A year re-stated with areas the earlier loads do not have for it (another LSOA vintage:
# 2021 LSOAs for 2011 ones; projections on new local authority boundaries) replaces the
# earlier year when it also holds at least this share of its (area, sex, band) cells: a
# whole new table, not a part of one (about 95% of 2021 LSOAs kept their 2011 code).
OTHER_VINTAGE_SHARE = 0.8


def _replace_revised_years(con: duckdb.DuckDBPyConnection, dataset: str, file_id: int,
                           name: str) -> list[tuple[int, int, list[str], bool]]:
    """A population (or projections) year this file (its valid rows in ROWS_TABLE) holds
    for every area, sex and age band that earlier loads hold it for is a re-supply of that
    year: ONS revises last year's estimates in next year's workbook, and a re-based
    projection re-states every year. So is a year the file holds in another vintage of
    areas (areas the earlier loads do not have for that year, and at least
    OTHER_VINTAGE_SHARE of their cells): 2021 LSOAs after 2011 ones would otherwise stand
    beside them, the shared codes' new rows quarantined as duplicates. As activity's
    cumulative re-supply does, it replaces them: an earlier load holding only revised
    years is taken out (replaced_by, as --replace-file would); one holding other years too
    keeps them, and its rows of the revised year move to `rejects`, their reason naming
    this file, so that rows read = loaded + rejected still holds for it. A year re-stated
    only in part (some areas, none new) replaces nothing: its repeats are quarantined as
    duplicates and the earlier rows stand (_say_repeats says how to replace them).
    Returns [(year, rows replaced, earlier file names, whether in another vintage)]."""
    area, called = REVISED_BY_YEAR[dataset]
    key = f"year, {area}, sex, age_band"
    new_rows = (f"SELECT DISTINCT {key} FROM {ROWS_TABLE} "
                f"WHERE source_row > 0 AND source_row NOT IN "
                f"(SELECT __row FROM {STAGE_TABLE} WHERE __row IS NOT NULL)")
    found = con.execute(
        f"WITH f AS ({new_rows}), e AS (SELECT {key} FROM {dataset} WHERE source_file_id "
        "<> $file_id AND year IN (SELECT year FROM f)), "
        f"cover AS (SELECT e.year, count(*) AS earlier, count(f.year) AS covered FROM e "
        f"LEFT JOIN f USING ({key}) GROUP BY e.year), "
        f"fresh AS (SELECT DISTINCT year FROM (SELECT year, {area} FROM f ANTI JOIN "
        f"(SELECT DISTINCT year, {area} FROM e) USING (year, {area}))) "
        "SELECT year, covered < earlier FROM cover WHERE covered = earlier OR (year IN "
        f"(SELECT year FROM fresh) AND covered >= {OTHER_VINTAGE_SHARE} * earlier) "
        "ORDER BY year", {"file_id": file_id}).fetchall()
    if not found:
        return []
    years = [int(y) for y, _other in found]
    other_vintage = {int(y): bool(other) for y, other in found}
    params = {"file_id": file_id, "years": years}
    by_file = con.execute(
        "SELECT p.source_file_id, l.file_name, count(*) FILTER (WHERE list_contains("
        f"$years, p.year)) AS revised, count(*) AS loaded FROM {dataset} p "
        "JOIN ingest_log l ON l.file_id = p.source_file_id "
        "WHERE p.source_file_id <> $file_id GROUP BY ALL HAVING revised > 0 "
        "ORDER BY p.source_file_id", params).fetchall()
    replaced = {int(y): (int(n), list(names)) for y, n, names in con.execute(
        "SELECT p.year, count(*), list(DISTINCT l.file_name ORDER BY l.file_name) "
        f"FROM {dataset} p JOIN ingest_log l ON l.file_id = p.source_file_id "
        "WHERE p.source_file_id <> $file_id AND list_contains($years, p.year) "
        "GROUP BY p.year", params).fetchall()}
    for old, _old_name, revised, loaded in by_file:
        if revised == loaded:
            _take_out(con, dataset, int(old), file_id)
            continue
        con.execute(
            f"INSERT INTO rejects SELECT p.source_file_id, l.file_name, '{dataset}', "
            f"p.source_row, 'year', CAST(p.year AS VARCHAR), '{dataset} of ' || "
            f"CAST(p.year AS VARCHAR) || ' replaced by the {called} in ' || $name "
            f"|| ' (file ' || CAST($file_id AS VARCHAR) || ')' FROM {dataset} p "
            "JOIN ingest_log l ON l.file_id = p.source_file_id "
            "WHERE p.source_file_id = $old AND list_contains($years, p.year)",
            {**params, "old": old, "name": name})
        con.execute(f"DELETE FROM {dataset} WHERE source_file_id = $old AND "
                    "list_contains($years, year)", {"old": old, "years": years})
        con.execute("UPDATE ingest_log SET rows_loaded = rows_loaded - $n, rows_rejected = "
                    "rows_rejected + $n WHERE file_id = $old", {"n": revised, "old": old})
    return [(year, *replaced[year], other_vintage[year]) for year in years]


def _say_repeats(path: Path, dataset: str, mapping_name: str, rows_read: int, repeats: int,
                 corrections: int, earlier: list[tuple[str, int, int]], reporter: Reporter
                 ) -> None:
    """Rows already loaded from another file are quarantined as duplicates, and a file of
    nothing else is no fault (a cumulative re-supply): but say so loudly, and louder for
    repeats whose values differ, which the earlier load's values win over. The way to
    apply a correction is to replace the earlier file whole, which only a file holding
    every row of it can do (an amendments-only file would drop the rest)."""
    if not repeats:
        return
    what = {**UNIQUE_KEYS, **REPEAT_KEYS}[dataset][1].split(" for ")[0] + "s"
    name, from_it, its_rows = earlier[0]
    named = "" if mapping_name == CANONICAL_MAPPING else f" --mapping {mapping_name}"
    if len(earlier) == 1 and from_it >= its_rows:
        fix = (f"if this file is a corrected {name}, put it in its place: eolneeds ingest "
               f"{dataset} {shell_arg(path)}{named} --replace-file {shell_arg(name)}")
    else:
        files = ", ".join(f"{f} ({n} of its {r})" for f, n, r in earlier[:3])
        target = shell_arg(name) if len(earlier) == 1 else "EARLIER_NAME"
        fix = (f"it repeats only part of the earlier files ({files}), so replacing one "
               "would drop the rest: apply the corrections to a copy of the earlier file "
               "(or ask for a whole corrected extract) and load that in its place with "
               f"eolneeds ingest {dataset} CORRECTED_FILE{named} --replace-file {target}")
    if corrections:
        reporter.message(
            f"{path.name}: {corrections} {plural(corrections, 'row repeats', 'rows repeat')} "
            f"{what} already loaded from another "
            "file with DIFFERENT values (corrections?): they were quarantined and the "
            f"earlier values kept — {fix}", level="warning")
    if repeats == rows_read:
        reporter.message(
            f"{path.name}: every row repeats {what} already loaded from another file, so "
            "nothing new was loaded (a re-supply of data already in is no fault)"
            + ("" if corrections else f"; {fix}"), level="warning")


def _spell_ends(con: duckdb.DuckDBPyConnection, file_id: int) -> None:
    """An episode-level HES APC file: each spell's admission (its first episode, the one
    row with an admission method) ends when the spell does -- the latest end of the
    spell's episodes in the file, or no end when an episode of it has none (the last,
    not yet discharged, or blank for a death in hospital: it runs to the date of death).
    A spell is a person's rows with one admission date and, where the extract gives
    it, one spell identifier (two spells started the same day are then two); rows that
    still hold several admissions (no spell identifier) are left as they are. Bed days
    are a spell's, admission to discharge (REFERENCE.md).

    A later episode whose end was blanked as not a date or in the future (its field
    action in ACTIONS_TABLE, reason ending UNKNOWN_LENGTH) leaves the spell's length
    unknown: the admission is given no end and a field action saying so, so it has no
    bed days (as a spell whose own end is blanked), rather than running to the date of
    death as an open spell does. (Which episode was the spell's last is not kept, so a
    blanked end anywhere in the spell makes it unknown.)"""
    spells = (
        "  SELECT person_id, start_date, spell_id,"
        "    bool_or(end_date IS NULL AND admission_method IS NULL AND u.__row IS NULL)"
        "      AS open_at_death,"
        "    min(source_row) FILTER (WHERE u.__row IS NOT NULL AND admission_method IS NULL)"
        "      AS blanked_row,"
        "    CASE WHEN open_at_death OR blanked_row IS NOT NULL THEN NULL"
        "         ELSE max(end_date) END AS spell_end,"
        "    count(admission_method) AS admissions, count(*) AS episodes"
        "  FROM activity AS e LEFT JOIN ("
        f"   SELECT DISTINCT __row FROM {ACTIONS_TABLE}"
        "    WHERE __column = 'end_date' AND ends_with(__reason, $unknown)"
        "  ) AS u ON u.__row = e.source_row"
        "  WHERE source_file_id = $file_id GROUP BY person_id, start_date, spell_id")
    admission = (
        "a.source_file_id = $file_id AND a.person_id = s.person_id "
        "AND a.start_date = s.start_date AND a.spell_id IS NOT DISTINCT FROM s.spell_id "
        "AND a.admission_method IS NOT NULL AND s.admissions = 1 AND s.episodes > 1")
    params = {"file_id": file_id, "unknown": UNKNOWN_LENGTH}
    # Recorded before the end is changed: the action names the end the row held.
    con.execute(
        f"INSERT INTO {ACTIONS_TABLE} SELECT a.source_row, 'end_date', "
        "CAST(a.end_date AS VARCHAR), 'blanked', 'the end of the spell this admission "
        "begins is unknown: the end date of its episode in row ' || s.blanked_row || "
        f"' was blanked' || $unknown FROM activity AS a, ({spells}) AS s WHERE {admission} "
        "AND s.blanked_row IS NOT NULL AND NOT s.open_at_death AND a.source_row NOT IN ("
        f"SELECT __row FROM {ACTIONS_TABLE} WHERE __column = 'end_date' "
        "AND ends_with(__reason, $unknown))", params)
    con.execute(
        f"UPDATE activity AS a SET end_date = s.spell_end FROM ({spells}) AS s "
        f"WHERE {admission} AND a.end_date IS DISTINCT FROM s.spell_end", params)


def _kept(column: str) -> str:
    """SQL: a quarantined or acted-on value, or its reason, as rejects and field_actions
    keep it: identifiers masked, control characters as escapes ('\\r')."""
    return nz.escape_unshown_sql(nz.mask_sql(column))


def _quietly(con: duckdb.DuckDBPyConnection, sql: str) -> None:
    """Run a clean-up statement whose failure must not hide the error being raised."""
    try:
        con.execute(sql)
    except duckdb.Error:
        pass


def _refuse_decimal_commas(con: duckdb.DuckDBPyConnection, config: ProjectConfig,
                           dataset: str, file_name: str, mapping_name: str) -> None:
    """Refuse the file when a number uses a decimal comma and the mapping does not say
    so: its other numbers ("1,234" is 1.234 there) would be misread, not just that row."""
    found = con.execute(
        f"SELECT __row, list_filter(string_split(__reason, '; '), lambda x: contains(x, $m))[1] "
        f"FROM {STAGE_TABLE} WHERE contains(__reason, $m) ORDER BY __row LIMIT 1",
        {"m": DECIMAL_COMMA_REASON}).fetchone()
    if found is None:
        return
    path = config.root / "mappings" / f"{mapping_name}.toml"
    where = str(path) if path.is_file() else f"mappings/{dataset}.toml (dataset = \"{dataset}\")"
    # The message is logged by scheduled runs: no NHS-number-like value in it.
    raise input_error(file_name, nz.mask(str(found[1])) or "",
                      f"add decimal = \",\" to {where} if the file writes numbers as "
                      "1.234,56, then ingest it again", row=found[0])


def _read_ons_population(con: duckdb.DuckDBPyConnection, path: Path, mapping: Any,
                         where: str, reporter: Reporter) -> readers.RawTable:
    """The ONS mid-year estimates workbook by LSOA as the canonical long table.

    Each data sheet (F0..F90 and M0..M90; or, in the older layout, one sheet per sex
    with 0..89 and 90+ -- the persons sheet is left out) becomes one row per LSOA, sex
    and five-year band, its population the sum of the band's single years (or, where one
    of them is not a number, that cell's text, which the population check rejects). The
    year comes from `year` in the mapping, else the sheet name or its title rows.

    A CSV of the same table (a data sheet saved or downloaded as CSV) is read the same
    way: its year from the mapping or the file name ('mid-2022'), and in the older
    layout its sex from the file name ('males')."""
    fmt, _gz = readers.detect_format(path, mapping.format)
    if fmt != "xlsx":
        return _read_ons_population_csv(con, path, fmt, mapping, where, reporter)
    sheets = readers.scan_workbook(path, lambda h: presets.ons_wide_layout(h) is not None)
    if mapping.sheet is not None:
        sheets = [s for s in sheets if s.name == mapping.sheet]
    chosen: list[tuple[readers.SheetLayout, str, str | None, int]] = []
    nomis: list[tuple[readers.RawTable, str | None, str, str | None, int]] = []
    for sheet in sheets:
        layout = presets.ons_wide_layout(sheet.headers) if sheet.matched else None
        if layout is None:
            continue
        if layout == "ages" and _nomis(sheet.headers):
            part = readers.read_into(con, path, table=f"{RAW_TABLE}_n{len(nomis)}",
                                     file_format="xlsx", sheet=sheet.name,
                                     header_row=sheet.header_row, plain_cells=True)
            nomis.append(_nomis_part(con, path, part, sheet.titles, mapping, where,
                                     reporter))
            continue
        sex = None
        if layout == "ages":
            sex = presets.ons_sheet_sex(sheet.name) or presets.ons_sheet_sex(
                " ".join(sheet.titles[:1]))
            if sex is None:
                continue  # the persons sheet: males + females again
        year = mapping.year or presets.ons_year(sheet.name, *sheet.titles)
        if year is None:
            raise input_error(path.name, f"sheet {sheet.name!r} does not say its year (no "
                              "'Mid-YYYY' in the sheet name or the title rows)",
                              f"add year = YYYY (the estimates' year) to {where}")
        chosen.append((sheet, layout, sex, year))
    if nomis and not chosen:
        return _ons_long_table(con, nomis)
    if not chosen:
        raise _no_ons_sheet(path, "an ONS population table by LSOA", "the ONS mid-year "
                            "estimates workbook by LSOA (F0..F90 and M0..M90, or a sheet per "
                            "sex with 0..89 and 90+)", where)
    parts: list[tuple[readers.RawTable, str | None, str, str | None, int]] = []
    described: list[str] = []
    for i, (sheet, layout, sex, year) in enumerate(chosen):
        part = readers.read_into(con, path, table=f"{RAW_TABLE}_{i}", file_format="xlsx",
                                 sheet=sheet.name, header_row=sheet.header_row,
                                 plain_cells=True)
        parts.append((part, sheet.name, layout, sex, year))
        described.append(
            f"sheet {sheet.name!r} (header on row {sheet.header_row}), year {year}"
            + (f", {sex}s" if sex else "")
            + (", F0..F90 and M0..M90" if layout == "sexes" else ", 0..89 and 90+"))
    reporter.message(f"{path.name}: ons_population: {'; '.join(described)}")
    return _ons_long_table(con, parts)


def _no_ons_sheet(path: Path, table: str, workbook: str, where: str) -> InputDataError:
    """No sheet of a workbook read with an ONS preset is in its layout: the sheets, and
    the way out."""
    names = ", ".join(repr(s.name) for s in readers.scan_workbook(path))
    return input_error(path.name, f"no sheet is {table} (sheets: {names})",
                       f"check that this is {workbook}; for another layout delete the preset "
                       f"line in {where} and map its columns")


def _read_ons_population_csv(con: duckdb.DuckDBPyConnection, path: Path, fmt: str,
                             mapping: Any, where: str, reporter: Reporter
                             ) -> readers.RawTable:
    """An ONS wide table by LSOA as CSV (see _read_ons_population)."""
    part = readers.read_into(con, path, table=f"{RAW_TABLE}_0", file_format=fmt,
                             encoding=mapping.encoding, delimiter=mapping.delimiter,
                             header_row=mapping.header_row, where=where)
    layout = presets.ons_wide_layout(part.headers)
    if layout is None:
        raise input_error(
            path.name, "is not an ONS population table by LSOA (an LSOA code column with "
            "F0..F90 and M0..M90, or 0..89 and 90+)",
            f"ingest the ONS workbook as published, or delete the preset line in {where} to "
            "read a long table (lsoa_code, year, sex, age_band, population)")
    if layout == "ages" and _nomis(part.headers):
        return _ons_long_table(con, [_nomis_part(con, path, part, _title_lines(path, part),
                                                 mapping, where, reporter)])
    year = mapping.year or presets.ons_file_year(path.name)
    if year is None:
        raise input_error(path.name, "does not say the estimates' year (a CSV has no sheet "
                          "name or title, and the file name holds no one year)",
                          f"add year = YYYY (the estimates' year) to {where}")
    sex = presets.ons_sheet_sex(path.stem) if layout == "ages" else None
    if layout == "ages" and sex is None:
        raise input_error(path.name, "has one age per column (0..89, 90+) but not which sex "
                          "(the workbook has a sheet per sex)",
                          "ingest the ONS workbook as published, or name the file for the sex "
                          "it holds (e.g. mid-2020-males.csv)")
    reporter.message(f"{path.name}: ons_population: year {year}"
                     + (f", {sex}s" if sex else "")
                     + (", F0..F90 and M0..M90" if layout == "sexes" else ", 0..89 and 90+"))
    return _ons_long_table(con, [(part, None, layout, sex, year)])


def _nomis(headers: Sequence[str]) -> bool:
    """The table is Nomis's download (its area column's name)."""
    return any(presets.NOMIS_AREA.fullmatch(presets.header_key(h)) for h in headers)


# Sex, in each of Nomis's spellings of it, as read; a persons (total) table is not read.
_NOMIS_SEXES = {"male": "male", "males": "male", "m": "male", "female": "female",
                "females": "female", "f": "female"}
# A line of Nomis's: 'Sex        :' (a label padded to a colon) and its value.
_NOMIS_LABEL = r"\s*([A-Za-z][A-Za-z ]*?)\s*:\s*"


def _nomis_part(con: duckdb.DuckDBPyConnection, path: Path, part: readers.RawTable,
                titles: list[str], mapping: Any, where: str, reporter: Reporter
                ) -> tuple[readers.RawTable, str | None, str, str | None, int]:
    """ONS population by LSOA and single year of age downloaded from Nomis (CSV, or a
    sheet of a workbook; `titles`: the text of the lines above the header) as a part for
    _ons_long_table, its rows' sex in ROW_SEX. The title lines name the data set, the
    date ('Date :', '2022': the year, unless the mapping sets one) and, for a table of
    one sex, the sex ('Sex :' or 'Gender :'); a download of both sexes is a table per
    sex, each under its own 'Sex :' line and header, and footnotes close the file (or
    the sex is a column). The lines that are not a table's rows -- labels, a header
    again, footnotes, a persons table (males and females again) -- are not read, as
    title rows are not; every row of a table of one sex is read and checked."""
    labels = {m.group(1).lower(): m.group(2).strip() for line in titles
              for m in [re.fullmatch(_NOMIS_LABEL + "(.*)", line)] if m}
    dated = re.findall(r"(?:19|20)\d\d", labels.get("date", ""))
    year = mapping.year or (int(dated[0]) if dated else presets.ons_file_year(path.name))
    if year is None:
        raise input_error(path.name, "does not say the estimates' year (no 'Date :' line "
                          "above the table, and the file name holds no one year)",
                          f"add year = YYYY (the estimates' year) to {where}")
    first, code = part.column(part.headers[0]), part.column(
        presets.ons_lsoa_header(part.headers) or part.headers[0])
    label = f"regexp_extract({first}, '^{_NOMIS_LABEL}$', 1)"
    sex_column = presets.find_any(presets.NOMIS_SEX_NAMES, part.headers)
    above = next((labels[k] for k in ("sex", "gender") if k in labels), "")
    said = (part.column(sex_column) if sex_column else
            f"coalesce(last_value(CASE WHEN lower({label}) IN ('sex', 'gender') THEN "
            f"trim({part.column(part.headers[1])}) END IGNORE NULLS) OVER (ORDER BY "
            f"{part.row_expr} ROWS UNBOUNDED PRECEDING), {nz.sql_literal(above)})")
    sexes = ", ".join(f"{nz.sql_literal(k)}: {nz.sql_literal(v)}"
                      for k, v in _NOMIS_SEXES.items())
    cells = [part.column(h) for h in part.headers[2:]]
    # A table's row: not a label, not its header again, something beside the area.
    is_row = (f"coalesce({label}, '') = '' AND {code} IS DISTINCT FROM "
              f"{nz.sql_literal(presets.NOMIS_CODE)} AND NOT "
              f"({' AND '.join(readers.blank_sql(c) for c in cells)})")
    table = f"{part.table}_nomis"
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {table} AS SELECT * EXCLUDE (__said), "
        f"MAP {{{sexes}}}[lower(trim(__said))] AS {ROW_SEX} FROM (SELECT *, "
        f"{part.row_expr} AS __nomis_row, {said} AS __said, {is_row} AS __is_row "
        f"FROM {part.table}) WHERE __is_row")
    con.execute(f"DELETE FROM {table} WHERE {ROW_SEX} IS NULL")
    con.execute(f"DROP TABLE {part.table}")
    if not con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]:  # type: ignore[index]
        raise input_error(path.name, "has no table of males or females (no 'Sex :' line "
                          "naming Male or Female above a table, nor a Sex column)",
                          "download the table from Nomis with sex (males and females) "
                          "selected, or add the sex as a column")
    rows = dataclasses.replace(part, table=table, row_expr="__nomis_row")
    reporter.message(f"{path.name}: ons_population: Nomis download"
                     + (f", sheet {part.sheet!r}" if part.sheet else "")
                     + f", year {year}, Age 0 .. Aged 90+ by sex")
    return rows, part.sheet, "ages", ROW_SEX, year


def _title_lines(path: Path, part: readers.RawTable) -> list[str]:
    """The lines of a CSV above its header row (`part` as read_into read it), their
    values joined by spaces (as readers.SheetLayout.titles)."""
    lines: list[str] = []
    with path.open(encoding=part.encoding or "utf-8", errors="replace", newline="") as f:
        for cells in csv.reader(f, delimiter=part.delimiter or ","):
            if [c.strip() for c in cells[:len(part.headers)]] == part.headers:
                return lines
            lines.append(" ".join(c.strip() for c in cells if c.strip()))
            if len(lines) > 100:
                break
    return []


def _ons_long_table(con: duckdb.DuckDBPyConnection,
                    parts: list[tuple[readers.RawTable, str | None, str, str | None, int]]
                    ) -> readers.RawTable:
    """The parts (each a wide table read as text: its sheet name or None for a CSV,
    layout, sex of an older-layout sheet, year) as the canonical long table."""
    selects: list[str] = []
    for i, (part, sheet_name, layout, sex, year) in enumerate(parts):
        table = part.table
        lsoa_header = presets.ons_lsoa_header(part.headers) or part.headers[0]
        lsoa = part.column(lsoa_header)
        if presets.NOMIS_AREA.fullmatch(presets.header_key(lsoa_header)):
            # Nomis without mnemonic: 'E01011949 : Hartlepool 001A', the code first.
            lsoa = (f"coalesce(nullif(regexp_extract({lsoa}, '^\\s*([EW]0[0-9]{{7}})\\s+:', "
                    f"1), ''), {lsoa})")
        for band_no, (band_sex, band, headers) in enumerate(
                presets.ons_band_columns(layout, part.headers, sex)):
            cells = [part.column(h) for h in headers]
            numbers = [nz.number_sql(c) for c in cells]
            bad = ", ".join(
                f"(CASE WHEN {n} IS NULL THEN {nz.sql_literal(h + ': ')} || "
                f"coalesce({c}, 'blank') END)" for h, c, n in zip(headers, cells, numbers,
                                                                  strict=True))
            population = (f"(CASE WHEN {' AND '.join(f'{n} IS NOT NULL' for n in numbers)} "
                          f"THEN CAST({' + '.join(numbers)} AS VARCHAR) "
                          f"ELSE coalesce({bad}) END)")
            sheet_sql = nz.sql_literal(sheet_name) if sheet_name is not None else "NULL"
            selects.append(
                f"SELECT {i} AS __part, {part.row_expr} AS __src_row, {band_no} AS __band, "
                f"{sheet_sql} AS __sheet, {lsoa} AS c0, '{year}' AS c1, "
                f"{band_sex if band_sex == ROW_SEX else nz.sql_literal(band_sex)} AS c2, "
                f"'{band}' AS c3, {population} AS c4 FROM {table}")
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE __eolneeds_long AS SELECT row_number() OVER "
        f"(ORDER BY __part, __src_row, __band) AS __row, * FROM ({' UNION ALL '.join(selects)})")
    con.execute(f"CREATE OR REPLACE TEMP TABLE {ROW_MAP_TABLE} AS SELECT __row, __src_row, "
                "__sheet FROM __eolneeds_long")
    con.execute(f"CREATE OR REPLACE TEMP TABLE {RAW_TABLE} AS SELECT __row, c0, c1, c2, c3, c4 "
                "FROM __eolneeds_long ORDER BY __row")
    for part, *_rest in parts:
        con.execute(f"DROP TABLE IF EXISTS {part.table}")
    con.execute("DROP TABLE __eolneeds_long")
    return readers.RawTable(table=RAW_TABLE, headers=["lsoa_code", "year", "sex", "age_band",
                                                      "population"],
                            row_expr="__row", format="xlsx", row_map=ROW_MAP_TABLE)


def _read_ons_projections(con: duckdb.DuckDBPyConnection, config: ProjectConfig,
                          path: Path, mapping: Any, where: str, reporter: Reporter
                          ) -> readers.RawTable:
    """ONS subnational population projections as published, as the canonical long table.

    One row per area, sex and single year of age (or five-year group), one column per
    projection year (presets.projection_layout): the 2018-based CSVs ('2018 SNPP
    Population males.csv', the sex from a SEX column or the file name) and the 2022-based
    workbook (cover and notes sheets, a sheet per sex under title rows; the persons sheet
    is not read) alike. Each area x sex x five-year band x year is the sum of its single
    years; 'All ages' and persons rows, and rows of another COMPONENT than population
    (births, deaths, migration of table 5), are totals or not population and are left
    out, said in the message. An area is a Place where its code or its name is one of
    eolneeds.toml (an LA named 'Castlemoor' is Place CAS), else its code as published
    (areas outside the ICB are loaded and not used). A population cell that is not a
    number is kept as its text ('2031 age 7: x') for the population check to quarantine,
    naming its sheet and row."""
    fmt, _gz = readers.detect_format(path, mapping.format)
    chosen: list[tuple[str | None, int | None, str | None]] = []  # sheet, header row, sex
    if fmt == "xlsx":
        sheets = readers.scan_workbook(path, lambda h: presets.projection_layout(h) is not None)
        if mapping.sheet is not None:
            sheets = [s for s in sheets if s.name == mapping.sheet]
        for sheet in sheets:
            layout = presets.projection_layout(sheet.headers) if sheet.matched else None
            if layout is None:
                continue
            sex = None
            if layout.sex is None:
                sex = presets.ons_sheet_sex(sheet.name) or presets.ons_sheet_sex(
                    " ".join(sheet.titles[:1]))
                if sex is None:
                    continue  # the persons sheet: males + females again
            chosen.append((sheet.name, sheet.header_row, sex))
        if not chosen:
            raise _no_ons_sheet(path, "an ONS projections table", "the ONS subnational "
                                "population projections table (an area code, a sex and an "
                                "age column, and a column per year)", where)
    else:
        chosen.append((None, mapping.header_row, None))
    parts: list[tuple[readers.RawTable, str | None, presets.ProjectionLayout, str | None]] = []
    for i, (sheet_name, header_row, sex) in enumerate(chosen):
        part = readers.read_into(
            con, path, table=f"{RAW_TABLE}_{i}", file_format=fmt, encoding=mapping.encoding,
            delimiter=mapping.delimiter, sheet=sheet_name, header_row=header_row,
            plain_cells=fmt == "xlsx", where=where,
            matches=lambda h: presets.projection_layout(h) is not None)
        layout = presets.projection_layout(part.headers)
        if layout is None:
            raise input_error(
                path.name, "is not an ONS projections table (an area code column such as "
                "AREA_CODE, an age column such as AGE_GROUP, and a column per year)",
                f"ingest the ONS table as published, or delete the preset line in {where} to "
                "read a long table (area_code, year, sex, age_band, population)")
        if layout.sex is None and sex is None:
            sex = presets.ons_sheet_sex(path.stem)
            if sex is None:
                raise input_error(
                    path.name, "has no sex column and its name does not say males or "
                    "females (a persons table counts both sexes together)",
                    "ingest the males and the females files as published (e.g. '2018 SNPP "
                    "Population males.csv')")
        parts.append((part, sheet_name, layout, sex))
    selects: list[str] = []
    left_out = 0
    totals = ", ".join(nz.sql_literal(t) for t in presets.SNPP_ALL_AGES)
    persons = ", ".join(nz.sql_literal(t) for t in presets.SNPP_PERSONS)
    for i, (part, sheet_name, layout, sex) in enumerate(parts):
        # Each cell's text cleaned once, into a table of plain names: the expressions
        # below then read short columns (the cleaning written into each of them made
        # DuckDB plan for a minute).
        cleaned = f"{RAW_TABLE}_clean_{i}"
        sex_text = (readers.value_sql(part.column(layout.sex)) if layout.sex
                    else nz.sql_literal(sex or ""))
        component = (nz.code_key_sql(part.column(layout.component)) if layout.component
                     else "NULL")
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE {cleaned} AS SELECT {part.row_expr} AS src_row, "
            f"{readers.value_sql(part.column(layout.area))} AS area, "
            + (f"{readers.value_sql(part.column(layout.name))}" if layout.name else "NULL")
            + f" AS name, {readers.value_sql(part.column(layout.age))} AS age, "
            f"{sex_text} AS sex, {component} AS component, "
            + ", ".join(f"{part.column(h)} AS y{year}" for h, year in layout.years.items())
            + f" FROM {part.table}")
        con.execute(f"DROP TABLE IF EXISTS {part.table}")
        place = (f"coalesce({_place_code_sql(config, 'area')}, "
                 f"{_place_code_sql(config, 'name')}, area)" if config.places else "area")
        sex_sql = (f"(CASE {nz.code_key_sql('sex')} WHEN 'males' THEN 'male' "
                   "WHEN 'females' THEN 'female' ELSE sex END)")
        keep = (f"coalesce({nz.code_key_sql('age')}, '') NOT IN ({totals}) "
                f"AND coalesce({nz.code_key_sql('sex')}, '') NOT IN ({persons}) "
                "AND coalesce(component, 'population') = 'population'")
        counted = con.execute(f"SELECT count(*) FILTER (WHERE NOT ({keep})) FROM {cleaned}")
        left_out += counted.fetchone()[0]  # type: ignore[index]
        sheet_sql = nz.sql_literal(sheet_name) if sheet_name is not None else "NULL"
        rows = (f"SELECT src_row, {place} AS area, {sex_sql} AS sex, "
                f"{presets.projection_age_band_sql('age')} AS band, age, "
                + ", ".join(f"y{year}" for year in layout.years.values())
                + f" FROM {cleaned} WHERE {keep}")
        con.execute(f"CREATE OR REPLACE TEMP TABLE {cleaned} AS {rows}")
        for year in layout.years.values():
            selects.append(
                f"SELECT {i} AS __part, src_row AS __src_row, {sheet_sql} AS __sheet, area, "
                f"{year} AS year, sex, band, age, {nz.number_sql(f'y{year}')} AS n, "
                f"y{year} AS cell FROM {cleaned}")
    # One row per area, year, sex and band; its row in the sheet is its first age's.
    con.execute(
        "CREATE OR REPLACE TEMP TABLE __eolneeds_long AS SELECT row_number() OVER (ORDER BY "
        "__part, __src_row, c1, c2, c3) AS __row, * FROM (SELECT __part, min(__src_row) AS "
        "__src_row, __sheet, area AS c0, CAST(year AS VARCHAR) AS c1, sex AS c2, band AS c3, "
        "CASE WHEN count(*) FILTER (WHERE n IS NULL) = 0 THEN CAST(sum(n) AS VARCHAR) ELSE "
        "min(year || ' age ' || coalesce(age, 'blank') || ': ' || coalesce(cell, 'blank')) "
        "FILTER (WHERE n IS NULL) END AS c4 "
        f"FROM ({' UNION ALL '.join(selects)}) GROUP BY __part, __sheet, area, year, sex, band)")
    con.execute(f"CREATE OR REPLACE TEMP TABLE {ROW_MAP_TABLE} AS SELECT __row, __src_row, "
                "__sheet FROM __eolneeds_long")
    con.execute(f"CREATE OR REPLACE TEMP TABLE {RAW_TABLE} AS SELECT __row, c0, c1, c2, c3, c4 "
                "FROM __eolneeds_long ORDER BY __row")
    for i in range(len(parts)):
        con.execute(f"DROP TABLE IF EXISTS {RAW_TABLE}_clean_{i}")
    con.execute("DROP TABLE __eolneeds_long")
    years = sorted({y for _p, _s, layout, _x in parts for y in layout.years.values()})
    where_read = "; ".join(
        (f"sheet {s!r}" if s is not None else "the file") + (f" ({x}s)" if x else "")
        for _p, s, _l, x in parts)
    reporter.message(
        f"{path.name}: ons_projections: {where_read}, years {years[0]}-{years[-1]}, summed "
        f"into five-year bands" + (f"; {left_out:,} rows of totals (all ages, persons) or "
                                   "other components left out" if left_out else ""))
    return readers.RawTable(table=RAW_TABLE, headers=["area_code", "year", "sex", "age_band",
                                                      "population"],
                            row_expr="__row", format=fmt, row_map=ROW_MAP_TABLE)


def _loads_direct(con: duckdb.DuckDBPyConnection, dataset: str, raw: readers.RawTable,
                  mapping: str) -> bool:
    """Whether the typed rows go straight into the dataset's table (no ROWS_TABLE).

    Writing 16.6 M activity rows once instead of twice saves about 4 of 27 CPU seconds.
    A dataset whose rows must be unique loads directly only into an empty table: its
    duplicates are then rare (looked for among the rows inserted and deleted,
    _quarantine_duplicates), where a cumulative extract after the first repeats most
    rows, whose deletion would make the COMMIT write the file again. Not for a reshaped
    table (its rows are renumbered). tests/test_ingest_speed.py checks that both ways
    give the same rows, rejects and field actions. Likewise a dataset of REPEAT_KEYS
    loads directly only when no earlier file of this feed (`mapping`) is loaded."""
    if not DIRECT_LOAD or raw.row_map is not None:
        return False
    if dataset in UNIQUE_KEYS:
        empty = con.execute(f"SELECT NOT EXISTS (SELECT 1 FROM {dataset})").fetchone()
        return empty == (True,)
    if dataset in REPEAT_KEYS:
        return not _feed_loaded(con, dataset, mapping)
    return True


def _feed_loaded(con: duckdb.DuckDBPyConnection, dataset: str, mapping: str,
                 file_id: int | None = None) -> bool:
    """Whether rows of `dataset` from another file read with `mapping` are loaded."""
    found = con.execute(
        "SELECT EXISTS (SELECT 1 FROM ingest_log WHERE dataset = $dataset AND mapping = "
        "$mapping AND replaced_by IS NULL AND rows_loaded > 0 AND file_id IS DISTINCT FROM "
        "$file_id)", {"dataset": dataset, "mapping": mapping, "file_id": file_id}).fetchone()
    return found == (True,)


DIRECT_LOAD = True  # False: every dataset through ROWS_TABLE (the tests compare the two)


def _mark_left_out(con: duckdb.DuckDBPyConnection, dataset: str, raw: readers.RawTable,
                   file_id: int) -> int:
    """After the direct INSERT: fill MARKED_TABLE with the file's rows that it left out
    (a check failed) or loaded with a field fixed (negative source_row); return the rows
    read (the raw table's rows that are not blank).

    The rows left out are found by counting rows per block of ROW_BLOCK row numbers in
    the raw table and in the dataset's table, then comparing row by row only the blocks
    whose counts differ (16.6 M rows: about 0.2 CPU s, where an anti join of every row
    costs several seconds)."""
    row, blank = raw.row_expr, _blank_row_sql(raw)
    con.execute(f"CREATE OR REPLACE TEMP TABLE {READ_BLOCKS_TABLE} AS SELECT "
                f"{row} // {ROW_BLOCK} AS __block, count(*) AS __n FROM {raw.table} "
                f"WHERE NOT ({blank}) GROUP BY ALL")
    this_file = f"(SELECT abs(source_row) AS __row FROM {dataset} WHERE source_file_id = $file_id)"
    short = (f"SELECT r.__block FROM {READ_BLOCKS_TABLE} r LEFT JOIN (SELECT __row // "
             f"{ROW_BLOCK} AS __block, count(*) AS __n FROM {this_file} GROUP BY ALL) l "
             "ON l.__block = r.__block WHERE l.__n IS DISTINCT FROM r.__n")
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {MARKED_TABLE} AS "
        f"SELECT __row, false AS __loaded FROM ("
        f"SELECT {row} AS __row FROM {raw.table} WHERE {row} // {ROW_BLOCK} IN ({short}) "
        f"AND NOT ({blank}) EXCEPT SELECT __row FROM {this_file} "
        f"WHERE __row // {ROW_BLOCK} IN ({short})) "
        f"UNION ALL SELECT -source_row, true FROM {dataset} "
        "WHERE source_file_id = $file_id AND source_row < 0", {"file_id": file_id})
    read = con.execute(f"SELECT coalesce(sum(__n), 0) FROM {READ_BLOCKS_TABLE}").fetchone()
    con.execute(f"DROP TABLE {READ_BLOCKS_TABLE}")
    return int(read[0])  # type: ignore[index]


def _quarantine(con: duckdb.DuckDBPyConnection, dataset: str, raw: readers.RawTable,
                plan: _Plan, params: _Params) -> None:
    """Fill STAGE_TABLE with this file's rejected rows (__row, __column, __value,
    __reason) and ACTIONS_TABLE with the field-level actions on the rows that load: the
    rows in MARKED_TABLE, with every problem spelt out (_quarantine_duplicates adds the
    duplicates)."""
    con.execute(f"CREATE OR REPLACE TEMP TABLE {STAGE_TABLE} (__row BIGINT, __column VARCHAR, "
                "__value VARCHAR, __reason VARCHAR)")
    con.execute(f"CREATE OR REPLACE TEMP TABLE {ACTIONS_TABLE} (__row BIGINT, "
                "__column VARCHAR, __value VARCHAR, __action VARCHAR, __reason VARCHAR)")
    bad = con.execute(f"SELECT count(*) FROM {MARKED_TABLE}").fetchone()
    if bad and bad[0]:
        numbered = "*" if raw.row_expr == "__row" else f"{raw.row_expr} AS __row, *"
        # Rows numbered from their rowid are fetched by rowid: DuckDB reads only those
        # rows (a filter on the row number reads every column of every row: 1.2 CPU s
        # for 16.6 M rows, against 0.01 s).
        by_rowid = re.fullmatch(r"\(rowid \+ ([0-9]+)\)", raw.row_expr)
        wanted = (f"rowid IN (SELECT __row - {by_rowid.group(1)} FROM {MARKED_TABLE})"
                  if by_rowid else f"{raw.row_expr} IN (SELECT __row FROM {MARKED_TABLE})")
        con.execute(f"CREATE OR REPLACE TEMP TABLE {BAD_RAW_TABLE} AS SELECT {numbered} "
                    f"FROM {raw.table} WHERE {wanted}")
        rows = replace(raw, table=BAD_RAW_TABLE, row_expr="__row")
        full = _select_sql(dataset, rows, _spelt_plan(con, plan, rows), full=True)
        spelt = "__eolneeds_spelt"
        # A few rows are spelt out on one thread: the statement then costs its binding
        # and each thread's set-up (its regular expressions compiled again), not rows.
        few = bad[0] <= FEW_MARKED_ROWS
        if few:
            con.execute("SET threads = 1")
        try:
            con.execute(f"CREATE OR REPLACE TEMP TABLE {spelt} AS SELECT __row, __column, "
                        f"__value, __reason, __actions FROM ({full})", params.used_in(full))
        finally:
            if few:
                con.execute("RESET threads")
        try:
            con.execute(f"INSERT INTO {STAGE_TABLE} SELECT __row, __column, __value, __reason "
                        f"FROM {spelt} WHERE __reason <> ''")
            con.execute(f"INSERT INTO {ACTIONS_TABLE} SELECT __row, a.column_name, a.value, "
                        f"a.action, a.reason FROM (SELECT __row, unnest(__actions) AS a "
                        f"FROM {spelt} WHERE __reason = '')")
            check = con.execute(f"SELECT count(*), count(*) FILTER (WHERE __reason = '' AND "
                                f"len(__actions) = 0) FROM {spelt}").fetchone()
        finally:
            con.execute(f"DROP TABLE IF EXISTS {spelt}")
        if check != (bad[0], 0):  # the two passes must agree on every row
            raise RuntimeError(f"ingest: {bad[0]} rows marked, reasons for {check}")


def _spelt_plan(con: duckdb.DuckDBPyConnection, plan: _Plan, rows: readers.RawTable
                ) -> _Plan:
    """The plan for spelling out the marked rows (`rows`): without the checks of a
    list's elements (a death's contributory causes) that none of these rows fails.

    Binding a statement costs per expression however few rows it reads: fifteen causes'
    checks, each quoting its value with words withheld (six regular expressions), cost
    the deaths file about 0.7 CPU s in that pass, for rows that were marked for
    something else. Whether any of these rows fails each check is asked first, with the
    check's own condition over the few rows (its value and code computed as its lookup
    computes them)."""
    header_of = {name: header for header, name in plan.sources.items()}
    elements = {name for names in plan.list_sources.values() for name in names}
    own = [i for i, c in enumerate(plan.checks)
           if len(c.home) == 1 and c.home[0] in elements
           and c.column in plan.list_sources and c.source is None]
    if not own:
        return plan
    names = sorted({plan.checks[i].home[0] for i in own})
    texts = ", ".join(f'{readers.value_sql(rows.column(header_of[n]))} AS "{n}"'
                      for n in names)
    codes = ", ".join(f'{nz.icd10_sql(chr(34) + n + chr(34))} AS "icd_{n}"' for n in names)
    failed = ", ".join(f"bool_or({plan.checks[i].reason.condition})" for i in own)
    found = con.execute(f"SELECT {failed} FROM (SELECT *, {codes} FROM (SELECT {texts} "
                        f"FROM {rows.table}))").fetchone()
    quiet = {i for i, hit in zip(own, found or (), strict=True) if not hit}
    if not quiet:
        return plan
    # The quiet elements' lookups go too: the list they feed is not spelt out (no check
    # reads it), so it is given over the elements left.
    dropped = {plan.checks[i].home[0] for i in quiet} - {
        plan.checks[i].home[0] for i in own if i not in quiet}
    hosted = {n for c, key in plan.keys.items() if c not in plan.list_sources for n in key}
    dropped -= hosted  # (a source another column is computed from keeps its lookup)
    lists = {c: [n for n in names if n not in dropped] for c, names in plan.list_sources.items()}
    values = dict(plan.values)
    for canonical, names in lists.items():
        codes = ", ".join(f'"icd_{n}"' for n in names)
        values[canonical] = (f"list_filter([{codes}], lambda x: x IS NOT NULL)" if names
                             else "CAST(NULL AS VARCHAR[])")
    return replace(plan, checks=[c for i, c in enumerate(plan.checks) if i not in quiet],
                   withheld={k: v for k, v in plan.withheld.items()
                             if not (k.startswith("ws_") and k[3:] in dropped)},
                   list_sources=lists, values=values)


def _quarantine_duplicates(con: duckdb.DuckDBPyConnection, dataset: str, file_id: int,
                           *, direct: bool, mapping: str, episodes: bool = False,
                           discharges: bool = False
                           ) -> tuple[int, int, list[tuple[str, int, int]]]:
    """Add the duplicates of a dataset with unique keys to STAGE_TABLE (see
    _duplicates_sql); a duplicate row's field-level actions go with it. `direct`: the
    file's rows are in the dataset's table already, and its duplicates are deleted.

    The common case is no duplicates at all, so that is asked first, cheaply: no rows
    from other files, and every row's 64-bit hash of the key different (where the GROUP
    BY over the key columns costs 2.4 CPU s on 7.9 M population rows). Distinct hashes
    prove distinct keys; a repeated hash (a repeated key, or, very rarely, two keys with
    one hash) only sends the file to the full search (_hashes_distinct says how).

    Returns (rows repeating a row loaded from another file; how many of those differ
    from it in some value: a correction, such as an ONS amendment, that is not applied;
    for each earlier file repeated, (its name, rows of it repeated, rows it has loaded)).
    A dataset of REPEAT_KEYS: the same, for its rows repeating those of earlier files of
    the same feed (`mapping`; _quarantine_repeats).
    """
    if dataset == "activity":
        _quarantine_same_spell(con, file_id, direct=direct, episodes=episodes,
                               discharges=discharges)
    if dataset in REPEAT_KEYS:
        return _quarantine_repeats(con, dataset, file_id, direct=direct, mapping=mapping)
    if dataset not in UNIQUE_KEYS:
        return 0, 0, []
    keys = UNIQUE_KEYS[dataset][0]
    this_file = (f"(SELECT * FROM {dataset} WHERE source_file_id = $file_id)" if direct
                 else f"(SELECT * FROM {ROWS_TABLE} WHERE source_row > 0)")
    hashed = ", ".join(f'"{k}"' for k in keys)
    others = con.execute(f"SELECT EXISTS (SELECT 1 FROM {dataset} WHERE source_file_id "
                         "<> $file_id)", {"file_id": file_id}).fetchone()
    if others == (False,) and _hashes_distinct(
            con, f"SELECT hash({hashed}) AS h FROM {this_file}",
            {"file_id": file_id} if direct else {}):
        return 0, 0, []
    first_key = nz.sql_literal(keys[0])
    found = con.execute(
        f"INSERT INTO {STAGE_TABLE} SELECT __row, {first_key}, NULL, __reason "
        f"FROM ({_duplicates_sql(dataset, this_file)})", {"file_id": file_id}).fetchone()
    if not found or not found[0]:
        return 0, 0, []
    # Repeats of rows loaded from other files, and those with a value of their own.
    join = " AND ".join(f'e."{k}" = s."{k}"' for k in keys)
    differs = " OR ".join(f's."{c}" IS DISTINCT FROM e."{c}"'
                          for c, _t, _r in CANONICAL_COLUMNS[dataset] if c not in keys)
    by_file = con.execute(
        f"WITH r AS (SELECT e.source_file_id AS f, count(*) AS n, "
        f"count(*) FILTER (WHERE {differs or 'false'}) AS d FROM {this_file} s "
        f"JOIN {dataset} e ON {join} AND e.source_file_id <> $file_id "
        f"WHERE s.source_row IN (SELECT __row FROM {STAGE_TABLE} WHERE "
        "starts_with(__reason, 'duplicate ')) GROUP BY ALL) "
        "SELECT l.file_name, r.n, r.d, l.rows_loaded FROM r JOIN ingest_log l "
        "ON l.file_id = r.f ORDER BY r.n DESC, l.file_id", {"file_id": file_id}).fetchall()
    earlier = [(str(name), int(n), int(rows)) for name, n, _d, rows in by_file]
    repeated = (sum(n for _f, n, _d, _r in by_file), sum(d for _f, _n, d, _r in by_file))
    con.execute(f"DELETE FROM {ACTIONS_TABLE} WHERE __row IN (SELECT __row FROM "
                f"{STAGE_TABLE})")
    if direct:
        # Rare, and dearer than finding them first (the COMMIT then writes the file's
        # rows again), which the common case of none would pay for nothing. The rows
        # rejected for other reasons were never inserted.
        con.execute(f"DELETE FROM {dataset} WHERE source_file_id = $file_id AND source_row "
                    f"IN (SELECT __row FROM {STAGE_TABLE})", {"file_id": file_id})
    return int(repeated[0]), int(repeated[1]), earlier


def _note_discharged(con: duckdb.DuckDBPyConnection, raw: readers.RawTable) -> bool:
    """Fill DISCHARGED_TABLE with the rows whose spell discharge date (DISDATE, SEM's
    DischargeDate_FromHospitalProviderSpell) is not given, before the file's text is
    dropped: a row's end date is its discharge date there and its episode's end
    elsewhere (presets.spell_end_sql), and only a discharge date tells two spells of a
    person begun on one day apart (_quarantine_same_spell). One scan of one column, for
    these files only. False: the file has no discharge date column."""
    header = presets.find_any(presets.DISCHARGE_DATE_NAMES, raw.headers)
    if header is None:
        return False
    con.execute(f"CREATE OR REPLACE TEMP TABLE {DISCHARGED_TABLE} (__row BIGINT)")
    # The rows without one are noted (few: spells open at death, HES's earlier episodes).
    value = readers.value_sql(raw.column(header))
    con.execute(f"INSERT INTO {DISCHARGED_TABLE} SELECT {raw.row_expr} FROM {raw.table} "
                f"WHERE {value} IS NULL OR regexp_full_match({value}, "
                f"{nz.sql_literal(nz.NULL_DATES)})")
    return True


def _quarantine_same_spell(con: duckdb.DuckDBPyConnection, file_id: int, *,
                           direct: bool, episodes: bool = False,
                           discharges: bool = False) -> None:
    """An admission whose spell identifier (spell_id) an earlier row of this file already
    admitted is the same spell sent twice: quarantined as a duplicate, so it counts once.
    Rows of the same person and day with other spell identifiers are other spells, and
    rows without one are all kept, as before (a later episode of a spell is no admission
    and never a duplicate here). Few files have any: one cheap look first.

    With `episodes` (a file of consultant episodes that does not say which is a spell's
    first: presets.unordered_episodes) such rows are the spell's later episodes, each
    carrying the spell's admission date and method: they load as 'other' with no
    admission method, as a later episode by EPIORDER does, so the spell is admitted once
    and its bed days run to its last episode's end (_spell_ends). There, rows with no
    spell identifier of one person, day and admission type are taken as one spell too,
    unless they give two discharge dates or more (DISCHARGED_TABLE: a discharge and an
    emergency readmission that day, a transfer): then one spell per discharge date,
    admitted on its first row, and rows giving none are taken as episodes of one of
    them. One discharge date among rows without one is one spell (HES writes DISDATE on
    a spell's last episode only). Two spells begun and ended on the same days, or one
    open at death and one discharged, cannot be told apart without a spell identifier
    (README)."""
    this_file = (f"(SELECT * FROM activity WHERE source_file_id = {int(file_id)})" if direct
                 else f"(SELECT * FROM {ROWS_TABLE} WHERE source_row > 0)")
    spell = "person_id, activity_type, start_date, spell_id"
    discharged = "NULL"
    if episodes and discharges:
        discharged = (f"(CASE WHEN spell_id IS NULL AND source_row NOT IN (SELECT __row "
                      f"FROM {DISCHARGED_TABLE}) THEN end_date END)")
    # __split: the rows of one person, day and type give two discharge dates or more.
    rows = (f"(SELECT *, coalesce(min(__discharged) OVER __s <> max(__discharged) OVER __s, "
            f"false) AS __split FROM (SELECT *, {discharged} AS __discharged FROM "
            f"{this_file}) WHERE {'true' if episodes else 'spell_id IS NOT NULL'} AND "
            f"admission_method IS NOT NULL WINDOW __s AS (PARTITION BY {spell}))")
    one = f"PARTITION BY {spell}, CASE WHEN __split THEN __discharged END"
    admissions = (f"(SELECT source_row, person_id, activity_type, start_date, spell_id, "
                  f"row_number() OVER ({one} ORDER BY source_row) AS __k, "
                  f"min(source_row) OVER ({one}) AS __first, "
                  f"__split AND __discharged IS NULL AS __episode FROM {rows})")
    later = "(__k > 1 OR __episode)"
    if episodes:
        # The later episodes found once (each row of the file is in the windows), then
        # updated: not found again for the UPDATE.
        con.execute(f"CREATE OR REPLACE TEMP TABLE {LATER_TABLE} AS SELECT source_row "
                    f"FROM {admissions} WHERE {later}")
        table, rows = (("activity", f"source_file_id = {int(file_id)}") if direct
                       else (ROWS_TABLE, "source_row > 0"))
        if con.execute(f"SELECT count(*) FROM {LATER_TABLE}").fetchone() != (0,):
            con.execute(f"UPDATE {table} SET activity_type = 'other', admission_method = "
                        f"NULL WHERE {rows} AND source_row IN (SELECT source_row FROM "
                        f"{LATER_TABLE})")
        con.execute(f"DROP TABLE {LATER_TABLE}")
        return
    found = con.execute(f"SELECT count(*) FROM {admissions} WHERE {later}").fetchone()
    if found == (0,):
        return
    con.execute(
        f"INSERT INTO {STAGE_TABLE} SELECT source_row, 'spell_id', NULL, "
        "'duplicate admission: the same spell (spell_id) as row ' || CAST(__first AS "
        f"VARCHAR) || ' of this file' FROM {admissions} WHERE __k > 1")
    staged = f"(SELECT __row FROM {STAGE_TABLE} WHERE __row IS NOT NULL)"
    con.execute(f"DELETE FROM {ACTIONS_TABLE} WHERE __row IN {staged}")
    if direct:
        con.execute(f"DELETE FROM activity WHERE source_file_id = $file_id AND source_row "
                    f"IN {staged}", {"file_id": file_id})
    else:
        # Left out of the repeats compared with earlier files, like any rejected row.
        con.execute(f"UPDATE {ROWS_TABLE} SET source_row = -source_row WHERE source_row > 0 "
                    f"AND source_row IN {staged}")


def _quarantine_repeats(con: duckdb.DuckDBPyConnection, dataset: str, file_id: int,
                        *, direct: bool, mapping: str
                        ) -> tuple[int, int, list[tuple[str, int, int]]]:
    """Add to STAGE_TABLE this file's rows that repeat rows loaded from earlier files read
    with the same mapping (REPEAT_KEYS: a cumulative re-supply); see
    _quarantine_duplicates for what it returns. Nothing is searched when no earlier file
    of the feed is loaded (a first load, or a feed of monthly files that never overlap
    pays one look at ingest_log)."""
    if not _feed_loaded(con, dataset, mapping, file_id):
        return 0, 0, []
    keys, what = REPEAT_KEYS[dataset]
    this_file = (f"(SELECT * FROM {dataset} WHERE source_file_id = $file_id)" if direct
                 else f"(SELECT * FROM {ROWS_TABLE} WHERE source_row > 0)")
    differs = " OR ".join(f's."{c}" IS DISTINCT FROM e."{c}"'
                          for c, _t, _r in CANONICAL_COLUMNS[dataset] if c not in keys)
    pairs = "__eolneeds_repeats"
    params = {"file_id": file_id, "dataset": dataset, "mapping": mapping}
    # Earlier loads that give the spell identifier as this file does (both or neither)
    # are compared by it; the others (a feed that began sending spell ids mid-way, or
    # stopped) without it, or none of their rows would ever repeat this file's.
    spelled = "spell_id" in keys
    if spelled:
        mine = con.execute(f"SELECT EXISTS (SELECT 1 FROM {this_file} WHERE spell_id IS NOT "
                           "NULL)", {"file_id": file_id} if direct else {}
                           ).fetchone()[0]  # type: ignore[index]
        passes = [(keys, "= $mine"), (tuple(k for k in keys if k != "spell_id"), "<> $mine")]
        params["mine"] = bool(mine)
        params["spelled"] = _loads_with_spell_ids(con, dataset, mapping)
    else:
        passes = [(keys, "")]
    for number, (compared, same_ids) in enumerate(passes):
        cols = ", ".join(f'"{k}"' for k in compared)
        join = " AND ".join(f's."{k}" IS NOT DISTINCT FROM e."{k}"' for k in compared)
        x_join = " AND ".join(f'x."{k}" IS NOT DISTINCT FROM d."{k}"' for k in compared)
        d_cols = ", ".join(f'd."{k}"' for k in compared)
        loads = (f" AND list_contains($spelled, d.source_file_id) {same_ids}" if same_ids
                 else "")
        # (A row paired by the first pass is no repeat of a second earlier row.)
        unpaired = f" WHERE source_row NOT IN (SELECT __row FROM {pairs})" if number else ""
        # The k-th row of a key in this file repeats the k-th loaded earlier (file, then
        # row order); the earlier rows are only those of keys this file has.
        con.execute(
            (f"CREATE OR REPLACE TEMP TABLE {pairs} AS " if not number
             else f"INSERT INTO {pairs} ")
            + f"WITH s AS (SELECT *, row_number() OVER (PARTITION BY {cols} ORDER BY "
            f"source_row) AS __k FROM {this_file}{unpaired}), "
            f"e AS (SELECT d.*, row_number() OVER (PARTITION BY {d_cols} "
            "ORDER BY d.source_file_id, d.source_row) AS __k FROM "
            f"{dataset} d JOIN ingest_log l ON l.file_id = d.source_file_id "
            "WHERE l.dataset = $dataset AND l.mapping = $mapping AND l.replaced_by IS NULL "
            f"AND d.source_file_id <> $file_id{loads} AND EXISTS (SELECT 1 FROM {this_file} x "
            f"WHERE {x_join})) "
            "SELECT s.source_row AS __row, e.source_file_id AS __from, e.source_row AS "
            f"__from_row, ({differs or 'false'}) AS __differs FROM s JOIN e ON {join} AND "
            "s.__k = e.__k", {k: v for k, v in params.items()
                               if k not in ("mine", "spelled") or same_ids})
    try:
        by_file = con.execute(
            f"SELECT l.file_name, count(*) AS n, count(*) FILTER (WHERE p.__differs), "
            f"l.rows_loaded FROM {pairs} p JOIN ingest_log l ON l.file_id = p.__from "
            "GROUP BY l.file_id, l.file_name, l.rows_loaded ORDER BY n DESC, l.file_id"
        ).fetchall()
        if not by_file:
            return 0, 0, []
        first = nz.sql_literal(keys[0])
        described = nz.sql_literal(f"duplicate {what}: already loaded from ")
        con.execute(
            f"INSERT INTO {STAGE_TABLE} SELECT p.__row, {first}, NULL, {described} || "
            f"l.file_name || ' row ' || CAST(p.__from_row AS VARCHAR) FROM {pairs} p "
            "JOIN ingest_log l ON l.file_id = p.__from")
    finally:
        con.execute(f"DROP TABLE IF EXISTS {pairs}")
    con.execute(f"DELETE FROM {ACTIONS_TABLE} WHERE __row IN (SELECT __row FROM "
                f"{STAGE_TABLE})")
    if direct:
        con.execute(f"DELETE FROM {dataset} WHERE source_file_id = $file_id AND source_row "
                    f"IN (SELECT __row FROM {STAGE_TABLE})", {"file_id": file_id})
    earlier = [(str(name), int(n), int(rows)) for name, n, _d, rows in by_file]
    return (sum(int(n) for _f, n, _d, _r in by_file),
            sum(int(d) for _f, _n, d, _r in by_file), earlier)


# From this many rows the hashes are compared in numpy (_hashes_distinct): below it,
# importing numpy (0.06 CPU s) costs more than DuckDB's count(DISTINCT) saves.
SORTED_HASHES_FROM = 500_000


def _hashes_distinct(con: duckdb.DuckDBPyConnection, sql: str, params: dict[str, Any]
                     ) -> bool:
    """Whether the 64-bit values `sql` gives (one column, h) are all different.

    Many rows: fetched into numpy, sorted, and each compared with the next (7.9 M
    population rows: 0.2 CPU s, where DuckDB's count(DISTINCT) builds a hash table of
    them all for 1.1). Fewer than SORTED_HASHES_FROM: count(DISTINCT) in DuckDB.
    tests/test_ingest_speed.py checks that both ways find the same duplicates."""
    rows = con.execute(f"SELECT count(*) FROM ({sql})", params).fetchone()
    if rows is None or rows[0] < SORTED_HASHES_FROM:
        same = con.execute(f"SELECT count(*) = count(DISTINCT h) FROM ({sql})",
                           params).fetchone()
        return same == (True,)
    import numpy as np  # (only here: a CSV ingest otherwise never loads numpy)

    hashes = np.asarray(con.execute(sql, params).fetchnumpy()["h"])
    hashes.sort()  # in place: one copy of 8 bytes a row
    return not bool(np.any(hashes[1:] == hashes[:-1]))


# The fix a mostly-quarantined file most likely needs, by its most common reason.
_LIKELY_FIXES = (
    ("is not a date", "set date_format in {where} to the file's date format ({example})"),
    ("is not a valid NHS number", "check that person_id is mapped to the NHS number "
                                  "column in {where}, or set nhs_number = false there if "
                                  "the identifier is not an NHS number"),
    ("is missing", "map {column} to the column that holds it under [columns] in {where}"),
    ("more fields than the header", "set delimiter (and check the quoting) in {where}"),
    ("right of the last header", "give the sheet's last column a header (then map it or "
                                 "leave it), or delete the values right of the table"),
    ("not a known", "add [recode.{column}] entries to {where}"),
    ("not an age band", "add [recode.{column}] entries to {where}"),
    ("not yes or no", "add [recode.{column}] entries to {where}"),
    ("not male or female", "add [recode.{column}] entries to {where}"),
    ("totals row", "set header_row in {where}, or remove the totals rows"),
    (HEADING_REASON, "set header_row in {where} to the row of the table's column names"),
)


# SQL: a value quoted in a reason (' 'VALUE''), up to the quote before a space, ';',
# ',', ')' or the end (which regexp_replace keeps, as \1).
_QUOTED_VALUE = r"' ''.*?''( |;|,|\)|$)'"


def _refuse_mostly_rejected(con: duckdb.DuckDBPyConnection, config: ProjectConfig,
                            dataset: str, name: str, mapping: Any, rows_read: int) -> None:
    """A file whose every row, or more than [ingest] max_rejected_share of them, would
    be quarantined is refused whole (before its transaction: nothing of it is written):
    such a file almost always needs a mapping fix, not row-by-row repair."""
    share = config.ingest.max_rejected_share
    # Duplicates are no fault of the file or its mapping (a cumulative monthly extract
    # repeats the deaths already loaded): they never count towards refusing it (and are
    # found only afterwards).
    # Nor do CSDS contacts that did not take place (a clinic's DNAs are its data).
    # Nor do headings among the data (a register grouped by practice), unless there is
    # nothing else: a file of headings and faults only is refused as any other.
    faulty = (f"SELECT * FROM {STAGE_TABLE} WHERE NOT starts_with(__reason, 'duplicate ') "
              f"AND NOT starts_with(__reason, '{NOT_ATTENDED_REASON}') "
              f"AND NOT starts_with(__reason, '{NOT_GP_PRACTICE_REASON}')")
    rows_rejected, headings = con.execute(
        f"SELECT count(*), count(*) FILTER (WHERE starts_with(__reason, '{HEADING_REASON}')) "
        f"FROM ({faulty})").fetchone()  # type: ignore[misc]
    if not rows_rejected or (rows_rejected < rows_read
                             and rows_rejected - headings <= share * rows_read):
        return
    # Reasons quote values between single quotes: group without them. A quoted value
    # runs to the quote before a space, ';', ',', ')' or the end, as it may hold quotes
    # itself (2024-01-15' left "date_of_death' is not a date", its value half-cut).
    top = con.execute(
        f"SELECT __column, regexp_replace(__reason, {_QUOTED_VALUE}, '\\1', 'g') AS why, "
        f"count(*) AS n FROM ({faulty}) GROUP BY ALL ORDER BY n DESC, why LIMIT 1"
    ).fetchone()
    column, why, count = top if top else (None, "unknown", rows_rejected)
    why = str(why).split("; ")[0]
    where = _mapping_file(config, mapping.name)
    if mapping.name not in config.mappings:  # no mapping yet: the file to create
        where = f"a new mappings/{dataset}.toml"
    fix = next((f for key, f in _LIKELY_FIXES if key in why),
               "check the [columns] mapping of {column} in {where}")
    example = 'e.g. date_format = "%Y-%m-%d"'
    impossible = ""
    if "is not a date" in why:
        # The shape of a value the mapping could not read names the format it needs.
        value = con.execute(
            f"SELECT regexp_extract(__reason, ' ''(.*?)'' is not a date', 1) FROM "
            f"({faulty}) WHERE __reason LIKE '%is not a date%' ORDER BY __row LIMIT 1"
        ).fetchone()
        shape = nz.date_shape(value[0]) if value and value[0] else None
        if shape is not None and nz.reads_shape(mapping.date_format, shape):
            # Written as the mapping reads dates, yet no date ('31/02/2024', '0001-01-01'
            # under the default dd/mm/yyyy, which reads ISO too): another date_format
            # would not read it (and advising the one in use loops).
            impossible = (f"correct the dates in the file: they are written as the mapping "
                          f"reads dates ({nz.describe_date_format(shape)}) but are not real "
                          f"dates, or are before {nz.EARLIEST_PLAUSIBLE_DATE.year}, such as "
                          f"'{value[0]}'")  # type: ignore[index]
        elif shape is not None:
            example = f'date_format = "{shape}", as in \'{value[0]}\''  # type: ignore[index]
            if "%y" in shape:  # the century such a mapping gives: README, "Dates"
                example += ("; two-digit years 00-68 are then read as 2000-2068 and 69-99 "
                            "as 1969-1999, a year of birth as the century before the death")
    fix = impossible or fix.format(where=where, column=column or "the column", example=example)
    limit = ("every row" if rows_rejected == rows_read else
             f"more than {share:.0%} of the rows, the [ingest] max_rejected_share limit")
    raise input_error(
        name,
        f"{rows_rejected} of {rows_read} {plural(rows_read, 'row')} would be quarantined "
        f"({limit}); the most common reason is \"{nz.mask(why)}\" ({count} "
        f"{plural(count, 'row')}), so nothing from the file was "
        "loaded",
        fix,
    )


def _other_mapping_reads(config: ProjectConfig, dataset: str, mapping: Any, path: Path,
                         headers: list[str]) -> str | None:
    """Another mapping of `dataset` that reads these headers, when the one in use does
    not: an export saved under a new name (a practice's search renamed) is read with
    the canonical names, since a mapping is chosen by the start of the file's name."""
    if not headers or presets.recognise(headers) is not None:
        return None  # a national layout: its preset is named instead (preset_advice)
    for name in sorted(config.mappings):
        other = config.mappings[name]
        if name == mapping.name or other.dataset != dataset:
            continue
        try:
            used, preset, _target = _mapping_and_preset(config, dataset, name)
            provisional = readers.RawTable(table=RAW_TABLE, headers=headers,
                                           row_expr="NULL", format="csv")
            _plan_columns(config, dataset, provisional, used, preset, path.name, _Params(),
                          used.date_format, "NULL", "NULL", "NULL", given=path)
        except EolneedsError:
            continue
        return name
    return None


def _choose_mapping_advice(config: ProjectConfig, dataset: str, path: Path,
                           mapping_name: str) -> str:
    """How to have `mapping_name` read the file `path`, from `ingest` and from `run`."""
    stem = re.split(r"[_\-\s.]|\d", path.name)[0] or path.stem
    folder = config.root / "mappings"
    return (f"a mapping is chosen by the start of the file's name: rename the file to "
            f"start with {mapping_name}, or copy {folder / mapping_name}.toml to "
            f"{folder / stem}.toml (then `run` reads every file named {stem}... with it), "
            f"or give it: eolneeds ingest {dataset} {shell_arg(path)} --mapping "
            f"{mapping_name} --project {shell_arg(config.root)}")


def _refuse_swapped_dates(con: duckdb.DuckDBPyConnection, config: ProjectConfig,
                          dataset: str, name: str, mapping: Any, loaded: str) -> None:
    """Refuse a file whose dates are the other way round from its mapping's date_format:
    some fail because only the other order reads them ('2/16/2024' under dd/mm/yyyy)
    and none of those loaded proves the mapping's order (a day above 12). Its other
    dates ('11/9/2024') would load with day and month swapped, whatever share of the
    file is quarantined -- an Excel re-save on a US-English PC writes m/d/yyyy.
    `loaded` is a query of the rows about to load. Cheap: only rejected dates are looked
    at, and the loaded rows only when one of them is the other way round."""
    other = nz.other_order(mapping.date_format)
    if other is None:
        return
    parts = con.execute(
        "SELECT part FROM (SELECT unnest(string_split(__reason, '; ')) AS part FROM "
        f"(SELECT __reason FROM {STAGE_TABLE} UNION ALL SELECT __reason FROM "
        f"{ACTIONS_TABLE}) WHERE contains(__reason, 'is not a date')) "
        "WHERE contains(part, 'is not a date') LIMIT 100000").fetchall()
    swapped: dict[str, list[str]] = {}
    for (part,) in parts:
        found = re.match(r"(\w+)\b.*? '([^']*)' is not a date", part)
        if found and found.group(1) in DATE_COLUMNS and \
                nz.date_shape(nz.strip_time(found.group(2))) == other:
            swapped.setdefault(found.group(1), []).append(found.group(2))
    for column, values in sorted(swapped.items()):
        counts = con.execute(
            f'SELECT count("{column}"), count(*) FILTER (WHERE day("{column}") > 12) '
            f"FROM {loaded}").fetchone()
        read, proven = counts if counts else (0, 0)
        if not read or proven:
            continue
        where = (_mapping_file(config, mapping.name) if mapping.name in config.mappings
                 else f"a new mappings/{dataset}.toml")
        mine = nz.describe_date_format(mapping.date_format)
        raise input_error(
            name,
            f"{len(values)} {plural(len(values), 'date')} in {column} cannot be "
            f"read as {mine} (the mapping's date_format) but read as "
            f"{nz.describe_date_format(other)} (such as '{values[0]}'), and none of the "
            f"{read} read as {mine} has a day above 12, so those would load with day and "
            "month swapped; nothing from the file was loaded",
            f'set date_format = "{other}" in {where} '
            "(or correct those dates in the file if they are typing errors)")


def _replace_earlier(con: duckdb.DuckDBPyConnection, dataset: str, name: str,
                     content_hash: str, file_id: int) -> None:
    """Remove the rows and rejects of earlier files of this dataset with this name or
    these very bytes (a file reloaded after a mapping change); mark them replaced."""
    earlier = [row[0] for row in con.execute(
        "SELECT file_id FROM ingest_log WHERE dataset = $dataset AND (file_name = $name "
        "OR content_hash = $hash) AND replaced_by IS NULL",
        {"dataset": dataset, "name": name, "hash": content_hash}).fetchall()]
    for old in earlier:
        _take_out(con, dataset, old, file_id)


def _take_out(con: duckdb.DuckDBPyConnection, dataset: str, old: int, file_id: int) -> None:
    """Remove an earlier load's rows, rejects and field actions; mark it replaced."""
    con.execute(f"DELETE FROM {dataset} WHERE source_file_id = $old", {"old": old})
    con.execute("DELETE FROM rejects WHERE file_id = $old", {"old": old})
    con.execute("DELETE FROM field_actions WHERE file_id = $old", {"old": old})
    con.execute("UPDATE ingest_log SET replaced_by = $new WHERE file_id = $old",
                {"new": file_id, "old": old})


def _loads_with_spell_ids(con: duckdb.DuckDBPyConnection, dataset: str, mapping: str
                          ) -> list[int]:
    """The current loads of a feed (dataset and mapping) that give a spell identifier."""
    return [int(f) for (f,) in con.execute(
        f"SELECT DISTINCT source_file_id FROM {dataset} WHERE spell_id IS NOT NULL AND "
        "source_file_id IN (SELECT file_id FROM ingest_log WHERE dataset = $dataset AND "
        "mapping = $mapping AND replaced_by IS NULL) ORDER BY 1",
        {"dataset": dataset, "mapping": mapping}).fetchall()]


def _superseded_loads(con: duckdb.DuckDBPyConnection, dataset: str, mapping: str
                      ) -> list[tuple[int, str]]:
    """The earlier loads of this feed (dataset and mapping) that the file's typed rows in
    ROWS_TABLE (those not rejected: STAGE_TABLE) repeat whole (SUPERSEDE_KEYS: deaths by
    person, activity and register as REPEAT_KEYS): a cumulative re-supply,
    which takes their place as `--replace-file` would, so that its values (a discharge
    date filled in, a corrected cost) stand. Every key of those loads together, counted
    as a multiset (REPEAT_KEYS), must be among the file's rows: replacing them then loses
    no event. [(file_id, file_name)]; none when no earlier load of the feed is held."""
    if not _feed_loaded(con, dataset, mapping):
        return []
    keys = SUPERSEDE_KEYS[dataset]
    cols = ", ".join(f'"{k}"' for k in keys)
    on = " AND ".join(f'e."{k}" IS NOT DISTINCT FROM f."{k}"' for k in keys)
    valid = (f"FROM {ROWS_TABLE} WHERE source_row > 0 AND source_row NOT IN (SELECT __row "
             f"FROM {STAGE_TABLE} WHERE __row IS NOT NULL)")
    loads = ("SELECT file_id, file_name FROM ingest_log WHERE dataset = $dataset AND "
             "mapping = $mapping AND replaced_by IS NULL AND rows_loaded > 0")
    params = {"dataset": dataset, "mapping": mapping}
    d_cols = ", ".join(f'd."{k}"' for k in keys)
    if "spell_id" in keys:
        # An earlier load and this file that do not both give spell ids (or both not)
        # are compared without them (as _quarantine_repeats): the spell id is blanked on
        # both sides of that comparison.
        mine = con.execute(f"SELECT EXISTS (SELECT 1 {valid} AND spell_id IS NOT NULL)"
                           ).fetchone()[0]  # type: ignore[index]
        spelled = _loads_with_spell_ids(con, dataset, mapping)
        # (File ids, whole numbers: written into the SQL, not passed, as some of the
        # queries below take no other parameter of theirs.)
        same = (f"(list_contains([{', '.join(map(str, spelled))}]::INTEGER[], "
                f"d.source_file_id) = {'true' if mine else 'false'})")
        d_cols = d_cols.replace('d."spell_id"', f'CASE WHEN {same} THEN d."spell_id" END '
                                                'AS "spell_id"')
        bare = ", ".join(f'"{k}"' if k != "spell_id" else 'NULL AS "spell_id"' for k in keys)
        new_rows = (f"(SELECT {cols}, true AS __same, count(*) AS __n {valid} GROUP BY ALL "
                    f"UNION ALL SELECT {cols}, false, sum(__n) FROM (SELECT {bare}, count(*) AS "
                    f"__n {valid} GROUP BY ALL) GROUP BY ALL)")
        d_cols += f", {same} AS __same"
        on += " AND e.__same = f.__same"
        cols += ", __same"
    else:
        new_rows = f"(SELECT {cols}, count(*) AS __n {valid} GROUP BY ALL)"
    earlier_rows = (f"SELECT d.source_file_id AS __file, {d_cols} "
                    f"FROM {dataset} d WHERE d.source_file_id IN (SELECT file_id FROM ({loads}))")
    whole = con.execute(
        f"SELECT e.__file FROM (SELECT __file, {cols}, count(*) AS __n FROM ({earlier_rows}) "
        f"GROUP BY ALL) e LEFT JOIN {new_rows} f ON {on} GROUP BY e.__file "
        "HAVING bool_and(coalesce(f.__n, 0) >= e.__n)", params).fetchall()
    if not whole:
        return []
    chosen = [int(row[0]) for row in whole]
    # Together too (two loads may each hold one of the same key the file holds once).
    short = con.execute(
        f"SELECT count(*) FROM (SELECT {cols}, count(*) AS __n FROM ({earlier_rows}) "
        f"WHERE __file IN (SELECT unnest($chosen)) GROUP BY ALL) e "
        f"LEFT JOIN {new_rows} f ON {on} WHERE coalesce(f.__n, 0) < e.__n",
        {**params, "chosen": chosen}).fetchone()
    if short != (0,):
        return []
    return [(int(i), str(n)) for i, n in con.execute(
        f"SELECT file_id, file_name FROM ({loads}) WHERE file_id IN (SELECT unnest($chosen)) "
        "ORDER BY file_id", {**params, "chosen": chosen}).fetchall()]
