"""assess: the indicator table every output is made from, and `eolneeds assess`.

SQL in queries/ counts numerators and denominators per Place and for the ICB, per period
and breakdown, in one pass per query file; this module then applies the statistical
methods (eolneeds.methods) once, uniformly and vectorised over the long frame, adds the
SII/RII summaries, the comparison with the ICB, the projections to 2040, and finally
disclosure control. The result has exactly bundle.INDICATOR_SCHEMA and is stored in the
project database as table `indicators`.
"""

from __future__ import annotations

import csv
import io
import re
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from eolneeds import __version__, categories, coverage, ledger, methods, practice, scenarios, spc
from eolneeds.bundle import INDICATOR_COLUMNS, INDICATOR_SCHEMA, ReportBundle, suppression_tally
from eolneeds.catalogue import Indicator, load_catalogue
from eolneeds.config import OUTPUT_FORMATS, ProjectConfig, find_project, load_config
from eolneeds.db import connect
from eolneeds.disclosure import (
    POOL_JOIN,
    UNKNOWN_QUINTILE,
    Key,
    apply_disclosure,
    nested_breakdowns,
)
from eolneeds.errors import InputDataError, UsageError
from eolneeds.formatting import judge
from eolneeds.periods import (
    Period,
    financial_years,
    latest_month,
    month_label,
    months,
    preceding_windows,
    projection_years,
    rolling,
)
from eolneeds.render import PackWorker, worker_for, write_outputs
from eolneeds.reporting import Reporter
from eolneeds.resources import read_query, reference_file
from eolneeds.safety import neutralise, shown_plainly
from eolneeds.schema import AREAS_VIEW, create_schema

#: Months of the SPC series (NHS Making Data Count asks for at least 20 points).
SPC_MONTHS = 36
#: Simulated samples per SII/RII interval. methods.SII_REPS (100,000, the R package's
#: default) costs ~0.15 s per area and period; at England scale (40+ Places x 3 years x 6
#: indicators) that alone would take minutes. 10,000 draws move the 2.5% / 97.5% limits by
#: well under 1% of the interval's width; the seed is fixed, so runs stay identical.
SII_REPS_ASSESS = 10_000
#: Projections run to this year (INDICATORS.md).
PROJECTION_LAST_YEAR = 2040
PROJECTED_ID = "pc_need_projected"
DEFAULT_OUT = Path("eolneeds-output")
_KEYS = ["area_type", "area_code", "period", "breakdown", "breakdown_value"]
_CI_COLUMNS = ("lower_ci_95", "upper_ci_95", "lower_ci_99_8", "upper_ci_99_8")


# ---------------------------------------------------------------------------------------
# Running the SQL


def _statements(sql: str) -> list[str]:
    """Split a query file into statements (statements end with ';' at a line end)."""
    body = "\n".join(line for line in sql.splitlines() if not line.strip().startswith("--"))
    return [part.strip() for part in re.split(r";\s*(?:\n|$)", body) if part.strip()]


def _uses(sql: str) -> list[str]:
    """The query files a query builds on, from its header line '-- Uses: a, b'."""
    found = re.search(r"^--\s*Uses:\s*(.+)$", sql, flags=re.MULTILINE)
    return [n.strip() for n in found.group(1).split(",") if n.strip()] if found else []


def run_query(con: Any, name: str, params: dict[str, Any]) -> pl.DataFrame | None:
    """Run queries/<name>.sql with the named parameters it uses; return the last result.
    A file it uses ('-- Uses: last90_activity': a shared macro or view) runs first."""
    sql = read_query(name)
    for used_file in _uses(sql):
        run_query(con, used_file, params)
    result = None
    for statement in _statements(sql):
        used = {k: v for k, v in params.items() if re.search(rf"\${k}\b", statement)}
        if statement.upper().startswith(("WITH", "SELECT")):
            result = con.sql(statement, params=used).pl()
        else:
            con.execute(statement, used)
    return result


def need_code_table() -> list[tuple[str, str, str]]:
    """pc_need_codes.csv with its ranges expanded to single codes: (code, cause_group,
    condition). Three-character ranges (C00-C97) become one row per category; the
    four-character codes (G122) stay as they are. Exact codes let the queries use hash
    joins on left(cause, 3) / left(cause, 4) instead of a range join per death."""
    text = reference_file("pc_need_codes.csv").read_text(encoding="utf-8")
    out: list[tuple[str, str, str]] = []
    for r in csv.DictReader(io.StringIO(text, newline="")):
        first, last = r["code_from"], r["code_to"]
        if first == last:
            out.append((first, r["cause_group"], r["condition"]))
            continue
        letter = first[0]
        for number in range(int(first[1:]), int(last[1:]) + 1):
            out.append((f"{letter}{number:02d}", r["cause_group"], r["condition"]))
    return out


def _load_reference_tables(con: Any) -> None:
    con.execute(
        "CREATE OR REPLACE TEMP TABLE ref_pc_need_codes "
        "(code VARCHAR PRIMARY KEY, cause_group VARCHAR, condition VARCHAR)"
    )
    con.executemany("INSERT INTO ref_pc_need_codes VALUES (?, ?, ?)", need_code_table())
    categories.load_reference_table(con)


def _empty_quintiles(con: Any, places: list[str]) -> set[tuple[str | None, str]]:
    """(Place, quintile) for each deprivation quintile a Place has no LSOA in, and
    (None, quintile) for one the whole ICB has none in (categories.no_residents_rows)."""
    found = run_query(con, "quintile_areas", {"places": places})
    have = set() if found is None else {(p, q) for p, q, n in found.iter_rows() if n}
    empty: set[tuple[str | None, str]] = {
        (p, q) for p in places for q in categories.QUINTILES if (p, q) not in have}
    empty |= {(None, q) for q in categories.QUINTILES if all((p, q) in empty for p in places)}
    return empty


def _load_periods(con: Any, periods: Sequence[Period]) -> None:
    con.execute(
        "CREATE OR REPLACE TEMP TABLE assess_periods "
        "(period VARCHAR, period_start DATE, period_end DATE, kind VARCHAR)"
    )
    if periods:
        con.executemany(
            "INSERT INTO assess_periods VALUES (?, ?, ?, ?)",
            [(p.label, p.start, p.end, p.kind) for p in periods],
        )


# ---------------------------------------------------------------------------------------
# Periods


EARLIER_PREFIX = "earlier publication: "
LINKING_PREFIX = "months shared with an earlier publication: "


def _shadow_periods(published: list[Period], earlier: list[Period]
                    ) -> tuple[list[Period], list[Period]]:
    """The periods disclosure control counts beside the published ones so that nothing
    published can be worked out against an earlier publication (a monthly run's
    previous month: its 12 months and year to date; the two years to date differ by
    one month, the two windows by the month in and the month out).

    Returns (earlier, linking): the earlier publication's periods whose span no
    published period has (relabelled: 'earlier publication: 2026-27 to date' is
    another span than this run's '2026-27 to date'), and the months each published
    period shares with an earlier one that neither holds whole (the 11 months two
    consecutive 12-month windows share): with them the month in and the month out are
    counts of the table's sums, and protected where small."""
    spans = {(p.start, p.end) for p in published}
    early: list[Period] = []
    for p in earlier:
        if p.kind == "month" or (p.start, p.end) in spans:
            continue
        spans.add((p.start, p.end))
        early.append(Period(f"{EARLIER_PREFIX}{p.label}", p.start, p.end, p.kind))
    linking: list[Period] = []
    for p in published:
        if p.kind == "month":
            continue
        for e in early:
            start, end = max(p.start, e.start), min(p.end, e.end)
            if start > end or (start, end) in spans:
                continue
            spans.add((start, end))
            label = f"{month_label(start)} to {month_label(end)}"
            linking.append(Period(f"{LINKING_PREFIX}{label}", start, end, "rolling"))
    return early, linking


def _as_on_record(earlier: list[Period], linking: list[Period],
                  on_record: set[tuple[date, date]] | None
                  ) -> tuple[list[Period], list[Period]]:
    """The earlier publication's periods as the publication ledger has them: one it has
    no record of was not published (a month never run), so its counts, recounted from
    today's data, are no reader's (and with late registrations since, treating them as
    known would have them give the late deaths away as 'the earlier publication's
    doing'). Counted, never known: moved to the linking periods. Without a ledger (a
    project's first publication, a database older than the ledger) fail closed: every
    earlier period counts as published."""
    if on_record is None:
        return earlier, linking
    unpublished = [p for p in earlier if (p.start, p.end) not in on_record]
    return ([p for p in earlier if p not in unpublished], [*unpublished, *linking])


