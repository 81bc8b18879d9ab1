"""Built-in mappings for national extract layouts (ARCHITECTURE.md, "Presets").

A preset says which source column feeds each canonical column, and derives the columns
whose meaning is spread over several national fields (place of death from the three
POD_* fields, activity type from ADMIMETH) with the fixed rules of REFERENCE.md. A
user's mapping can still override any column, recode values and set defaults.
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import re
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field

from eolneeds.config import DEFAULT_EMERGENCY_ADMIMETH
from eolneeds.errors import ConfigError
from eolneeds.normalise import AGE_BAND_CODES, NULL_DATES, case_sql, code_key_sql, sql_literal
from eolneeds.schema import CANONICAL_COLUMNS, PRACTICE_CODE_SHAPE

PRESETS: tuple[str, ...] = (
    "pcmd_deaths", "hes_apc", "ecds_ae", "csds_contacts", "ons_population", "ons_projections",
    "iod_file1", "lsoa_place_lookup", "ods_epcn", "ods_epraccur", "fingertips",
)


@dataclass(frozen=True)
class Derived:
    """A canonical column computed from several source columns by a SQL expression.

    `build` receives the SQL of each source (trimmed text, NULL when empty or absent)
    and returns SQL giving text that the column's ordinary parser then checks. A source
    may be a tuple of the names national extracts give it (the first found is read);
    resolve() hands ingest a Derived naming the headers found. With `reads_dates`,
    build also receives a function turning a source's SQL into a DATE read as the
    mapping reads dates (its date_format, ISO, yyyymmdd ...): build(sources, as_date).
    """

    sources: tuple[str | tuple[str, ...], ...]
    build: Callable[..., str]
    optional: tuple[str | tuple[str, ...], ...] = ()  # sources that may be absent
    reads_dates: bool = False
    # Alternative sets of sources (their positions), one of which a file must have all
    # of (place of death: the three coded fields, or a column of place names); with
    # this, every source may be absent otherwise.
    one_of: tuple[tuple[int, ...], ...] = ()

    def names(self) -> tuple[str, ...]:
        """Every header name any source may have."""
        return tuple(n for s in self.sources for n in ((s,) if isinstance(s, str) else s))


# canonical column -> its source column: one name, a tuple of the names national
# extracts use for it (the first found is read), a list of columns read together (list
# columns), or Derived.
SourceSpec = str | tuple[str, ...] | list[str] | Derived


# Cached: recognising a layout compares each of a few hundred preset names with every
# header, once per sheet, and a workbook may hold thousands of sheets.
@functools.lru_cache(maxsize=1 << 16)
def header_key(header: str) -> str:
    """How headers are compared: case-insensitive, trimmed, runs of white space and
    underscores as one space ('NHS Number' is NHS_NUMBER, 'Date of death' is
    date_of_death: the same column as a warehouse and a spreadsheet name it)."""
    return " ".join(str(header).replace("_", " ").split()).lower()


def find_header(wanted: str, headers: Sequence[str]) -> str | None:
    """The header of `headers` that is `wanted` (exactly, else by header_key)."""
    if wanted in headers:
        return wanted
    key = header_key(wanted)
    for header in headers:
        if header_key(header) == key:
            return header
    return None


def find_any(names: str | Sequence[str], headers: Sequence[str]) -> str | None:
    """The header of `headers` that is the first of `names` found (see find_header)."""
    for name in (names,) if isinstance(names, str) else names:
        header = find_header(name, headers)
        if header is not None:
            return header
    return None


def spec_names(spec: SourceSpec) -> tuple[str, ...]:
    """Every source column name a spec may read."""
    if isinstance(spec, Derived):
        return spec.names()
    if isinstance(spec, str):
        return (spec,)
    return tuple(spec)


@dataclass(frozen=True)
class Preset:
    name: str
    dataset: str
    columns: dict[str, SourceSpec]
    # canonical columns a file in this layout must have (others are used when present);
    # a Derived column needs its sources that are not optional
    required: tuple[str, ...]
    nhs_number: bool = True
    defaults: dict[str, str] = field(default_factory=dict)
    description: str = ""
    # canonical column -> {source header: constant}: a constant that follows from which
    # variant of a column the file has (the IoD's LSOA vintage from its LSOA header)
    from_variant: dict[str, tuple[str, dict[str, str]]] = field(default_factory=dict)
    # for layouts that are not one row per canonical row (ONS wide population tables):
    # whether a sheet's headers are this layout; resolve() is then not the test
    layout_test: Callable[[Sequence[str]], bool] | None = None
    # A layout published with no header row (ODS's epraccur): its columns' names by
    # position, which `columns` and a mapping's [columns] use; every line is a row.
    positional: tuple[str, ...] = ()


@dataclass
class Resolution:
    """What a preset reads from one file's headers (see resolve)."""

    columns: dict[str, SourceSpec]  # canonical -> the header(s) found, or Derived
    defaults: dict[str, str]
    # canonical -> the header read, for the identifier and for columns read under
    # another of their known names than the usual (first) one
    chosen: dict[str, str]
    missing: list[tuple[str, tuple[str, ...]]]  # (canonical, names looked for)

    def describe(self) -> str:
        """'lsoa_code from LSOA_OF_RESIDENCE_CODE, ...' for the columns with variants."""
        return ", ".join(
            f"{c} from {h}" + (" (already pseudonymised, so not checked as an NHS number: it "
                               "links only to files pseudonymised the same way)"
                               if c == "person_id" and already_pseudonymised(h) else "")
            for c, h in self.chosen.items())


def _first_name(source: str | tuple[str, ...]) -> str:
    return source if isinstance(source, str) else source[0]


def resolve(preset: Preset, headers: Sequence[str],
            overridden: Collection[str] = (), defaulted: Collection[str] = ()
            ) -> Resolution:
    """Which header feeds each of the preset's canonical columns in a file with
    `headers`. Columns in `overridden` (the mapping's own [columns]) are left out: the
    mapping's choice wins and the preset neither reads nor requires them. Columns in
    `defaulted` (the mapping's [defaults]) are read where the file has them, and not
    required where it has not (the default is their value)."""
    columns: dict[str, SourceSpec] = {}
    chosen: dict[str, str] = {}
    missing: list[tuple[str, tuple[str, ...]]] = []
    defaults = dict(preset.defaults)
    for canonical, spec in preset.columns.items():
        if canonical in overridden:
            continue
        required = canonical in preset.required and canonical not in defaulted
        if isinstance(spec, Derived):
            found_sources = [find_any(s, headers) for s in spec.sources]
            absent = tuple(s if isinstance(s, str) else s[0]
                           for s, h in zip(spec.sources, found_sources, strict=True)
                           if h is None and s not in spec.optional)
            if spec.one_of:
                whole = [g for g in spec.one_of
                         if all(found_sources[i] is not None for i in g)]
                first = spec.one_of[0]
                absent = () if whole else tuple(
                    _first_name(spec.sources[i]) for i in first if found_sources[i] is None)
            if absent and required:
                missing.append((canonical, absent))
            elif not absent:
                # The headers this file has (an absent optional source keeps its first
                # name, which ingest reads as NULL).
                columns[canonical] = dataclasses.replace(spec, sources=tuple(
                    h if h is not None else (s if isinstance(s, str) else s[0])
                    for s, h in zip(spec.sources, found_sources, strict=True)))
                for s, h in zip(spec.sources, found_sources, strict=True):
                    if (not isinstance(s, str) and h is not None and canonical not in chosen
                            and header_key(h) != header_key(s[0])):
                        chosen[canonical] = h
            continue
        if isinstance(spec, list):
            found = [h for h in (find_header(s, headers) for s in spec) if h is not None]
            if found:
                columns[canonical] = found
            elif required:
                missing.append((canonical, tuple(spec)))
            continue
        names = (spec,) if isinstance(spec, str) else spec
        header = next((h for h in (find_header(n, headers) for n in names) if h is not None),
                      None)
        if header is None:
            if required:
                missing.append((canonical, names))
            continue
        columns[canonical] = header
        # Said when the file names a column otherwise than usual, and always for the
        # identifier (which decides what links).
        if len(names) > 1 and (canonical == "person_id"
                               or header_key(header) != header_key(names[0])):
            chosen[canonical] = header
    for canonical, (column, table) in preset.from_variant.items():
        if canonical in overridden or canonical in defaults:
            continue
        used = columns.get(column)
        for name, constant in table.items():
            if isinstance(used, str) and header_key(used) == header_key(name):
                defaults[canonical] = constant
    return Resolution(columns, defaults, chosen, missing)


