"""The project database: canonical tables (DESIGN.md section 5) and bookkeeping.

This DDL is the contract between ingest, validate, the queries and analysts' own SQL
(documented in README.md, "The project database"). Conventions:

* dates are DATE; codes are lower-case snake_case words, never free text;
* `source_file_id` / `source_row` on every canonical row point at `ingest_log.file_id`
  and the row as a user sees it in the file (header = row 1 for CSV; Excel's own row
  numbers for XLSX), so any figure can be traced back and a file can be replaced;
* sex: 'male' | 'female' | 'unknown';
* place_of_death / preferred_place_of_death: 'home' | 'care_home' | 'hospital' |
  'hospice' | 'religious' | 'other' | 'unknown';
* ethnicity (NHS 5 broad groups): 'white' | 'mixed' | 'asian' | 'black' | 'other' |
  'not_known';
* ICD-10 codes normalised: upper case, no dot, no filler X: 'C349', 'C34', 'I251';
* age_band (population, projections): the 19 ESP2013 bands '0-4', '5-9', ...,
  '85-89', '90+'.
"""

from __future__ import annotations

import functools
from pathlib import Path

DATASETS: tuple[str, ...] = ("deaths", "register", "activity", "population", "areas",
                             "projections", "lsoa_places", "deprivation", "practices",
                             "benchmarks")

PLACES_OF_DEATH: tuple[str, ...] = (
    "home", "care_home", "hospital", "hospice", "religious", "other", "unknown",
)
SEXES: tuple[str, ...] = ("male", "female", "unknown")

#: The shape of an ODS GP practice code: a letter and five digits (A81001). Anything
#: else on a death or register entry is not a practice the lookup can know. (Here, not
#: in validate, which imports polars: inspect, and so every `eolneeds ingest`, reads it.)
PRACTICE_CODE_SHAPE = "[A-Z][0-9]{5}"
ETHNIC_GROUPS: tuple[str, ...] = ("white", "mixed", "asian", "black", "other", "not_known")
ACTIVITY_TYPES: tuple[str, ...] = (
    "emergency_admission",
    "elective_admission",
    "ae_attendance",
    "community_contact",
    "specialist_palliative_contact",
    "hospice_inpatient",
    "outpatient",
    "other",
)
AGE_BANDS_ESP: tuple[str, ...] = tuple(
    [f"{lo}-{lo + 4}" for lo in range(0, 90, 5)] + ["90+"]
)

