"""Acceptance: real-shaped files in, the right numbers out (issue 9.7).

`sample --layout national` writes every national layout as published and exported
(cp1252 CRLF deaths with header variants, pipe + BOM spells with quoted thousands and
blank discharge dates, the ONS population workbooks in both layouts, IoD File 1, a
Place-name lookup, a register workbook with title rows, text dates and a Total row) and
truth.json, counted by the generator from its own decisions, never through ingest. Here
each file is ingested as it is, with the sample's mappings (a preset and a few lines),
and the indicator numerators must equal the truth exactly: deaths, place of death, 3+
emergency admissions in the last 90 days, on a register before death, need deaths, bed
days in the last 90 days (HES episodes: the whole spell's). The
deaths with an NHS number failing its check or aged 999 must count too.
"""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

from eolneeds.assess import compute_indicators
from eolneeds.config import load_config
from eolneeds.ingest import ingest_files
from eolneeds.reporting import Reporter
from eolneeds.sample import ICB_CODE
from eolneeds.sample_national import TRUTH_FILE, national_sample_files, write_national_sample
from eolneeds.schema import AGE_BANDS_ESP
from eolneeds.validate import validate_project

DEATHS = 900


@pytest.fixture(scope="module")
def onboarded(session_env: Path, tmp_path_factory: pytest.TempPathFactory
              ) -> tuple[Path, dict, list]:  # type: ignore[type-arg]
    root = tmp_path_factory.mktemp("acceptance") / "project"
    write_national_sample(root, deaths=DEATHS, seed=20, reporter=Reporter())
    # Numerators are compared exactly, so no small-number suppression here.
    config_file = root / "eolneeds.toml"
    config_file.write_text(config_file.read_text("utf-8").replace(
        "min_count = 8", "min_count = 0"), encoding="utf-8")
    config = load_config(root)
    results = []
    for dataset, path, mapping in national_sample_files(root):
        results += ingest_files(config, dataset, [path], mapping=mapping, reporter=Reporter())
    truth = json.loads((root / TRUTH_FILE).read_text(encoding="utf-8"))
    return root, truth, results


def test_every_row_of_every_file_is_loaded_or_quarantined(onboarded) -> None:  # type: ignore[no-untyped-def]
    _root, truth, results = onboarded
    for res in results:
        assert res.rows_read == res.rows_loaded + res.rows_rejected, res.file.name
        assert res.rows_loaded > 0, res.file.name
    deaths = [r for r in results if r.dataset == "deaths"]
    # No death lost: those failing the NHS number check and aged 999 are loaded too.
    assert sum(r.rows_rejected for r in deaths) == 0
    assert sum(r.rows_loaded for r in deaths) == DEATHS + truth["noise"]["deaths_outside_icb"]
    # ... each with its field-level action recorded for the user to query.
    config = load_config(_root)
    con = duckdb.connect(str(config.database_path), read_only=True)
    try:
        actions = dict(con.execute(
            "SELECT column_name, count(*) FROM field_actions WHERE dataset = 'deaths' "
            "GROUP BY ALL").fetchall())
    finally:
        con.close()
    assert actions.get("person_id") == truth["noise"]["deaths_failing_nhs_check"]
    assert actions.get("age") == truth["noise"]["deaths_age_999"]


def test_indicator_numerators_equal_the_truth(onboarded) -> None:  # type: ignore[no-untyped-def]
    root, truth, _results = onboarded
    config = load_config(root)
    con = duckdb.connect(str(config.database_path))
    try:
        table = compute_indicators(config, con, reporter=Reporter())
    finally:
        con.close()
    got = {
        (r["indicator_id"], r["area_code"], r["period"]): r["numerator"]
        for r in table.filter(table["breakdown"] == "all").iter_rows(named=True)
    }
    compared: dict[str, int] = {}
    periods = set()
    for row in truth["rows"]:
        for measure, indicator in truth["indicators"].items():
            key = (indicator, row["area"], row["period"])
            if key not in got:
                continue
            assert got[key] == row[measure], (key, got[key], row[measure])
            compared[measure] = compared.get(measure, 0) + 1
            periods.add(row["period"])
    # Every indicator, for the ICB and its six Places, in at least three financial years.
    assert len(periods) >= 3
    assert set(compared) == set(truth["indicators"])
    assert min(compared.values()) >= 3 * 7
    # Bed days were compared with spells split into episodes, and with deaths in
    # hospital whose discharge date is blank, in both hospital files.
    assert "bed_days" in compared
    assert truth["noise"]["spells_in_several_episodes"] > 0
    assert truth["noise"]["episode_spells_blank_discharge_in_hospital_death"] > 0
    assert truth["noise"]["spells_blank_discharge_in_hospital_death"] > 0
    assert any(area == ICB_CODE for _i, area, _p in got)
    # Practices from ODS's epraccur (no header row) and the ePCN workbook: every need
    # death under its practice's current PCN, or 'no_pcn' for the two practices the
    # ePCN file leaves out; none 'unknown' (every death's practice is listed).
    want = {(r["period"], r["pcn"]): r["need_deaths"] for r in truth["pcn_need_deaths"]
            if r["period"] in periods}
    pcns = {(r["period"], r["breakdown_value"]): r["denominator"] for r in table.filter(
        (table["indicator_id"] == "on_register_need_pct") & (table["breakdown"] == "pcn")
        & table["period"].is_in(list(periods))).iter_rows(named=True)}
    assert {k: v for k, v in pcns.items() if v} == want
    assert any(pcn == "no_pcn" for _p, pcn in want)
    assert not any(pcn == "unknown" for _p, pcn in want)