def recognise(headers: Sequence[str]) -> str | None:
    """The preset whose national layout `headers` are, or None.

    None also when the headers already carry the canonical names of a dataset's
    required columns (such a file needs no preset). When several presets fit, the one
    reading the most columns wins.
    """
    return _recognise(tuple(headers))


# Cached (~2 ms a call): inspect and the header search ask it of every sheet, and a
# workbook of thousands of sheets repeats its few layouts.
@functools.lru_cache(maxsize=1024)
def _recognise(headers: tuple[str, ...]) -> str | None:
    # Spelt as the canonical names themselves (not merely alike: 'LSOA code' and 'Place'
    # are the lookup's layout).
    keys = {" ".join(str(h).split()).lower() for h in headers}
    for columns in CANONICAL_COLUMNS.values():
        if all(name in keys for name, _t, required in columns if required):
            return None
    best: tuple[int, str] | None = None
    for name in PRESETS:
        preset = get_preset(name)
        if preset.layout_test is not None:
            if preset.layout_test(headers):
                return name
            continue
        found = resolve(preset, headers)
        if found.missing:
            continue
        score = len(found.columns)
        if best is None or score > best[0]:
            best = (score, name)
    return best[1] if best else None


def _in(expr: str, codes: Sequence[int]) -> str:
    return f"{expr} IN ({', '.join(str(c) for c in codes)})"


def place_of_death_sql(sources: Sequence[str]) -> str:
    """POD_CODE, POD_NHS_ESTABLISHMENT, POD_ESTABLISHMENT_TYPE (and, optionally, a
    column of place names) -> place of death.

    PHE 2019 classification (REFERENCE.md), rules applied in order. Establishment type
    is read as a number so '1' and '01' are the same. Non-NHS types 52 and 64 are
    religious establishments (as in the national indicator code), which the table's
    'other' range would otherwise swallow, so they are tested first. Where the coded
    fields give no category (absent, or no rule fits) and the file names the place
    ('Hospital', 'Care home', 'Elsewhere'), the name is read as a place of death like
    any other (normalise.PLACE_OF_DEATH_CODES; an unknown name is set to unknown and
    recorded).
    """
    pod_code, nhs_flag, est_type = sources[:3]
    code = f"upper({pod_code})"
    nhs = f"TRY_CAST({nhs_flag} AS INTEGER)"
    kind = f"TRY_CAST({est_type} AS INTEGER)"
    other_non_nhs = (
        f"({_in(kind, (5, 8, 9))} OR {kind} BETWEEN 11 AND 13 OR {kind} BETWEEN 15 AND 17 "
        f"OR {kind} BETWEEN 23 AND 31 OR {kind} BETWEEN 34 AND 82)"
    )
    coded = (
        "(CASE "
        f"WHEN {code} = 'H' THEN 'home' "
        f"WHEN {code} = 'E' THEN 'other' "
        f"WHEN {kind} = 83 THEN 'hospice' "
        f"WHEN {nhs} = 1 AND {_in(kind, (1, 3, 18, 99))} THEN 'hospital' "
        f"WHEN {nhs} = 2 AND {_in(kind, (1, 18, 19))} THEN 'hospital' "
        f"WHEN {nhs} = 1 AND {_in(kind, (2, 4, 7, 10, 21))} THEN 'care_home' "
        f"WHEN {nhs} = 2 AND {_in(kind, (3, 4, 7, 10, 14, 20, 22, 32, 33, 99))} "
        "THEN 'care_home' "
        f"WHEN {nhs} = 2 AND {_in(kind, (52, 64))} THEN 'religious' "
        f"WHEN {nhs} = 1 AND {_in(kind, (5, 6, 8, 9, 11))} THEN 'other' "
        f"WHEN {nhs} = 2 AND {other_non_nhs} THEN 'other' "
        # Codes given that no rule places: said as they are, so that ingest sets the
        # place to unknown and records it (field_actions), as for any unknown code.
        f"WHEN {nhs_flag} IS NOT NULL OR {est_type} IS NOT NULL THEN concat('no PHE rule "
        f"for NHS establishment ', coalesce({nhs_flag}, '-'), ', type ', "
        f"coalesce({est_type}, '-')) "
        "ELSE 'unknown' END)"
    )
    if len(sources) < 4:
        return coded
    name = sources[3]
    return (f"(CASE WHEN ({coded} = 'unknown' OR starts_with({coded}, 'no PHE rule')) AND "
            f"{name} IS NOT NULL THEN {name} ELSE {coded} END)")


def place_of_death(pod_code: str | None, nhs_flag: str | None, est_type: str | None,
                   name: str | None = None) -> str:
    """Python reference of place_of_death_sql (for tests); `name` is returned as it is
    where the coded fields give no category (ingest then reads it as a code)."""
    coded = _place_of_death_coded(pod_code, nhs_flag, est_type)
    fits_none = coded == "unknown" or coded.startswith("no PHE rule")
    return name.strip() if fits_none and name and name.strip() else coded


def _place_of_death_coded(pod_code: str | None, nhs_flag: str | None,
                          est_type: str | None) -> str:
    code = (pod_code or "").strip().upper()
    try:
        nhs: int | None = int((nhs_flag or "").strip())
    except ValueError:
        nhs = None
    try:
        kind: int | None = int((est_type or "").strip())
    except ValueError:
        kind = None
    if code == "H":
        return "home"
    if code == "E":
        return "other"
    if kind == 83:
        return "hospice"
    if (nhs == 1 and kind in (1, 3, 18, 99)) or (nhs == 2 and kind in (1, 18, 19)):
        return "hospital"
    if (nhs == 1 and kind in (2, 4, 7, 10, 21)) or (
        nhs == 2 and kind in (3, 4, 7, 10, 14, 20, 22, 32, 33, 99)
    ):
        return "care_home"
    if nhs == 2 and kind in (52, 64):
        return "religious"
    if nhs == 1 and kind in (5, 6, 8, 9, 11):
        return "other"
    if nhs == 2 and kind is not None and (
        kind in (5, 8, 9) or 11 <= kind <= 13 or 15 <= kind <= 17 or 23 <= kind <= 31
        or 34 <= kind <= 82
    ):
        return "other"
    flag, typed = (nhs_flag or "").strip() or None, (est_type or "").strip() or None
    if flag is not None or typed is not None:
        return f"no PHE rule for NHS establishment {flag or '-'}, type {typed or '-'}"
    return "unknown"


