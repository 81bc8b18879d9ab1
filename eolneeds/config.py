"""Project configuration: eolneeds.toml and mappings/*.toml, read with tomllib.

Precedence, stated once: command-line option > eolneeds.toml / mapping file > the
defaults in the dataclasses below. Unknown keys and bad values raise ConfigError naming
the file and the key, so a typo never silently falls back to a default.
"""

from __future__ import annotations

import codecs
import datetime as dt
import difflib
import math
import os
import re
import stat
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eolneeds.errors import ConfigError, UsageError, shell_arg
from eolneeds.periods import MAX_MONTHS
from eolneeds.scenarios import Scenario, parse_scenarios
from eolneeds.schema import CANONICAL_COLUMNS, DATASETS

CONFIG_FILE = "eolneeds.toml"
DATABASE_FILE = "eolneeds.duckdb"
KEY_ENV_VAR = "EOLNEEDS_KEY"
CANONICAL_MAPPING = "(canonical)"  # the name of the identity mapping (no mapping file)

OUTPUT_FORMATS = ("html", "xlsx", "csv", "parquet")
# ADMIMETH codes counted as emergency admissions (REFERENCE.md). 2B and 2C are in by
# default; whether they belong is not settled nationally, so it is an option.
DEFAULT_EMERGENCY_ADMIMETH = ("21", "22", "23", "24", "25", "2A", "2B", "2C", "2D", "28")
# The largest cost per bed day accepted: the ceiling ingest puts on one activity's cost.
MAX_UNIT_COST = 10_000_000


@dataclass(frozen=True)
class Place:
    code: str
    name: str


@dataclass(frozen=True)
class DisclosureConfig:
    # Counts from 1 to min_count - 1 are suppressed (shown as "*"). 8 gives the NHS
    # rule "1-7 suppressed"; 0 turns disclosure control off for internal analysis.
    min_count: int = 8
    # 0 = no rounding; 5 = other counts rounded to the nearest 5 (NHS hospital rule).
    rounding: int = 0
    # Also suppress the next-smallest cell where a total would reveal a hidden one.
    secondary: bool = True

    @property
    def enabled(self) -> bool:
        return self.min_count > 1


@dataclass(frozen=True)
class PeriodsConfig:
    # "financial_year" (April-March, the NHS default) or "rolling" (months ending
    # with the latest complete month of data).
    default: str = "financial_year"
    months: int = 12
    # How many financial years (most recent first) to report; trend needs >= 3.
    years: int = 3


@dataclass(frozen=True)
class MethodsConfig:
    emergency_admission_methods: tuple[str, ...] = DEFAULT_EMERGENCY_ADMIMETH
    # DiUPR counts all deaths by default; the national indicator leaves out external
    # causes (V01-Y89, U50.9), and `true` does the same. Why not by default: with the
    # exclusion, the external-cause deaths of every breakdown cell are the difference of
    # two published denominators, and protecting those 1-7s withholds whole quintiles
    # (README, "Deaths in usual place of residence (DiUPR): all deaths by default").
    diupr_exclude_external_causes: bool = False
    # "inclusive_days" (REFERENCE.md default) or "nights" (day cases count 0).
    bed_days: str = "inclusive_days"
    # Used for hospital_cost_last90 where activity rows carry no cost.
    unit_cost_per_bed_day: float | None = None


@dataclass(frozen=True)
class IngestConfig:
    # A file of which more than this share of rows would be quarantined is refused
    # whole (exit 3, nothing kept); a file of which every row would be is always refused.
    max_rejected_share: float = 0.5


@dataclass(frozen=True)
class OutputsConfig:
    formats: tuple[str, ...] = OUTPUT_FORMATS
    per_place: bool = True


@dataclass(frozen=True)
class Mapping:
    """How one local extract maps onto a canonical dataset."""

    name: str
    dataset: str
    preset: str | None = None
    format: str = "auto"  # auto | csv | xlsx | parquet
    encoding: str = "auto"  # auto | utf-8 | utf-8-sig | cp1252 | ...
    delimiter: str = "auto"
    sheet: str | None = None
    # the row (1-based, as Excel numbers it) holding the headers; None: row 1 of a CSV,
    # found below any title rows in a workbook
    header_row: int | None = None
    date_format: str = "%d/%m/%Y"  # tried first; ISO yyyy-mm-dd is always accepted
    # the decimal mark of numbers: "auto" (and ".") read "1,234.50"; a comma that cannot
    # separate thousands refuses the file (auto) or the row ("."); "," reads "1.234,56"
    decimal: str = "auto"
    # person_id holds NHS numbers: check them (modulus 11) before pseudonymising. None:
    # not said, so as the preset says (the national layouts hold NHS numbers), else no.
    # false turns a preset's check off (identifiers pseudonymised before the extract).
    nhs_number: bool | None = None
    columns: dict[str, str] = field(default_factory=dict)  # canonical -> source column
    recode: dict[str, dict[str, str]] = field(default_factory=dict)  # canonical -> {src: canon}
    defaults: dict[str, Any] = field(default_factory=dict)  # canonical -> constant
    # the year of a population workbook whose sheet names and titles do not say it
    year: int | None = None


