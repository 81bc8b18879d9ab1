"""The categories a breakdown is published in, and the rows of groups with no residents.

Merged categories (issue 11.2). A rare category would be suppressed in nearly every
Place and then hide a larger neighbour as its complement; instead it is published merged
into a documented wider category, before disclosure control. At Place, ethnic group is
published coarser still (PLACE_INSTEAD: white, the other groups together, not known),
the ICB giving both groupings. The merge is fixed
(eolneeds/reference/published_categories.csv), not chosen from the data: the same
published categories in every Place, for the ICB and in every run, so tables stay
comparable and no difference between two Places' (or two runs') categories gives a rare
count back. deaths_in_scope.sql maps each death's recorded category to its published
one, so every query and indicator breaks down the same way; the rows of a merged
category say in their note which recorded categories they contain.

No residents. A Place with no LSOA in a deprivation quintile has no one to count there:
its rows for that quintile are published as structurally empty (no value, note
NO_RESIDENTS_NOTE; '[z]' in the packs, 'no residents' in the report), not left out and
not hidden. They are added after disclosure control and carry no count, so they are
never a complementary cell nor an unknown of its arithmetic, and the SII/RII treat the
quintile as absent (it has no value), not as withheld. Likewise a group with nobody in
it: a percentage, mean or median with denominator 0 (mark_empty), and the published
cause and ethnic groups an area has nobody in (nobody_rows), say NOBODY_NOTE.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from eolneeds.resources import reference_file

if TYPE_CHECKING:  # polars is imported where it is used: formatting (and the CLI's
    import polars as pl  # start-up) reads the labels here without it

NO_RESIDENTS = "no residents"
NO_RESIDENTS_NOTE = ("no residents: the area has no LSOA in this deprivation quintile "
                     "(structurally empty, not suppressed)")
NOBODY_NOTE = ("no residents: nobody in this group in the area and period (structurally "
               "empty, not suppressed)")
#: Breakdowns whose published categories are fixed (published_categories.csv): each
#: area gets a row for every category of the indicators measured on its own people.
CATEGORY_BREAKDOWNS = ("cause_group", "ethnic_group", "ethnic_group_broad")
#: Breakdowns a Place publishes in a coarser one instead (its rows are dropped before
#: disclosure control; the ICB keeps both, and the finer one's categories nest in the
#: coarser one's, a sum disclosure control protects, disclosure.nested_breakdowns). At
#: Place the Asian, Black and Mixed-or-Other groups are mostly 1-7 people per share
#: (BENCHMARKS.md, 2026-12-03 ethnic group at Place): together they mostly are not.
PLACE_INSTEAD = {"ethnic_group": "ethnic_group_broad"}
QUINTILES = ("1", "2", "3", "4", "5")


@dataclass(frozen=True)
class Category:
    breakdown: str
    recorded: str  # the category as the data record it (canonical value)
    published: str  # the category it is published in
    label: str  # the published category's label
    member_label: str  # the recorded category as a reader names it inside a merged one
    #                    ('neurodegenerative disease', 'HIV'); '' where not merged
    why: str  # why it is merged ('' where it is published as recorded)


@lru_cache(maxsize=1)
def load_categories() -> tuple[Category, ...]:
    text = reference_file("published_categories.csv").read_text(encoding="utf-8")
    return tuple(Category(**row) for row in csv.DictReader(io.StringIO(text, newline="")))


def published_values(breakdown: str) -> list[str]:
    """The published categories of a breakdown, in reference order (each once)."""
    out: list[str] = []
    for c in load_categories():
        if c.breakdown == breakdown and c.published not in out:
            out.append(c.published)
    return out


def members(breakdown: str, published: str) -> list[str]:
    """The recorded categories a published category contains."""
    return [c.recorded for c in load_categories()
            if c.breakdown == breakdown and c.published == published]


def labels() -> dict[str, str]:
    """published category -> its label, for the merged categories (the others keep the
    labels the outputs already give them)."""
    return {c.published: c.label for c in load_categories() if c.why}


@dataclass(frozen=True)
class Merge:
    breakdown: str
    published: str
    label: str
    members: tuple[str, ...]  # the recorded categories (codes, as in the data)
    why: str
    member_labels: tuple[str, ...] = ()  # the same as readers name them

    @property
    def holds(self) -> str:
        """What it holds in the words of the outputs: 'neurodegenerative disease + HIV',
        'mixed + other ethnic groups' (never the codes 'neurodegenerative + hiv')."""
        return " + ".join(self.member_labels or self.members)

    @property
    def note(self) -> str:
        """What the indicator table says on each row of the merged category."""
        return (f"merged category: {self.label} = {self.holds} "
                "(rare categories published together)")


def merges() -> list[Merge]:
    """The published categories that merge two or more recorded ones."""
    out: list[Merge] = []
    for c in load_categories():
        if any(m.published == c.published and m.breakdown == c.breakdown for m in out):
            continue
        inside = [m for m in load_categories()
                  if m.breakdown == c.breakdown and m.published == c.published]
        if len(inside) > 1:
            out.append(Merge(c.breakdown, c.published, c.label,
                             tuple(m.recorded for m in inside), c.why,
                             tuple(m.member_label or m.recorded for m in inside)))
    return out


def load_reference_table(con: Any) -> None:
    """ref_published_categories(breakdown, recorded, published) for deaths_in_scope.sql."""
    con.execute("CREATE OR REPLACE TEMP TABLE ref_published_categories "
                "(breakdown VARCHAR, recorded VARCHAR, published VARCHAR)")
    con.executemany("INSERT INTO ref_published_categories VALUES (?, ?, ?)",
                    [(c.breakdown, c.recorded, c.published) for c in load_categories()])


def with_merge_notes(frame: pl.DataFrame) -> pl.DataFrame:
    """Say on every row of a merged category which recorded categories it holds
    (cause group within quintile too: '1: neurodegenerative_hiv')."""
    import polars as pl

    out = frame
    for m in merges():
        value = pl.col("breakdown_value")
        is_merged = ((pl.col("breakdown") == m.breakdown) & (value == m.published)) | (
            (pl.col("breakdown") == f"{m.breakdown}_imd_quintile")
            & value.str.ends_with(f": {m.published}"))
        note = pl.col("note").fill_null("")
        out = out.with_columns(
            pl.when(is_merged & (note == "")).then(pl.lit(m.note))
            .when(is_merged).then(note + pl.lit("; " + m.note))
            .otherwise(pl.col("note")).alias("note"))
    return out


def is_no_residents(row: dict[str, Any] | None) -> bool:
    """True for a row published as structurally empty (no residents)."""
    return bool(row) and str((row or {}).get("note") or "").startswith(NO_RESIDENTS)


def no_residents_rows(frame: pl.DataFrame, empty_quintiles: set[tuple[str | None, str]],
                      ) -> pl.DataFrame:
    """Rows for the deprivation quintiles an area has no LSOA in, for every indicator
    and period that has quintile rows: no value, NO_RESIDENTS_NOTE, not suppressed.

    `empty_quintiles` holds (Place code, quintile), and (None, quintile) for the ICB.
    `frame` is the indicator table (INDICATOR_SCHEMA columns) before the SII/RII rows."""
    import polars as pl

    if not empty_quintiles:
        return frame.clear()
    quintile_rows = frame.filter((pl.col("breakdown") == "imd_quintile")
                                 & pl.col("breakdown_value").is_in(list(QUINTILES)))
    if quintile_rows.height == 0:
        return frame.clear()
    # One template row per indicator, area and period with quintile rows: the area's
    # names and the indicator's unit and method, with every figure empty.
    templates = quintile_rows.unique(["indicator_id", "area_type", "area_code", "period"],
                                     keep="first", maintain_order=True)
    # Areas without any quintile row of an indicator (a Place whose every quintile row
    # is missing) still need theirs: every area of the table, per indicator and period.
    areas = frame.select("area_type", "area_code", "area_name").unique()
    periods = templates.select("indicator_id", "period").unique()
    base = templates.drop("area_type", "area_code", "area_name").unique(
        ["indicator_id", "period"], keep="first")
    grid = periods.join(areas, how="cross").join(base, on=["indicator_id", "period"])
    icb = frame.filter(pl.col("area_type") == "icb")["area_code"].unique().to_list()
    wanted = pl.DataFrame(
        [(code if code is not None else (icb[0] if icb else None),
          "icb" if code is None else "place", q) for code, q in sorted(
              empty_quintiles, key=lambda t: (t[0] or "", t[1]))],
        schema={"area_code": pl.String, "area_type": pl.String, "breakdown_value": pl.String},
        orient="row")
    rows = grid.drop("breakdown_value").join(wanted, on=["area_type", "area_code"])
    present = quintile_rows.select("indicator_id", "area_code", "period", "breakdown_value")
    rows = rows.join(present, on=["indicator_id", "area_code", "period", "breakdown_value"],
                     how="anti", nulls_equal=True)
    figures = ("numerator", "denominator", "value", "lower_ci_95", "upper_ci_95",
               "lower_ci_99_8", "upper_ci_99_8")
    rows = rows.with_columns(
        *(pl.lit(None, frame.schema[c]).alias(c) for c in figures if c in frame.columns),
        pl.lit("imd_quintile").alias("breakdown"),
        pl.lit("not_compared").alias("comparison"),
        pl.lit(False).alias("suppressed"),
        pl.lit(NO_RESIDENTS_NOTE).alias("note"),
    )
    return rows.select([pl.col(c).cast(frame.schema[c]) for c in frame.columns])


def nobody_rows(frame: pl.DataFrame) -> pl.DataFrame:
    """Rows for the published cause and ethnic groups that have nobody in them in an
    area and period, for the percentages, means and medians of the group's own people
    (method P, M, Q; not a share of all deaths such as cause_group_pct, whose empty
    group is a real 0%): no value, NOBODY_NOTE, not suppressed. The query has no row
    for a group with nobody in it; this says so instead of leaving it out. A count of
    a group with nobody in it is a real 0 and stays as the query gives it."""
    import polars as pl

    from eolneeds.catalogue import indicator_by_id

    entries = indicator_by_id()
    own_people = [i for i, e in entries.items() if e.method in ("P", "M", "Q")
                  and e.denominator_column not in ("cause_denominator", "")]
    rows = frame.filter(pl.col("breakdown").is_in(list(CATEGORY_BREAKDOWNS))
                        & pl.col("indicator_id").is_in(own_people))
    if rows.height == 0:
        return frame.clear()
    areas = frame.select("area_type", "area_code", "area_name").unique()
    base = rows.unique(["indicator_id", "period", "breakdown"], keep="first").drop(
        "area_type", "area_code", "area_name", "breakdown_value")
    values = pl.DataFrame(
        [(bd, v) for bd in CATEGORY_BREAKDOWNS for v in published_values(bd)],
        schema={"breakdown": pl.String, "breakdown_value": pl.String}, orient="row")
    grid = base.join(areas, how="cross").join(values, on="breakdown").filter(
        ~((pl.col("area_type") == "place") & pl.col("breakdown").is_in(list(PLACE_INSTEAD))))
    grid = grid.join(rows.select("indicator_id", "area_code", "period", "breakdown",
                                 "breakdown_value"),
                     on=["indicator_id", "area_code", "period", "breakdown",
                         "breakdown_value"], how="anti", nulls_equal=True)
    figures = ("numerator", "denominator", "value", "lower_ci_95", "upper_ci_95",
               "lower_ci_99_8", "upper_ci_99_8")
    grid = grid.with_columns(
        *(pl.lit(None, frame.schema[c]).alias(c) for c in figures if c in frame.columns),
        pl.lit("not_compared").alias("comparison"),
        pl.lit(False).alias("suppressed"),
        pl.lit(NOBODY_NOTE).alias("note"),
    )
    return grid.select([pl.col(c).cast(frame.schema[c]) for c in frame.columns])


def mark_empty(frame: pl.DataFrame) -> pl.DataFrame:
    """A published percentage, mean or median whose denominator is 0 (nobody in the
    group: need deaths in the 'other' cause group, people with a DNACPR decision in a
    quintile) has no value: it says 'no residents' (NOBODY_NOTE) instead of looking
    like a gap. Hidden rows keep their own note."""
    import polars as pl

    empty = (pl.col("method").is_in(["P", "M", "Q"]) & (pl.col("denominator") == 0)
             & pl.col("value").is_null() & ~pl.col("suppressed").fill_null(False))
    note = pl.col("note").fill_null("")
    return frame.with_columns(
        pl.when(empty & (note == "")).then(pl.lit(NOBODY_NOTE))
        .when(empty & ~note.str.starts_with(NO_RESIDENTS))
        .then(pl.lit(NOBODY_NOTE + "; ") + note)
        .otherwise(pl.col("note")).alias("note"))