# Canonical columns per dataset, in order: (name, DuckDB type, required).
# Required columns must be present in the mapped input; a null in one quarantines the row.
CANONICAL_COLUMNS: dict[str, list[tuple[str, str, bool]]] = {
    "deaths": [
        ("person_id", "VARCHAR", True),
        ("date_of_death", "DATE", True),
        ("date_of_registration", "DATE", False),
        ("age", "INTEGER", False),  # from date_of_birth when only that is given
        ("date_of_birth", "DATE", False),
        ("sex", "VARCHAR", True),
        ("lsoa_code", "VARCHAR", False),  # missing LSOA: kept, reported in data quality
        ("underlying_cause", "VARCHAR", False),
        ("contributory_causes", "VARCHAR[]", False),
        ("place_of_death", "VARCHAR", True),
        ("ethnicity", "VARCHAR", False),
        ("gp_practice", "VARCHAR", False),
    ],
    "register": [
        ("person_id", "VARCHAR", True),
        ("date_added", "DATE", True),
        ("gp_practice", "VARCHAR", False),
        ("preferred_place_of_death", "VARCHAR", False),
        ("dnacpr", "BOOLEAN", False),
        ("advance_care_plan", "BOOLEAN", False),
    ],
    "activity": [
        ("person_id", "VARCHAR", True),
        ("activity_type", "VARCHAR", True),
        ("start_date", "DATE", True),
        ("end_date", "DATE", False),
        ("admission_method", "VARCHAR", False),  # raw ADMIMETH where known, e.g. '21', '2B'
        ("treatment_function", "VARCHAR", False),
        ("cost", "DOUBLE", False),
        # The hospital spell's own identifier (SUS APCS_IDENT, SPELL_ID, HES_SPELL_ID),
        # pseudonymised like person_id: two spells of one person on one day are two
        # admissions, and the same spell sent twice is one (ingest.REPEAT_KEYS).
        ("spell_id", "VARCHAR", False),
    ],
    "population": [
        ("lsoa_code", "VARCHAR", True),
        ("year", "INTEGER", True),
        ("sex", "VARCHAR", True),
        ("age_band", "VARCHAR", True),
        ("population", "DOUBLE", True),
    ],
    "areas": [
        ("lsoa_code", "VARCHAR", True),
        ("place", "VARCHAR", True),  # the Place code, as in [[places]] of eolneeds.toml
        ("imd_decile", "INTEGER", True),  # 1 = most deprived
        ("rural_urban", "VARCHAR", False),
        ("lsoa_vintage", "VARCHAR", False),  # '2011' or '2021'
    ],
    "projections": [
        ("area_code", "VARCHAR", True),  # a Place code or an LSOA code
        ("year", "INTEGER", True),
        ("sex", "VARCHAR", True),
        ("age_band", "VARCHAR", True),
        ("population", "DOUBLE", True),
    ],
    # The areas from separate files (ARCHITECTURE.md, "Areas from several files"): an
    # LSOA-to-Place lookup and a deprivation file, combined with `areas` in the view
    # `assessment_areas`.
    "lsoa_places": [
        ("lsoa_code", "VARCHAR", True),
        ("place", "VARCHAR", True),  # a Place code of eolneeds.toml (names resolved)
        ("lsoa_vintage", "VARCHAR", False),
    ],
    "deprivation": [
        ("lsoa_code", "VARCHAR", True),
        ("imd_decile", "INTEGER", True),  # 1 = most deprived
        ("imd_rank", "INTEGER", False),  # 1 = most deprived
        ("lsoa_vintage", "VARCHAR", False),
    ],
    # GP practice -> Primary Care Network, as NHS England's ODS publishes it (the ePCN
    # workbook, preset ods_epcn): one row per practice-to-PCN relationship; a practice
    # that moved has an ended row and a current one (end_date empty).
    # ODS's practice list (epraccur, preset ods_epraccur) adds practices with no PCN:
    # pcn_code empty, start_date / end_date the practice's open and close dates.
    "practices": [
        ("practice_code", "VARCHAR", True),
        ("practice_name", "VARCHAR", False),
        ("pcn_code", "VARCHAR", False),
        ("pcn_name", "VARCHAR", False),
        ("start_date", "DATE", False),
        ("end_date", "DATE", False),
        # ODS's status of the practice (epraccur): A active, C closed, D dormant, P
        # proposed; validate lists deaths at a practice closed with no close date, or
        # dormant or proposed (taken as open: its deaths are never dropped).
        ("status", "VARCHAR", False),
    ],
    # National and regional values to show beside the ICB: the OHID Fingertips data
    # download as published (preset fingertips; eolneeds/benchmarks.py). indicator_id
    # is ours where the indicator is one we compute, else the Fingertips id.
    "benchmarks": [
        ("indicator_id", "VARCHAR", True),
        ("source_indicator_id", "VARCHAR", False),
        ("indicator_name", "VARCHAR", False),
        ("parent_code", "VARCHAR", False),
        ("parent_name", "VARCHAR", False),
        ("area_code", "VARCHAR", True),
        ("area_name", "VARCHAR", False),
        ("area_type", "VARCHAR", False),  # 'England', 'Region', 'ICB', ... as published
        ("sex_label", "VARCHAR", False),  # 'Persons', 'Male', 'Female' as published
        ("age_label", "VARCHAR", False),  # 'All ages', '18+ yrs', ...
        ("category_type", "VARCHAR", False),
        ("category", "VARCHAR", False),
        ("period", "VARCHAR", True),  # 'Time period' as published: '2023', '2022/23'
        ("period_sortable", "VARCHAR", False),  # 'Time period Sortable': 20230000
        ("value", "DOUBLE", False),
        ("lower_ci_95", "DOUBLE", False),
        ("upper_ci_95", "DOUBLE", False),
        ("lower_ci_99_8", "DOUBLE", False),
        ("upper_ci_99_8", "DOUBLE", False),
        ("count", "DOUBLE", False),
        ("denominator", "DOUBLE", False),
        ("value_note", "VARCHAR", False),
    ],
}

