"""Data quality: what was loaded, what was quarantined and why, how complete and linkable
the data are, and the faults that make an assessment meaningless (blocking).

`validate_project` opens the database read-only; `quality_tables` works on an open
connection so that assess can put the same tables in the report bundle. Each table is a
bundle.DataQualityTable that the HTML report and Excel pack render generically; each
query is a plain SELECT returning the rows to show (the dbt data-test habit).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import duckdb
import polars as pl

from eolneeds.bundle import DataQualityTable
from eolneeds.config import ProjectConfig
from eolneeds.db import check_database_file, connect
from eolneeds.formatting import plural
from eolneeds.outputs import FILE_COUNTS, PEOPLE_DATASETS
from eolneeds.reporting import Reporter
from eolneeds.schema import (
    AREAS_VIEW,
    CANONICAL_COLUMNS,
    PRACTICE_CODE_SHAPE,
    bring_up_to_date,
    check_columns,
)

# Without these nothing can be assessed; the others only limit which indicators exist
# (without population, the rates per population are published as not available [x]:
# _population_warnings).
ESSENTIAL_DATASETS = ("deaths", "areas")
OPTIONAL_DATASETS = {
    "register": "register indicators (identified before death) are published as not "
                "available [x]",
    "activity": "hospital activity indicators (last 90 days) are published as not "
                "available [x]",
    "projections": "need projections to future years cannot be computed",
}
DATE_COVERAGE = {
    "deaths": "date_of_death", "register": "date_added", "activity": "start_date",
}


@dataclass
class ValidationReport:
    tables: list[DataQualityTable] = field(default_factory=list)
    blocking: list[str] = field(default_factory=list)  # faults: exit code 3
    warnings: list[str] = field(default_factory=list)  # worth knowing, not fatal

    def table(self, key: str) -> DataQualityTable:
        for table in self.tables:
            if table.key == key:
                return table
        raise KeyError(key)

    def render_text(self) -> str:
        lines = ["Data quality report", "==================="]
        if self.blocking:
            lines += ["", "Blocking faults (fix these before assessing):"]
            lines += [f"  * {b}" for b in self.blocking]
        else:
            lines += ["", "No blocking faults."]
        if self.warnings:
            lines += ["", "Warnings:"] + [f"  * {w}" for w in self.warnings]
        for table in self.tables:
            lines += ["", table.title, "-" * len(table.title), table.description]
            lines += _text_table(table.frame)
        return "\n".join(lines) + "\n"


def _text_table(frame: pl.DataFrame, limit: int = 50) -> list[str]:
    if frame.height == 0:
        return ["  (none)"]
    shown = frame.head(limit)
    cells = [[_fmt(v) for v in row] for row in shown.iter_rows()]
    widths = [max([len(c)] + [len(r[i]) for r in cells]) for i, c in enumerate(frame.columns)]
    out = ["  " + "  ".join(c.ljust(w) for c, w in zip(frame.columns, widths, strict=True))]
    out.append("  " + "  ".join("-" * w for w in widths))
    for row in cells:
        out.append("  " + "  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)))
    if frame.height > limit:
        out.append(f"  ... {frame.height - limit} more {plural(frame.height - limit, 'row')}")
    return out


def _fmt(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.1f}"
    return str(value)


def validate_project(config: ProjectConfig, *, reporter: Reporter) -> ValidationReport:
    """Build the data-quality report of a project (read-only)."""
    # A folder, pipe or loop of links in the database's place is named as ingest and
    # assess name it: it was "no data loaded yet", sending the user to load data again.
    check_database_file(config.database_path)
    if not config.database_path.is_file():
        report = ValidationReport()
        report.blocking.append(
            "no data loaded yet (no project database) — load extracts with "
            "`eolneeds ingest deaths FILE` and the other datasets"
        )
        return report
    bring_up_to_date(config.database_path)  # an earlier release's database gains columns
    con = connect(config.database_path, read_only=True)
    try:
        check_columns(con, absent_tables_ok=True)  # another version's tables: exit 3
        report = quality_report(con, config)
    finally:
        con.close()
    reporter.event("validated", blocking=len(report.blocking), warnings=len(report.warnings))
    return report


def _frame(con: duckdb.DuckDBPyConnection, sql: str, params: dict | None = None) -> pl.DataFrame:
    frame = pl.from_arrow(con.sql(sql, params=params or None).to_arrow_table())
    assert isinstance(frame, pl.DataFrame)
    return frame


def _count(con: duckdb.DuckDBPyConnection, sql: str, params: dict | None = None) -> int:
    rows = con.execute(sql, params or {}).fetchall()
    return int(rows[0][0]) if rows and rows[0][0] is not None else 0


def quality_tables(con: duckdb.DuckDBPyConnection, config: ProjectConfig) -> list[DataQualityTable]:
    """The data-quality tables (for the report bundle)."""
    return quality_report(con, config).tables


def quality_report(con: duckdb.DuckDBPyConnection, config: ProjectConfig) -> ValidationReport:
    report = ValidationReport()
    place_codes = [p.code for p in config.places]
    counts = {d: _count(con, f"SELECT count(*) FROM {d}") for d in CANONICAL_COLUMNS}
    # The areas the assessment reads: `areas`, or a lookup with a deprivation file
    # (schema.AREAS_VIEW; a database from an older eolneeds has only `areas`).
    has_view = _count(con, "SELECT count(*) FROM duckdb_views() WHERE view_name = $v",
                      {"v": AREAS_VIEW})
    areas = AREAS_VIEW if has_view else "areas"
    area_rows = _count(con, f"SELECT count(*) FROM {areas}")

    # -- blocking and warnings -------------------------------------------------------
    for dataset in ESSENTIAL_DATASETS:
        if (area_rows if dataset == "areas" else counts[dataset]) == 0:
            report.blocking.append(
                f"no {dataset} loaded — run `eolneeds ingest {dataset} FILE`"
            )
    for dataset, consequence in OPTIONAL_DATASETS.items():
        if counts[dataset] == 0:
            report.warnings.append(f"no {dataset} loaded: {consequence}")
    if not place_codes:
        report.blocking.append("no [[places]] in eolneeds.toml — add the ICB's Places")
    params = {"places": place_codes}
    if counts["deaths"] and area_rows:
        in_scope = _count(
            con,
            f"SELECT count(*) FROM deaths d JOIN {areas} a ON a.lsoa_code = d.lsoa_code "
            "WHERE list_contains($places, a.place)", params,
        )
        if in_scope == 0:
            report.blocking.append(
                "no deaths in scope: no death's LSOA is in an area of a Place in "
                "eolneeds.toml — check the areas file's place codes and LSOA vintage"
            )
    if counts["deaths"] and counts["deprivation"]:
        report.warnings += _neighbours_and_vintage(con, areas, params)
    if counts["deaths"] and area_rows:
        report.warnings += _unranked(con, areas, params, counts["deprivation"] > 0)
    if area_rows:
        for code in place_codes:
            lsoas = _count(con, f"SELECT count(*) FROM {areas} WHERE place = $code",
                           {"code": code})
            if lsoas == 0:
                report.blocking.append(
                    f"Place {code} ({config.place_name(code)}) has no areas — add its LSOAs "
                    "to the areas file, or correct the code in eolneeds.toml"
                )
    report.warnings += _population_warnings(con, config, areas if area_rows else None,
                                            counts["population"])
    if area_rows:
        strays = [r[0] for r in con.execute(
            f"SELECT DISTINCT place FROM {areas} WHERE NOT list_contains($places, place) "
            "ORDER BY place", params).fetchall()]
        if strays:
            report.warnings.append(
                f"areas name Places not in eolneeds.toml (ignored): {', '.join(strays[:10])}"
            )

    # -- tables ----------------------------------------------------------------------
    tables = report.tables
    tables.append(DataQualityTable(
        "files", "Files loaded",
        "Rows read, loaded and quarantined per file; rows read = loaded + quarantined.",
        _frame(con, """
            SELECT file_id, dataset, file_name, rows_read, rows_loaded, rows_rejected,
                   CAST(finished_at AS VARCHAR) AS loaded_at,
                   CASE WHEN replaced_by IS NULL THEN 'current'
                        ELSE 'replaced by file ' || replaced_by END AS status
            FROM ingest_log ORDER BY file_id"""),
    ))
    # Reasons quote the offending value; grouping strips the quoted part so that one
    # problem is one line however many values it hit.
    tables.append(DataQualityTable(
        "rejects_by_reason", "Rows quarantined, by file and reason",
        "Quarantined rows are in the rejects table with their row number and value.",
        _frame(con, r"""
            SELECT dataset, file_name, column_name,
                   regexp_replace(reason, ' ''[^'']*''', '', 'g') AS reason,
                   count(*) AS rows, min(row_number) AS first_row
            FROM rejects GROUP BY ALL ORDER BY dataset, file_name, rows DESC, reason"""),
    ))
    # A database written before field_actions existed has no such table: none taken.
    has_actions = _count(con, "SELECT count(*) FROM duckdb_tables() "
                              "WHERE table_name = 'field_actions'")
    actions_sql = r"""
            SELECT dataset, file_name, column_name, action,
                   regexp_replace(reason, ' ''[^'']*''', '', 'g') AS reason,
                   count(*) AS rows, min(row_number) AS first_row
            FROM field_actions GROUP BY ALL
            ORDER BY dataset, file_name, rows DESC, column_name, reason"""
    tables.append(DataQualityTable(
        "field_actions_by_reason", "Fields blanked or set to unknown, by file and reason",
        "Rows that still count with one field blanked, set to unknown, or (a death whose "
        "NHS number fails its check) left unlinked; each is in the field_actions table "
        "with its row number.",
        _frame(con, actions_sql) if has_actions else pl.DataFrame(schema={
            "dataset": pl.String, "file_name": pl.String, "column_name": pl.String,
            "action": pl.String, "reason": pl.String, "rows": pl.Int64,
            "first_row": pl.Int64}),
    ))
    if has_actions:
        fixed = _count(con, "SELECT count(*) FROM field_actions")
        if fixed:
            report.warnings.append(
                f"{fixed} {plural(fixed, 'field')} blanked, set to unknown or left unlinked "
                "in rows that "
                "still count (see the field_actions table)")
    tables.append(DataQualityTable(
        "completeness", "Completeness of each field",
        "Share of loaded rows with a value in each canonical column.",
        _completeness(con, counts),
    ))
    if counts["deaths"]:
        tables.append(DataQualityTable(
            "deaths_quality", "Deaths: geography, place and cause",
            "Deaths kept but hard to use. LSOAs missing from the areas file usually mean "
            "mixed LSOA vintages (2011 vs 2021).",
            _frame(con, f"""
                WITH d AS (
                    SELECT d.*, a.lsoa_code IS NOT NULL AS in_areas
                    FROM deaths d LEFT JOIN (SELECT DISTINCT lsoa_code FROM {areas}) a
                      ON a.lsoa_code = d.lsoa_code)
                SELECT check_name, deaths, round(100.0 * deaths / total, 1) AS percent
                FROM (
                    SELECT count(*) AS total,
                      count(*) FILTER (WHERE lsoa_code IS NULL) AS "no LSOA",
                      count(*) FILTER (WHERE lsoa_code IS NOT NULL AND NOT in_areas)
                        AS "LSOA not in the areas file",
                      count(*) FILTER (WHERE place_of_death = 'unknown')
                        AS "place of death unknown",
                      count(*) FILTER (WHERE underlying_cause IS NULL) AS "no underlying cause",
                      count(*) FILTER (WHERE underlying_cause LIKE 'R%')
                        AS "ill-defined underlying cause (R00-R99)",
                      count(*) FILTER (WHERE sex = 'unknown') AS "sex unknown",
                      count(*) FILTER (WHERE age IS NULL) AS "no age"
                    FROM d)
                UNPIVOT (deaths FOR check_name IN (
                    "no LSOA", "LSOA not in the areas file", "place of death unknown",
                    "no underlying cause", "ill-defined underlying cause (R00-R99)",
                    "sex unknown", "no age"))"""),
        ))
        tables.append(DataQualityTable(
            "linkage", "Linkage of deaths to other data",
            "Deaths whose pseudonymised person_id appears in the register / activity data.",
            _frame(con, """
                WITH linked AS (
                    SELECT count(*) AS total,
                      count(*) FILTER (WHERE person_id IN (SELECT person_id FROM register))
                        AS "any register entry",
                      count(*) FILTER (WHERE person_id IN (SELECT person_id FROM activity))
                        AS "any activity"
                    FROM deaths)
                SELECT linked_to, deaths, round(100.0 * deaths / total, 1) AS percent
                FROM linked UNPIVOT (deaths FOR linked_to IN ("any register entry",
                                                             "any activity"))"""),
        ))
    tables.append(DataQualityTable(
        "duplicates", "Possible duplicates",
        "Rows that repeat the same person and date (duplicate deaths are quarantined at "
        "ingest, so they are not counted here).",
        _frame(con, """
            SELECT 'register' AS dataset, 'same person_id and date_added' AS rule,
                   coalesce(sum(n - 1), 0) AS extra_rows
            FROM (SELECT count(*) AS n FROM register GROUP BY person_id, date_added)
            UNION ALL
            SELECT 'activity', 'same person_id, activity_type, start_date and end_date',
                   coalesce(sum(n - 1), 0)
            FROM (SELECT count(*) AS n FROM activity
                  GROUP BY person_id, activity_type, start_date, end_date)"""),
    ))
    coverage = " UNION ALL ".join(
        f"SELECT '{d}' AS dataset, '{c}' AS date_column, count({c}) AS rows, "
        f"CAST(min({c}) AS VARCHAR) AS first_date, CAST(max({c}) AS VARCHAR) AS last_date, "
        f"count(DISTINCT date_trunc('month', {c})) AS months_with_data FROM {d}"
        for d, c in DATE_COVERAGE.items()
    )
    tables.append(DataQualityTable(
        "date_coverage", "Date coverage",
        "The span of dates in each dataset; gaps in months suggest a missing extract.",
        _frame(con, coverage + " UNION ALL SELECT 'population', 'year', count(*), "
               "CAST(min(year) AS VARCHAR), CAST(max(year) AS VARCHAR), "
               "count(DISTINCT year) FROM population"),
    ))
    no_age = _count(con, "SELECT count(*) FROM deaths WHERE age IS NULL") if counts["deaths"] else 0
    # A file with no age at all (no age or date of birth column, or one left empty) has
    # no rows in field_actions to correct: it needs its ages added, not corrected.
    ageless = con.execute("""
        SELECT l.file_name, count(*) FROM deaths d
        JOIN ingest_log l ON l.file_id = d.source_file_id
        WHERE d.source_file_id NOT IN (SELECT file_id FROM field_actions
                                       WHERE column_name IN ('age', 'date_of_birth'))
        GROUP BY l.file_name, d.source_file_id HAVING count(d.age) = 0
        ORDER BY l.file_name""").fetchall() if no_age else []
    if ageless:
        unknown = sum(n for _name, n in ageless)
        names = ", ".join(name for name, _n in ageless[:3]) + (
            f" and {len(ageless) - 3} more" if len(ageless) > 3 else "")
        report.warnings.append(
            f"{unknown} {plural(unknown, 'death')} of unknown age: {names} "
            f"{'has' if len(ageless) == 1 else 'have'} no age or date of birth for any "
            "death; they count in the number of deaths but not in the age-standardised "
            "rate — export the deaths with their age (or date of birth) and ingest the file "
            "again with --replace (if the column is named otherwise, name it in the "
            "mapping's [columns], e.g. age = \"AGE_AT_DEATH\")")
        no_age -= unknown
    if no_age:
        report.warnings.append(
            f"{no_age} {plural(no_age, 'death')} of unknown age (an age such as DEC_AGEC 999 "
            "is blanked): they "
            "count in the number of deaths but not in the age-standardised rate, and where "
            f"1 to {config.disclosure.min_count - 1} fall in an area and period the rate is "
            "withheld there (its count against the deaths would give them away) — correct "
            "their age in the deaths extract (the field_actions table has their rows)")
    coverage_table, coverage_warnings = _source_coverage(con, config, counts)
    tables.append(coverage_table)
    report.warnings += coverage_warnings
    practice_table, practice_warnings = _practice_checks(con, counts)
    if practice_table is not None:
        tables.append(practice_table)
        report.warnings += practice_warnings
    if area_rows:
        tables.append(DataQualityTable(
            "areas_by_place", "Areas and population by Place",
            "LSOAs and latest-year population per Place (Places from eolneeds.toml).",
            _frame(con, f"""
                WITH latest AS (SELECT max(year) AS y FROM population)
                SELECT a.place, count(DISTINCT a.lsoa_code) AS lsoas,
                       list_contains($places, a.place) AS in_config,
                       string_agg(DISTINCT a.lsoa_vintage, ', ') AS lsoa_vintage,
                       sum(p.population) AS population
                FROM {areas} a LEFT JOIN population p
                  ON p.lsoa_code = a.lsoa_code AND p.year = (SELECT y FROM latest)
                -- an all-England lookup names every district: only ours, and any the
                -- areas file itself names (a typo there is worth seeing)
                WHERE list_contains($places, a.place)
                   OR a.lsoa_code IN (SELECT lsoa_code FROM areas)
                GROUP BY a.place ORDER BY a.place""", params),
        ))
    return report


def _source_coverage(con: duckdb.DuckDBPyConnection, config: ProjectConfig,
                     counts: dict[str, int]) -> tuple[DataQualityTable, list[str]]:
    """Dates covered per kind of data and file (activity split by kind: a current A&E
    extract must not hide a stale APC one), and a warning for each indicator and
    reporting period a needed source does not cover (eolneeds.coverage): assess
    publishes those as not available."""
    from eolneeds import coverage
    from eolneeds.assess import choose_periods, run_query
    from eolneeds.catalogue import load_catalogue

    files = run_query(con, "coverage", {})
    assert files is not None
    table = DataQualityTable(
        "source_coverage", "Date coverage by kind of data and file",
        "The first and last date of each kind of data in each file (date of death, date "
        "added, activity start). An indicator whose period, with the look-back before "
        "each death (90 days; a year for specialist palliative care), is not covered by "
        "every kind of data it counts is published as not available [x], with the reason.",
        files.select(
            pl.col("source").replace_strict(coverage.SOURCE_NAMES, default=pl.col("source"))
            .alias("data"), "file_name", "rows",
            pl.col("first_date").cast(pl.String), pl.col("last_date").cast(pl.String)),
    )
    spans = coverage.source_spans(con)
    deaths = spans.get("deaths")
    if deaths is None:
        return table, []
    absent = [*(("register",) if not counts["register"] else ()),
              *(coverage.ACTIVITY_SOURCES if not counts["activity"] else ()),
              *(("population",) if not counts["population"] else ())]
    periods = choose_periods(config, deaths.first_date, deaths.last_date)
    gaps = coverage.indicator_gaps(load_catalogue(), periods, spans, ignore=absent)
    return table, coverage.warnings(gaps, periods)


def _population_warnings(con: duckdb.DuckDBPyConnection, config: ProjectConfig,
                         areas: str | None, population_rows: int) -> list[str]:
    """Missing population does not stop an assessment: what needs it is published as not
    available [x] (assess, coverage.places_without_population), and this says which."""
    from eolneeds import coverage
    from eolneeds.catalogue import load_catalogue

    ids = ", ".join(coverage.population_indicators(load_catalogue()))
    if not population_rows:
        return [f"no population loaded: {ids} are published as not available [x] for every "
                "area — run `eolneeds ingest population FILE` (the ONS mid-year estimates "
                "by LSOA)"]
    if areas is None:
        return []
    missing = coverage.places_without_population(con, areas, [p.code for p in config.places])
    return [f"Place {code} ({config.place_name(code)}) has no population: {ids} are "
            "published as not available [x] for it, and for the ICB (whose rate would "
            "count its deaths without its people) — load population for its LSOAs "
            "(`eolneeds ingest population FILE`)" for code in missing]


def _neighbours_and_vintage(con: duckdb.DuckDBPyConnection, areas: str,
                            params: dict) -> list[str]:
    """Deaths whose LSOA is in no Place of the ICB, told apart by the deprivation file
    (all of England): an LSOA it has is a neighbour's (a lookup of the ICB's Places
    rightly leaves it out); one it lacks too is most likely of another LSOA vintage."""
    rows = con.execute(f"""
        SELECT d.lsoa_code, dep.lsoa_code IS NOT NULL AS known
        FROM deaths d
        LEFT JOIN (SELECT lsoa_code FROM {areas} WHERE list_contains($places, place)) a
          ON a.lsoa_code = d.lsoa_code
        LEFT JOIN (SELECT DISTINCT lsoa_code FROM deprivation) dep
          ON dep.lsoa_code = d.lsoa_code
        WHERE d.lsoa_code IS NOT NULL AND a.lsoa_code IS NULL""", params).fetchall()
    vintages = ", ".join(r[0] for r in con.execute(
        "SELECT DISTINCT lsoa_vintage FROM deprivation WHERE lsoa_vintage IS NOT NULL "
        "ORDER BY 1").fetchall()) or "unknown"
    out = []
    neighbours = sorted({code for code, known in rows if known})
    if neighbours:
        count = sum(1 for _, known in rows if known)
        out.append(
            f"{count} {plural(count, 'death has', 'deaths have')} an LSOA that is in the "
            "deprivation file but in no Place of "
            f"the lookup (a neighbouring area's residents, not counted), e.g. "
            f"{', '.join(neighbours[:5])} — if they are your residents, add these LSOAs to "
            "the lookup with their Place")
    strangers = sorted({code for code, known in rows if not known})
    if strangers:
        count = sum(1 for _, known in rows if not known)
        out.append(
            f"{count} {plural(count, 'death has', 'deaths have')} an LSOA in neither the "
            "lookup nor the deprivation file "
            f"(LSOA vintage {vintages}), e.g. {', '.join(strangers[:5])} — most likely a "
            "different LSOA vintage (2011 vs 2021): use a lookup and deprivation file of the "
            "deaths' vintage")
    return out


def _unranked(con: duckdb.DuckDBPyConnection, areas: str, params: dict,
              deprivation_file: bool) -> list[str]:
    """Deaths in a Place whose LSOA has no deprivation decile: they count in every total
    and fall in the deprivation quintile 'unknown' (left out of SII/RII)."""
    found = con.execute(f"""
        SELECT count(*), count(DISTINCT d.lsoa_code),
               list(DISTINCT d.lsoa_code ORDER BY d.lsoa_code)[:5]
        FROM deaths d JOIN {areas} a ON a.lsoa_code = d.lsoa_code
        WHERE list_contains($places, a.place) AND a.imd_decile IS NULL""", params).fetchone()
    deaths, lsoas, examples = int(found[0]), int(found[1]), found[2] or []  # type: ignore[index]
    if not deaths:
        return []
    vintages = [r[0] for r in con.execute(
        "SELECT DISTINCT lsoa_vintage FROM deprivation WHERE lsoa_vintage IS NOT NULL "
        "ORDER BY 1").fetchall()] if deprivation_file else []
    why = (f"the deprivation file is of LSOA vintage {', '.join(vintages)} and lacks "
           "these codes (LSOAs whose boundary changed get a new code): use the Indices of "
           "Deprivation of the lookup's LSOA vintage (IoD2025 ranks 2021 LSOAs, IoD2019 "
           "2011 LSOAs)" if vintages else
           "add the English Indices of Deprivation File 1 of the lookup's LSOA vintage "
           "(eolneeds ingest deprivation FILE)")
    return [f"{deaths} {plural(deaths, 'death')} in {lsoas} {plural(lsoas, 'LSOA')} of the "
            f"Places {plural(deaths, 'has', 'have')} no deprivation decile, "
            f"e.g. {', '.join(examples)}: they count in every total and are shown in the "
            f"deprivation quintile 'unknown', left out of the inequality summaries (SII/RII) "
            f"— {why}"]



def _deaths_after_last_end(rows: str) -> str:
    """SQL: the practice code of each death dated after its practice ended, by the rows
    of `practices` that `rows` selects (all of them ended): its PCN memberships, or its
    own opening and closing in ODS's practice list."""
    return f"""
        WITH ended AS (
            SELECT practice_code, max(end_date) AS last_end
            FROM practices WHERE {rows} GROUP BY practice_code
            HAVING count(*) FILTER (WHERE end_date IS NULL) = 0)
        SELECT d.gp_practice AS code FROM deaths AS d
        JOIN ended AS l ON l.practice_code = d.gp_practice
        WHERE d.date_of_death > l.last_end"""