@dataclass(frozen=True)
class ProjectConfig:
    root: Path
    icb_name: str
    icb_code: str
    places: tuple[Place, ...]
    contact: str = "Contact: add [project] contact to eolneeds.toml"
    lsoa_vintage: str = "2021"
    # When the packs will next be refreshed, as the cover sheet states it ("" = derived).
    next_update: str = ""
    key_file: Path | None = None
    disclosure: DisclosureConfig = DisclosureConfig()
    periods: PeriodsConfig = PeriodsConfig()
    methods: MethodsConfig = MethodsConfig()
    outputs: OutputsConfig = OutputsConfig()
    ingest: IngestConfig = IngestConfig()
    benchmarks: dict[str, float] = field(default_factory=dict)  # indicator_id -> England value
    scenarios: tuple[Scenario, ...] = ()  # [[scenarios]]: what-if scenarios (scenarios.py)
    mappings: dict[str, Mapping] = field(default_factory=dict)

    @property
    def database_path(self) -> Path:
        return self.root / DATABASE_FILE

    @property
    def inbox(self) -> Path:
        return self.root / "inbox"

    def place_name(self, code: str) -> str:
        for place in self.places:
            if place.code == code:
                return place.name
        return code

    def _mapping_name(self, given: str) -> str:
        """A mapping named as its file (`mappings/pcmd_deaths.toml`, `pcmd_deaths.toml`,
        or a path to it from anywhere) is the mapping of that name: it is what a user
        types after seeing the folder, and the mapping read is the same file."""
        path = Path(given)
        if path.suffix.lower() != ".toml":
            return given
        folder = (self.root / "mappings").resolve()
        if path.stem in self.mappings and any(
                candidate.resolve() == folder / path.name
                for candidate in (path, self.root / path, folder / path)):
            return path.stem
        return given

    def mapping_for(self, dataset: str, name: str | None = None) -> Mapping:
        """The named mapping, else mappings/<dataset>.toml, else the identity mapping.

        A mapping for `lsoa_places` or `deprivation` also reads files given as `areas`
        (they are the parts of the areas)."""
        if name is not None:
            name = self._mapping_name(name)
            if name not in self.mappings:
                known = ", ".join(sorted(self.mappings)) or "none"
                close = difflib.get_close_matches(name, list(self.mappings), n=1)
                hint = f"did you mean --mapping {close[0]}? " if close else ""
                from eolneeds.presets import PRESETS, get_preset  # (it imports this module)

                target = self.root / "mappings" / f"{Path(name).stem}.toml"
                if name in PRESETS:  # a preset's name, as README's table of presets shows
                    kind = get_preset(name).dataset
                    raise UsageError(
                        f"no mapping named {name!r} in {self.root / 'mappings'} (known: "
                        f"{known}) — {name} is a preset: add {target} holding two lines, "
                        f"dataset = \"{kind}\" and preset = \"{name}\" (eolneeds inspect FILE "
                        f"--write-mapping {name} --project {shell_arg(self.root)} writes it), "
                        "then run the command again")
                raise UsageError(
                    f"no mapping named {name!r} in {self.root / 'mappings'} (known: {known})"
                    f" — {hint}add {target}, or drop --mapping"
                )
            mapping = self.mappings[name]
            if not _reads(mapping.dataset, dataset):
                fitting = sorted(m.name for m in self.mappings.values()
                                 if _reads(m.dataset, dataset))
                others = (f"use one of the mappings of {dataset} (--mapping "
                          f"{' | '.join(fitting)}), or " if fitting else "")
                raise UsageError(
                    f"mapping {name!r} is for dataset {mapping.dataset!r}, not {dataset!r}"
                    f" — {others}ingest the file as {mapping.dataset} (eolneeds ingest "
                    f"{mapping.dataset} FILE --mapping {name})"
                )
            return mapping
        if dataset in self.mappings and self.mappings[dataset].dataset == dataset:
            return self.mappings[dataset]
        return Mapping(name=CANONICAL_MAPPING, dataset=dataset)

    def mapping_name_for_file(self, dataset: str, file_name: str,
                              layout: Callable[[], str | None] | None = None) -> str | None:
        """The mapping a file of `dataset` is read with when none is named (`ingest`
        without --mapping, and `run` for its inbox alike).

        1. A mapping of that dataset whose name starts the file name (the longest such
           name, case-insensitively): mappings/deaths_pcmd.toml reads
           deaths_pcmd_2025-10.csv.
        2. A file in a national layout (`layout()` names its preset): the mapping of that
           dataset with that preset -- what `inspect --write-mapping` wrote, whatever it
           was called. Of several, the one named as the preset, else the one named as
           the dataset; else the choice is the user's (UsageError).
        3. mappings/<dataset>.toml, else the canonical column names (None)."""
        lowered = file_name.lower()
        readers = [m for m in self.mappings.values() if _reads(m.dataset, dataset)]
        candidates = [m.name for m in readers if lowered.startswith(m.name.lower())]
        if candidates:
            return max(candidates, key=lambda n: (len(n), n))
        national = layout() if layout is not None and any(m.preset for m in readers) else None
        if national is not None:
            fitting = sorted(m.name for m in readers if m.preset == national)
            for preferred in (national, dataset):
                if preferred in fitting:
                    return preferred
            if len(fitting) == 1:
                return fitting[0]
            if fitting:
                folder = self.root / "mappings"
                raise UsageError(
                    f"{file_name}: the mappings {', '.join(fitting)} all read its national "
                    f"{national} layout — rename the one to use to {folder / national}.toml "
                    f"(or name it so that the file's name starts with its name), or give "
                    f"it: eolneeds ingest {dataset} FILE --mapping NAME")
        if dataset in self.mappings and self.mappings[dataset].dataset == dataset:
            return dataset
        return None


