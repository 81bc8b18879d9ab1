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


def test_iod2019_beside_a_2021_lookup_ranks_the_lsoas_whose_code_did_not_change(
        sample_project: ProjectConfig, tmp_path: Path) -> None:
    """The second newcomer's finding 5: IoD2019 File 1 (2011 LSOAs) beside an ONS
    lookup of 2021 LSOAs. Most codes are the same in both vintages (a GSS code is never
    reused for a changed boundary), so those LSOAs keep their decile; only the LSOAs
    whose code is not in the IoD file (changed in 2021) are quintile 'unknown', and
    validate names those alone. Before, every death lost its quintile."""
    from eolneeds.ingest import ingest_files

    root = tmp_path / "project"
    shutil.copytree(sample_project.root, root)
    config = load_config(root)
    con = duckdb.connect(str(config.database_path))
    try:
        areas = con.execute("SELECT lsoa_code, place, imd_decile FROM areas "
                            "ORDER BY lsoa_code").fetchall()
        # The three LSOAs of Brackenford with the most deaths 'changed in 2021'.
        changed = [r[0] for r in con.execute("""
            SELECT d.lsoa_code FROM deaths d JOIN areas a USING (lsoa_code)
            WHERE a.place = 'BRK' GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 3""").fetchall()]
        deaths_changed = con.execute(
            "SELECT count(*) FROM deaths WHERE list_contains($l, lsoa_code)",
            {"l": changed}).fetchone()[0]
        con.execute("DELETE FROM areas")  # the areas come from the two national files
    finally:
        con.close()
    lookup = tmp_path / "LSOA21_to_Place.csv"
    lookup.write_text("LSOA21CD,Place\n" + "".join(f"{c},{p}\n" for c, p, _ in areas),
                      encoding="utf-8")
    iod = tmp_path / "File_1_IoD2019_Index_of_Multiple_Deprivation.csv"
    iod.write_text(
        "LSOA code (2011),Index of Multiple Deprivation (IMD) Decile\n"
        + "".join(f"{c},{d}\n" for c, _, d in areas if c not in changed)
        + "E01999991,1\nE01999992,10\n",  # elsewhere in England
        encoding="utf-8")
    for name, preset, path in (("lookup", "lsoa_place_lookup", lookup),
                               ("iod", "iod_file1", iod)):
        (root / "mappings" / f"{name}.toml").write_text(
            f'dataset = "areas"\npreset = "{preset}"\n', encoding="utf-8")
        ingest_files(load_config(root), "areas", [path], mapping=name, reporter=Reporter())

    con = duckdb.connect(str(config.database_path), read_only=True)
    try:
        got = dict(con.execute("SELECT lsoa_code, imd_decile FROM assessment_areas"
                               ).fetchall())
        vintages = dict(con.execute("SELECT lsoa_vintage, count(*) FROM deprivation "
                                    "GROUP BY 1").fetchall())
    finally:
        con.close()
    assert vintages == {"2011": len(areas) - 3 + 2}
    assert got == {c: (None if c in changed else d) for c, _, d in areas}

    warnings = validate_project(config, reporter=Reporter()).warnings
    said = [w for w in warnings if "no deprivation decile" in w]
    assert len(said) == 1 and said[0].startswith(f"{deaths_changed} deaths in 3 LSOAs"), said
    assert all(c in said[0] for c in changed)