# Each check: (name, SQL giving the practice code of every row it finds, the fix). Rows
# are deaths or register entries (or, for the lookup's own checks, practices); the
# table gives their number, the practices involved and a few of their codes (ODS codes
# of organisations, not of people).
_PRACTICE_CHECKS: tuple[tuple[str, str, str], ...] = (
    ("deaths with no GP practice (on the death or any register entry)", """
        SELECT NULL AS code FROM deaths AS d
        WHERE d.gp_practice IS NULL
          AND NOT EXISTS (SELECT 1 FROM register AS r
                          WHERE r.person_id = d.person_id AND r.gp_practice IS NOT NULL)""",
     "they count under practice 'unknown'; map the extract's registered-practice column "
     "(GP_PRACTICE_CODE) if it has one"),
    ("deaths whose practice code is not an ODS practice code (a letter and 5 digits)", f"""
        SELECT gp_practice AS code FROM deaths
        WHERE gp_practice IS NOT NULL
          AND NOT regexp_full_match(gp_practice, '{PRACTICE_CODE_SHAPE}')""",
     "check that the mapped column holds the practice's ODS code, not its name"),
    ("register entries whose practice code is not an ODS practice code", f"""
        SELECT gp_practice AS code FROM register
        WHERE gp_practice IS NOT NULL
          AND NOT regexp_full_match(gp_practice, '{PRACTICE_CODE_SHAPE}')""",
     "check that the mapped column holds the practice's ODS code, not its name"),
    ("deaths whose practice is not in the practices file", """
        SELECT gp_practice AS code FROM deaths
        WHERE gp_practice IS NOT NULL
          AND gp_practice NOT IN (SELECT practice_code FROM practices)""",
     "they count under PCN 'unknown'; load the current ePCN file, or ODS's practice list "
     "epraccur.csv (eolneeds ingest practices FILE)"),
    ("register entries whose practice is not in the practices file", """
        SELECT gp_practice AS code FROM register
        WHERE gp_practice IS NOT NULL
          AND gp_practice NOT IN (SELECT practice_code FROM practices)""",
     "their deaths count under PCN 'unknown'; load the current ePCN file"),
    ("deaths whose practice is in no PCN (listed only by ODS's practice list)", """
        SELECT gp_practice AS code FROM deaths
        WHERE gp_practice IN (SELECT practice_code FROM practices WHERE pcn_code IS NULL)
          AND gp_practice NOT IN (SELECT practice_code FROM practices
                                  WHERE pcn_code IS NOT NULL)""",
     "they count under 'No PCN' in PCN tables (each practice is still shown); if the "
     "practice is in a PCN, load the current ePCN file too"),
    ("deaths after their practice closed (ODS's practice list)",
     _deaths_after_last_end("pcn_code IS NULL"),
     "a closed practice's deaths count under it still; record the practice the person "
     "was registered with at death"),
    # ODS's status: a practice closed with no close date, dormant or proposed is taken as
    # open at every date (its deaths are never dropped), which it was not.
    ("deaths at practices ODS lists as closed but with no close date (status C)", """
        SELECT gp_practice AS code FROM deaths
        WHERE gp_practice IN (SELECT practice_code FROM practices
                              WHERE upper(trim(status)) = 'C' AND end_date IS NULL)""",
     "they count under the practice as if it were open; record the practice the person "
     "was registered with at death, or ingest a later epraccur.csv that gives the close "
     "date"),
    ("deaths at practices ODS lists as dormant or proposed (status D or P)", """
        SELECT gp_practice AS code FROM deaths
        WHERE gp_practice IN (SELECT practice_code FROM practices
                              WHERE upper(trim(status)) IN ('D', 'P'))""",
     "such a practice has no registered patients: they count under it still; record the "
     "practice the person was registered with at death"),
    ("deaths after their practice's last PCN membership ended (closed or merged?)",
     _deaths_after_last_end("pcn_code IS NOT NULL"),
     "a closed or merged practice's deaths stay under its old PCN; record the successor "
     "practice on the deaths, or load an ePCN file that has it"),
    ("practices in the practices file with no current PCN", """
        SELECT practice_code AS code FROM practices WHERE pcn_code IS NOT NULL
        GROUP BY practice_code
        HAVING count(*) FILTER (WHERE end_date IS NULL) = 0""",
     "every membership has an end date: the last one is used; check the file is current"),
    ("practices in more than one current PCN", """
        SELECT practice_code AS code FROM practices
        WHERE end_date IS NULL AND pcn_code IS NOT NULL
        GROUP BY practice_code HAVING count(DISTINCT pcn_code) > 1""",
     "one is used (the latest start); end the others' memberships in the lookup"),
)