# The datasets the areas are made of besides `areas` itself (schema.AREAS_VIEW).
AREA_PARTS = ("lsoa_places", "deprivation")


def _reads(mapping_dataset: str, dataset: str) -> bool:
    """Whether a mapping of `mapping_dataset` reads files given as `dataset`."""
    return mapping_dataset == dataset or (dataset == "areas" and mapping_dataset in AREA_PARTS)


# ---------------------------------------------------------------------------------------
# Reading and validating


def _check_keys(where: str, table: dict[str, Any], allowed: set[str]) -> None:
    for key in table:
        if key not in allowed:
            close = difflib.get_close_matches(str(key).lower(), sorted(allowed), n=1,
                                              cutoff=0.6)
            hint = f"did you mean {close[0]!r}? " if close else ""
            raise ConfigError(
                f"{where}: unknown key {key!r} — {hint}allowed keys are "
                f"{', '.join(sorted(allowed))}; check the spelling"
            )


def _did_you_mean(value: Any, choices: Any) -> str:
    """'did you mean 'x'? ' for the choice closest to a misspelt value, else ''."""
    close = difflib.get_close_matches(str(value).lower(), sorted(choices), n=1, cutoff=0.6)
    return f"did you mean {close[0]!r}? " if close else ""


# Codecs that decode bytes to text but are no character set a file is written in: domain
# names' encodings and Python's escapes. `encoding = "punycode"` ended ingest in an
# internal error (its UnicodeError is no UnicodeDecodeError); "undefined" refuses all.
NOT_FILE_ENCODINGS = ("idna", "punycode", "unicode-escape", "raw-unicode-escape",
                      "undefined")


def text_encoding(codec: str) -> None:
    """Raise LookupError unless `codec` decodes bytes to text: rot13, hex and base64 are
    codecs too, but bytes to bytes (bytes.decode refuses them; an empty input would skip
    the check), and NOT_FILE_ENCODINGS are not what a file is written in."""
    if codecs.lookup(codec).name in NOT_FILE_ENCODINGS:
        raise LookupError(codec)
    try:
        b"abcd".decode(codec)
    except UnicodeError:
        pass  # a text encoding these four bytes are not valid in


def _typed(where: str, key: str, value: Any, kind: type | tuple[type, ...]) -> Any:
    # bool is an int in Python: do not accept true where a number is wanted.
    if isinstance(value, bool) and kind in (int, float, (int, float)):
        raise ConfigError(f"{where}: key {key!r} must be a number, not {value!r}")
    if not isinstance(value, kind):
        words = {"str": "text", "int": "a whole number", "float": "a number",
                 "bool": "true or false", "list": "a list", "dict": "a table"}
        kinds = [kind] if isinstance(kind, type) else list(kind)
        name = "a number" if set(kinds) == {int, float} else \
            " or ".join(words.get(k.__name__, k.__name__) for k in kinds)
        raise ConfigError(f"{where}: key {key!r} must be {name}, not {value!r}")
    return value


# Characters that are invisible yet change what text does: C0 and C1 controls (a NUL or
# a bell in a Place name made its Excel pack a file Excel cannot open, since XML cannot
# hold them), and the bidirectional overrides and isolates that make text display in an
# order other than the one it is stored in, and the marks that do so (left-to-right,
# right-to-left and Arabic letter marks, which move the brackets, digits and spaces
# beside them; file names shown escape them too, normalise.UNSHOWN). Tab and line
# breaks are XML; they are refused only where one line is needed (Place names, codes).
_INVISIBLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u061c\u200e\u200f"
                        "\u202a-\u202e\u2066-\u2069]")
_LINE_BREAKS = re.compile("[\t\n\r\x0b\x0c\x85\u2028\u2029]")
MAX_PLACE_CODE = 64


