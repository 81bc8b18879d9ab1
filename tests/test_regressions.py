"""One regression test per fixed bug, named after what it guards."""

from __future__ import annotations

import polars as pl


def test_cause_group_shares_use_all_deaths_as_denominator(assessed_sample) -> None:  # type: ignore[no-untyped-def]
    # Bug: cause_group_pct divided each group by itself, so every group showed 100%.
    frame = assessed_sample.indicators.filter(
        (pl.col("indicator_id") == "cause_group_pct")
        & (pl.col("area_type") == "icb")
        & (pl.col("breakdown") == "cause_group")
        & ~pl.col("suppressed")
    )
    assert frame.height > 0
    deaths = assessed_sample.indicators.filter(
        (pl.col("indicator_id") == "deaths")
        & (pl.col("area_type") == "icb")
        & (pl.col("breakdown") == "all")
    ).select("period", pl.col("numerator").alias("all_deaths"))
    joined = frame.join(deaths, on="period")
    assert (joined["denominator"] == joined["all_deaths"]).all()
    assert (joined["value"] < 100).all()
    # Shown groups of one period cannot add up to more than all deaths.
    per_period = joined.group_by("period").agg(pl.col("value").sum())
    assert (per_period["value"] <= 100.0 + 1e-9).all()