def _practice_checks(con: duckdb.DuckDBPyConnection, counts: dict[str, int]
                     ) -> tuple[DataQualityTable | None, list[str]]:
    """GP practice data quality (issue 13): codes on deaths and register entries against
    the practice-to-PCN lookup, and the lookup itself. None when no practice data."""
    with_codes = _count(con, "SELECT (SELECT count(gp_practice) FROM deaths) "
                             "+ (SELECT count(gp_practice) FROM register)")
    if not with_codes and not counts["practices"]:
        return None, []
    rows, warnings = [], []
    for name, sql, fix in _PRACTICE_CHECKS:
        uses_lookup = "practices" in sql
        if uses_lookup and not counts["practices"]:
            continue  # no lookup loaded: the funnel has no PCNs, not a fault per row
        found = con.execute(
            f"SELECT count(*), count(DISTINCT code), "
            f"list_sort(list(DISTINCT code) FILTER (WHERE code IS NOT NULL))[1:5] "
            f"FROM ({sql})").fetchall()[0]
        n, practices, examples = int(found[0]), int(found[1]), found[2] or []
        # Words rather than blanks where nothing was found (a blank reads as missing).
        rows.append({"check_name": name, "rows": n, "practices": practices,
                     "examples": ", ".join(examples) or "none",
                     "fix": fix if n else "nothing to fix"})
        if n:
            shown = f", e.g. {', '.join(examples)}" if examples else ""
            warnings.append(f"{n} {name}{shown} — {fix}")
    if not counts["practices"]:
        warnings.append("no practices file loaded: practices are not grouped into PCNs — "
                        "ingest the ODS ePCN workbook (eolneeds ingest practices FILE)")
    frame = pl.DataFrame(rows, schema={"check_name": pl.String, "rows": pl.Int64,
                                       "practices": pl.Int64, "examples": pl.String,
                                       "fix": pl.String})
    return DataQualityTable(
        "practices", "GP practices and PCNs",
        "Practice codes on deaths and register entries checked against the practice-to-PCN "
        "lookup (the ODS ePCN file, and ODS's practice list epraccur), and the lookup "
        "itself. Rows: deaths, register entries or practices found; examples are practice "
        "codes.", frame), warnings