PROVENANCE_COLUMNS: list[tuple[str, str]] = [
    ("source_file_id", "INTEGER"),
    ("source_row", "BIGINT"),
]


# Canonical columns added since databases were first written: create_schema adds them.
ADDED_COLUMNS: list[tuple[str, str, str]] = [("activity", "spell_id", "VARCHAR"),
                                              ("practices", "status", "VARCHAR")]


def canonical_ddl(dataset: str) -> str:
    cols = [f"{name} {dtype}" for name, dtype, _ in CANONICAL_COLUMNS[dataset]]
    cols += [f"{name} {dtype} NOT NULL" for name, dtype in PROVENANCE_COLUMNS]
    return f"CREATE TABLE IF NOT EXISTS {dataset} (\n    " + ",\n    ".join(cols) + "\n)"


BOOKKEEPING_DDL: list[str] = [
    "CREATE SEQUENCE IF NOT EXISTS ingest_file_id START 1",
    """
    CREATE TABLE IF NOT EXISTS ingest_log (
        file_id INTEGER PRIMARY KEY,
        dataset VARCHAR NOT NULL,
        file_name VARCHAR NOT NULL,      -- base name, as shown in messages and reports
        file_path VARCHAR NOT NULL,      -- as given on the command line, resolved
        content_hash VARCHAR NOT NULL,   -- sha256 of the file's bytes
        mapping VARCHAR,                 -- mapping name used
        encoding VARCHAR,
        rows_read BIGINT NOT NULL,
        rows_loaded BIGINT NOT NULL,
        rows_rejected BIGINT NOT NULL,
        started_at TIMESTAMP NOT NULL,
        finished_at TIMESTAMP NOT NULL,
        replaced_by INTEGER,             -- set when --replace swapped this file out
        mapping_hash VARCHAR             -- fingerprint of the mapping (ingest.mapping_hash)
    )
    """,
    # A database made before mapping_hash existed gains it.
    "ALTER TABLE ingest_log ADD COLUMN IF NOT EXISTS mapping_hash VARCHAR",
    """
    CREATE TABLE IF NOT EXISTS rejects (
        file_id INTEGER NOT NULL,
        file_name VARCHAR NOT NULL,
        dataset VARCHAR NOT NULL,
        row_number BIGINT NOT NULL,
        column_name VARCHAR,
        value VARCHAR,
        reason VARCHAR NOT NULL
    )
    """,
    # One row per field-level action on a row that still loaded (a death whose NHS number
    # fails its check is left unlinked, an age of 999 blanked, an unknown code set to
    # unknown): README "What rejects a row". Values that could identify someone are
    # masked or shown only by their shape.
    """
    CREATE TABLE IF NOT EXISTS field_actions (
        file_id INTEGER NOT NULL,
        file_name VARCHAR NOT NULL,
        dataset VARCHAR NOT NULL,
        row_number BIGINT NOT NULL,
        column_name VARCHAR NOT NULL,
        value VARCHAR,
        action VARCHAR NOT NULL,         -- blanked | set to unknown | unlinked | code dropped
        reason VARCHAR NOT NULL
    )
    """,
]


# The areas an assessment uses (the queries read this view): every `areas` row, then for
# the LSOAs no `areas` row has, the lookup's Place with the decile of the deprivation
# file -- the one of the lookup's LSOA vintage where both say it, else the latest loaded.
# A deprivation file of another vintage gives the decile of the LSOAs whose code it has:
# a GSS code is never reused for a changed boundary, so the same code is the same area
# (about 95% of 2021 LSOAs kept their 2011 code; IoD2019 beside a 2021 lookup ranks
# those, and the changed ones alone have no decile). A later lookup file replaces an
# earlier one's row for the same LSOA.
AREAS_VIEW = "assessment_areas"
AREAS_VIEW_DDL = f"""
CREATE OR REPLACE VIEW {AREAS_VIEW} AS
SELECT lsoa_code, place, imd_decile, rural_urban, lsoa_vintage FROM areas
UNION ALL
SELECT l.lsoa_code, l.place, d.imd_decile, NULL AS rural_urban,
       coalesce(l.lsoa_vintage, d.lsoa_vintage) AS lsoa_vintage
FROM lsoa_places AS l
LEFT JOIN deprivation AS d ON d.lsoa_code = l.lsoa_code
WHERE l.lsoa_code NOT IN (SELECT lsoa_code FROM areas)
QUALIFY row_number() OVER (
    PARTITION BY l.lsoa_code
    ORDER BY l.source_file_id DESC,
             d.lsoa_vintage IS NOT DISTINCT FROM l.lsoa_vintage DESC,
             d.source_file_id DESC NULLS LAST) = 1
"""