def later_episode_sql(episode_order: str, first_admission: str = "NULL") -> str:
    """SQL: the row is a later episode of a spell (HES APC EPIORDER 2..98; 99 is 'not
    known' and a blank or absent order is a spell): its admission is on episode 1.
    Without EPIORDER, HES's FAE flag (1: the spell's first, admission episode; 0: any
    other) tells it."""
    return (f"coalesce(TRY_CAST({episode_order} AS INTEGER) BETWEEN 2 AND 98, "
            f"{episode_order} IS NULL AND TRY_CAST({first_admission} AS INTEGER) = 0, false)")


def admission_code_sql(method: str) -> str:
    """SQL: the ADMIMETH code a value starts with ('21', '2A'; also '21 - Emergency: A&E'
    or '21.0', as reporting tools export it), else NULL."""
    # Nearly every value is the two characters alone: the regular expression (costly
    # on tens of millions of rows) only reads the others.
    return (f"(CASE WHEN strlen({method}) = 2 THEN upper({method}) ELSE "
            f"nullif(regexp_extract(upper({method}), '^([0-9][0-9A-Z])([^0-9A-Z]|$)', 1), "
            "'') END)")


def admission_type_sql(emergency: Sequence[str]) -> Callable[[Sequence[str]], str]:
    """ADMIMETH -> activity type: emergency list (configurable), 11-13 elective, any
    other code 'other'. Sources: ADMIMETH and, optionally, EPIORDER and FAE (a later
    episode is 'other'). A method written in words only ('Emergency', 'Non-elective') is
    read as an activity type (normalise.ACTIVITY_TYPE_CODES), so that words no rule
    knows are quarantined with their advice rather than counted as no admission."""

    def build(sources: Sequence[str]) -> str:
        method = sources[0]
        code = admission_code_sql(method)
        codes = ", ".join(sql_literal(c.upper()) for c in emergency)
        later = later_episode_sql(*sources[1:3]) if len(sources) > 1 else "false"
        return (
            f"(CASE WHEN {later} THEN 'other' "
            f"WHEN {code} IN ({codes}) THEN 'emergency_admission' "
            f"WHEN {code} IN ('11', '12', '13') THEN 'elective_admission' "
            f"WHEN {code} IS NOT NULL OR {method} IS NULL THEN 'other' "
            f"ELSE {method} END)"
        )

    return build


def admission_method_sql(sources: Sequence[str]) -> str:
    """ADMIMETH, EPIORDER, FAE -> the admission method code of a spell's first episode
    only: a later episode (same ADMIMETH, copied to every episode of HES APC) is no
    admission. A method in words has no code (its activity type says what it was)."""
    return (f"(CASE WHEN NOT {later_episode_sql(*sources[1:3])} THEN "
            f"{admission_code_sql(sources[0])} END)")


def spell_end_sql(sources: Sequence[str], as_date: Callable[[str], str]) -> str:
    """DISDATE, EPIEND, ADMIDATE, SPELDUR -> the end of the spell a row belongs to, as
    far as the row itself tells it: its DISDATE; else, where the extract gives the spell
    duration (SPELDUR, days), ADMIDATE + SPELDUR; else the episode's own EPIEND. HES APC
    writes DISDATE (and often SPELDUR) only on a spell's last episode, so ingest then
    gives the spell's first episode -- the admission -- the end of its spell's last
    episode (ingest._spell_ends): a spell's bed days run from its admission to its
    discharge, not to the end of its first consultant episode."""
    disdate, epiend, admidate, speldur = sources
    blank = f"({disdate} IS NULL OR regexp_full_match({disdate}, {sql_literal(NULL_DATES)}))"
    if speldur == "NULL":  # no duration column (SUS spells): no date to compute per row
        return f"(CASE WHEN NOT {blank} THEN {disdate} ELSE {epiend} END)"
    days = f"TRY_CAST({speldur} AS INTEGER)"
    by_duration = (f"strftime({as_date(admidate)} + {days}, '%Y-%m-%d')")
    return (f"(CASE WHEN NOT {blank} THEN {disdate} "
            f"WHEN {days} BETWEEN 0 AND 36600 AND {as_date(admidate)} IS NOT NULL "
            f"THEN {by_duration} ELSE {epiend} END)")


def episode_extract(preset: Preset, headers: Sequence[str],
                    overridden: Collection[str] = ()) -> bool:
    """Whether a file read with `preset` is an episode-level HES APC extract whose spells
    the preset admits once (EPIORDER found, admission method and end date the preset's
    own): ingest then gives each spell's admission the end of the whole spell."""
    return (preset.name == "hes_apc"
            and (find_any(EPISODE_ORDER_NAMES, headers) is not None
                 or find_any(FIRST_EPISODE_NAMES, headers) is not None
                 or unordered_episodes(preset, headers, overridden))
            and not {"admission_method", "end_date"} & set(overridden))


def unordered_episodes(preset: Preset, headers: Sequence[str],
                       overridden: Collection[str] = ()) -> bool:
    """Whether a file read with `preset` is one row per consultant episode (it has an
    episode's start or end date) with nothing to say which episode is a spell's first
    (no EPIORDER, no FAE), as the SUS extract marts' episode tables: ingest then takes a
    spell's first row as its admission and the others as its later episodes."""
    return (preset.name == "hes_apc"
            and find_any(EPISODE_ORDER_NAMES, headers) is None
            and find_any(FIRST_EPISODE_NAMES, headers) is None
            and (find_any(EPISODE_START_NAMES, headers) is not None
                 or find_any(EPISODE_END_NAMES, headers) is not None)
            and not {"admission_method", "activity_type", "end_date"} & set(overridden))


# Ages under one year in death registrations: DEC_AGEC counts DEC_AGECUNIT units.
AGE_UNIT_YEARS = ("1", "01", "y", "yr", "yrs", "year", "years")
AGE_UNIT_UNDER_ONE = ("2", "3", "4", "5", "02", "03", "04", "05", "m", "mth", "mths",
                      "month", "months", "w", "wk", "wks", "week", "weeks", "d", "day",
                      "days", "h", "hr", "hrs", "hour", "hours")