def _completeness(con: duckdb.DuckDBPyConnection, counts: dict[str, int]) -> pl.DataFrame:
    parts = []
    for dataset, columns in CANONICAL_COLUMNS.items():
        if not counts[dataset]:
            continue
        for column, _dtype, required in columns:
            parts.append(
                f"SELECT '{dataset}' AS dataset, '{column}' AS column_name, "
                f"{str(required).lower()} AS required, count(*) AS rows, "
                f"count({column}) AS filled, round(100.0 * count({column}) / count(*), 1) "
                f"AS percent_filled FROM {dataset}"
            )
    if not parts:
        return pl.DataFrame(schema={"dataset": pl.String, "column_name": pl.String,
                                    "required": pl.Boolean, "rows": pl.Int64,
                                    "filled": pl.Int64, "percent_filled": pl.Float64})
    return _frame(con, " UNION ALL ".join(parts))


# ---------------------------------------------------------------------------------------
# The data-quality tables as published (report and packs)
#
# A data-quality count can be the very count the indicator table protects: deaths with
# the place of death unknown are the deaths less the sum of the places of death, deaths
# with sex unknown the deaths less men and women, fields left empty the rows less the
# filled ones. So in a published output, a count of records of 1 to min_count - 1 is
# withheld like any other small count, with the cells it can be worked out from: the
# complement within its row (filled against rows, loaded against read), a count of
# deaths whose complement in all the deaths loaded is small, and a file's total of
# rejected rows where one of its reasons is withheld. A table without a rule here fails
# closed (every whole-number column a count). `validate` shows them all
# to the analyst, who needs them to fix the data.