def choose_periods(
    config: ProjectConfig,
    data_min: date,
    data_max: date,
    *,
    period_end: str | None = None,
    months_: int | None = None,
) -> list[Period]:
    """The reporting periods, oldest first: financial years by default; a rolling window
    (and earlier windows of the same length, for the trend) when --period-end or
    --months is given or [periods] default = 'rolling'. With no whole financial year in
    the data, the last 12 months are used instead."""
    rolling_wanted = (
        period_end is not None or months_ is not None or config.periods.default == "rolling"
    )
    if not rolling_wanted:
        years = financial_years(data_min, data_max, config.periods.years)
        if years:
            return years
    length = months_ if months_ is not None else config.periods.months
    end = period_end if period_end is not None else latest_month(data_max)
    current = rolling(end, length)
    return preceding_windows(current, max(config.periods.years, 1), data_min)


# ---------------------------------------------------------------------------------------
# Methods, applied by method letter


def _proportion(frame: pl.DataFrame) -> pl.DataFrame:
    x = frame["numerator"].to_numpy().astype(float)
    n = frame["denominator"].to_numpy().astype(float)
    x = np.minimum(x, n)  # guards float noise only; SQL counts never exceed the base
    value, lo95, hi95 = methods.wilson(x, n, 0.95)
    _, lo998, hi998 = methods.wilson(x, n, 0.998)
    return frame.with_columns(
        pl.Series("value", value * 100), pl.Series("lower_ci_95", lo95 * 100),
        pl.Series("upper_ci_95", hi95 * 100), pl.Series("lower_ci_99_8", lo998 * 100),
        pl.Series("upper_ci_99_8", hi998 * 100),
    )


def _rate(frame: pl.DataFrame) -> pl.DataFrame:
    x = frame["numerator"].to_numpy().astype(float)
    d = frame["denominator"].to_numpy().astype(float)
    value, lo95, hi95 = methods.crude_rate(x, d, 0.95)
    _, lo998, hi998 = methods.crude_rate(x, d, 0.998)
    return frame.with_columns(
        pl.Series("value", value), pl.Series("lower_ci_95", lo95),
        pl.Series("upper_ci_95", hi95), pl.Series("lower_ci_99_8", lo998),
        pl.Series("upper_ci_99_8", hi998),
    )


def _mean(frame: pl.DataFrame) -> pl.DataFrame:
    total = frame["numerator"].to_numpy().astype(float)
    n = frame["denominator"].to_numpy().astype(float)
    sd = frame["sd"].to_numpy().astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = np.where(n > 0, total / n, np.nan)
    lo95, hi95 = methods.mean_ci(n, mean, sd, 0.95)
    lo998, hi998 = methods.mean_ci(n, mean, sd, 0.998)
    return frame.with_columns(
        pl.Series("value", mean), pl.Series("lower_ci_95", lo95),
        pl.Series("upper_ci_95", hi95), pl.Series("lower_ci_99_8", lo998),
        pl.Series("upper_ci_99_8", hi998),
    )


def _apply_method(frame: pl.DataFrame, method: str) -> pl.DataFrame:
    if frame.height == 0:
        return frame
    if method == "P":
        return _proportion(frame)
    if method == "R":
        return _rate(frame)
    if method == "M":
        return _mean(frame)
    if method == "C":
        return frame.with_columns(pl.col("numerator").alias("value"))
    return frame  # Q: the median came from SQL; no interval


# ---------------------------------------------------------------------------------------
# Counting


@dataclass
class _Counts:
    """The query results of one run, keyed by query stem."""

    frames: dict[str, pl.DataFrame]
    population: pl.DataFrame  # year, area keys, esp_band, population
    population_years: list[int]


def _nearest_year(wanted: int, available: list[int]) -> int | None:
    if not available:
        return None
    # Ties go to the earlier year: an estimate rather than a projection.
    return min(available, key=lambda y: (abs(y - wanted), y))


def _population_map(
    periods: Sequence[Period], available: list[int]
) -> tuple[pl.DataFrame, dict[str, str]]:
    """period -> (population year, person-years factor), and a note where the matching
    year was not supplied."""
    rows, notes = [], {}
    for p in periods:
        year = _nearest_year(p.population_year, available)
        if year is None:
            continue
        if year != p.population_year:
            notes[p.label] = f"population of {year} used (nearest to {p.population_year})"
        rows.append({"period": p.label, "year": year, "person_years": p.months / 12})
    schema = {"period": pl.String, "year": pl.Int32, "person_years": pl.Float64}
    return pl.DataFrame(rows, schema=schema), notes


def _sample_sd(total: str, n: str) -> pl.Expr:
    """Sample standard deviation from n, the sum and the sum of squares (query columns
    <total> and <total>_sumsq): sqrt((sumsq - sum^2 / n) / (n - 1))."""
    s, n_ = pl.col(total).cast(pl.Float64), pl.col(n).cast(pl.Float64)
    sumsq = pl.col(f"{total}_sumsq").cast(pl.Float64)
    variance = (sumsq - s * s / n_) / (n_ - 1)
    return pl.when(n_ >= 2).then(variance.clip(lower_bound=0).sqrt()).otherwise(None)


def _indicator_rows(ind: Indicator, source: pl.DataFrame, kinds: dict[str, str]) -> pl.DataFrame:
    """Select one indicator's rows from its query result, in a common shape."""
    wanted = set(ind.breakdown_list) | ({"all"} if ind.total_row else set())
    cols = [
        pl.col("area_type"), pl.col("area_code"), pl.col("period"), pl.col("breakdown"),
        pl.col("breakdown_value").cast(pl.String),
        pl.col(ind.numerator_column).cast(pl.Float64).alias("numerator"),
        # Rates take their population denominator later (_with_population).
        (pl.col(ind.denominator_column).cast(pl.Float64)
         if ind.denominator_column in source.columns
         else pl.lit(None, pl.Float64)).alias("denominator"),
        (_sample_sd(ind.numerator_column, ind.denominator_column)
         if f"{ind.numerator_column}_sumsq" in source.columns
         else pl.lit(None, pl.Float64)).alias("sd"),
    ]
    month_periods = [p for p, k in kinds.items() if k == "month"]
    keep_months = ind.spc
    frame = source.select(cols).filter(pl.col("breakdown").is_in(list(wanted)))
    is_month = pl.col("period").is_in(month_periods)
    if keep_months:
        frame = frame.filter(~is_month | (pl.col("breakdown") == "all"))
    else:
        frame = frame.filter(~is_month)
    if ind.method == "Q":
        frame = frame.with_columns(pl.col("numerator").alias("value"),
                                   pl.col("denominator").alias("numerator"))
    return frame.with_columns(pl.lit(ind.id).alias("indicator_id"))


def _with_population(rows: pl.DataFrame, counts: _Counts, pop_map: pl.DataFrame) -> pl.DataFrame:
    """Replace the denominator of a crude rate by the matching population (person-years)."""
    totals = counts.population.group_by(
        ["year", "area_type", "area_code", "breakdown", "breakdown_value"]
    ).agg(pl.col("population").sum())
    return (
        rows.drop("denominator")
        .join(pop_map, on="period", how="left")
        .join(totals, on=["year", "area_type", "area_code", "breakdown", "breakdown_value"],
              how="left", nulls_equal=True)
        .with_columns((pl.col("population") * pl.col("person_years")).alias("denominator"))
        .drop("year", "person_years", "population")
    )


def _dsr_rows(ind: Indicator, counts: _Counts, pop_map: pl.DataFrame) -> pl.DataFrame:
    deaths = counts.frames["mortality_by_age"]
    keys = ["area_type", "area_code", "period", "breakdown", "breakdown_value"]
    wanted = set(ind.breakdown_list) | {"all"}
    deaths = deaths.filter(pl.col("breakdown").is_in(list(wanted)))
    population = (
        counts.population.join(pop_map, on="year", how="inner")
        .with_columns((pl.col("population") * pl.col("person_years")).alias("population"))
        .select(*keys, "esp_band", "population")
    )
    # Every band with population takes part, deaths or not (a zero is a real zero).
    frame = population.join(
        deaths.select(*keys, "esp_band", pl.col("deaths").cast(pl.Float64)),
        on=[*keys, "esp_band"], how="full", coalesce=True, nulls_equal=True,
    ).with_columns(pl.col("deaths").fill_null(0.0), pl.col("population").fill_null(0.0))
    # Keep only groups that exist among the deaths' periods and breakdowns.
    groups = deaths.select(keys).unique()
    frame = frame.join(groups, on=keys, how="inner", nulls_equal=True)
    if frame.height == 0:
        return _empty_rows()
    result = methods.dsr_frame(frame, keys, count="deaths", population="population",
                               age_band="esp_band")
    return result.with_columns(
        pl.lit(ind.id).alias("indicator_id"),
        pl.lit(None, pl.Float64).alias("sd"),
        pl.when(pl.col("zero_population_bands_with_events") > 0)
        .then(pl.lit("not calculated: deaths in an age band with no population"))
        .otherwise(pl.lit("")).alias("note"),
    ).drop("reliable", "zero_population_bands_with_events")


