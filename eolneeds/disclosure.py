"""Small-number disclosure control for the indicator table (DESIGN.md section 8).

Applied last, to the whole long table, by `apply_disclosure`:

1. Primary suppression: a count from 1 to min_count - 1 (default 1-7) is hidden. The
   count protected depends on the method: the numerator of counts, proportions and
   rates; the number of people behind a mean, a median or a cost (the denominator); for
   proportions the denominator too (5 of 5 tells the same story as 0 of 5 does not).
2. Publication rules (ONS mortality practice, applied whatever min_count is because
   they are about reliability): directly standardised rates are not published below 10
   events, crude rates below 3; rates on fewer than 20 events are noted as unreliable.
3. Secondary suppression: a single hidden cell could be recovered by subtracting the
   others from the total. Within each breakdown set (indicator x area x period x
   breakdown) and within each set of Places (which add up to the ICB), if exactly one
   cell is hidden the next-smallest cell is hidden too. Repeated until nothing changes.
4. SII/RII rows built on a hidden quintile are hidden.
5. Optional rounding of the remaining counts to the nearest 5 or 10.

A hidden row keeps no value, no intervals and no numerator or denominator;
`suppressed` is true and `note` names the rule. 0 is never suppressed (it discloses
nobody). `min_count = 0` (or 1) turns 1, 3 and 5 off; modelled projections are exempt.
"""

from __future__ import annotations

from collections.abc import Iterable

import polars as pl

from eolneeds.config import DisclosureConfig

DSR_MIN_EVENTS = 10
CRUDE_RATE_MIN_EVENTS = 3
RELIABLE_MIN_EVENTS = 20
SUMMARY_VALUES = ("SII", "RII")
_VALUE_COLUMNS = (
    "numerator", "denominator", "value", "lower_ci_95", "upper_ci_95",
    "lower_ci_99_8", "upper_ci_99_8",
)


def primary_note(min_count: int) -> str:
    return f"suppressed: count of 1-{min_count - 1} (primary suppression)"


SECONDARY_NOTE = "suppressed: would reveal a suppressed cell from the total (secondary suppression)"
DSR_NOTE = f"not published: fewer than {DSR_MIN_EVENTS} events for a standardised rate (ONS)"
CRUDE_NOTE = f"not published: fewer than {CRUDE_RATE_MIN_EVENTS} events for a crude rate (ONS)"
UNRELIABLE_NOTE = f"unreliable: fewer than {RELIABLE_MIN_EVENTS} events"
SII_NOTE = "suppressed: a deprivation quintile is suppressed"


def _join_note(existing: pl.Expr, addition: str) -> pl.Expr:
    return (
        pl.when(existing.is_null() | (existing == ""))
        .then(pl.lit(addition))
        .otherwise(existing + pl.lit("; " + addition))
    )


def _small(column: str, min_count: int) -> pl.Expr:
    col = pl.col(column)
    return col.is_not_null() & (col > 0) & (col < min_count)


def _disclosive_count(min_count: int) -> pl.Expr:
    """True where the row reveals a count of 1 .. min_count - 1 (see module docstring)."""
    method = pl.col("method")
    money = pl.col("unit") == "£"
    by_numerator = method.is_in(["C", "P", "R", "DSR"]) & ~money
    by_denominator = method.is_in(["P", "M", "Q"]) | money
    return (by_numerator & _small("numerator", min_count)) | (
        by_denominator & _small("denominator", min_count)
    )


def _secondary_pass(frame: pl.DataFrame, keys: list[str], eligible: pl.Expr) -> pl.DataFrame:
    """One pass of 'exactly one hidden cell in a set -> hide the next smallest'.

    Rows outside `eligible` take no part. The cell chosen is the smallest non-zero
    numerator (zeros protect nothing), ties broken by the row order key so the choice
    is reproducible."""
    flagged = frame.with_row_index("_row").with_columns(eligible.alias("_eligible"))
    sets = (
        flagged.filter(pl.col("_eligible"))
        .group_by(keys)
        .agg(pl.col("suppressed").sum().alias("_hidden"), pl.len().alias("_cells"))
        .filter((pl.col("_hidden") == 1) & (pl.col("_cells") > 1))
    )
    if sets.height == 0:
        return frame
    candidates = (
        flagged.filter(pl.col("_eligible") & ~pl.col("suppressed"))
        .join(sets.select(keys), on=keys, how="inner", nulls_equal=True)
        .with_columns(
            (pl.col("numerator").fill_null(0) <= 0).alias("_is_zero"),
            pl.col("numerator").fill_null(0).alias("_size"),
        )
        .sort(["_is_zero", "_size", "breakdown_value", "area_code", "_row"])
        .group_by(keys, maintain_order=True)
        .first()
        .select("_row")
    )
    chosen = set(candidates["_row"].to_list())
    if not chosen:
        return frame
    mark = pl.int_range(pl.len()).is_in(list(chosen))
    return frame.with_columns(
        (pl.col("suppressed") | mark).alias("suppressed"),
        pl.when(mark).then(_join_note(pl.col("note"), SECONDARY_NOTE))
        .otherwise(pl.col("note")).alias("note"),
    )