def age_in_years_sql(sources: Sequence[str]) -> str:
    """DEC_AGEC, DEC_AGECUNIT -> age in completed years. The unit is 1 (years) for
    almost every death; an infant's age is given in months, weeks, days or hours
    (codes 2-5 or the words), which is age 0, never 6 for six months. An unknown unit
    keeps the value with it ('6 (unit Z)'), so the age is blanked and recorded as a
    field action rather than read in the wrong unit; no unit column: years."""
    age, unit = sources
    key = code_key_sql(unit)  # '1', '1.0', 'Years' alike
    years = ", ".join(sql_literal(u) for u in AGE_UNIT_YEARS)
    under_one = ", ".join(sql_literal(u) for u in AGE_UNIT_UNDER_ONE)
    return (f"(CASE WHEN {age} IS NULL OR {unit} IS NULL OR {key} IN ({years}) THEN {age} "
            f"WHEN {key} IN ({under_one}) AND TRY_CAST({age} AS DOUBLE) >= 0 THEN '0' "
            f"ELSE {age} || ' (unit ' || {unit} || ')' END)")


# Names national extracts give the same column (first = the usual one).
# NHS England's data platforms (NCDR, UDAL) give the NHS number already pseudonymised:
# read last, only when no clear identifier column is there, and never checked as an NHS
# number (it is not one; ingest keys it like any other identifier).
# (AIMTC_Pseudo_NHS: the SUS extract marts, SEM, that commissioning support units run;
# TOKEN_PERSON_ID: NHS England's DARS, which tokenises the NHS number in pseudonymised
# extracts of HES, ECDS and deaths alike, so that one agreement's files link.)
PSEUDONYMISED_ID_NAMES = ("Der_Pseudo_NHS_Number", "Derived_Pseudo_NHS", "Pseudo_NHS_Number",
                          "AIMTC_Pseudo_NHS", "TOKEN_PERSON_ID")
# HES's own name is NEWNHSNO; 'NHS Number' and 'NHSNumber' are the same key as the
# names below (header_key).
NHS_NUMBER_NAMES = ("PERSON_ID", "NHS_NUMBER", "NHSNUMBER", "NEWNHSNO", "NHS_NO",
                    *PSEUDONYMISED_ID_NAMES)
# Hospital spells: HES APC (DARS extracts) names first, then the SUS / NCDR names, then
# those of the SUS extract marts (SEM: APC_SEM_001, APC_SEMPBR_..._Spell_001) that
# commissioning support units give ICBs, with AIMTC_ProviderSpell_* their derived dates.
ADMISSION_DATE_NAMES = ("ADMIDATE", "Admission_Date", "ADMISSION_DATE_HOSPITAL_PROVIDER_SPELL",
                        "Start_Date_Hospital_Provider_Spell", "StartDate_HospitalProviderSpell",
                        "AIMTC_ProviderSpell_Start_Date")
DISCHARGE_DATE_NAMES = ("DISDATE", "Discharge_Date", "DISCHARGE_DATE_HOSPITAL_PROVIDER_SPELL",
                        "DischargeDate_FromHospitalProviderSpell",
                        "AIMTC_ProviderSpell_End_Date")
ADMISSION_METHOD_NAMES = ("ADMIMETH", "Admission_Method", "Admission_Method_Code",
                          "ADMISSION_METHOD_HOSPITAL_PROVIDER_SPELL",
                          "AdmissionMethod_HospitalProviderSpell")
EPISODE_ORDER_NAMES = ("EPIORDER", "Episode_Number", "Episode_Order")
EPISODE_END_NAMES = ("EPIEND", "Episode_End_Date", "EndDate_ConsultantEpisode")
# A consultant episode's start: with EPISODE_END_NAMES, what says the rows are episodes
# when the extract gives no episode order (SEM), so that a spell's rows after its first
# are its later episodes, not the spell sent twice (ingest._quarantine_same_spell).
EPISODE_START_NAMES = ("EPISTART", "Episode_Start_Date", "StartDate_ConsultantEpisode")
# HES's finished admission episode flag: 1 on a spell's first episode, 0 on the others.
FIRST_EPISODE_NAMES = ("FAE",)
# HES APC's spell duration in days (ADMIDATE to DISDATE), on a spell's last episode or
# on every episode of it, depending on the extract.
SPELL_DURATION_NAMES = ("SPELDUR", "Spell_Duration", "Der_Spell_LoS")
# A hospital spell's identifier: SUS / NCDR APCS_IDENT (APCS_Ident), HES's SPELL_ID /
# HES_SPELL_ID, a provider spell number. (EPIKEY identifies an episode, not a spell.)
SPELL_ID_NAMES = ("APCS_IDENT", "APCS_Ident", "SPELL_ID", "HES_SPELL_ID", "SUSSPELLID",
                  "Spell_Identifier", "Hospital_Provider_Spell_Number", "PROVSPNOPS",
                  "PBRspellID", "HospitalProviderSpellNumber")


# Community Services Data Set care contacts (CYP201 Care Contact, and NCDR / UDAL
# extracts of it). ATTENDED OR DID NOT ATTEND (NHS Data Dictionary): 5 attended on time
# or, if late, before the care professional was ready; 6 arrived late but was seen; 7
# arrived late and could not be seen; 2 cancelled by, or on behalf of, the patient; 3
# did not attend, no advance warning; 4 cancelled or postponed by the provider; 0 not
# applicable (the appointment is in the future). Only 5 and 6 are contacts that took
# place, as NHS England's community services statistics count them.
# (AttendanceStatus: the CSDS tables of the CSUs' MESH feeds, CYP201CareContact.)
CSDS_ATTENDANCE_NAMES = ("Attendance_Status", "AttendOrDNACode", "Attend_Or_DNA_Code",
                         "Attended_Or_Did_Not_Attend", "Attended_Or_DNA", "ATTENDED_DNA",
                         "AttendanceStatus")
CSDS_CONTACT_DATE_NAMES = ("Contact_Date", "Care_Contact_Date", "CareContDate",
                           "Der_Contact_Date", "Care_Contact_Date_Time")
CSDS_ATTENDED = (5, 6)
CSDS_NOT_ATTENDED = (0, 2, 3, 4, 7)
# The activity type of a contact that did not take place: ingest quarantines it with its
# own reason (ingest._code_sql), which names the [recode.activity_type] key that counts it.
NOT_ATTENDED = "not attended: "
# SERVICE OR TEAM TYPE DELIVERING CARE (COMMUNITY CARE), CSDS v1.6 (NHS Data Model and
# Dictionary): 47 is a specialist palliative care service, so its attended contacts are
# the specialist palliative contacts spc_last_year_pct counts. 14 (end of life care
# service) is not: it is the generalist community team (district nurses' end-of-life
# visits), counted as a community contact like the rest. Extracts give the code, or its
# words where a warehouse has decoded it. (Source and checks: docs/ARCHITECTURE.md,
# "Reference code lists": two independent copies of the list agree on 47 and 14.)
CSDS_TEAM_TYPE_NAMES = ("Team_Type_Code", "Team_Type", "TeamType", "TeamTypeCode",
                        "Service_Team_Type", "Service_Or_Team_Type",
                        "Service_Or_Team_Type_Code", "ServTeamTypeCommCare",
                        "ServTeamTypeRefToCommServ")
CSDS_SPECIALIST_PALLIATIVE = 47