def _empty_rows() -> pl.DataFrame:
    schema = {
        "area_type": pl.String, "area_code": pl.String, "period": pl.String,
        "breakdown": pl.String, "breakdown_value": pl.String, "numerator": pl.Float64,
        "denominator": pl.Float64, "sd": pl.Float64, "indicator_id": pl.String,
    }
    return pl.DataFrame(schema=schema)


# ---------------------------------------------------------------------------------------
# Inequality summaries, comparison, projections


#: The SII/RII needs at least this many deprivation groups with a published value
#: (quintiles, or adjacent quintiles pooled: disclosure._summary_pools).
SII_MIN_QUINTILES = 3
#: The note of a summary computed over pooled quintiles (the pooled groups follow).
POOLED_NOTE = ("over pooled deprivation groups (adjacent quintiles pooled where one is "
               "suppressed or its rate not published)")


def _pooled_groups(ind: Indicator, raw: pl.DataFrame, counts: _Counts | None,
                   pop_map: pl.DataFrame | None,
                   pools: dict[tuple[str, str, str], list[str]]) -> pl.DataFrame:
    """The pooled deprivation groups of `ind` that `pools` asks for (disclosure.
    _summary_pools), as quintile rows: breakdown_value the pooled label ('1+2'),
    numerator and denominator the quintiles' sums, value and 95% limits by the
    indicator's method (a percentage from the pooled counts; a standardised rate from the
    pooled deaths and population of each age band). `raw` is the table before disclosure."""
    keys = ["area_type", "area_code", "period"]
    wanted = [(area, period, label) for (i, area, period), groups in sorted(pools.items())
              if i == ind.id for label in groups if POOL_JOIN in label]
    if not wanted:
        return pl.DataFrame()
    members = pl.DataFrame(
        [(a, p, label, q) for a, p, label in wanted for q in label.split(POOL_JOIN)],
        schema={"area_code": pl.String, "period": pl.String, "_label": pl.String,
                "breakdown_value": pl.String}, orient="row")
    quintiles = raw.filter((pl.col("indicator_id") == ind.id)
                           & (pl.col("breakdown") == "imd_quintile"))
    pooled = (quintiles.join(members, on=["area_code", "period", "breakdown_value"])
              .group_by([*keys, "_label"])
              .agg(pl.col("numerator").sum(), pl.col("denominator").sum())
              .rename({"_label": "breakdown_value"}).sort([*keys, "breakdown_value"]))
    if ind.method == "P":
        return _proportion(pooled)
    if ind.method == "R":
        return _rate(pooled)
    if ind.method != "DSR" or counts is None or pop_map is None:
        raise ValueError(f"no pooled groups for method {ind.method} ({ind.id})")
    # The age-band counts name the ICB by a null code (the table by the ICB's code).
    icb_codes = pooled.filter(pl.col("area_type") == "icb")["area_code"].unique().to_list()
    members = members.with_columns(
        pl.when(pl.col("area_code").is_in(icb_codes)).then(None)
        .otherwise(pl.col("area_code")).alias("_code"))
    by_age = counts.frames["mortality_by_age"].filter(pl.col("breakdown") == "imd_quintile")
    deaths = (by_age.join(members.select("_code", "period", "_label", "breakdown_value"),
                          left_on=["area_code", "period", "breakdown_value"],
                          right_on=["_code", "period", "breakdown_value"], nulls_equal=True)
              .group_by("area_type", "area_code", "period", "_label", "esp_band")
              .agg(pl.col("deaths").sum()))
    population = (counts.population.filter(pl.col("breakdown") == "imd_quintile")
                  .join(members.select("_code", "_label", "breakdown_value").unique(),
                        left_on=["area_code", "breakdown_value"],
                        right_on=["_code", "breakdown_value"], nulls_equal=True)
                  .group_by("year", "area_type", "area_code", "_label", "esp_band")
                  .agg(pl.col("population").sum()))
    deaths, population = (f.rename({"_label": "breakdown_value"}).with_columns(
        pl.lit("imd_quintile").alias("breakdown")) for f in (deaths, population))
    rows = _dsr_rows(ind, _Counts(frames={"mortality_by_age": deaths}, population=population,
                                  population_years=counts.population_years), pop_map)
    return rows.with_columns(
        pl.when(pl.col("area_type") == "icb").then(pl.lit(icb_codes[0] if icb_codes else None))
        .otherwise(pl.col("area_code")).alias("area_code"))


def _sii_rows(
    frame: pl.DataFrame, catalogue: list[Indicator], kinds: dict[str, str], *,
    disclosure: bool = True,
    pooled: Callable[[Indicator], pl.DataFrame] | None = None,
    pools: dict[tuple[str, str, str], list[str]] | None = None,
) -> pl.DataFrame:
    """SII and RII from the quintiles that exist and are published.

    Runs after disclosure control, on its output: a quintile whose value is hidden
    (suppressed, or a rate not published under the ONS rules) takes no part, so the
    summary cannot give back what disclosure hides; a quintile with no residents (no
    population, or no deaths for a percentage of deaths) does not exist for the
    summary. The relative ranks come from the populations of the quintiles used. With
    at least SII_MIN_QUINTILES of 5 quintiles the summary is published, with a note
    naming the quintiles left out; with fewer it is 'not calculated'."""
    parts = []
    month_periods = [p for p, k in kinds.items() if k == "month"]
    for ind in catalogue:
        if not ind.inequality_summary:
            continue
        quintiles = frame.filter(
            (pl.col("indicator_id") == ind.id) & (pl.col("breakdown") == "imd_quintile")
            & ~pl.col("breakdown_value").is_in(["SII", "RII", UNKNOWN_QUINTILE])
            & ~pl.col("period").is_in(month_periods)
            # A quintile with no residents does not exist for the summary: absent, not
            # withheld (its row says 'no residents'; categories.py).
            & ~pl.col("note").fill_null("").str.starts_with(categories.NO_RESIDENTS)
        )
        if quintiles.height == 0:
            continue
        keys = ["area_type", "area_code", "period"]
        value_type = "rate" if ind.method in ("DSR", "R") else "proportion"
        usable = (~pl.col("suppressed") & pl.col("value").is_not_null()
                  & pl.col("lower_ci_95").is_not_null() & (pl.col("denominator") > 0))
        left_out = (
            quintiles.filter(~usable).group_by(keys)
            .agg(pl.col("breakdown_value").sort().str.join(", ").alias("_left_out"))
        )
        used = quintiles.filter(usable)
        groups = quintiles.select(keys).unique()
        mine = {k[1:]: v for k, v in (pools or {}).items() if k[0] == ind.id}
        if mine and pooled is not None:
            # Summaries over pooled groups: the published quintiles of the grouping and
            # the pooled groups (disclosure._summary_pools found them safe).
            chosen = pl.DataFrame(
                [(a, p, label) for (a, p), labels in mine.items() for label in labels],
                schema={"area_code": pl.String, "period": pl.String,
                        "breakdown_value": pl.String}, orient="row")
            pooled_keys = chosen.select("area_code", "period").unique()
            used = used.select(*keys, "breakdown_value", "value", "denominator",
                               "lower_ci_95", "upper_ci_95")
            used = pl.concat([
                used.join(pooled_keys, on=["area_code", "period"], how="anti"),
                used.join(chosen, on=["area_code", "period", "breakdown_value"]),
                pooled(ind).select(used.columns),
            ], how="diagonal_relaxed")
            left_out = left_out.join(pooled_keys, on=["area_code", "period"], how="anti")
            pool_note = (chosen.filter(pl.col("breakdown_value").str.contains(POOL_JOIN,
                                                                               literal=True))
                         .group_by("area_code", "period")
                         .agg(pl.col("breakdown_value").sort().str.join(", ")
                              .alias("_pooled")))
        else:
            pool_note = pl.DataFrame(schema={"area_code": pl.String, "period": pl.String,
                                             "_pooled": pl.String})
        result = methods.sii_frame(
            # A pooled group ranks by its first quintile ('1+2' is 1).
            used.select(*keys, pl.col("breakdown_value").str.split(POOL_JOIN).list.first()
                        .cast(pl.Float64).alias("quantile"), "value",
                        pl.col("denominator").alias("population"), "lower_ci_95",
                        "upper_ci_95"),
            keys, value_type=value_type, value_scale=100.0 if value_type == "proportion" else 1.0,
            reps=SII_REPS_ASSESS, min_quantiles=SII_MIN_QUINTILES,
        ) if used.height else pl.DataFrame(schema={**{k: pl.String for k in keys},
                                                   "sii": pl.Float64, "note": pl.String})
        result = (groups.join(result, on=keys, how="left").join(left_out, on=keys, how="left")
                  .join(pool_note, on=["area_code", "period"], how="left"))
        for column in ("sii", "sii_lower", "sii_upper", "rii", "rii_lower", "rii_upper"):
            if column not in result.columns:
                result = result.with_columns(pl.lit(None, pl.Float64).alias(column))
            # 'not calculated' is no value (null), not NaN (which reads as a number).
            result = result.with_columns(pl.col(column).fill_nan(None))
        result = result.with_columns(
            pl.when(pl.col("sii").is_null() & pl.col("note").is_null())
            .then(pl.lit(f"not calculated: fewer than {SII_MIN_QUINTILES} quintiles with a "
                         "published value"))
            .otherwise(pl.col("note")).alias("note"),
        ).with_columns(
            pl.when(pl.col("_left_out").is_not_null())
            .then(pl.concat_str([
                pl.col("note").fill_null(""),
                pl.when(pl.col("note").fill_null("") != "").then(pl.lit("; "))
                .otherwise(pl.lit("")),
                pl.lit("quintile(s) "), pl.col("_left_out"),
                pl.lit(" left out (suppressed, not published or no residents)"),
            ]))
            .otherwise(pl.col("note")).alias("note"),
        ).with_columns(
            pl.when(pl.col("_pooled").is_not_null() & pl.col("sii").is_not_null())
            .then(pl.concat_str([
                pl.col("note").fill_null(""),
                pl.when(pl.col("note").fill_null("") != "").then(pl.lit("; "))
                .otherwise(pl.lit("")),
                pl.lit(f"{POOLED_NOTE}: "), pl.col("_pooled"),
            ]))
            .otherwise(pl.col("note")).alias("note"),
        )
        # The SII of a percentage is a difference of percentages: percentage points.
        sii_unit = "percentage points" if ind.unit == "%" else ind.unit
        for summary, unit in (("sii", sii_unit), ("rii", "index")):
            parts.append(result.select(
                *keys,
                pl.lit(ind.id).alias("indicator_id"),
                pl.lit("imd_quintile").alias("breakdown"),
                pl.lit(summary.upper()).alias("breakdown_value"),
                pl.lit(None, pl.Float64).alias("numerator"),
                pl.lit(None, pl.Float64).alias("denominator"),
                pl.col(summary).alias("value"),
                pl.col(f"{summary}_lower").alias("lower_ci_95"),
                pl.col(f"{summary}_upper").alias("upper_ci_95"),
                pl.lit(None, pl.Float64).alias("lower_ci_99_8"),
                pl.lit(None, pl.Float64).alias("upper_ci_99_8"),
                pl.lit(unit).alias("unit"),
                pl.lit(summary.upper()).alias("method"),
                pl.col("note"),
            ))
    return pl.concat(parts, how="diagonal_relaxed") if parts else pl.DataFrame()