#: Per table: the count columns, and (count, its whole) pairs whose difference is a count too.
_QUALITY_COUNTS: dict[str, tuple[tuple[str, ...], tuple[tuple[str, str], ...]]] = {
    "files": (("rows_rejected",), (("rows_loaded", "rows_read"),)),
    "rejects_by_reason": (("rows",), ()),
    "field_actions_by_reason": (("rows",), ()),
    "completeness": (("filled",), (("filled", "rows"),)),
    "deaths_quality": (("deaths",), ()),
    "linkage": (("deaths",), ()),
    "duplicates": (("extra_rows",), ()),
    "date_coverage": (("rows",), ()),
    "source_coverage": (("rows",), ()),
    # Indicator ids, periods and reasons (coverage.not_available_table): no counts.
    "not_available": ((), ()),
    "practices": (("rows",), ()),
    # LSOAs and population per Place: no counts of people's records (ONS publishes the
    # population).
    "areas_by_place": ((), ()),
}
#: Tables whose counts are of deaths, each a part of all the deaths loaded (which the
#: completeness table publishes): a count whose complement is small gives that back.
_QUALITY_PARTS_OF_DEATHS = {"deaths_quality", "linkage"}
#: A percentage that shows its row's count (withheld with it).
_QUALITY_SHARES = {"deaths": "percent", "filled": "percent_filled"}