def apply_disclosure(
    frame: pl.DataFrame,
    settings: DisclosureConfig,
    *,
    exempt_indicators: Iterable[str] = (),
) -> pl.DataFrame:
    """Suppress, note and round an indicator table (INDICATOR_SCHEMA in, same out)."""
    exempt = pl.col("indicator_id").is_in(list(exempt_indicators))
    summary = pl.col("breakdown_value").is_in(list(SUMMARY_VALUES))
    min_count = settings.min_count
    out = frame.with_columns(
        pl.col("suppressed").fill_null(False),
        pl.col("note").fill_null(""),
    )

    # 2. Publication rules for rates (not disclosure: reliability).
    events = pl.col("numerator")
    is_dsr = (pl.col("method") == "DSR") & ~summary
    is_crude = (pl.col("method") == "R") & ~summary
    dsr_hidden = is_dsr & events.is_not_null() & (events < DSR_MIN_EVENTS)
    crude_hidden = is_crude & events.is_not_null() & (events < CRUDE_RATE_MIN_EVENTS)
    unreliable = (is_dsr | is_crude) & events.is_not_null() & (events < RELIABLE_MIN_EVENTS)
    out = out.with_columns(
        pl.when(dsr_hidden).then(_join_note(pl.col("note"), DSR_NOTE))
        .when(crude_hidden).then(_join_note(pl.col("note"), CRUDE_NOTE))
        .when(unreliable).then(_join_note(pl.col("note"), UNRELIABLE_NOTE))
        .otherwise(pl.col("note")).alias("note"),
        # The rate is withheld; its count is not disclosive unless rule 1 says so.
        *(pl.when(dsr_hidden | crude_hidden).then(None).otherwise(pl.col(c)).alias(c)
          for c in ("value", "lower_ci_95", "upper_ci_95", "lower_ci_99_8", "upper_ci_99_8")),
    )

    if settings.enabled:
        # 1. Primary suppression.
        primary = _disclosive_count(min_count) & ~exempt & ~summary
        out = out.with_columns(
            (pl.col("suppressed") | primary).alias("suppressed"),
            pl.when(primary).then(_join_note(pl.col("note"), primary_note(min_count)))
            .otherwise(pl.col("note")).alias("note"),
        )
        # 3. Secondary suppression, to a fixed point.
        if settings.secondary:
            additive = ~exempt & ~summary & (pl.col("method") != "Q")
            in_breakdown = additive & (pl.col("breakdown") != "all")
            in_places = additive & (pl.col("area_type") == "place")
            breakdown_keys = ["indicator_id", "area_type", "area_code", "period", "breakdown"]
            place_keys = ["indicator_id", "period", "breakdown", "breakdown_value"]
            for _ in range(20):
                before = int(out["suppressed"].sum())
                out = _secondary_pass(out, breakdown_keys, in_breakdown)
                out = _secondary_pass(out, place_keys, in_places)
                if int(out["suppressed"].sum()) == before:
                    break
        # 4. Summaries built on a hidden quintile.
        hidden_quintiles = (
            out.filter(pl.col("suppressed") & (pl.col("breakdown") == "imd_quintile") & ~summary)
            .select("indicator_id", "area_code", "period").unique()
            .with_columns(pl.lit(True).alias("_quintile_hidden"))
        )
        out = out.join(hidden_quintiles, on=["indicator_id", "area_code", "period"],
                       how="left", nulls_equal=True)
        sii_hidden = summary & (pl.col("breakdown") == "imd_quintile") & pl.col(
            "_quintile_hidden").fill_null(False)
        out = out.with_columns(
            (pl.col("suppressed") | sii_hidden).alias("suppressed"),
            pl.when(sii_hidden).then(_join_note(pl.col("note"), SII_NOTE))
            .otherwise(pl.col("note")).alias("note"),
        ).drop("_quintile_hidden")

        # 5. Rounding of what is left.
        if settings.rounding:
            base = float(settings.rounding)
            countable = ~exempt & ~summary & (pl.col("unit") != "£")

            def rounded(column: str) -> pl.Expr:
                return (pl.col(column) / base).round(0) * base

            out = out.with_columns(
                pl.when(countable & pl.col("method").is_in(["C", "P", "R", "DSR"]))
                .then(rounded("numerator")).otherwise(pl.col("numerator")).alias("numerator"),
                pl.when(countable & pl.col("method").is_in(["P", "M", "Q"]))
                .then(rounded("denominator")).otherwise(pl.col("denominator"))
                .alias("denominator"),
                pl.when(countable & (pl.col("method") == "C"))
                .then(rounded("value")).otherwise(pl.col("value")).alias("value"),
            )

    hidden = pl.col("suppressed")
    return out.with_columns(
        *(pl.when(hidden).then(None).otherwise(pl.col(c)).alias(c) for c in _VALUE_COLUMNS),
        pl.when(hidden).then(pl.lit("not_compared")).otherwise(pl.col("comparison"))
        .alias("comparison"),
        pl.when(pl.col("note") == "").then(None).otherwise(pl.col("note")).alias("note"),
    ).select(frame.columns)