def _check_text(where: str, value: Any, key: str = "") -> None:
    """Refuse a control or direction-override character in any text of the file, naming
    the key and the character (it cannot be seen in an editor)."""
    if isinstance(value, dict):
        for name, item in value.items():
            _check_text(where, item, f"{key}.{name}" if key else str(name))
    elif isinstance(value, list):
        for i, item in enumerate(value, start=1):
            _check_text(where, item, f"{key} entry {i}")
    elif isinstance(value, str) and (bad := _INVISIBLE.search(value)):
        raise ConfigError(
            f"{where}: key {key!r} holds the invisible character U+{ord(bad.group()):04X} at "
            f"position {bad.start() + 1} — retype the value without it")


# Far above any real configuration (a recode table of 100,000 entries is 3 MB), far below
# what would fill memory: a file past it is not a configuration.
MAX_TOML_BYTES = 64 * 1024 * 1024


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        # A named pipe (or a link to /dev/zero) among mappings/*.toml made every command,
        # the scheduled run included, wait or read for ever: only regular files are read.
        info = path.stat()
        if not stat.S_ISREG(info.st_mode) and not stat.S_ISDIR(info.st_mode):  # (a folder: below)
            raise ConfigError(f"{path}: is not a regular file (a pipe, socket or device) — "
                              "move it out of the project, or replace it with the TOML file")
        if info.st_size > MAX_TOML_BYTES:
            raise ConfigError(f"{path}: is {info.st_size:,} bytes, more than the "
                              f"{MAX_TOML_BYTES:,} a configuration file may be — check that "
                              "it is the right file")
        raw = path.read_bytes()
        # Windows editors (Notepad before 2019, Excel's "Save as Unicode") start the
        # file with a byte order mark, which TOML does not allow: it is not content.
        text = raw.removeprefix(codecs.BOM_UTF8).decode("utf-8")
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc}) — fix the syntax") from None
    except RecursionError:  # tomllib recurses once per level of nested arrays or tables
        raise ConfigError(f"{path}: nests arrays or tables hundreds of levels deep, more than "
                          "any setting needs — fix the syntax (close each bracket where its "
                          "value ends)") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"{path}: is not UTF-8 text (byte 0x{exc.object[exc.start]:02x} at offset "
            f"{exc.start}) — save it as UTF-8 (most editors offer it under Save As)"
        ) from None
    except OSError as exc:
        # A folder, a loop of links, a file this account may not read: said with the fix
        # (the message named the fault only).
        raise ConfigError(f"{path}: cannot be read ({exc.strerror}) — make it a TOML file "
                          "the account running eolneeds can read, or move it out of the "
                          "project") from None


# What a mapping may write for `delimiter` besides one character or "auto".
DELIMITER_WORDS = {"tab": "\t", "\\t": "\t", "comma": ",", "semicolon": ";", "pipe": "|"}
# strftime codes DuckDB's strptime knows (a leading '-' drops padding: %-d).
DATE_CODES = set("aAwdbBhmyYHIpMSfgnzZjUWcxX%")


def _sheet(where: str, sheet: Any) -> str | None:
    """The sheet's name: `sheet = 2` (a number, as if an index) was an internal error."""
    if sheet is None or isinstance(sheet, str):
        return sheet
    raise ConfigError(f"{where}: key 'sheet' must be the sheet's name as text, not {sheet!r} "
                      "— write it in quotes as its tab shows it, e.g. sheet = \"EPaCCS\" "
                      "(`eolneeds inspect FILE` lists the sheets)")


def _check_delimiter(where: str, delimiter: str) -> None:
    if delimiter == "auto" or delimiter in DELIMITER_WORDS:
        return
    if len(delimiter) != 1 or delimiter in "\"\r\n":
        raise ConfigError(
            f"{where}: key 'delimiter' is {delimiter!r} — use one character other than a "
            "quote or a line break (e.g. \";\" or \"|\"), \"tab\", or \"auto\" to detect it")


def _check_date_format(where: str, date_format: str) -> None:
    codes = re.findall(r"%-?(.?)", date_format)
    bad = [c for c in codes if c not in DATE_CODES]
    if not codes or bad or not date_format.strip():
        what = (f"'%{bad[0]}' is not a date code" if bad and bad[0] else
                "a '%' ends it" if bad else "it has no % codes")
        raise ConfigError(
            f"{where}: key 'date_format' is {date_format!r}: {what} — write it with "
            "strftime codes, e.g. \"%d/%m/%Y\" for 31/01/2025 or \"%Y%m%d\" for 20250131")