def attended_contact_sql(sources: Sequence[str]) -> str:
    """Attendance status (and team type, when the file has it) -> 'community_contact'
    for an attended contact (5, 6), 'specialist_palliative_contact' for one by a
    specialist palliative care team (team type 47, or its words), else 'not attended: N'
    (N the code, or 'not recorded'); a value that is no code at all is returned as it
    is (quarantined as an unknown activity type, with its recode advice). '05' and '5.0'
    are 5; '047' is 47."""
    status, team = sources  # (team: NULL when the file has no team type)
    code = f"TRY_CAST(TRY_CAST({status} AS DOUBLE) AS INTEGER)"
    attended = ", ".join(map(str, CSDS_ATTENDED))
    not_attended = ", ".join(map(str, CSDS_NOT_ATTENDED))
    specialist = (
        f"WHEN {code} IN ({attended}) AND (TRY_CAST(TRY_CAST({team} AS DOUBLE) AS INTEGER) "
        f"= {CSDS_SPECIALIST_PALLIATIVE} OR lower({team}) LIKE '%specialist palliative%') "
        "THEN 'specialist_palliative_contact' ")
    return (f"(CASE {specialist}WHEN {code} IN ({attended}) THEN 'community_contact' "
            f"WHEN {code} IN ({not_attended}) THEN '{NOT_ATTENDED}' || CAST({code} AS VARCHAR) "
            f"WHEN {status} IS NULL THEN '{NOT_ATTENDED}not recorded' ELSE {status} END)")


# Place of death in death registrations: PCMD / Civil Registration - Deaths names first,
# then the ONS (Public Health Mortality File) ones.
POD_CODE_NAMES = ("POD_CODE", "CESTRSS", "PLACE_OF_DEATH_CODE")
POD_NHS_NAMES = ("POD_NHS_ESTABLISHMENT", "NHSIND", "NHS_IND", "POD_NHS_IND")
POD_TYPE_NAMES = ("POD_ESTABLISHMENT_TYPE", "ESTTYPED", "ESTTYPE", "ESTABLISHMENT_TYPE")
# A category name ('Hospital', 'Care home', 'Home', 'Hospice', 'Elsewhere'), never an
# establishment's own name (POD_ESTABLISHMENT_NAME says which hospital, not what it is).
POD_NAME_NAMES = ("PLACE_OF_DEATH", "PLACE_OF_DEATH_TYPE", "PLACE_OF_DEATH_CATEGORY",
                  "POD_TYPE", "POD_CATEGORY", "POD_DESCRIPTION")


def already_pseudonymised(header: str) -> bool:
    """Whether an identifier column's name says it holds pseudonyms, not NHS numbers
    (one of PSEUDONYMISED_ID_NAMES, or any name with 'pseudo' in it)."""
    key = header_key(header)
    return "pseudo" in key or key in _PSEUDONYMISED_KEYS


_PSEUDONYMISED_KEYS = frozenset(header_key(n) for n in PSEUDONYMISED_ID_NAMES)


LSOA_NAMES = ("LSOA21CD", "LSOA11CD", "LSOA code", "LSOA_CODE", "LSOA", "LSOA 2021 Code",
              "LSOA 2011 Code")
# A Place is a local authority or a sub-ICB location (a former CCG): the ONS / ODS
# lookups (LSOA21_SICBL24_ICB24_LAD24 and the like) carry both, each as an ONS code
# (SICBL24CD), an ODS code (SICBL24CDH, '00K') and a name. Every column found is tried
# for a Place of eolneeds.toml (ingest), so the order only decides the value kept when
# none is one.
_YEARS = ("25", "24", "23", "22", "21", "20", "19")
PLACE_NAMES = ("Place", "Place code", "Place_code", "Place name", "Place_name",
               *(f"LAD{y}{k}" for k in ("CD", "NM") for y in _YEARS), "LAD code", "LAD name",
               *(f"{area}{y}{k}" for area in ("SICBL", "CCG", "UTLA", "LTLA")
                 for k in ("CD", "CDH", "NM") for y in _YEARS))
IOD_LSOA = {"LSOA code (2011)": "2011", "LSOA code (2021)": "2021"}
IMD_RANK_NAMES = ("Index of Multiple Deprivation (IMD) Rank",
                  "Index of Multiple Deprivation (IMD) Rank (where 1 is most deprived)")
IMD_DECILE_NAMES = (
    "Index of Multiple Deprivation (IMD) Decile",
    "Index of Multiple Deprivation (IMD) Decile (where 1 is most deprived 10% of LSOAs)")
LOOKUP_VINTAGE = {"LSOA21CD": "2021", "LSOA11CD": "2011", "LSOA 2021 Code": "2021",
                  "LSOA 2011 Code": "2011"}
# ONS mid-year estimates by LSOA: the LSOA column of each layout ('Area Codes': mid-2019
# and before, whose 'LSOA' column holds the names and whose local authority rows are
# quarantined as not LSOA codes)
ONS_LSOA_NAMES = ("LSOA 2021 Code", "LSOA 2011 Code", "LSOA Code", "LSOA21CD", "LSOA11CD",
                  "Area Codes")
# The same estimates downloaded from Nomis (NM_2014_1, and NM_2010_1 before it): the area
# as '2021 super output area - lower layer' (its name) beside 'mnemonic' (its code), or
# without mnemonic as 'E01011949 : Hartlepool 001A'; ages 'Age 0', 'Aged 1' .. 'Aged 89',
# 'Aged 90+' (or 'Age 90+'); the sex as a 'Sex :' / 'Gender :' line above each table
# (a download of both sexes is two tables, one under the other), or as a column.
NOMIS_AREA = re.compile(r"(?:19|20)\d\d super output area - lower layer")
NOMIS_CODE = "mnemonic"
NOMIS_SEX_NAMES = ("Sex", "Gender")
_AGE_HEADER = re.compile(r"(?:aged? )?(\d{1,2})(\+| ?and over| years?(?: and over)?)?")


def ons_age_key(header: str) -> str:
    """A single-year-of-age header as the ONS workbook writes it: 'Aged 1', 'Age 0'
    (Nomis) -> '1', '0'; 'Aged 90+' -> '90+'; anything else its header_key."""
    key = header_key(header)
    found = _AGE_HEADER.fullmatch(key)
    if found is None:
        return key
    age, over = found.groups()
    return f"{int(age)}+" if over and ("+" in over or "over" in over) else str(int(age))


def ons_lsoa_header(headers: Sequence[str]) -> str | None:
    """The header of an ONS table's LSOA column (Nomis's: mnemonic, else the area column
    that writes the code before the name), or None."""
    found = find_any(ONS_LSOA_NAMES, headers)
    if found is not None:
        return found
    area = next((h for h in headers if NOMIS_AREA.fullmatch(header_key(h))), None)
    if area is None:
        return None
    return find_header(NOMIS_CODE, headers) or area


def ons_wide_layout(headers: Sequence[str]) -> str | None:
    """'sexes' (F0..F90 and M0..M90 in one sheet, mid-2022 on), 'ages' (one sheet per
    sex, 0..89 and 90+, mid-2020 and before; Nomis's download) or None: which ONS wide
    layout `headers` is.
    """
    if ons_lsoa_header(headers) is None:
        return None
    keys = {header_key(h) for h in headers}
    if all(f"{s}{a}" in keys for s in "fm" for a in range(91)):
        return "sexes"
    ages = {ons_age_key(h) for h in headers}
    if all(str(a) in ages for a in range(90)) and "90+" in ages:
        return "ages"
    return None