def _compare_to_icb(frame: pl.DataFrame) -> pl.DataFrame:
    """Each Place against the ICB value at 95%; counts, medians, summaries and the ICB
    itself are not compared."""
    icb = frame.filter(pl.col("area_type") == "icb").select(
        "indicator_id", "period", "breakdown", "breakdown_value",
        pl.col("value").alias("_icb_value"),
    )
    joined = frame.join(icb, on=["indicator_id", "period", "breakdown", "breakdown_value"],
                        how="left", nulls_equal=True)
    comparable = (
        (pl.col("area_type") == "place")
        & pl.col("method").is_in(["P", "R", "DSR", "M"])
    )
    result = methods.compare(
        joined["lower_ci_95"].fill_null(np.nan).to_numpy(),
        joined["upper_ci_95"].fill_null(np.nan).to_numpy(),
        joined["_icb_value"].fill_null(np.nan).to_numpy(),
    )
    return joined.with_columns(
        pl.when(comparable).then(pl.Series("_cmp", result.tolist(), dtype=pl.String))
        .otherwise(pl.lit("not_compared")).alias("comparison")
    ).drop("_icb_value")


def _withhold_comparisons_with_hidden_icb(frame: pl.DataFrame) -> pl.DataFrame:
    """A Place row compared with an ICB value that is not published (suppressed, or
    with no value) says 'not_compared': 'similar', 'higher' or 'lower' against a hidden
    value is itself information about it (it bounds the value by the Place's interval).
    Run after disclosure control, which decides what is hidden; the same key (indicator,
    period, breakdown and its value) pairs a Place's group with the ICB's group."""
    key = ["indicator_id", "period", "breakdown", "breakdown_value"]
    hidden = frame.filter(
        (pl.col("area_type") == "icb")
        & (pl.col("suppressed").fill_null(False) | pl.col("value").is_null())
    ).select(*key).unique().with_columns(pl.lit(True).alias("_icb_hidden"))
    if hidden.height == 0:
        return frame
    joined = frame.join(hidden, on=key, how="left", nulls_equal=True)
    withhold = (pl.col("area_type") == "place") & pl.col("_icb_hidden").fill_null(False)
    return joined.with_columns(
        pl.when(withhold).then(pl.lit("not_compared")).otherwise(pl.col("comparison"))
        .alias("comparison")
    ).select(frame.columns)


def _projection_rows(
    con: Any, config: ProjectConfig, base: Period, available: list[int], places: list[str],
    reporter: Reporter,
) -> pl.DataFrame:
    year = _nearest_year(base.population_year, available)
    has_projections = con.execute("SELECT count(*) FROM projections").fetchall()[0][0] > 0
    if year is None or not has_projections:
        reporter.message(
            "pc_need_projected not calculated: it needs population and projections data "
            "(eolneeds ingest population / projections)", level="warning",
        )
        return _empty_rows()
    frame = run_query(con, "projections", {
        "period_start": base.start, "period_end": base.end, "population_year": year,
        "person_years": base.months / 12, "places": places,
        "first_year": base.population_year, "last_year": PROJECTION_LAST_YEAR,
    })
    assert frame is not None
    return frame.select(
        "area_type", "area_code", pl.col("year").cast(pl.String).alias("period"),
        "breakdown", "breakdown_value",
        pl.col("projected").cast(pl.Float64).alias("numerator"),
        pl.col("projected_deaths").cast(pl.Float64).alias("denominator"),
        pl.lit(None, pl.Float64).alias("sd"),
        pl.lit(PROJECTED_ID).alias("indicator_id"),
        pl.lit(f"modelled estimate: rates of {base.label} applied to projected population")
        .alias("note"),
    )


# ---------------------------------------------------------------------------------------
# The indicator table