def parse_mapping(name: str, raw: dict[str, Any], where: str) -> Mapping:
    allowed = {
        "dataset", "preset", "format", "encoding", "delimiter", "sheet", "header_row",
        "date_format", "decimal", "nhs_number", "columns", "recode", "defaults",
        "description", "year",
    }
    _check_keys(where, raw, allowed)
    dataset = raw.get("dataset", name)
    if dataset not in DATASETS:
        raise ConfigError(
            f"{where}: key 'dataset' is {dataset!r} — {_did_you_mean(dataset, DATASETS)}use "
            f"one of {', '.join(DATASETS)}"
        )
    canonical = {c for c, _, _ in CANONICAL_COLUMNS[dataset]}
    columns = _typed(where, "columns", raw.get("columns", {}), dict)
    for canon, source in columns.items():
        if canon not in canonical:
            raise ConfigError(
                f"{where}: [columns] key {canon!r} is not a column of {dataset} — "
                f"{_did_you_mean(canon, canonical)}use one of {', '.join(sorted(canonical))}"
            )
        _typed(where, f"columns.{canon}", source, (str, list))
    recode = _typed(where, "recode", raw.get("recode", {}), dict)
    for canon, table in recode.items():
        if canon not in canonical:
            raise ConfigError(
                f"{where}: [recode.{canon}] is not a column of {dataset} — "
                f"{_did_you_mean(canon, canonical)}use one of {', '.join(sorted(canonical))}"
            )
        _typed(where, f"recode.{canon}", table, dict)
    defaults = _typed(where, "defaults", raw.get("defaults", {}), dict)
    # A TOML date (date_of_registration = 2024-01-01, unquoted) is text to every check
    # after this one: as a date object it was an internal error (not JSON).
    defaults = {k: v.isoformat() if isinstance(v, dt.date | dt.time) else v
                for k, v in defaults.items()}
    for canon in defaults:
        if canon not in canonical:
            raise ConfigError(f"{where}: [defaults] key {canon!r} is not a column of {dataset} "
                              f"— {_did_you_mean(canon, canonical)}use one of "
                              f"{', '.join(sorted(canonical))}")
    encoding = _typed(where, "encoding", raw.get("encoding", "auto"), str)
    if encoding != "auto":
        try:
            text_encoding(encoding)
        except LookupError:
            raise ConfigError(f"{where}: key 'encoding' is {encoding!r}, not a text encoding "
                              "— use utf-8, utf-8-sig, cp1252 or utf-16, or \"auto\" to detect "
                              "it") from None
    fmt = raw.get("format", "auto")
    if fmt not in ("auto", "csv", "xlsx", "parquet"):
        raise ConfigError(f"{where}: key 'format' is {fmt!r} — use auto, csv, xlsx or parquet")
    header_row = raw.get("header_row")
    if header_row is not None and _typed(where, "header_row", header_row, int) < 1:
        raise ConfigError(f"{where}: key 'header_row' must be 1 or more (Excel's row number)")
    delimiter = _typed(where, "delimiter", raw.get("delimiter", "auto"), str)
    _check_delimiter(where, delimiter)
    date_format = _typed(where, "date_format", raw.get("date_format", "%d/%m/%Y"), str)
    _check_date_format(where, date_format)
    decimal = _typed(where, "decimal", raw.get("decimal", "auto"), str)
    if decimal not in ("auto", ".", ","):
        raise ConfigError(f"{where}: key 'decimal' is {decimal!r} — use \",\" (1.234,56), "
                          "\".\" (1,234.56) or \"auto\"")
    return Mapping(
        name=name,
        dataset=dataset,
        preset=raw.get("preset"),
        format=fmt,
        encoding=encoding,
        delimiter=delimiter,
        sheet=_sheet(where, raw.get("sheet")),
        header_row=header_row,
        date_format=date_format,
        decimal=decimal,
        nhs_number=(None if "nhs_number" not in raw else
                    _typed(where, "nhs_number", raw["nhs_number"], bool)),
        columns={k: v for k, v in columns.items()},
        recode={k: {str(a): str(b) for a, b in v.items()} for k, v in recode.items()},
        defaults=dict(defaults),
        year=_year(where, raw["year"]) if "year" in raw else None,
    )


#: The years a population or projection row may be of (ingest.WHOLE_NUMBER_RANGES).
YEAR_RANGE = (1900, 2100)


def _year(where: str, value: Any) -> int:
    """A mapping's `year` (the estimates' year of a population workbook). One outside
    YEAR_RANGE quarantined every row with the advice to check a [columns] mapping of year
    the mapping did not have, and `year = 0` was read as no year at all."""
    year = _typed(where, "year", value, int)
    low, high = YEAR_RANGE
    if not low <= year <= high:
        raise ConfigError(f"{where}: key 'year' is {year}: give the year the estimates are "
                          f"for, between {low} and {high} (e.g. year = 2022)")
    return int(year)


