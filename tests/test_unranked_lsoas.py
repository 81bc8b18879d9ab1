"""Deaths in LSOAs the deprivation file does not rank.

A common real mix: the English Indices of Deprivation 2019 (2011 LSOAs) beside a current
ONS lookup of 2021 LSOAs. The LSOAs that changed in 2021 have no decile. Their deaths
count in every total, fall in the deprivation quintile 'unknown' (published like the
unknown age band), take no part in the inequality summaries, and validate says why.
Before, one such LSOA made `assess` end in an internal error (exit 1).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import polars as pl

from eolneeds.assess import AssessOptions, assess_project
from eolneeds.config import ProjectConfig, load_config
from eolneeds.reporting import Reporter
from eolneeds.validate import validate_project


def test_deaths_in_unranked_lsoas_are_quintile_unknown_and_leave_the_summaries_alone(
        sample_project: ProjectConfig, tmp_path: Path) -> None:
    root = tmp_path / "project"
    shutil.copytree(sample_project.root, root)
    config = load_config(root)
    con = duckdb.connect(str(config.database_path))
    try:
        # The five LSOAs of Brackenford with the most deaths lose their decile.
        unranked = [r[0] for r in con.execute("""
            SELECT d.lsoa_code FROM deaths d JOIN areas a USING (lsoa_code)
            WHERE a.place = 'BRK' GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 5""").fetchall()]
        con.execute("UPDATE areas SET imd_decile = NULL WHERE list_contains($l, lsoa_code)",
                    {"l": unranked})
        deaths_unranked = con.execute(
            "SELECT count(*) FROM deaths WHERE list_contains($l, lsoa_code)",
            {"l": unranked}).fetchone()[0]
        population_unranked = {r[0] for r in con.execute(
            "SELECT sum(population) FROM population WHERE list_contains($l, lsoa_code) "
            "GROUP BY year", {"l": unranked}).fetchall()}
    finally:
        con.close()
    assert deaths_unranked >= 8

    warnings = validate_project(config, reporter=Reporter()).warnings
    said = [w for w in warnings if "no deprivation decile" in w]
    assert said and said[0].startswith(f"{deaths_unranked} deaths in 5 LSOAs"), warnings
    assert "quintile 'unknown'" in said[0] and "Indices of Deprivation" in said[0]

    result = assess_project(config, AssessOptions(formats=["csv", "html", "xlsx"],
                                                  out=tmp_path / "out", per_place=False),
                            reporter=Reporter())
    table = result.indicators
    rows = table.filter((pl.col("breakdown") == "imd_quintile")
                        & (pl.col("area_code") == "BRK"))
    assert "unknown" in rows["breakdown_value"].to_list()
    # The unknown quintile's residents are exactly those of the unranked LSOAs (in the
    # year the period uses).
    crude = rows.filter((pl.col("indicator_id") == "crude_death_rate")
                        & (pl.col("breakdown_value") == "unknown"))
    assert crude.height >= 1
    by_year = crude.filter(pl.col("period") == result.headline_period)
    assert by_year.height == 1
    if not by_year["suppressed"][0]:
        assert by_year["denominator"][0] in population_unranked
    # Every quintile row, 'unknown' included, adds up to the whole for a count of deaths.
    whole = table.filter((pl.col("indicator_id") == "crude_death_rate")
                         & (pl.col("area_code") == "BRK") & (pl.col("breakdown") == "all")
                         & (pl.col("period") == result.headline_period))
    parts = rows.filter((pl.col("indicator_id") == "crude_death_rate")
                        & (pl.col("period") == result.headline_period)
                        & ~pl.col("breakdown_value").is_in(["SII", "RII"]))
    if not parts["suppressed"].any() and not whole["suppressed"][0]:
        assert parts["numerator"].sum() == whole["numerator"][0]
    # The summaries never count 'unknown' as a quintile: their notes name quintiles
    # 1-5 only, and a hidden 'unknown' hides no summary.
    summaries = table.filter((pl.col("breakdown") == "imd_quintile")
                             & pl.col("breakdown_value").is_in(["SII", "RII"]))
    assert not summaries["note"].fill_null("").str.contains("unknown").any()
    unknown_hidden = rows.filter((pl.col("breakdown_value") == "unknown")
                                 & pl.col("suppressed"))
    for ind, period in unknown_hidden.select("indicator_id", "period").iter_rows():
        quintiles = rows.filter((pl.col("indicator_id") == ind) & (pl.col("period") == period)
                                & pl.col("breakdown_value").is_in(["1", "2", "3", "4", "5"]))
        sii = rows.filter((pl.col("indicator_id") == ind) & (pl.col("period") == period)
                          & (pl.col("breakdown_value") == "SII"))
        if sii.height and not quintiles["suppressed"].any():
            assert not sii["suppressed"][0], (ind, period)
    assert (result.out_dir / "report.html").exists()