def compute_indicators(
    config: ProjectConfig,
    con: Any,
    *,
    period_end: str | None = None,
    months: int | None = None,
    periods: list[Period] | None = None,
    places: list[str] | None = None,
    reporter: Reporter | None = None,
    earlier: list[Period] | None = None,
    publication: ledger.Publication | None = None,
) -> pl.DataFrame:
    """Every indicator of the catalogue, per Place and ICB, period and breakdown, with
    methods, SII/RII, comparison and disclosure applied (bundle.INDICATOR_SCHEMA).

    `periods` overrides the choice of reporting periods; `places` (Place codes) limits
    the Place rows (the ICB is always the whole ICB). Also stored as table `indicators`.
    `earlier`: the periods of an earlier publication readers hold (a monthly run's
    previous month): disclosure control protects this table against them
    (_shadow_periods); they are not published again.
    `publication`, where given (and disclosure control is on), is filled with what this
    table gives, for the publication ledger; the caller keeps it once the outputs are
    written (ledger.keep). Computing a table records nothing.
    """
    reporter = reporter or Reporter()
    catalogue = load_catalogue()
    all_places = [p.code for p in config.places]
    create_schema(con)  # a database from an older eolneeds gains the areas view
    _load_reference_tables(con)
    run_query(con, "deaths_in_scope", {
        "data_start": date(1900, 1, 1), "data_end": date(9999, 12, 31), "places": all_places,
    })
    data_min, data_max = con.execute(
        "SELECT min(date_of_death), max(date_of_death) FROM deaths_in_scope"
    ).fetchall()[0]
    if periods is None:
        if data_min is None:
            raise UsageError(
                f"no deaths of residents of the ICB's Places in {config.database_path} — "
                "ingest deaths and areas first (eolneeds ingest deaths FILE; eolneeds ingest "
                "areas FILE, or a lookup and a deprivation file), and check that the "
                "areas' place uses the codes of [[places]]"
            )
        headline = choose_periods(config, data_min, data_max, period_end=period_end,
                                  months_=months)
    else:
        headline = [p for p in periods if p.kind != "month"]
    if periods is None and data_min is not None:
        # A period the deaths do not reach the end of would publish a part as the whole
        # (a late extract: 9 months of deaths as a 12-month year).
        deaths_span = coverage.Span(data_min, data_max)
        for period in headline:
            if why := coverage.deaths_gap(period, {"deaths": deaths_span}):
                raise InputDataError(
                    f"{why}: its deaths, and every indicator built on them, would be "
                    f"too few — ingest the deaths to {period.end}, or report a period "
                    f"ending by {month_label(deaths_span.end)}; nothing was published")
    shown_periods = list(headline)
    earlier_periods, linking_periods = _shadow_periods(headline, earlier or [])
    if config.disclosure.enabled:
        earlier_periods, linking_periods = _as_on_record(
            earlier_periods, linking_periods, ledger.spans_on_record(con))
    shadow = {p.label for p in (*earlier_periods, *linking_periods)}
    # Before the published periods: headline[-1] stays the latest published period.
    headline = [*earlier_periods, *linking_periods, *headline]
    spc_months = [p for p in (periods or []) if p.kind == "month"]
    if periods is None or not spc_months:
        last = headline[-1]
        # The series ends at the last complete month of data (a month the data reach
        # into only part-way would read as a fall).
        end = last_complete_month(data_max) if data_max is not None else month_label(last.end)
        spc_months = months_list(end, data_min or last.start)
    all_periods = [*headline, *spc_months]
    kinds = {p.label: p.kind for p in all_periods}
    _load_periods(con, all_periods)
    reporter.event("assess_periods", periods=[p.label for p in shown_periods],
                   months=len(spc_months))

    params = {
        "places": all_places,
        "exclude_external": config.methods.diupr_exclude_external_causes,
        "emergency_methods": list(config.methods.emergency_admission_methods),
        "bed_days_nights": config.methods.bed_days == "nights",
        "unit_cost_per_bed_day": config.methods.unit_cost_per_bed_day,
    }
    stems = ["mortality", "mortality_by_age", "place_of_death", "register",
             "activity_last90", "population"]
    frames: dict[str, pl.DataFrame] = {}
    with reporter.progress("Counting", len(stems)) as step:
        for stem in stems:
            result = run_query(con, stem, params)
            assert result is not None
            frames[stem] = result
            reporter.event("query_done", query=stem, rows=result.height)
            step(1)
    # Practices and PCNs, and advance care planning (practice.py): the practice and PCN
    # rows of the register indicators are added to register.sql's own.
    practice_frames = practice.count_planning(con, params)
    frames["register"] = pl.concat([frames["register"], practice_frames["practice_variation"]],
                                   how="diagonal_relaxed")
    frames["advance_care_planning"] = practice_frames["advance_care_planning"]
    population = frames.pop("population")
    available = sorted(int(y) for y in population["year"].unique().to_list())
    counts = _Counts(frames=frames, population=population, population_years=available)
    pop_map, pop_notes = _population_map(headline, available)

    parts: list[pl.DataFrame] = []
    for ind in catalogue:
        if ind.id == PROJECTED_ID:
            rows = _projection_rows(con, config, headline[-1], available, all_places, reporter)
            rows = _apply_method(rows, "C")
        elif ind.method == "DSR":
            rows = _dsr_rows(ind, counts, pop_map)
        else:
            rows = _indicator_rows(ind, frames[ind.query], kinds)
            if ind.method == "R":
                rows = _with_population(rows, counts, pop_map)
            rows = _apply_method(rows, ind.method)
        if ind.method in ("R", "DSR") and pop_notes:
            note = pl.col("period").replace_strict(pop_notes, default="", return_dtype=pl.String)
            base = pl.col("note") if "note" in rows.columns else pl.lit("")
            rows = rows.with_columns(
                pl.when(base == "").then(note)
                .when(note == "").then(base)
                .otherwise(base + pl.lit("; ") + note).alias("note")
            )
        parts.append(rows.with_columns(pl.lit(ind.unit).alias("unit"),
                                       pl.lit(ind.method).alias("method")))
    frame = pl.concat(parts, how="diagonal_relaxed")
    # A Place publishes ethnic group only in the coarser grouping (categories.PLACE_INSTEAD):
    # its finer rows go before disclosure control, so they are neither published nor
    # counted among the sums it protects.
    frame = frame.filter(~((pl.col("area_type") == "place")
                           & pl.col("breakdown").is_in(list(categories.PLACE_INSTEAD))))
    for column in ("value", *_CI_COLUMNS):
        if column not in frame.columns:
            frame = frame.with_columns(pl.lit(None, pl.Float64).alias(column))
    frame = frame.with_columns(
        *(pl.col(c).fill_nan(None) for c in ("value", *_CI_COLUMNS)),
    )
    # Indicators a needed source does not cover (coverage.py): months of the SPC series
    # are left out (the series ends where the data do); a reporting period's rows are
    # held back from disclosure control and published without a value, the reason in
    # their note, after it.
    gaps = coverage.indicator_gaps(catalogue, all_periods, coverage.source_spans(con))
    for line in coverage.warnings(gaps, [p for p in all_periods if p.label not in shadow]):
        reporter.message(line, level="warning")
    frame, held = _hold_back(frame, gaps, kinds)
    frame, quarters = _spc_aggregation(frame, catalogue, spc_months, config.disclosure)
    all_periods = [*all_periods, *quarters]
    kinds.update({q.label: q.kind for q in quarters})
    frame = _compare_to_icb(frame.with_columns(*(pl.col(c).fill_nan(None) for c in (
        "value", *_CI_COLUMNS))))

    # Names, dates, the ICB's code; disclosure; the SII/RII from what disclosure
    # published; then the Place restriction (after disclosure, so that the Places left
    # out still take part in the sums it protects).
    names = {ind.id: ind.name for ind in catalogue}
    period_bounds = {p.label: (p.start, p.end) for p in all_periods}
    for p in projection_years(1900, PROJECTION_LAST_YEAR):
        period_bounds.setdefault(p.label, (p.start, p.end))
    place_names = {p.code: p.name for p in config.places}

    def finish(rows: pl.DataFrame) -> pl.DataFrame:
        rows = rows.with_columns(
            pl.col("indicator_id").replace_strict(names, return_dtype=pl.String)
            .alias("indicator_name"),
            pl.when(pl.col("area_type") == "icb").then(pl.lit(config.icb_code))
            .otherwise(pl.col("area_code")).alias("area_code"),
            pl.when(pl.col("area_type") == "icb").then(pl.lit(config.icb_name))
            .otherwise(pl.col("area_code").replace_strict(
                place_names, default=pl.col("area_code"), return_dtype=pl.String))
            .alias("area_name"),
            pl.col("period").replace_strict({k: v[0] for k, v in period_bounds.items()},
                                            return_dtype=pl.Date).alias("period_start"),
            pl.col("period").replace_strict({k: v[1] for k, v in period_bounds.items()},
                                            return_dtype=pl.Date).alias("period_end"),
            pl.col("suppressed").fill_null(False) if "suppressed" in rows.columns
            else pl.lit(False).alias("suppressed"),
            pl.col("note").fill_null(""),
        )
        return rows.select([pl.col(c).cast(INDICATOR_SCHEMA[c]) for c in INDICATOR_COLUMNS])

    # Breakdowns nested in another (age bands in age groups, practices in PCNs) add up.
    nesting = nested_breakdowns(con.sql("SELECT * EXCLUDE (cell_id, place) FROM death_cells").pl())
    nesting[("gp_practice", "pcn")] = practice.practice_pcns(con)
    raw = finish(frame)
    pools: dict[tuple[str, str, str], list[str]] = {}
    # What earlier publications of these spans gave: this one agrees with them, and
    # what changed since is protected (eolneeds.ledger); then what this one gives.
    spans = {p.label: (p.start, p.end) for p in all_periods}
    before = ledger.published_before(con, spans) if config.disclosure.enabled else []
    published_counts: list[tuple[Key, float, bool]] = []
    frame = apply_disclosure(raw, config.disclosure,
                             exempt_indicators=(PROJECTED_ID,),
                             projection_base=headline[-1].label, nesting=nesting, pools=pools,
                             weights=practice.DISCLOSURE_WEIGHTS,
                             earlier_periods=[p.label for p in earlier_periods],
                             linking_periods=[p.label for p in linking_periods],
                             before=before, record=published_counts)
    if config.disclosure.enabled and publication is not None:
        publication.counts.extend(published_counts)
        publication.spans.update(spans)
    if shadow:  # counted only to be protected against: not published again
        not_shadow = ~pl.col("period").is_in(sorted(shadow))
        frame, raw, held = frame.filter(not_shadow), raw.filter(not_shadow), held.filter(
            not_shadow)
        pools = {k: v for k, v in pools.items() if k[2] not in shadow}
    withheld = _unknown_age_withheld(frame, raw, config.disclosure)
    if withheld:
        shown = ", ".join(withheld[:6]) + (f" and {len(withheld) - 6} more"
                                           if len(withheld) > 6 else "")
        reporter.message(UNKNOWN_AGE_WARNING.format(where=shown), level="warning")
    # Rows of merged categories name what they hold; quintiles an area has no LSOA in
    # are published as 'no residents' (after disclosure: they carry no count).
    frame = categories.mark_empty(categories.with_merge_notes(frame))
    if held.height:
        # The held-back rows (not available), before the 'no residents' rows: a quintile
        # or group with nobody in it is that, whatever the data cover.
        frame = pl.concat([frame, finish(held.with_columns(
            pl.lit("not_compared").alias("comparison"), pl.lit(False).alias("suppressed")))],
            how="vertical")
    frame = pl.concat([frame, categories.no_residents_rows(
        frame, _empty_quintiles(con, all_places)), categories.nobody_rows(frame)],
        how="vertical")
    # No verdict against an ICB value disclosure control hid.
    frame = _withhold_comparisons_with_hidden_icb(frame)
    sii = _sii_rows(frame, catalogue, kinds, disclosure=config.disclosure.enabled, pools=pools,
                    pooled=lambda ind: _pooled_groups(ind, raw, counts, pop_map, pools))
    if sii.height:
        sii = sii.with_columns(pl.lit("not_compared").alias("comparison"),
                               pl.lit(False).alias("suppressed"),
                               pl.when(pl.col("note") == "").then(None)
                               .otherwise(pl.col("note")).alias("note"))
        frame = pl.concat([frame, finish(sii)], how="vertical")
    frame = _not_available(frame, gaps)
    frame = _without_population(frame, con, config, catalogue, reporter)
    if places is not None:
        frame = frame.filter((pl.col("area_type") == "icb") | pl.col("area_code").is_in(places))
    # What-if scenarios, modelled from the published rows (scenarios.py).
    frame = scenarios.add_scenarios(config, con, frame, headline[-1].label, params)
    frame = sort_indicators(frame)
    store_indicators(con, frame)
    practice.store_funnels(con, frame)
    reporter.event("indicators_computed", rows=frame.height)
    return frame