ONS_BANDS: tuple[tuple[str, tuple[int, ...]], ...] = tuple(
    [(f"{lo}-{lo + 4}", tuple(range(lo, lo + 5))) for lo in range(0, 90, 5)] + [("90+", (90,))])
_YEAR = re.compile(r"mid[- ]?(\d{4})", re.IGNORECASE)


def ons_year(*texts: str) -> int | None:
    """The year of a mid-year estimate from a sheet name or title ('Mid-2022 ...')."""
    for text in texts:
        found = _YEAR.search(text or "")
        if found:
            return int(found.group(1))
    return None


def ons_file_year(name: str) -> int | None:
    """The year of a CSV of ONS estimates from its file name: 'mid-2022', else the one
    four-digit year in it ('sapelsoasyoa2022.csv'); None when there is none or several
    ('sapelsoasyoa20192022.csv' spans years)."""
    found = ons_year(name)
    if found is not None:
        return found
    runs = re.findall(r"\d+", name)
    years = [int(r) for r in runs if len(r) == 4 and r[:2] in ("19", "20")]
    return years[0] if len(years) == 1 and all(len(r) <= 4 for r in runs) else None


def ons_sheet_sex(name: str) -> str | None:
    """'male' / 'female' for an older-layout sheet ('Mid-2020 Males'); None for persons
    or anything else."""
    words = set(re.findall(r"[a-z]+", name.lower()))
    if words & {"female", "females"}:
        return "female"
    if words & {"male", "males"}:
        return "male"
    return None


def ons_band_columns(layout: str, headers: Sequence[str],
                     sex: str | None = None) -> list[tuple[str, str, list[str]]]:
    """(sex, age band, the headers summed into it) for every band of an ONS wide sheet:
    'sexes' has F0..F90 and M0..M90 (90 = 90 and over); 'ages' (one sex per sheet,
    `sex`) has 0..89 and 90+."""
    keyed = {(header_key(h) if layout == "sexes" else ons_age_key(h)): h for h in headers}
    out = []
    sexes = (("female", "f"), ("male", "m")) if layout == "sexes" else ((sex or "", ""),)
    for label, prefix in sexes:
        for band, ages in ONS_BANDS:
            names = [f"{prefix}{a}" if not (layout == "ages" and a == 90) else "90+"
                     for a in ages]
            out.append((label, band, [keyed[n] for n in names]))
    return out


# ONS subnational population projections (SNPP) by local authority, as published: one
# row per area, sex (or a sheet / file per sex) and single year of age, one column per
# projection year. The 2018-based CSVs ('2018 SNPP Population males.csv': AREA_CODE,
# AREA_NAME, COMPONENT, SEX, AGE_GROUP, 2018 ... 2043) and the 2022-based workbook (cover
# and notes sheets, then a sheet per sex under title rows, 2022 ... 2047) alike.
SNPP_AREA_NAMES = ("AREA_CODE", "Area code", "Area Codes", "Code", "Local authority code",
                   "LA code", "LAD code", *(f"LAD{y}CD" for y in _YEARS),
                   *(f"{k}{y}CD" for k in ("UTLA", "LTLA", "SICBL", "ICB") for y in _YEARS))
SNPP_NAME_NAMES = ("AREA_NAME", "Area name", "Area Names", "Name", "Local authority name",
                   "LA name", "LAD name", *(f"LAD{y}NM" for y in _YEARS),
                   *(f"{k}{y}NM" for k in ("UTLA", "LTLA", "SICBL", "ICB") for y in _YEARS))
SNPP_AGE_NAMES = ("AGE_GROUP", "Age group", "Age", "Age band")
SNPP_SEX_NAMES = ("SEX", "Sex", "Gender")
# Components of change share the layout (table 5: births, deaths, migration): only the
# population rows are read where a COMPONENT column says which is which.
SNPP_COMPONENT_NAMES = ("COMPONENT", "Component")
_PROJECTION_YEAR = re.compile(r"(?:mid[- ]?)?((?:19|20)\d\d)", re.IGNORECASE)


@dataclass(frozen=True)
class ProjectionLayout:
    """The columns of an ONS projections table (see projection_layout)."""

    area: str
    name: str | None
    age: str
    sex: str | None
    component: str | None
    years: dict[str, int]  # header -> projection year


def projection_year(header: str) -> int | None:
    """2030 for a year column ('2030', 'Mid-2030', 2030.0 written as '2030'), else None."""
    found = _PROJECTION_YEAR.fullmatch(str(header).strip())
    return int(found.group(1)) if found else None


def projection_layout(headers: Sequence[str]) -> ProjectionLayout | None:
    """The ONS projections layout of `headers` (an area code column, an age column and at
    least two year columns), or None."""
    area = find_any(SNPP_AREA_NAMES, headers)
    age = find_any(SNPP_AGE_NAMES, headers)
    years: dict[str, int] = {}
    for header in headers:
        year = projection_year(header)
        if year is not None and year not in years.values():  # the first column of a year
            years[header] = year
    if area is None or age is None or len(years) < 2:
        return None
    return ProjectionLayout(area, find_any(SNPP_NAME_NAMES, headers), age,
                            find_any(SNPP_SEX_NAMES, headers),
                            find_any(SNPP_COMPONENT_NAMES, headers), years)


def projection_age_band_sql(age: str) -> str:
    """SQL: the ESP2013 band of an SNPP age ('0' ... '89' single years, '90 and over',
    '90+'; or a five-year group '0-4', '85-89'), else the text as it is (quarantined by
    the age band check). 'All ages' rows are left out before this (not a band)."""
    years = f"TRY_CAST({age} AS INTEGER)"
    single = (f"(CASE WHEN {years} >= 90 THEN '90+' WHEN {years} >= 0 THEN "
              f"CAST({years} // 5 * 5 AS VARCHAR) || '-' || CAST({years} // 5 * 5 + 4 "
              "AS VARCHAR) END)")
    return f"coalesce({single}, {case_sql(code_key_sql(age), AGE_BAND_CODES)}, {age})"


# Rows of an SNPP table that are totals, not a sex or an age: left out (said in ingest's
# message), as the persons sheet of the ONS estimates is.
SNPP_ALL_AGES = ("all ages", "all", "total", "all persons")
SNPP_PERSONS = ("persons", "person", "all persons", "all", "total", "p", "3")