def load_config(root: Path) -> ProjectConfig:
    """Read DIR/eolneeds.toml and DIR/mappings/*.toml."""
    root = Path(root).resolve()
    path = root / CONFIG_FILE
    if not path.is_file():
        raise UsageError(
            f"{root} is not an eolneeds project (no {CONFIG_FILE}) — "
            f"run `eolneeds init {shell_arg(root)}` or pass --project DIR"
        )
    raw = _read_toml(path)
    where = str(path)
    _check_text(where, raw)
    _check_keys(
        where,
        raw,
        {"project", "places", "privacy", "disclosure", "periods", "methods", "outputs",
         "ingest", "benchmarks", "mappings", "scenarios"},
    )
    project = _typed(where, "project", raw.get("project", {}), dict)
    _check_keys(f"{where} [project]", project,
                {"icb_name", "icb_code", "contact", "lsoa_vintage", "next_update"})
    if "icb_name" not in project:
        raise ConfigError(f"{where} [project]: key 'icb_name' is missing — add the ICB's name")

    places_raw = _typed(where, "places", raw.get("places", []), list)
    places: list[Place] = []
    for i, entry in enumerate(places_raw, start=1):
        pwhere = f"{where} [[places]] entry {i}"
        _typed(pwhere, "places", entry, dict)
        _check_keys(pwhere, entry, {"code", "name"})
        if "code" not in entry:
            raise ConfigError(f"{pwhere}: key 'code' is missing — give the Place's code")
        place = Place(code=str(entry["code"]), name=str(entry.get("name", entry["code"])))
        for key, text in (("code", place.code), ("name", place.name)):
            if _LINE_BREAKS.search(text):
                raise ConfigError(f"{pwhere}: key {key!r} holds a tab or line break — write the "
                                  f"Place's {key} on one line")
        # The code names the Place's pack (pack-CODE.xlsx): a file name has at most 255
        # bytes, and no real area code is near this long.
        if len(place.code) > MAX_PLACE_CODE:
            raise ConfigError(f"{pwhere}: key 'code' is {len(place.code)} characters long — a "
                              f"Place code has at most {MAX_PLACE_CODE} (use its area code, "
                              "e.g. E06000001, and put the words in 'name')")
        places.append(place)
    if len({p.code for p in places}) != len(places):
        raise ConfigError(f"{where} [[places]]: Place codes must be unique")
    # Each Place's pack is named from its code's letters and digits (assess.slug): two
    # codes alike but for case or punctuation would write one file over the other.
    files: dict[str, str] = {}
    for place in places:
        if not place.code.strip():
            raise ConfigError(f"{where} [[places]]: a Place code is empty — give each Place "
                              "its code (e.g. its local authority code)")
        key = re.sub(r"[^A-Za-z0-9]+", "-", place.code).strip("-").lower() or "place"
        if key == "icb":
            raise ConfigError(
                f"{where} [[places]]: Place code {place.code!r} would name its pack "
                "pack-icb.xlsx, the ICB's own pack, and one would be written over the other "
                "— give the Place another code (e.g. its local authority code)")
        if key in files:
            raise ConfigError(
                f"{where} [[places]]: Place codes {files[key]!r} and {place.code!r} differ "
                f"only in case or punctuation, so both packs would be pack-{key}.xlsx — make "
                "the codes differ in their letters or digits")
        files[key] = place.code

    vintage = str(project.get("lsoa_vintage", "2021"))
    if vintage not in ("2011", "2021"):
        raise ConfigError(
            f"{where} [project]: key 'lsoa_vintage' is {vintage!r} — use 2011 or 2021"
        )

    privacy = _typed(where, "privacy", raw.get("privacy", {}), dict)
    _check_keys(f"{where} [privacy]", privacy, {"key_file"})
    key_file = (Path(_typed(f"{where} [privacy]", "key_file", privacy["key_file"], str))
                .expanduser() if "key_file" in privacy else None)

    disc_raw = _typed(where, "disclosure", raw.get("disclosure", {}), dict)
    dwhere = f"{where} [disclosure]"
    _check_keys(dwhere, disc_raw, {"min_count", "rounding", "secondary"})
    disclosure = DisclosureConfig(
        min_count=_typed(dwhere, "min_count", disc_raw.get("min_count", 8), int),
        rounding=_typed(dwhere, "rounding", disc_raw.get("rounding", 0), int),
        secondary=_typed(dwhere, "secondary", disc_raw.get("secondary", True), bool),
    )
    if disclosure.min_count < 0:
        raise ConfigError(f"{dwhere}: key 'min_count' must be 0 (off) or more")
    if disclosure.rounding not in (0, 5, 10):
        raise ConfigError(f"{dwhere}: key 'rounding' must be 0 (none), 5 or 10")

    per_raw = _typed(where, "periods", raw.get("periods", {}), dict)
    pwhere = f"{where} [periods]"
    _check_keys(pwhere, per_raw, {"default", "months", "years"})
    periods = PeriodsConfig(
        default=_typed(pwhere, "default", per_raw.get("default", "financial_year"), str),
        months=_typed(pwhere, "months", per_raw.get("months", 12), int),
        years=_typed(pwhere, "years", per_raw.get("years", 3), int),
    )
    if periods.default not in ("financial_year", "rolling"):
        raise ConfigError(f"{pwhere}: key 'default' must be 'financial_year' or 'rolling'")
    if not 1 <= periods.months <= MAX_MONTHS:
        raise ConfigError(f"{pwhere}: key 'months' must be between 1 and {MAX_MONTHS}")
    if not 1 <= periods.years <= 50:
        raise ConfigError(f"{pwhere}: key 'years' must be between 1 and 50 (the number of "
                          "financial years to report)")

    meth_raw = _typed(where, "methods", raw.get("methods", {}), dict)
    mwhere = f"{where} [methods]"
    _check_keys(
        mwhere, meth_raw,
        {"emergency_admission_methods", "diupr_exclude_external_causes", "bed_days",
         "unit_cost_per_bed_day"},
    )
    cost = meth_raw.get("unit_cost_per_bed_day")
    methods = MethodsConfig(
        emergency_admission_methods=tuple(
            str(x) for x in _typed(mwhere, "emergency_admission_methods",
                                   meth_raw.get("emergency_admission_methods",
                                                list(DEFAULT_EMERGENCY_ADMIMETH)), list)
        ),
        diupr_exclude_external_causes=_typed(
            mwhere, "diupr_exclude_external_causes",
            meth_raw.get("diupr_exclude_external_causes", False), bool),
        bed_days=_typed(mwhere, "bed_days", meth_raw.get("bed_days", "inclusive_days"), str),
        unit_cost_per_bed_day=(
            float(_typed(mwhere, "unit_cost_per_bed_day", cost, (int, float)))
            if cost is not None else None
        ),
    )
    # A cost that is not a finite amount of 0 or more would print 'nan' or a negative
    # cost in the packs; the ceiling is the one ingest applies to an activity's cost.
    if cost is not None and not 0 <= float(cost) <= MAX_UNIT_COST:
        raise ConfigError(f"{mwhere}: key 'unit_cost_per_bed_day' must be a number from 0 "
                          f"to {MAX_UNIT_COST} (pounds per bed day), not {float(cost)!r}")
    if methods.bed_days not in ("inclusive_days", "nights"):
        raise ConfigError(f"{mwhere}: key 'bed_days' must be 'inclusive_days' or 'nights'")

    out_raw = _typed(where, "outputs", raw.get("outputs", {}), dict)
    owhere = f"{where} [outputs]"
    _check_keys(owhere, out_raw, {"formats", "per_place"})
    formats = tuple(_typed(owhere, "formats", out_raw.get("formats", list(OUTPUT_FORMATS)), list))
    for fmt in formats:
        if fmt not in OUTPUT_FORMATS:
            raise ConfigError(f"{owhere}: format {fmt!r} — use {', '.join(OUTPUT_FORMATS)}")
    outputs = OutputsConfig(
        formats=formats,
        per_place=_typed(owhere, "per_place", out_raw.get("per_place", True), bool),
    )

    ing_raw = _typed(where, "ingest", raw.get("ingest", {}), dict)
    iwhere = f"{where} [ingest]"
    _check_keys(iwhere, ing_raw, {"max_rejected_share"})
    ingest = IngestConfig(max_rejected_share=float(_typed(
        iwhere, "max_rejected_share", ing_raw.get("max_rejected_share", 0.5), (int, float))))
    if not 0 <= ingest.max_rejected_share <= 1:
        raise ConfigError(f"{iwhere}: key 'max_rejected_share' must be between 0 and 1 "
                          "(0.5 = refuse a file when more than half its rows are quarantined)")

    bench_raw = _typed(where, "benchmarks", raw.get("benchmarks", {}), dict)
    benchmarks = {
        k: float(_typed(f"{where} [benchmarks]", k, v, (int, float))) for k, v in bench_raw.items()
    }
    # A typo in an id would otherwise be silently never shown.
    from eolneeds.catalogue import indicator_by_id  # reads the packaged catalogue only
    known = indicator_by_id()
    for key, value in benchmarks.items():
        if key not in known:
            raise ConfigError(
                f"{where} [benchmarks]: key {key!r} is not an indicator id — use an id from "
                "`eolneeds indicators`, e.g. pod_hospital_pct")
        if not math.isfinite(value):
            raise ConfigError(f"{where} [benchmarks]: key {key!r} must be a finite number, "
                              f"not {value!r}")

    mappings: dict[str, Mapping] = {}
    for name, table in _typed(where, "mappings", raw.get("mappings", {}), dict).items():
        mappings[name] = parse_mapping(name, table, f"{where} [mappings.{name}]")
    mapping_dir = root / "mappings"
    if mapping_dir.is_dir():
        for file in sorted(mapping_dir.glob("*.toml")):
            mappings[file.stem] = parse_mapping(file.stem, _read_toml(file), str(file))

    return ProjectConfig(
        root=root,
        icb_name=str(project["icb_name"]),
        icb_code=str(project.get("icb_code", "ICB")),
        places=tuple(places),
        contact=str(project.get("contact", ProjectConfig.contact)),
        next_update=str(project.get("next_update", "")),
        lsoa_vintage=vintage,
        key_file=key_file,
        disclosure=disclosure,
        periods=periods,
        methods=methods,
        outputs=outputs,
        ingest=ingest,
        benchmarks=benchmarks,
        mappings=mappings,
        scenarios=parse_scenarios(raw.get("scenarios", []), where),
    )