def create_schema(con) -> None:  # type: ignore[no-untyped-def]
    """Create every table that does not exist yet (idempotent), and the areas view.

    The view is replaced only when it differs from AREAS_VIEW_DDL: replacing it rewrites
    the database file, and a refused input must leave the file bit-identical."""
    # (Before any DDL: CREATE TABLE IF NOT EXISTS over a view of that name fails.)
    check_columns(con, absent_tables_ok=True, added_ok=True)
    for ddl in BOOKKEEPING_DDL:
        con.execute(ddl)
    for dataset in DATASETS:
        con.execute(canonical_ddl(dataset))
    check_columns(con, added_ok=True)  # another version's database: refused unchanged
    add_missing_columns(con)
    check_columns(con)
    existing = con.execute("SELECT sql FROM duckdb_views() WHERE view_name = $v AND NOT "
                           "temporary", {"v": AREAS_VIEW}).fetchone()
    if existing is None or existing[0] != _view_sql():
        con.execute(AREAS_VIEW_DDL)


_COLUMNS_SQL = ("SELECT table_name, column_name, data_type FROM duckdb_columns() "
                "WHERE schema_name = 'main' AND NOT internal")


def missing_columns(con) -> list[tuple[str, str, str]]:  # type: ignore[no-untyped-def]
    """The ADDED_COLUMNS that a table of the database lacks (made by an earlier release);
    a table not made yet lacks none."""
    found = {(t, c) for t, c, _ in con.execute(_COLUMNS_SQL).fetchall()}
    tables = {t for t, _ in found}
    return [(t, c, d) for t, c, d in ADDED_COLUMNS if t in tables and (t, c) not in found]


def add_missing_columns(con) -> None:  # type: ignore[no-untyped-def]
    """The one migration of a database made by an earlier release: each column added
    since gains its place (read as NULL: not given). Nothing is written when none is
    missing (an up-to-date database stays bit-identical)."""
    for table, column, dtype in missing_columns(con):
        con.execute(f"ALTER TABLE {table} ADD COLUMN {column} {dtype}")


def bring_up_to_date(path: Path) -> None:
    """For a command that otherwise only reads the database (validate): the database of
    an earlier release gains the tables and columns added since, as ingest and assess
    give it, so that it is read, not refused (exit 3) or failed on (a table it lacks was
    exit 1). Another version's database (a column of another type, a column this
    version never added) is refused before anything is written. A database this user
    cannot write is refused with what to run."""
    from eolneeds.db import connect
    from eolneeds.errors import UsageError

    con = connect(path, read_only=True)
    try:
        check_columns(con, absent_tables_ok=True, added_ok=True)
        missing = [f"{t}.{c}" for t, c, _ in missing_columns(con)] + missing_tables(con)
    finally:
        con.close()
    if not missing:
        return
    try:
        con = connect(path)
    except UsageError:
        raise UsageError(
            f"{path}: was made by an earlier release of eolneeds (it has no "
            f"{'column' if '.' in missing[0] else 'table'} {', '.join(missing)}) "
            "and this user cannot write to it to bring it up to date — run `eolneeds "
            "validate` once as a user who can write to the project folder (nothing else "
            "changes), then again here") from None
    try:
        create_schema(con)
    finally:
        con.close()


def missing_tables(con) -> list[str]:  # type: ignore[no-untyped-def]
    """The tables (and the areas view) this version makes that the database lacks."""
    have = {t for (t,) in con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'main' AND NOT "
        "temporary UNION ALL SELECT view_name FROM duckdb_views() WHERE schema_name = "
        "'main' AND NOT temporary AND NOT internal").fetchall()}
    wanted = dict.fromkeys([t for t, _ in _expected_columns()] + [AREAS_VIEW])
    return [t for t in wanted if t not in have]