#: Said to the analyst (a warning, never in a published note) where an age-standardised
#: rate is withheld because of deaths of unknown age (the newcomer's finding 6: two deaths
#: with DEC_AGEC 999 hid the ICB's rate).
UNKNOWN_AGE_WARNING = (
    "dsr_all_cause is withheld for {where}: deaths of unknown age there are left out of "
    "the age-standardised rate, and its count set against the number of deaths would give "
    "them away — correct their age in the deaths extract to publish it (eolneeds validate "
    "counts them; the field_actions table has their rows)")


def _unknown_age_withheld(frame: pl.DataFrame, raw: pl.DataFrame,
                          disclosure: Any) -> list[str]:
    """Where a withheld dsr_all_cause row is withheld because of a few deaths of unknown
    age ('Place, period'). A DSR counts deaths by age band, so a death with no age is in
    `deaths` but not in the DSR's count; when 1 to min_count - 1 such deaths fall in an
    area and period, the two published counts would give that small number back, and
    disclosure control withholds the rate. The standard treatment (ONS, OHID: deaths of
    unknown age are excluded from the standardised rate) is kept. The cause goes to the
    analyst only: a published note saying so would tell that 1 to min_count - 1 such
    deaths exist there, the kind of hint the independent audit used to pin hidden counts
    (a withheld row's note must not tell one reason from another)."""
    if not disclosure.enabled:
        return []
    small = disclosure.min_count
    keys = ["area_type", "area_code", "period", "breakdown", "breakdown_value"]
    known = raw.filter(pl.col("indicator_id") == "dsr_all_cause").select(
        *keys, pl.col("numerator").alias("_known"))
    every = raw.filter(pl.col("indicator_id") == "deaths").select(
        *keys, pl.col("numerator").alias("_all"))
    short = known.join(every, on=keys, nulls_equal=True).filter(
        (pl.col("_known") >= small) & (pl.col("_all") - pl.col("_known")).is_between(1, small - 1)
    ).select(*keys)
    if short.height == 0:
        return []
    hit = frame.join(short, on=keys, how="semi", nulls_equal=True).filter(
        (pl.col("indicator_id") == "dsr_all_cause") & pl.col("suppressed").fill_null(False))
    return sorted({f"{name or code} {period}" + ("" if bd == "all" else f" ({bd} {value})")
                   for code, name, period, bd, value in hit.select(
                       "area_code", "area_name", "period", "breakdown",
                       "breakdown_value").iter_rows()})


def _gap_frame(gaps: dict[tuple[str, str], str]) -> pl.DataFrame:
    return pl.DataFrame([(i, p, why) for (i, p), why in gaps.items()],
                        schema={"indicator_id": pl.String, "period": pl.String,
                                "_gap": pl.String}, orient="row")


def _hold_back(frame: pl.DataFrame, gaps: dict[tuple[str, str], str],
               kinds: dict[str, str]) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Split off the rows of indicators and periods the data do not cover: month rows
    are dropped; the others come back as rows with no value (numbers null) and the
    reason as their note, to be published after disclosure control. Disclosure never
    sees them: they publish no count, and every area and breakdown of an indicator and
    period goes together, so no sum is left part-published."""
    if not gaps:
        return frame, frame.clear().with_columns(pl.lit("").alias("note"))
    joined = frame.join(_gap_frame(gaps), on=["indicator_id", "period"], how="left")
    month = pl.col("period").replace_strict(kinds, default="") == "month"
    held = joined.filter(pl.col("_gap").is_not_null() & ~month).with_columns(
        *(pl.lit(None, pl.Float64).alias(c) for c in (
            "numerator", "denominator", "value", *_CI_COLUMNS)),
        pl.col("_gap").alias("note"),
    ).drop("_gap")
    return joined.filter(pl.col("_gap").is_null()).drop("_gap"), held


def _not_available(frame: pl.DataFrame, gaps: dict[tuple[str, str], str]) -> pl.DataFrame:
    """Every row of an indicator and period the data do not cover (the held-back rows
    and the SII/RII computed from them) says why and carries no value."""
    if not gaps:
        return frame
    joined = frame.join(_gap_frame(gaps), on=["indicator_id", "period"], how="left")
    # A group with nobody in it says so (categories.py), whatever the data cover.
    gap = (pl.col("_gap").is_not_null()
           & ~pl.col("note").fill_null("").str.starts_with(categories.NO_RESIDENTS))
    return joined.with_columns(
        *(pl.when(gap).then(None).otherwise(pl.col(c)).alias(c) for c in (
            "numerator", "denominator", "value", *_CI_COLUMNS)),
        pl.when(gap).then(pl.lit("not_compared")).otherwise(pl.col("comparison"))
        .alias("comparison"),
        pl.when(gap).then(False).otherwise(pl.col("suppressed")).alias("suppressed"),
        pl.when(gap).then(pl.col("_gap")).otherwise(pl.col("note")).alias("note"),
    ).select(frame.columns)


def _without_population(frame: pl.DataFrame, con: Any,
                        config: ProjectConfig, catalogue: list[Indicator],
                        reporter: Reporter) -> pl.DataFrame:
    """A Place with no population (coverage.places_without_population, which validate
    warns of): its population-based indicators are published as not available [x], and
    the ICB's too, whose rate would count the Place's deaths without its people; no
    value of those indicators is compared with the ICB's. (With no population at all,
    coverage's gaps already publish them as not available everywhere.) Only hides more
    after disclosure control: nothing it leaves shows a count it hid."""
    # fetchall, not fetchone: an unfinished result makes the next con.register() fail
    # (store_scenarios registers a frame next; DuckDB 2.0).
    if con.execute("SELECT NOT EXISTS (SELECT 1 FROM population)").fetchall() == [(True,)]:
        return frame
    missing = coverage.places_without_population(con, AREAS_VIEW,
                                                 [p.code for p in config.places])
    if not missing:
        return frame
    ids = coverage.population_indicators(catalogue)
    named = ", ".join(f"{config.place_name(code)} ({code})" for code in missing)
    reporter.message(
        f"no population loaded for {named}: {', '.join(ids)} are published as not "
        "available [x] there and for the ICB — load population for its LSOAs "
        "(eolneeds ingest population FILE)", level="warning")
    of_them = pl.col("indicator_id").is_in(ids)
    hit = (of_them & (pl.col("area_code").is_in(missing) | (pl.col("area_type") == "icb"))
           & ~pl.col("note").fill_null("").str.starts_with(categories.NO_RESIDENTS))
    note = (pl.when(pl.col("area_type") == "icb")
            .then(pl.lit(coverage.NO_POPULATION_ICB.format(places=named)))
            .otherwise(pl.lit(coverage.NO_POPULATION_PLACE)))
    return frame.with_columns(
        *(pl.when(hit).then(None).otherwise(pl.col(c)).alias(c) for c in (
            "numerator", "denominator", "value", *_CI_COLUMNS)),
        pl.when(of_them).then(pl.lit("not_compared")).otherwise(pl.col("comparison"))
        .alias("comparison"),
        pl.when(hit).then(False).otherwise(pl.col("suppressed")).alias("suppressed"),
        pl.when(hit).then(note).otherwise(pl.col("note")).alias("note"),
    )


def last_complete_month(data_max: date) -> str:
    """The last month the data cover to its last day: the month of data_max when that
    is the month's last day, else the month before."""
    if (data_max + timedelta(days=1)).month != data_max.month:
        return month_label(data_max)
    return month_label(data_max.replace(day=1) - timedelta(days=1))


