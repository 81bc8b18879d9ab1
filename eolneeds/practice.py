"""GP practice and Primary Care Network variation, and advance care planning (issue 13).

Counting is SQL (queries/planning_deaths.sql, practice_variation.sql,
advance_care_planning.sql); this module runs those queries for assess, protects the
practice and PCN rows of the indicator table from differencing, and builds the practice
funnel table the report and the Excel pack show.

Where the rows live: practices and PCNs are breakdowns of the ICB (`area_type = 'icb'`,
`breakdown = 'gp_practice' | 'pcn'`, `breakdown_value` the ODS code, 'unknown' for
deaths with no practice or a practice missing from the PCN lookup, and PCN 'no_pcn'
("No PCN") for practices that ODS's practice list names but no PCN holds). Every death has one
practice and every practice one PCN, so three sets of rows add up: the practices to the
ICB, the PCNs to the ICB, and each PCN's practices to the PCN. disclosure.py protects all
three with the rest of the table (assess passes the practice-to-PCN lookup as a nested
breakdown), exact check included: a hidden count of 1-7, or a small remainder such as
need deaths not identified, cannot be worked out from any combination of them.

Which counts are hidden with a small one (DISCLOSURE_WEIGHTS): at a practice almost
every small count is a remainder inside need deaths on a register (registered deaths
without a need cause; need deaths on a register without a DNACPR decision, a plan or a
preference). Left to the smallest row cost, disclosure control hid need deaths on the
register, which protects them all at once and blanks the funnel (98 of 112 practices of
the bundled sample in 2025-26, on main 2773d6c). The funnel's rows weigh as a headline
row, so the complement falls on the planning and register counts instead and the funnel
is published wherever its own counts allow (110 of 112; BENCHMARKS.md). The price: the
median days on the register and late identification, which stand on all deaths on a
register, are published for fewer practices.

A hidden practice says why in the same words in the funnel table, the report and the
pack: the rule of its note (bundle.suppression_reason), never which step of disclosure
control hid it (a count of 1-7 or its complement: disclosure.suppressed_note says why).

The funnel: each practice's share of need deaths identified before death against the
ICB's, with control limits from methods.funnel_limits_proportion (95% and 99.8%); a
practice outside the 99.8% limits is flagged. Built from the indicator table after
disclosure control, so a hidden practice shows no value, no size and no limits.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl

from eolneeds.bundle import suppression_reason
from eolneeds.disclosure import HEADLINE_WEIGHT

PRACTICE = "gp_practice"
PCN = "pcn"
UNKNOWN = "unknown"
#: The PCN of a practice in no Primary Care Network (planning_deaths.sql).
NO_PCN = "no_pcn"
NO_PCN_NAME = "No PCN"


def shown_pcn(code: str | None, unknown: str | None) -> str | None:
    """A PCN code as tables show it: 'No PCN' for a practice in none, `unknown` for a
    practice the lookup does not know."""
    return {UNKNOWN: unknown, NO_PCN: NO_PCN_NAME}.get(str(code), code)
#: The indicator of the practice funnel (INDICATORS.md: identified among need deaths).
FUNNEL_INDICATOR = "on_register_need_pct"
#: What the funnel's rows weigh when disclosure control chooses complementary counts
#: (disclosure._row_cost; any other breakdown row weighs 1): as much as a headline row,
#: so that the small remainders around need deaths on a register are protected by
#: hiding a planning or register count rather than the funnel's (module docstring).
DISCLOSURE_WEIGHTS = {(FUNNEL_INDICATOR, PRACTICE): HEADLINE_WEIGHT,
                      (FUNNEL_INDICATOR, PCN): HEADLINE_WEIGHT}

FUNNEL_SCHEMA: dict[str, Any] = {
    "period": pl.String, "practice_code": pl.String, "practice_name": pl.String,
    "pcn_code": pl.String, "pcn_name": pl.String, "place": pl.String,
    "need_deaths": pl.Float64, "identified": pl.Float64, "value": pl.Float64,
    "icb_value": pl.Float64, "lower_95": pl.Float64, "upper_95": pl.Float64,
    "lower_99_8": pl.Float64, "upper_99_8": pl.Float64, "z": pl.Float64,
    "position": pl.String, "register_days_median": pl.Float64,
    "register_late_pct": pl.Float64, "acp_need_pct": pl.Float64, "suppressed": pl.Boolean,
    "reason": pl.String,
}
PCN_FUNNEL_SCHEMA: dict[str, Any] = {
    "period": pl.String, "pcn_code": pl.String, "pcn_name": pl.String,
    "practices": pl.Int64, "need_deaths": pl.Float64, "identified": pl.Float64,
    "value": pl.Float64, "icb_value": pl.Float64, "lower_95": pl.Float64,
    "upper_95": pl.Float64, "lower_99_8": pl.Float64, "upper_99_8": pl.Float64,
    "z": pl.Float64, "position": pl.String, "register_days_median": pl.Float64,
    "register_late_pct": pl.Float64, "acp_need_pct": pl.Float64, "suppressed": pl.Boolean,
    "reason": pl.String,
}
POSITIONS = {
    "below_99_8": "below the 99.8% limit",
    "below_95": "below the 95% limit",
    "within": "within the limits",
    "above_95": "above the 95% limit",
    "above_99_8": "above the 99.8% limit",
    "not_compared": "not compared: the ICB's figure is not published",
    "suppressed": "not shown (small numbers)",
}


def count_planning(con: Any, params: dict[str, Any]) -> dict[str, pl.DataFrame]:
    """Run the practice and advance-care-planning queries (deaths_in_scope and
    assess_periods must exist on `con`); leaves TEMP table planning_deaths behind."""
    from eolneeds.assess import run_query

    run_query(con, "planning_deaths", params)
    out = {}
    for stem in ("practice_variation", "advance_care_planning"):
        result = run_query(con, stem, params)
        assert result is not None
        out[stem] = result
    return out


def practice_pcns(con: Any) -> dict[str, str]:
    """practice code -> PCN code, as planning_deaths assigned them."""
    rows = con.execute("SELECT DISTINCT gp_practice, pcn FROM planning_deaths").fetchall()
    return {str(p): str(c) for p, c in rows}


# ---------------------------------------------------------------------------------------
# The practice funnel


def practice_lookup(con: Any) -> pl.DataFrame:
    """practice_code, practice_name, pcn_code, pcn_name, place (the Place where most of
    the practice's deaths in scope lived; ties to the lower code) for every practice of
    planning_deaths, names from the ingested PCN lookup where present."""
    return con.sql("""
        WITH per_place AS (
            SELECT gp_practice, place, count(*) AS n
            FROM planning_deaths GROUP BY ALL
        ),
        home AS (
            SELECT gp_practice, place FROM (
                SELECT *, row_number() OVER (PARTITION BY gp_practice
                                             ORDER BY n DESC, place) AS choice
                FROM per_place)
            WHERE choice = 1
        ),
        pcn AS (SELECT DISTINCT gp_practice, pcn FROM planning_deaths),
        names AS (
            SELECT practice_code, arg_max(practice_name, coalesce(end_date, DATE '9999-12-31'))
                AS practice_name
            FROM practices GROUP BY practice_code
        ),
        pcn_names AS (
            SELECT pcn_code, arg_max(pcn_name, coalesce(end_date, DATE '9999-12-31'))
                AS pcn_name
            FROM practices WHERE pcn_code IS NOT NULL GROUP BY pcn_code
        )
        SELECT h.gp_practice AS practice_code, n.practice_name, c.pcn AS pcn_code,
               pn.pcn_name, h.place
        FROM home AS h
        JOIN pcn AS c USING (gp_practice)
        LEFT JOIN names AS n ON n.practice_code = h.gp_practice
        LEFT JOIN pcn_names AS pn ON pn.pcn_code = c.pcn
        ORDER BY practice_code
    """).pl()


def _position(value: np.ndarray, lo95: np.ndarray, hi95: np.ndarray, lo998: np.ndarray,
              hi998: np.ndarray) -> list[str]:
    out = []
    for v, a, b, c, d in zip(value, lo95, hi95, lo998, hi998, strict=True):
        if np.isnan(v):
            out.append("suppressed")
        elif np.isnan(a):
            out.append("not_compared")  # no ICB figure (hidden) to draw limits around
        elif v < c:
            out.append("below_99_8")
        elif v > d:
            out.append("above_99_8")
        elif v < a:
            out.append("below_95")
        elif v > b:
            out.append("above_95")
        else:
            out.append("within")
    return out


def _funnel(indicators: pl.DataFrame, breakdown: str, code: str) -> pl.DataFrame | None:
    """Per `breakdown` value (a practice or a PCN, in column `code`) and period: the
    share of need deaths identified against the ICB's, funnel limits, position,
    standardised difference z = (p - p0) / sqrt(p0 (1 - p0) / n), and beside it the
    median days on the register, late identification and advance care plans. From the
    disclosed indicator table: a hidden row keeps no value, size or limits."""
    # Here, not at the top: the Excel packs' worker process imports this module for
    # POSITIONS only, and methods brings in scipy (0.7 s of start-up it does not need).
    from eolneeds.methods import funnel_limits_proportion

    rows = indicators.filter((pl.col("area_type") == "icb") & (pl.col("breakdown") == breakdown))
    base = rows.filter(pl.col("indicator_id") == FUNNEL_INDICATOR)
    if base.height == 0:
        return None
    icb = indicators.filter((pl.col("area_type") == "icb") & (pl.col("breakdown") == "all")
                            & (pl.col("indicator_id") == FUNNEL_INDICATOR)).select(
        "period", pl.col("value").alias("icb_value"))
    frame = base.select(
        "period", pl.col("breakdown_value").alias(code),
        pl.col("denominator").alias("need_deaths"), pl.col("numerator").alias("identified"),
        "value", "suppressed",
        pl.when(pl.col("suppressed")).then(pl.col("note").map_elements(
            suppression_reason, return_dtype=pl.String)).alias("reason"),
    ).join(icb, on="period", how="left")
    for ind in ("register_days_median", "register_late_pct", "acp_need_pct"):
        frame = frame.join(rows.filter(pl.col("indicator_id") == ind).select(
            "period", pl.col("breakdown_value").alias(code), pl.col("value").alias(ind)),
            on=["period", code], how="left")
    p0 = frame["icb_value"].fill_null(np.nan).to_numpy() / 100
    n = frame["need_deaths"].fill_null(0).to_numpy().astype(float)
    limits = {}
    for level, suffix in ((0.95, "95"), (0.998, "99_8")):
        lo = np.full(frame.height, np.nan)
        hi = np.full(frame.height, np.nan)
        for p in np.unique(p0[~np.isnan(p0)]):
            sel = p0 == p
            lo[sel], hi[sel] = funnel_limits_proportion(float(p), n[sel], level)
        limits[f"lower_{suffix}"] = np.where(n > 0, lo * 100, np.nan)
        limits[f"upper_{suffix}"] = np.where(n > 0, hi * 100, np.nan)
    value = frame["value"].fill_null(np.nan).to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        z = (value / 100 - p0) / np.sqrt(p0 * (1 - p0) / n)
    hidden = frame["suppressed"].to_numpy()
    position = _position(np.where(hidden, np.nan, value), limits["lower_95"],
                         limits["upper_95"], limits["lower_99_8"], limits["upper_99_8"])
    return frame.with_columns(
        *(pl.Series(k, np.where(hidden, np.nan, v)) for k, v in limits.items()),
        pl.Series("z", np.where(hidden | (n <= 0), np.nan, z)),
        pl.Series("position", position, dtype=pl.String),
    ).with_columns(*(pl.col(c).fill_nan(None) for c in (
        "lower_95", "upper_95", "lower_99_8", "upper_99_8", "z")))


def funnel_table(indicators: pl.DataFrame, lookup: pl.DataFrame) -> pl.DataFrame:
    """FUNNEL_SCHEMA: one row per practice and period (months and projections have no
    practice rows), with its names, PCN and Place from `lookup` (practice_lookup)."""
    frame = _funnel(indicators, PRACTICE, "practice_code")
    if frame is None:
        return pl.DataFrame(schema=FUNNEL_SCHEMA)
    frame = frame.join(lookup, on="practice_code", how="left")
    return frame.select([pl.col(c).cast(t) for c, t in FUNNEL_SCHEMA.items()]).sort(
        ["period", "practice_code"])


def pcn_funnel_table(indicators: pl.DataFrame, lookup: pl.DataFrame) -> pl.DataFrame:
    """PCN_FUNNEL_SCHEMA: the same per Primary Care Network, with its name and how many
    of the ICB's practices (with deaths in scope) it holds."""
    frame = _funnel(indicators, PCN, "pcn_code")
    if frame is None:
        return pl.DataFrame(schema=PCN_FUNNEL_SCHEMA)
    pcns = lookup.group_by("pcn_code").agg(
        pl.col("pcn_name").drop_nulls().first(), pl.len().alias("practices"))
    frame = frame.join(pcns, on="pcn_code", how="left")
    return frame.select([pl.col(c).cast(t) for c, t in PCN_FUNNEL_SCHEMA.items()]).sort(
        ["period", "pcn_code"])


def store_funnels(con: Any, indicators: pl.DataFrame) -> None:
    """Tables `practice_funnel` and `pcn_funnel` of the project database, from the
    disclosed indicator table (planning_deaths must exist on `con`)."""
    lookup = practice_lookup(con)
    for table, frame in (("practice_funnel", funnel_table(indicators, lookup)),
                         ("pcn_funnel", pcn_funnel_table(indicators, lookup))):
        con.register("funnel_frame", frame.to_arrow())
        try:
            con.execute(f"CREATE OR REPLACE TABLE {table} AS SELECT * FROM funnel_frame")
        finally:
            con.unregister("funnel_frame")


def place_members(funnel: pl.DataFrame | None, place: str) -> tuple[set[str], set[str]]:
    """(practice codes, PCN codes) of a Place: the practices whose deaths in scope mostly
    lived there (practice_lookup, the funnel's `place`; one Place per practice over all
    periods) and the PCNs holding them, 'No PCN' included where one of them is in none.
    Deaths with no known practice or PCN ('unknown') belong to no Place: that row counts
    them ICB-wide, whichever Place most of them lived in. No funnel: no members."""
    if funnel is None or funnel.height == 0:
        return set(), set()
    mine = funnel.filter((pl.col("place") == place) & (pl.col("practice_code") != UNKNOWN))
    practices = set(mine["practice_code"].drop_nulls().to_list())
    pcns = set(mine["pcn_code"].drop_nulls().to_list()) - {UNKNOWN}
    return practices, pcns


def place_practices(funnel: pl.DataFrame, period: str, place: str) -> pl.DataFrame:
    """The funnel rows of a Place's practices (place_members) in `period`: the one rule
    for which practices a Place shows, in its report section (report_practice) and its
    pack (practice_sheets). The ICB-wide row of deaths with no known practice is in no
    Place, whichever Place most of those deaths lived in."""
    practices, _ = place_members(funnel, place)
    return funnel.filter((pl.col("period") == period)
                         & pl.col("practice_code").is_in(sorted(practices)))


def furthest_below(funnel: pl.DataFrame, period: str, place: str, limit: int = 5
                   ) -> pl.DataFrame:
    """The practices of a Place (place_practices) furthest below the ICB in
    identification, most negative z first; hidden practices never listed."""
    return place_practices(funnel, period, place).filter(
        ~pl.col("suppressed") & (pl.col("z") < 0)
    ).sort(["z", "practice_code"]).head(limit)