# A key anyone could guess lets the holder of the database re-identify every person:
# there are only about a billion valid NHS numbers to hash and compare. `eolneeds init`
# writes 64 random hex digits; a typed passphrase must be at least this long.
MIN_KEY_LENGTH = 16
MAX_KEY_FILE_BYTES = 64 * 1024


def _strong_key(key: bytes, source: str, existing: Path | None = None,
                on_weak: Callable[[str], None] | None = None) -> bytes:
    """Refuse a key that is blank, short, or not text (a UTF-16 copy of the key file
    would silently be another key, so new data would not link to old).

    A short key of a project whose database already exists (`existing`) is taken with a
    warning (`on_weak`): its data are pseudonymised with that key, and refusing it would
    stop the project's monthly run for good (a new key cannot link new data to old); the
    warning says how to move to a strong key. A new project never starts with one."""
    stripped = key.strip()
    if not stripped:
        raise UsageError(f"pseudonymisation key from {source} is blank — restore the key "
                         "`eolneeds init` wrote (without the same key, new data will not "
                         "link to old)")
    try:
        text = stripped.decode("utf-8")
    except UnicodeDecodeError:
        text = ""
    if not text or _INVISIBLE.search(text) or _LINE_BREAKS.search(text):
        raise UsageError(
            f"pseudonymisation key from {source} is not one line of UTF-8 text (saved as "
            "UTF-16, or binary?) — restore the key as `eolneeds init` wrote it")
    if len(text) < MIN_KEY_LENGTH and existing is not None and existing.exists():
        if on_weak is not None:
            on_weak(f"the pseudonymisation key from {source} is {len(text)} characters long "
                    f"(a key needs at least {MIN_KEY_LENGTH}: a short key can be guessed, "
                    "and every pseudonym reversed); it is used because this project's "
                    f"database {existing.name} was written with it. Move to a strong key "
                    "(`eolneeds init` writes one) and ingest every file again into a new "
                    "project")
        return key
    if len(text) < MIN_KEY_LENGTH:
        raise UsageError(
            f"pseudonymisation key from {source} is {len(text)} characters long — a key "
            f"needs at least {MIN_KEY_LENGTH} (a short key can be guessed, and every "
            "pseudonym reversed); use the key `eolneeds init` writes")
    return key