# NHS ODS's GP practice list, epraccur (epraccur.csv; also the ODS Data Search and Export
# report of that name): 27 columns and no header row, the practice's ODS code first and
# its open date (yyyymmdd) eleventh. Read by position (preset ods_epraccur): the names
# are ODS's for each field ("Null" fields numbered to keep them apart).
EPRACCUR_OPEN_DATE = re.compile(r"(19|20)[0-9]{6}")
EPRACCUR_COLUMNS = (
    "Organisation Code", "Name", "National Grouping", "High Level Health Geography",
    "Address Line 1", "Address Line 2", "Address Line 3", "Address Line 4",
    "Address Line 5", "Postcode", "Open Date", "Close Date", "Status Code",
    "Organisation Sub-Type Code", "Commissioner", "Join Provider/Purchaser Date",
    "Left Provider/Purchaser Date", "Contact Telephone Number", "Null 19", "Null 20",
    "Null 21", "Amended Record Indicator", "Null 23", "Null 24", "Null 25",
    "Prescribing Setting", "Null 27",
)
# PRESCRIBING SETTING 4 is a GP practice; epraccur also lists walk-in centres (1),
# out-of-hours services (2), prisons, hospices, care homes and others (0, 8-25), which
# are no practice a death or register entry belongs to. Their rows are quarantined
# with ingest.NOT_GP_PRACTICE_REASON, which never counts towards refusing the file.
EPRACCUR_GP_PRACTICE = 4
NOT_GP_PRACTICE = "not a GP practice: "


def epraccur_row(cells: Sequence[str]) -> bool:
    """Whether a file's first line (read as headers) is a row of epraccur."""
    return (len(cells) >= 12
            and re.fullmatch(PRACTICE_CODE_SHAPE, str(cells[0]).strip()) is not None
            and EPRACCUR_OPEN_DATE.fullmatch(str(cells[10]).strip()) is not None)


def gp_practice_sql(sources: Sequence[str]) -> str:
    """Organisation code, prescribing setting -> the code of a GP practice (setting 4,
    or no setting given), else 'not a GP practice: N' (quarantined with its reason)."""
    code, setting = sources
    number = f"TRY_CAST(TRY_CAST({setting} AS DOUBLE) AS INTEGER)"
    return (f"(CASE WHEN {setting} IS NULL OR {number} = {EPRACCUR_GP_PRACTICE} "
            f"THEN {code} ELSE '{NOT_GP_PRACTICE}' || {setting} END)")


def ods_epraccur_preset() -> Preset:
    """ODS's epraccur GP practice list, read by position: the practices a death or a
    register entry may name, with their open and close dates and no PCN (the ePCN
    workbook, preset ods_epcn, gives PCNs). A practice only here is published at
    practice level and under 'no PCN' in PCN tables (planning_deaths.sql)."""
    return Preset(
        name="ods_epraccur",
        dataset="practices",
        description="GP practices (ODS epraccur, no header row)",
        columns={
            "practice_code": Derived(("Organisation Code", "Prescribing Setting"),
                                     gp_practice_sql, optional=("Prescribing Setting",)),
            "practice_name": "Name",
            "start_date": "Open Date",
            "end_date": "Close Date",
            "status": "Status Code",
        },
        required=("practice_code",),
        nhs_number=False,
        layout_test=epraccur_row,
        positional=EPRACCUR_COLUMNS,
    )