def _spc_aggregation(
    frame: pl.DataFrame, catalogue: list[Indicator], spc_months: list[Period],
    disclosure: Any,
) -> tuple[pl.DataFrame, list[Period]]:
    """Per SPC series (indicator x area), keep the monthly rows, replace them by
    financial-year quarters, or drop them, by the rule of eolneeds.spc."""
    by_quarter: dict[str, list[Period]] = {}
    for m in spc_months:
        by_quarter.setdefault(spc.quarter_label(m.start.year, m.start.month), []).append(m)
    quarters = [Period(label, ms[0].start, ms[-1].end, "quarter")
                for label, ms in by_quarter.items() if len(ms) == 3]
    month_of = {m.label: q.label for q in quarters
                for m in by_quarter[q.label]}
    month_labels = [m.label for m in spc_months]
    is_month = pl.col("period").is_in(month_labels)
    spc_ids = {ind.id: ind for ind in catalogue if ind.spc}
    monthly = frame.filter(is_month & pl.col("indicator_id").is_in(list(spc_ids)))
    if monthly.height == 0:
        return frame, []
    summed = (
        monthly.filter(pl.col("period").is_in(list(month_of)))
        .with_columns(pl.col("period").replace_strict(month_of).alias("period"))
        .group_by("indicator_id", "area_type", "area_code", "period", "breakdown",
                  "breakdown_value", "unit", "method")
        .agg(pl.col("numerator").sum(), pl.col("denominator").sum(),
             pl.len().alias("_months"))
        .filter(pl.col("_months") == 3).drop("_months")
    )
    quarter_rows = pl.concat(
        [_apply_method(summed.filter(pl.col("indicator_id") == i), spc_ids[i].method)
         for i in spc_ids], how="diagonal_relaxed")
    min_count = disclosure.min_count if disclosure.enabled else 0
    keep_month, keep_quarter = set(), set()
    for key, rows in monthly.group_by("indicator_id", "area_code"):
        pairs = list(zip(rows["numerator"].to_list(), rows["denominator"].to_list(),
                         strict=True))
        q = quarter_rows.filter((pl.col("indicator_id") == key[0])
                                & pl.col("area_code").eq_missing(key[1]))
        q_pairs = list(zip(q["numerator"].to_list(), q["denominator"].to_list(), strict=True))
        choice = spc.choose_aggregation(pairs, q_pairs, min_count)
        if choice == "month":
            keep_month.add(key)
        elif choice == "quarter":
            keep_quarter.add(key)
    def chosen(rows: pl.DataFrame, keys: set[tuple[Any, ...]]) -> pl.DataFrame:
        wanted = pl.DataFrame(list(keys), schema={"indicator_id": pl.String,
                                                  "area_code": pl.String}, orient="row")
        return rows.join(wanted, on=["indicator_id", "area_code"], how="semi",
                         nulls_equal=True)

    spc_month = is_month & pl.col("indicator_id").is_in(list(spc_ids))
    frame = pl.concat([frame.filter(~spc_month), chosen(frame.filter(spc_month), keep_month)],
                      how="diagonal_relaxed")
    quarter_rows = chosen(quarter_rows, keep_quarter)
    return pl.concat([frame, quarter_rows], how="diagonal_relaxed"), quarters


def months_list(end_month: str, data_min: date) -> list[Period]:
    return months(end_month, SPC_MONTHS, not_before=data_min)


def sort_indicators(frame: pl.DataFrame) -> pl.DataFrame:
    """The deterministic order of ARCHITECTURE.md: indicator (catalogue order would
    differ from id order; ids are what a reader filters on), ICB first, then Place code,
    period, breakdown, value."""
    return frame.with_columns(
        (pl.col("area_type") != "icb").alias("_icb_last")
    ).sort(
        ["indicator_id", "_icb_last", "area_code", "period", "breakdown", "breakdown_value"],
        nulls_last=True, maintain_order=True,
    ).drop("_icb_last")


def store_indicators(con: Any, frame: pl.DataFrame) -> None:
    """Replace table `indicators` in the project database."""
    con.register("indicators_frame", frame.to_arrow())
    try:
        con.execute("CREATE OR REPLACE TABLE indicators AS SELECT * FROM indicators_frame")
    finally:
        con.unregister("indicators_frame")


# ---------------------------------------------------------------------------------------
# The command


@dataclass
class AssessOptions:
    period_end: str | None = None
    months: int | None = None
    places: list[str] = field(default_factory=list)
    formats: list[str] | None = None
    out: Path | None = None
    per_place: bool | None = None
    periods: list[Period] | None = None
    # The periods of an earlier publication readers hold (compute_indicators).
    earlier: list[Period] | None = None
    # Keep the publication in the ledger once its outputs are written (run keeps it
    # itself, once the month's folder is in place: AssessResult.publication).
    keep: bool = True


@dataclass
class AssessResult:
    config: ProjectConfig
    indicators: pl.DataFrame
    headline_period: str
    outputs: list[Path] = field(default_factory=list)
    out_dir: Path | None = None
    used_sample: bool = False
    bundle: ReportBundle | None = None  # what the report writers received
    # What the publication gives, for the ledger (kept already unless options.keep was off).
    publication: ledger.Publication | None = None

    def render_summary(self) -> str:
        """The headline indicators per area for the latest period, with the comparison
        to the ICB, and where the outputs went."""
        return render_summary(self)


def resolve_places(config: ProjectConfig, requested: Sequence[str]) -> list[str] | None:
    """--place values (code or name, any case) -> Place codes; None for all Places."""
    if not requested:
        return None
    codes = []
    for item in requested:
        key = item.strip().casefold()
        match = [p.code for p in config.places
                 if p.code.casefold() == key or p.name.casefold() == key]
        if not match:
            known = ", ".join(f"{p.code} ({p.name})" for p in config.places) or "none"
            raise UsageError(
                f"--place {item!r} is not a Place of this project — use one of: {known}"
            )
        if match[0] not in codes:
            codes.append(match[0])
    return codes


def _formats(config: ProjectConfig, requested: list[str] | None) -> list[str]:
    formats = list(requested) if requested else list(config.outputs.formats)
    for fmt in formats:
        if fmt not in OUTPUT_FORMATS:
            raise UsageError(f"--format {fmt!r} is not an output format — use a comma list of "
                             f"{','.join(OUTPUT_FORMATS)}")
    return formats


def slug(text: str) -> str:
    cleaned = re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-").lower()
    return cleaned or "place"


def _csv_bytes(frame: pl.DataFrame) -> bytes:
    """indicators.csv: UTF-8, text neutralised against formula injection, floats rounded
    to 6 decimals so that float noise cannot change the bytes between runs."""
    exprs = [pl.col(name).round(6) if dtype == pl.Float64 else pl.col(name)
             for name, dtype in frame.schema.items()]
    text = _texts(frame, neutralise).select(exprs).write_csv(line_terminator="\n",
                                                             date_format="%Y-%m-%d")
    return text.encode("utf-8")


def _texts(frame: pl.DataFrame, fix: Callable[[str], str]) -> pl.DataFrame:
    """`frame` with `fix` applied to every text value (once per distinct value)."""
    exprs = []
    for name, dtype in frame.schema.items():
        if dtype == pl.String:
            values = [v for v in frame[name].unique().to_list() if v is not None]
            changed = {v: fix(v) for v in values if fix(v) != v}
            exprs.append(pl.col(name).replace(changed) if changed else pl.col(name))
        else:
            exprs.append(pl.col(name))
    return frame.select(exprs)


def assess_project(
    config: ProjectConfig, options: AssessOptions, *, reporter: Reporter
) -> AssessResult:
    """Compute the indicator table and write the requested outputs into options.out."""
    # The process that shares the Excel packs starts now: its start-up runs on the other
    # core while the table is computed (eolneeds/render.py).
    formats = _formats(config, options.formats)
    per_place = config.outputs.per_place if options.per_place is None else options.per_place
    packs = 1 + (len(options.places or config.places) if per_place else 0)
    outputs = ("html" in formats) + (packs if "xlsx" in formats else 0)
    with worker_for(outputs) as worker:
        return _assess_project(config, options, reporter=reporter, worker=worker)