def check_columns(con, *, absent_tables_ok: bool = False,  # type: ignore[no-untyped-def]
                  added_ok: bool = False) -> None:
    """Refuse a database whose tables lack a column this version writes, or hold it as
    another type (written by another version of eolneeds, or changed by hand): every
    query would otherwise fail half-way with a binder error, exit 1. Extra columns are
    left alone; with `absent_tables_ok` (validate, which reads without creating them) so
    are whole tables not made yet; with `added_ok` so are ADDED_COLUMNS missing (an
    earlier release's database, before add_missing_columns)."""
    from eolneeds.errors import InputDataError

    where = con.execute("SELECT path FROM duckdb_databases() WHERE database_name = "
                        "current_database()").fetchone()
    database = where[0] if where else "the project database"
    advice = ("the database was written by another version of eolneeds (or changed by "
              "hand): use that version, or move the database aside and ingest the "
              "extracts again")
    # A table where this version keeps a view, or the reverse: its queries failed
    # half-way (rowid of a view, CREATE OR REPLACE VIEW over a table), exit 1.
    kinds = dict(con.execute(
        "SELECT table_name, 'table' FROM duckdb_tables() WHERE schema_name = 'main' AND "
        "NOT temporary UNION ALL SELECT view_name, 'view' FROM duckdb_views() WHERE "
        "schema_name = 'main' AND NOT temporary AND NOT internal").fetchall())
    wanted = {t: "table" for t, _ in _expected_columns()} | {AREAS_VIEW: "view"}
    for name, kind in wanted.items():
        if kinds.get(name, kind) != kind:
            raise InputDataError(f"{database}: {name} is a {kinds[name]}, where this "
                                 f"version of eolneeds keeps a {kind} — {advice}")
    # A column this version does not write that must hold a value: every row ingest
    # adds breaks it (a ConstraintException, exit 1, once the file was read).
    for table, column in con.execute(
            "SELECT table_name, column_name FROM duckdb_columns() WHERE schema_name = "
            "'main' AND NOT internal AND NOT is_nullable AND column_default IS NULL"
            ).fetchall():
        if (table, column) not in _expected_columns() and wanted.get(table) == "table":
            raise InputDataError(
                f"{database}: table {table} has a column {column} that must hold a value, "
                f"which this version of eolneeds does not write — {advice}")
    found = {(t, c): d for t, c, d in con.execute(_COLUMNS_SQL).fetchall()}
    tables = {t for t, _ in found}
    added = {(t, c) for t, c, _ in ADDED_COLUMNS} if added_ok else set()
    for (table, column), expected in _expected_columns().items():
        actual = found.get((table, column))
        if (actual == expected or absent_tables_ok and table not in tables
                or actual is None and (table, column) in added):
            continue
        has = "has no such column" if actual is None else f"holds it as {actual}"
        raise InputDataError(
            f"{database}: table {table} {has}, where this version of eolneeds writes "
            f"column {column} {expected} — {advice}")


@functools.cache
def _this_version() -> tuple[dict[tuple[str, str], str], str]:
    """What this version creates, as DuckDB stores it, from one in-memory database: the
    type of every (table, column), and AREAS_VIEW_DDL normalised."""
    import duckdb

    scratch = duckdb.connect()
    try:
        for ddl in BOOKKEEPING_DDL:
            scratch.execute(ddl)
        for dataset in DATASETS:
            scratch.execute(canonical_ddl(dataset))
        columns = {(t, c): d for t, c, d in scratch.execute(_COLUMNS_SQL).fetchall()}
        scratch.execute(AREAS_VIEW_DDL)  # after: its columns are no table's
        stored = scratch.execute("SELECT sql FROM duckdb_views() WHERE view_name = $v",
                                 {"v": AREAS_VIEW}).fetchone()
        assert stored is not None
        return columns, str(stored[0])
    finally:
        scratch.close()


def _expected_columns() -> dict[tuple[str, str], str]:
    """(table, column) -> type of every table this version creates, as DuckDB names it."""
    return _this_version()[0]


def _view_sql() -> str:
    """AREAS_VIEW_DDL as DuckDB stores it (normalised), from an in-memory database."""
    return _this_version()[1]