def test_epraccur_loads_the_gp_practices_only(onboarded) -> None:  # type: ignore[no-untyped-def]
    root, truth, results = onboarded
    [res] = [r for r in results if r.file.name == "epraccur.csv"]
    assert res.rows_rejected == truth["noise"]["epraccur_not_gp_practices"] > 0
    con = duckdb.connect(str(load_config(root).database_path), read_only=True)
    try:
        codes = [c for (c,) in con.execute(
            "SELECT practice_code FROM practices WHERE pcn_code IS NULL ORDER BY 1").fetchall()]
    finally:
        con.close()
    assert codes == truth["practices"]


def test_population_from_both_ons_layouts_bands_to_the_truth(onboarded) -> None:  # type: ignore[no-untyped-def]
    root, truth, _results = onboarded
    config = load_config(root)
    con = duckdb.connect(str(config.database_path), read_only=True)
    try:
        rows = con.execute(
            "SELECT a.place, p.year, p.sex, p.age_band, sum(p.population) "
            "FROM population p JOIN assessment_areas a USING (lsoa_code) "
            "WHERE a.place IS NOT NULL GROUP BY ALL").fetchall()
    finally:
        con.close()
    got = {(place, year, sex, band): value for place, year, sex, band, value in rows}
    want = {(r["area"], r["year"], r["sex"], r["age_band"]): r["population"]
            for r in truth["population"]}
    assert got == pytest.approx(want)


def test_areas_combine_the_lookup_and_the_iod_file(onboarded) -> None:  # type: ignore[no-untyped-def]
    root, truth, _results = onboarded
    config = load_config(root)
    con = duckdb.connect(str(config.database_path), read_only=True)
    try:
        rows = con.execute("SELECT lsoa_code, place, imd_decile FROM assessment_areas "
                           "ORDER BY lsoa_code").fetchall()
    finally:
        con.close()
    # Place names in the lookup became codes; the IoD's neighbours are not in the ICB.
    assert rows == [(a["lsoa_code"], a["place"], a["imd_decile"]) for a in truth["areas"]]


def test_validate_has_no_blocking_fault(onboarded) -> None:  # type: ignore[no-untyped-def]
    root, _truth, _results = onboarded
    report = validate_project(load_config(root), reporter=Reporter())
    assert report.blocking == []


def test_the_monthly_run_takes_the_national_inbox_as_it_is(session_env: Path,
                                                           tmp_path: Path) -> None:
    """`eolneeds run` ingests every national file from inbox/<dataset>/ with the mapping
    its name starts with (the lookup and IoD folders included) and counts the deaths."""
    import polars as pl

    from eolneeds.run import run_month

    root = tmp_path / "project"
    write_national_sample(root, deaths=150, seed=5, reporter=Reporter())
    config_file = root / "eolneeds.toml"
    config_file.write_text(config_file.read_text("utf-8").replace(
        "min_count = 8", "min_count = 0") + '\n[outputs]\nformats = ["csv"]\n'
        "per_place = false\n", encoding="utf-8")
    result = run_month(load_config(root), "2026-10", reporter=Reporter())
    assert len(result.files_ingested) == len(national_sample_files(root))
    table = pl.read_csv(result.output_dir / "indicators.csv", infer_schema_length=0)
    deaths = table.filter((pl.col("indicator_id") == "deaths") & (pl.col("breakdown") == "all")
                          & (pl.col("area_code") == ICB_CODE))
    truth = json.loads((root / TRUTH_FILE).read_text(encoding="utf-8"))
    # A run reports the rolling 12 months to the month: 2025-11 to 2026-10.
    months = [f"2025-{m:02d}" for m in (11, 12)] + [f"2026-{m:02d}" for m in range(1, 11)]
    want = sum(truth["deaths_by_month"].get(m, 0) for m in months)
    got = dict(zip(deaths["period"], deaths["numerator"], strict=True))
    assert float(got["2025-11 to 2026-10"]) == want > 0


def test_projections_from_the_snpp_workbook_band_to_the_truth(onboarded) -> None:  # type: ignore[no-untyped-def]
    """The 2022-based SNPP workbook (a sheet per sex, single years, a column per year)
    banded to the generator's own per-Place bands; its local authorities are the Places
    by name, the neighbouring authority and England are loaded under their own codes."""
    root, truth, _results = onboarded
    config = load_config(root)
    con = duckdb.connect(str(config.database_path), read_only=True)
    try:
        rows = con.execute("SELECT area_code, year, sex, age_band, population "
                           "FROM projections").fetchall()
    finally:
        con.close()
    got = {(a, y, s, b): v for a, y, s, b, v in rows}
    want = {(r["area"], r["year"], r["sex"], band): value for r in truth["projections"]
            for band, value in zip(AGE_BANDS_ESP, r["bands"], strict=True)}
    assert {k: v for k, v in got.items() if k[0] in {p for p, *_ in want}} == want
    assert {a for a, *_ in got} - {a for a, *_ in want} == {"E06999099", "E92000001"}
    assert min(y for _a, y, *_ in got) == 2022 and max(y for _a, y, *_ in got) == 2047