def resolve_key(config: ProjectConfig, on_weak: Callable[[str], None] | None = None) -> bytes:
    """The pseudonymisation key: $EOLNEEDS_KEY, else [privacy] key_file.

    The key lives outside the project folder so that the database and outputs can be
    shared without it; it is never written into either. `on_weak` receives the warning
    for a short key an existing project was written with (_strong_key).
    """
    existing = config.database_path
    env = os.environ.get(KEY_ENV_VAR)
    if env:
        # The variable's own bytes: a value that is not UTF-8 (set from a file in another
        # encoding) reaches Python with surrogate escapes, which .encode("utf-8") refuses.
        return _strong_key(os.fsencode(env), f"${KEY_ENV_VAR}", existing, on_weak)
    if config.key_file is not None:
        key_file = config.key_file
        try:
            # A device, pipe or folder named as the key (/dev/zero) would be read forever.
            if not key_file.is_file() or key_file.stat().st_size > MAX_KEY_FILE_BYTES:
                raise UsageError(
                    f"pseudonymisation key file {key_file} is not a key file (a folder, "
                    f"device or pipe, or over {MAX_KEY_FILE_BYTES // 1024} KB) — point "
                    "[privacy] key_file at the key `eolneeds init` wrote")
            key = key_file.read_bytes().strip()
        except OSError:
            raise UsageError(
                f"pseudonymisation key file {key_file} cannot be read — restore it, "
                f"or set {KEY_ENV_VAR}; without the same key, new data will not link to old"
            ) from None
        return _strong_key(key, f"key file {key_file}", existing, on_weak)
    raise UsageError(
        f"no pseudonymisation key — set {KEY_ENV_VAR} or [privacy] key_file in "
        f"{config.root / CONFIG_FILE} (`eolneeds init` creates one)"
    )


def find_project(project: Path | None) -> Path | None:
    """--project DIR, else the current directory if it holds eolneeds.toml, else None
    (the caller then uses the bundled sample)."""
    if project is not None:
        return Path(project)
    cwd = Path.cwd()
    if (cwd / CONFIG_FILE).is_file():
        return cwd
    return None