def protect_quality_tables(tables: list[DataQualityTable],
                           min_count: int) -> list[DataQualityTable]:
    """The tables with every small count of records (1 to min_count - 1), and what would
    give it back, withheld (DataQualityTable.confidential); other tables unchanged."""
    def small(value: object) -> bool:
        return value is not None and 0 < float(value) < min_count  # type: ignore[arg-type]

    out: list[DataQualityTable] = []
    withheld_files: set[str] = set()
    deaths_loaded: int | None = None
    for table in tables:  # rejects_by_reason comes after files: settle it first
        if table.key == "rejects_by_reason" and not table.frame.is_empty():
            withheld_files |= {f for f, n in zip(table.frame["file_name"],
                                                  table.frame["rows"], strict=True) if small(n)}
        if table.key == "completeness" and {"dataset", "rows"} <= set(table.frame.columns):
            loaded = table.frame.filter(pl.col("dataset") == "deaths")["rows"]
            deaths_loaded = int(loaded.max()) if len(loaded) else None  # type: ignore[arg-type]
    for table in tables:
        frame = table.frame
        # A table not listed fails closed: every whole-number column is taken as a count.
        counts, pairs = _QUALITY_COUNTS.get(table.key, (tuple(
            c for c, t in frame.schema.items() if t.is_integer()), ()))
        hidden: set[tuple[int, str]] = set()
        for r, row in enumerate(frame.iter_rows(named=True)):
            for column in counts:
                if column in row and small(row[column]):
                    hidden.add((r, column))
            for part, whole in pairs:
                if part in row and whole in row and row[part] is not None \
                        and row[whole] is not None and small(row[whole] - row[part]):
                    hidden.add((r, part))
            if table.key in _QUALITY_PARTS_OF_DEATHS and deaths_loaded is not None \
                    and row.get("deaths") is not None and small(deaths_loaded - row["deaths"]):
                hidden.add((r, "deaths"))
            if table.key == "files" and row.get("file_name") in withheld_files:
                hidden |= {(r, "rows_rejected"), (r, "rows_loaded")}
            # A file of people's records with a small count of rows read or loaded: all
            # three (read = loaded + quarantined), as in the manifest.
            if table.key == "files" and row.get("dataset") in PEOPLE_DATASETS and any(
                    small(row.get(c)) for c in ("rows_read", "rows_loaded")):
                hidden |= {(r, c) for c in FILE_COUNTS if c in row}
            # The first and last date of a withheld count of records are those records'
            # dates: one death's date of death where the count is 1.
            if any(h == r for h, _ in hidden):
                hidden |= {(r, c) for c in ("first_date", "last_date") if c in row}
        for r, column in list(hidden):
            if (share := _QUALITY_SHARES.get(column)) in frame.columns:
                hidden.add((r, share))
        if not hidden:
            out.append(table)
            continue
        columns = {}
        for column in {c for _, c in hidden}:
            rows = {r for r, c in hidden if c == column}
            columns[column] = pl.Series(column, [None if r in rows else v for r, v in
                                                 enumerate(frame[column].to_list())],
                                        dtype=frame.schema[column])
        out.append(replace(table, frame=frame.with_columns(*columns.values()),
                           confidential=frozenset(hidden)))
    return out