def _assess_project(config: ProjectConfig, options: AssessOptions, *, reporter: Reporter,
                    worker: PackWorker | None) -> AssessResult:
    from eolneeds.outputs import atomic_output, atomic_write_bytes, build_manifest, write_manifest

    places = resolve_places(config, options.places)
    formats = _formats(config, options.formats)
    per_place = config.outputs.per_place if options.per_place is None else options.per_place
    out_dir = Path(options.out) if options.out is not None else Path.cwd() / DEFAULT_OUT
    from eolneeds.project import check_output_folder

    check_output_folder(out_dir, config.root)  # refused before the work, not after
    publication = ledger.Publication()
    con = connect(config.database_path)
    try:
        frame = compute_indicators(config, con, period_end=options.period_end,
                                   months=options.months, periods=options.periods,
                                   places=places, reporter=reporter, earlier=options.earlier,
                                   publication=publication)
        # England (and the region) beside the ICB, from an ingested Fingertips download.
        from eolneeds.benchmarks import load_benchmarks

        benchmarks = load_benchmarks(
            con, indicator_ids=sorted(frame["indicator_id"].unique().to_list()),
            icb_code=config.icb_code, icb_name=config.icb_name)
    finally:
        con.close()
    headline_period = _headline_period(frame)

    from eolneeds.validate import protect_quality_tables, validate_project

    data_quality = validate_project(config, reporter=reporter).tables
    # The theme tables show [x]; this table says why (coverage.py).
    not_available = coverage.not_available_table(frame)
    if not_available is not None:
        data_quality = [*data_quality, not_available]
    if config.disclosure.enabled:
        # Published outputs: a small count of records is withheld there too.
        data_quality = protect_quality_tables(data_quality, config.disclosure.min_count)
    report_places = places if places is not None else [p.code for p in config.places]
    written: list[Path] = []
    names: list[str] = []
    if "csv" in formats:
        names.append("indicators.csv")
    if "parquet" in formats:
        names.append("indicators.parquet")
    if "html" in formats:
        names.append("report.html")
    if "xlsx" in formats:
        names.append("pack-icb.xlsx")
        if per_place:
            names += [f"pack-{slug(code)}.xlsx" for code in report_places]
    con = connect(config.database_path)
    try:
        # The practice funnel and the scenarios, stored by compute_indicators.
        practices = con.sql("SELECT * FROM practice_funnel").pl()
        pcns = con.sql("SELECT * FROM pcn_funnel").pl()
        scenario_table = con.sql("SELECT * FROM scenario_results").pl()
        manifest = build_manifest(config, con, outputs=[*names, "manifest.json"], extra={
            "periods": sorted(frame["period"].unique().to_list()),
            "headline_period": headline_period,
        })
    finally:
        con.close()
    bundle = ReportBundle(
        config=config, indicators=frame, data_quality=data_quality, manifest=manifest,
        generated_at=datetime.now(UTC), headline_period=headline_period,
        software_version=__version__, places=report_places, benchmarks=benchmarks,
        practices=practices, pcns=pcns, scenarios=scenario_table,
    )
    with reporter.progress("Writing outputs", len(names) + 1) as step:
        if "csv" in formats:
            path = out_dir / "indicators.csv"
            atomic_write_bytes(path, _csv_bytes(frame))
            written.append(path)
            step(1)
        if "parquet" in formats:
            path = out_dir / "indicators.parquet"
            with atomic_output(path) as tmp:
                # Typed: no formula guard, but a control or text-direction character
                # from an input (a practice code) shows as U+FFFD, as in every output.
                _texts(frame, shown_plainly).write_parquet(tmp)
            written.append(path)
            step(1)
        targets: list[tuple[Path, str | None]] = []
        if "xlsx" in formats:
            targets.append((out_dir / "pack-icb.xlsx", None))
            if per_place:
                targets += [(out_dir / f"pack-{slug(c)}.xlsx", c) for c in report_places]
        if "html" in formats or targets:
            # One call for the report and every pack: the rows the packs share are built
            # once per process, and the worker writes packs alongside this process.
            # Each file is written atomically.
            rendered = write_outputs(
                bundle, html=out_dir / "report.html" if "html" in formats else None,
                packs=targets, written=lambda _path: step(1),
                worker=worker if worker is not None else False)
            written += [output.path for output in rendered]
        path = out_dir / "manifest.json"
        write_manifest(path, manifest)
        written.append(path)
        step(1)
    for path in written:
        reporter.event("output_written", path=str(path))
    if options.keep:
        # Out: readers hold it now (not before: a failed write published nothing).
        ledger.keep(config.database_path, publication, datetime.now(UTC))
    return AssessResult(config=config, indicators=frame, headline_period=headline_period,
                        outputs=written, out_dir=out_dir, bundle=bundle,
                        publication=publication)


def _headline_period(frame: pl.DataFrame) -> str:
    """The latest reporting period (not a month, not a projection year)."""
    periods = (
        frame.filter(pl.col("indicator_id") == "deaths")
        .filter(pl.col("breakdown") != "all")  # months carry only the total
        .select("period", "period_end").unique().sort("period_end")
    )
    return str(periods["period"][-1]) if periods.height else ""


def assess_command(
    project: Path | None, options: AssessOptions, *, reporter: Reporter
) -> AssessResult:
    """`eolneeds assess`: the project given (or here), else the bundled synthetic sample."""
    root = find_project(project)
    if root is not None:
        return assess_project(load_config(root), options, reporter=reporter)
    from eolneeds import sample

    reporter.message(
        "No eolneeds.toml here and no --project: using the bundled synthetic sample "
        "(made-up data, for a first look). Run `eolneeds init DIR` to start a real project."
    )
    with tempfile.TemporaryDirectory(prefix="eolneeds-sample-") as workdir:
        config = sample.bundled_project(Path(workdir), reporter=reporter)
        result = assess_project(config, options, reporter=reporter)
    result.used_sample = True
    return result


# ---------------------------------------------------------------------------------------
# The CLI summary

_SUMMARY_FORMAT = {"%": "{:.1f}%", "per 100,000": "{:.0f}", "count": "{:,.0f}"}


def _cell(row: dict[str, Any] | None, unit: str, polarity: str) -> str:
    if row is None:
        return "-"
    if row["suppressed"]:
        return "*"
    if row["value"] is None:
        return "-"
    text = _SUMMARY_FORMAT.get(unit, "{:.1f}").format(row["value"])
    if row["comparison"] in (None, "", "not_compared"):
        return text
    # The same words as the HTML report and the Excel packs (formatting.judge).
    return f"{text} {judge(row['comparison'], polarity).words.lower()}"


def render_summary(result: AssessResult) -> str:
    headline = [ind for ind in load_catalogue() if ind.headline]
    frame = result.indicators.filter(
        (pl.col("period") == result.headline_period) & (pl.col("breakdown") == "all")
        & pl.col("indicator_id").is_in([i.id for i in headline])
    )
    lookup = {(r["indicator_id"], r["area_code"]): r for r in frame.iter_rows(named=True)}
    areas = (
        frame.select("area_type", "area_code", "area_name").unique()
        .with_columns((pl.col("area_type") != "icb").alias("_o"))
        .sort(["_o", "area_code"])
    )
    header = ["Area", *[ind.id for ind in headline]]
    rows = [
        [f"{a['area_name']} ({a['area_code']})",
         *[_cell(lookup.get((ind.id, a["area_code"])), ind.unit, ind.polarity)
           for ind in headline]]
        for a in areas.iter_rows(named=True)
    ]
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    lines = [f"{result.config.icb_name}: headline indicators, {result.headline_period}"]
    for row in [header, ["-" * w for w in widths], *rows]:
        lines.append("  ".join(c.ljust(w) if i == 0 else c.rjust(w)
                               for i, (c, w) in enumerate(zip(row, widths, strict=True))).rstrip())
    units: dict[str, list[str]] = {}
    for ind in headline:
        units.setdefault(ind.unit, []).append(ind.id)
    lines.append("Units: " + "; ".join(f"{', '.join(ids)}: {unit}"
                                       for unit, ids in units.items()) + ".")
    lines.append("Compared with the ICB at 95%: higher / lower / similar, with (better) or "
                 "(worse) where the indicator has a better direction; * suppressed "
                 "(small numbers).")
    lines.append(suppression_tally(result.indicators).sentence()
                 + " The indicator table's note column names the rule of each.")
    if result.used_sample:
        lines.append("Synthetic sample data: not real people.")
    if result.outputs:
        lines.append("Written:")
        lines += [f"  {p}" for p in result.outputs]
    return "\n".join(lines)