def get_preset(
    name: str, *, emergency_methods: Sequence[str] = DEFAULT_EMERGENCY_ADMIMETH,
    where: str = "mapping",
) -> Preset:
    if name == "pcmd_deaths":
        return Preset(
            name=name,
            dataset="deaths",
            description="death registrations (PCMD / civil registration extract)",
            columns={
                # (DEC_CONF_NHS_NUMBER: Civil Registration - Deaths from DARS, the NHS
                # number confirmed by tracing.)
                "person_id": ("DEC_NHS_NUMBER", "DEC_CONF_NHS_NUMBER", "NHS_NUMBER",
                              "NHSNUMBER", "PERSON_ID", "NHS_NO", "NHSNO",
                              *PSEUDONYMISED_ID_NAMES),
                # Civil Registration - Deaths and PCMD: REG_DATE_OF_DEATH; ONS and
                # local warehouse extracts: DOD, DATE_OF_DEATH
                "date_of_death": ("REG_DATE_OF_DEATH", "DATE_OF_DEATH", "DOD",
                                  "DEC_DATE_OF_DEATH", "DEATH_DATE"),
                "date_of_registration": ("REG_DATE", "DATE_OF_REGISTRATION", "DOR",
                                         "REGISTRATION_DATE"),
                # (Never the canonical names themselves, 'age', 'underlying_cause': a
                # file of canonical names with one misnamed is no national layout.)
                # (NCDR's Civil_Registration.Mortality: Dec_Age_At_Death, in years.)
                "age": Derived((("DEC_AGEC", "AGEC", "AGE_AT_DEATH", "Der_Age_At_Death",
                                 "Dec_Age_At_Death"),
                                ("DEC_AGECUNIT", "AGECUNIT")),
                               age_in_years_sql, optional=(("DEC_AGECUNIT", "AGECUNIT"),)),
                "date_of_birth": ("DEC_DATE_OF_BIRTH", "DATE_OF_BIRTH", "DOB"),
                "sex": ("DEC_SEX", "SEX", "GENDER"),
                "lsoa_code": ("DEC_LSOA", "LSOA_OF_RESIDENCE_CODE", "LSOA_OF_RESIDENCE",
                              "DEC_LSOA21", "DEC_LSOA11", "LSOA21", "LSOA11", "LSOA21CD",
                              "LSOA11CD", "LSOA_CODE", "LSOAR", "DEC_LSOA_CODE",
                              # NHS England's NCDR / UDAL derive it from the postcode
                              "Der_Postcode_LSOA_2021_Code", "Der_Postcode_LSOA_Code",
                              "Der_Postcode_LSOA_2011_Code"),
                "underlying_cause": ("S_UNDERLYING_COD_ICD10", "UNDERLYING_COD_ICD10",
                                     "S_UNDERLYING_COD", "FIC10UND", "ICD10U",
                                     "UNDERLYING_CAUSE_OF_DEATH"),
                "contributory_causes": [f"S_COD_CODE_{i}" for i in range(1, 16)]
                + [f"FIC10MEN{i}" for i in range(1, 16)],
                # The three coded fields (PCMD / Civil Registration names, then the
                # ONS ones: CESTRSS 'H' home / 'E' elsewhere / an establishment,
                # NHSIND 1 NHS / 2 non-NHS, ESTTYPED the establishment type), or a
                # column of place names, or both (the names fill what the codes leave).
                "place_of_death": Derived(
                    (POD_CODE_NAMES, POD_NHS_NAMES, POD_TYPE_NAMES, POD_NAME_NAMES),
                    place_of_death_sql,
                    optional=(POD_CODE_NAMES, POD_NHS_NAMES, POD_TYPE_NAMES, POD_NAME_NAMES),
                    one_of=((0, 1, 2), (3,)),
                ),
                "ethnicity": "ETHNIC_GROUP",
                "gp_practice": ("GP_PRACTICE_CODE", "DEC_GP_PRACTICE_CODE", "PRACTICE_CODE",
                                "GP_PRACTICE", "GPPRAC"),
            },
            required=("person_id", "date_of_death", "age", "sex", "lsoa_code",
                      "underlying_cause", "place_of_death"),
        )
    if name == "hes_apc":
        return Preset(
            name=name,
            dataset="activity",
            description="admitted patient care spells (SUS / HES APC)",
            columns={
                "person_id": NHS_NUMBER_NAMES,
                "start_date": ADMISSION_DATE_NAMES,
                # An episode-level extract (EPIORDER) counts each spell once: its first
                # episode is the admission, later ones load as 'other' (README).
                "end_date": Derived((DISCHARGE_DATE_NAMES, EPISODE_END_NAMES,
                                     ADMISSION_DATE_NAMES, SPELL_DURATION_NAMES),
                                    spell_end_sql, reads_dates=True,
                                    optional=(EPISODE_END_NAMES, ADMISSION_DATE_NAMES,
                                              SPELL_DURATION_NAMES)),
                "admission_method": Derived((ADMISSION_METHOD_NAMES, EPISODE_ORDER_NAMES,
                                             FIRST_EPISODE_NAMES),
                                            admission_method_sql,
                                            optional=(EPISODE_ORDER_NAMES,
                                                      FIRST_EPISODE_NAMES)),
                "activity_type": Derived((ADMISSION_METHOD_NAMES, EPISODE_ORDER_NAMES,
                                          FIRST_EPISODE_NAMES),
                                         admission_type_sql(emergency_methods),
                                         optional=(EPISODE_ORDER_NAMES,
                                                   FIRST_EPISODE_NAMES)),
                # MAINSPEF (the consultant's main specialty, 315 palliative medicine too)
                # only where the treatment function is not given.
                # (NCDR's SUS spells: the treatment function at admission, else at
                # discharge; the payment with the market forces factor.)
                "treatment_function": ("TRETSPEF", "TREATMENT_FUNCTION_CODE",
                                       "Der_Admit_Treatment_Function_Code",
                                       "Der_Dischg_Treatment_Function_Code",
                                       "TreatmentFunctionCode", "MAINSPEF"),
                "cost": ("SPELL_COST", "COST", "Tariff_Total_Payment", "SPELL_TARIFF",
                         "Grand_Total_Payment_MFF", "Total_Cost"),
                # The spell's identifier, on every episode of it (never EPIKEY, which
                # is the episode's): two spells of a person on one day are two.
                "spell_id": SPELL_ID_NAMES,
            },
            required=("person_id", "start_date", "admission_method", "activity_type"),
        )
    if name == "ecds_ae":
        return Preset(
            name=name,
            dataset="activity",
            description="A&E attendances (ECDS)",
            columns={"person_id": NHS_NUMBER_NAMES,
                     "start_date": ("ARRIVAL_DATE", "ARRIVALDATE", "EC_ARRIVAL_DATE",
                                    "Arrival_Date_Time", "Der_EC_Arrival_Date_Time",
                                    "EC_Arrival_Date_Time"),
                     "cost": ("COST", "Tariff_Total_Payment", "Grand_Total_Payment_MFF")},
            required=("person_id", "start_date"),
            defaults={"activity_type": "ae_attendance"},
        )
    if name == "csds_contacts":
        return Preset(
            name=name,
            dataset="activity",
            description="community care contacts (CSDS)",
            columns={"person_id": NHS_NUMBER_NAMES,
                     "start_date": CSDS_CONTACT_DATE_NAMES,
                     # Attended contacts only (5, 6): README "Built-in presets".
                     # Specialist palliative care teams' contacts by team type.
                     "activity_type": Derived((CSDS_ATTENDANCE_NAMES, CSDS_TEAM_TYPE_NAMES),
                                              attended_contact_sql,
                                              optional=(CSDS_TEAM_TYPE_NAMES,)),
                     "cost": ("COST", "Contact_Cost")},
            required=("person_id", "start_date", "activity_type"),
        )
    if name == "ons_population":
        # The workbook is turned into the canonical long table before mapping (see
        # ons_long_sql): these are the long table's columns.
        return Preset(
            name=name,
            dataset="population",
            description="ONS mid-year population estimates by LSOA (workbook)",
            columns={c: c for c in ("lsoa_code", "year", "sex", "age_band", "population")},
            required=("lsoa_code", "sex", "age_band", "population"),
            nhs_number=False,
            layout_test=lambda headers: ons_wide_layout(headers) is not None,
        )
    if name == "ons_projections":
        # Reshaped to the canonical long table before mapping (ingest.
        # _read_ons_projections): these are the long table's columns.
        return Preset(
            name=name,
            dataset="projections",
            description="ONS subnational population projections by local authority "
                        "(2018- or 2022-based, CSV or workbook)",
            columns={c: c for c in ("area_code", "year", "sex", "age_band", "population")},
            required=("area_code", "year", "sex", "age_band", "population"),
            nhs_number=False,
            layout_test=lambda headers: projection_layout(headers) is not None,
        )
    if name == "iod_file1":
        return Preset(
            name=name,
            dataset="deprivation",
            description="English Indices of Deprivation, File 1 (IoD2019 or IoD2025)",
            columns={"lsoa_code": tuple(IOD_LSOA) + LSOA_NAMES,
                     "imd_rank": IMD_RANK_NAMES, "imd_decile": IMD_DECILE_NAMES},
            required=("lsoa_code", "imd_decile"),
            nhs_number=False,
            from_variant={"lsoa_vintage": ("lsoa_code", IOD_LSOA)},
        )
    if name == "lsoa_place_lookup":
        return Preset(
            name=name,
            dataset="lsoa_places",
            description="LSOA-to-Place lookup (LSOA code and a Place code or name)",
            columns={"lsoa_code": LSOA_NAMES, "place": PLACE_NAMES},
            required=("lsoa_code", "place"),
            nhs_number=False,
            from_variant={"lsoa_vintage": ("lsoa_code", LOOKUP_VINTAGE)},
        )
    if name == "ods_epcn":
        return ods_epcn_preset()
    if name == "ods_epraccur":
        return ods_epraccur_preset()
    if name == "fingertips":
        from eolneeds.benchmarks import fingertips_preset  # it imports this module

        return fingertips_preset()
    close = difflib.get_close_matches(str(name), PRESETS, n=1)
    hint = f"did you mean preset = \"{close[0]}\"? " if close else ""
    raise ConfigError(f"{where}: preset {name!r} is not known — {hint}use one of "
                      f"{', '.join(PRESETS)}")


# The sheet of NHS England's ePCN workbook (epcn.xlsx) that lists each practice's PCN;
# the workbook opens on a PCN details sheet, so a mapping names this one.
ODS_EPCN_SHEET = "PCN Core Partner Details"


def ods_epcn_preset() -> Preset:
    """ODS practice-to-PCN lookup (ePCN workbook, sheet 'PCN Core Partner Details', or
    the ODS 'epcncorepartnerdetails' CSV with its headers): one row per practice-to-PCN
    relationship. Practice codes are ODS (prescribing cost centre) codes, PCN codes
    'U' and five digits. No person identifiers."""
    return Preset(
        name="ods_epcn",
        dataset="practices",
        description="GP practice to Primary Care Network (ODS ePCN workbook)",
        columns={
            "practice_code": ("Partner Organisation Code", "Practice Code",
                              "Practice_Code"),
            "practice_name": ("Partner Name", "Practice Name"),
            "pcn_code": ("PCN Code", "PCN_Code"),
            "pcn_name": ("PCN Name", "PCN_Name"),
            "start_date": "Practice to PCN Relationship Start Date",
            "end_date": "Practice to PCN Relationship End Date",
        },
        required=("practice_code", "pcn_code"),
        nhs_number=False,
    )
