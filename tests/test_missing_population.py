"""Missing population: validate and assess agree (README "Missing population").

Before, validate called a Place with no population a blocking fault (exit 3, and the
monthly run stopped) while assess published that Place's rates as blank cells with no
reason and the ICB's rate counted its deaths without its people. Now validate warns,
naming the indicators that will be not available; assess publishes everything else and
those indicators as not available [x], with the reason, for the Place and the ICB."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import polars as pl

from eolneeds.assess import AssessOptions, assess_project
from eolneeds.config import ProjectConfig, load_config
from eolneeds.reporting import RecordingReporter, Reporter
from eolneeds.validate import validate_project

POPULATION_BASED = ["crude_death_rate", "dsr_all_cause", "pc_need_rate"]


def _without_population_of(sample_project: ProjectConfig, tmp_path: Path,
                           place: str) -> ProjectConfig:
    root = tmp_path / "project"
    shutil.copytree(sample_project.root, root)
    config = load_config(root)
    con = duckdb.connect(str(config.database_path))
    try:
        con.execute("DELETE FROM population WHERE lsoa_code IN (SELECT lsoa_code FROM "
                    "assessment_areas WHERE place = $p)", {"p": place})
    finally:
        con.close()
    return config


def test_a_place_without_population_warns_and_its_rates_are_not_available(
        sample_project: ProjectConfig, tmp_path: Path) -> None:
    config = _without_population_of(sample_project, tmp_path, "BRK")
    report = validate_project(config, reporter=Reporter())
    assert report.blocking == []
    assert ("Place BRK (Brackenford) has no population: crude_death_rate, dsr_all_cause, "
            "pc_need_rate are published as not available [x] for it, and for the ICB") in \
        " ".join(report.warnings)

    reporter = RecordingReporter()
    result = assess_project(config, AssessOptions(formats=["csv", "html", "xlsx"],
                                                  out=tmp_path / "out", per_place=False),
                            reporter=reporter)
    table = result.indicators
    said = [f["text"] for name, f in reporter.events
            if name == "message" and f.get("level") == "warning"]
    assert any(s.startswith("no population loaded for Brackenford (BRK): crude_death_rate, "
                            "dsr_all_cause, pc_need_rate are published as not available [x]")
               for s in said), said

    rates = table.filter(pl.col("indicator_id").is_in(POPULATION_BASED))
    hidden = rates.filter((pl.col("area_code") == "BRK")
                          | (pl.col("area_type") == "icb"))
    assert hidden.height > 0
    # Every such row: no value, no numbers, the reason; none of the rates compared.
    assert hidden["value"].null_count() == hidden.height
    assert hidden["numerator"].null_count() == hidden.height
    notes = set(hidden["note"].to_list()) - {""}
    assert notes <= {"not available: no population loaded for this Place's LSOAs",
                     "not available: no population loaded for Brackenford (BRK)"} | {
        n for n in notes if n.startswith("no residents")}
    assert (hidden.filter(pl.col("area_type") == "icb")["note"]
            == "not available: no population loaded for Brackenford (BRK)").all()
    assert set(rates["comparison"].to_list()) == {"not_compared"}
    # The other Places keep their rates; indicators not built on population are untouched.
    others = rates.filter((pl.col("area_code") == "CAS") & (pl.col("breakdown") == "all"))
    assert others["value"].null_count() == 0
    deaths = table.filter((pl.col("indicator_id") == "deaths") & (pl.col("area_code") == "BRK")
                          & (pl.col("breakdown") == "all"))
    assert deaths["numerator"].null_count() == 0
    # Published as [x] in the pack's indicator table, never as a blank cell.
    assert result.outputs  # csv, html and xlsx written
