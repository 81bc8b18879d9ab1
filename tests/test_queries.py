"""Known-answer tests of the SQL in queries/, on the hand-built database of
tests/handbuilt_db.py (its docstring describes every person). Expected counts are worked
out by hand beside each assertion. The last tests check, on the generated sample, that
counting per breakdown cell gives exactly what counting every death does."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl
import pytest
from handbuilt_db import build_handbuilt_db

from eolneeds.assess import (
    _load_periods,
    _load_reference_tables,
    choose_periods,
    month_label,
    months_list,
    run_query,
)
from eolneeds.config import DEFAULT_EMERGENCY_ADMIMETH
from eolneeds.db import connect
from eolneeds.periods import financial_year

FY = financial_year(2024)  # 2024-25: A, B, C, D


def _params(**overrides):
    params = {
        "places": ["P1", "P2"],
        "exclude_external": True,
        "emergency_methods": list(DEFAULT_EMERGENCY_ADMIMETH),
        "bed_days_nights": False,
        "unit_cost_per_bed_day": None,
        "data_start": date(1900, 1, 1),
        "data_end": date(9999, 12, 31),
    }
    params.update(overrides)
    return params


@pytest.fixture(scope="module")
def db_path(tmp_path_factory) -> Path:
    return build_handbuilt_db(tmp_path_factory.mktemp("handbuilt") / "eolneeds.duckdb")


def count(db_path: Path, query: str, **overrides) -> pl.DataFrame:
    con = connect(db_path)
    try:
        _load_reference_tables(con)
        run_query(con, "deaths_in_scope", _params(**overrides))
        _load_periods(con, [FY])
        result = run_query(con, query, _params(**overrides))
    finally:
        con.close()
    assert result is not None
    return result


def row(frame: pl.DataFrame, *, area: str | None = None, breakdown: str = "all",
        value: str = "all") -> dict:
    area_filter = pl.col("area_code").is_null() if area is None else pl.col("area_code") == area
    rows = frame.filter(area_filter, pl.col("breakdown") == breakdown,
                        pl.col("breakdown_value") == value)
    assert rows.height == 1, rows
    return rows.row(0, named=True)


def test_deaths_in_scope_keeps_residents_in_the_period_and_derives_fields(db_path):
    con = connect(db_path)
    try:
        _load_reference_tables(con)
        run_query(con, "deaths_in_scope", _params())
        frame = con.sql(
            "SELECT person_id, place, imd_quintile, age_band, age_group, esp_band, "
            "cause_group, pc_need, pc_need_upper, external_cause FROM deaths_in_scope "
            "ORDER BY person_id"
        ).pl()
    finally:
        con.close()
    # E (LSOA not in areas) and F (no LSOA) are out; G is in (its own period).
    assert frame["person_id"].to_list() == ["A", "B", "C", "D", "G"]
    # Quintile = ceil(decile / 2): decile 1 -> 1, 10 -> 5, 5 -> 3.
    assert frame["imd_quintile"].to_list() == ["1", "5", "3", "3", "1"]
    assert frame["age_band"].to_list() == ["75-84", "65-74", "85+", "0-64", "85+"]
    assert frame["age_group"].to_list() == ["75_plus", "under_75", "75_plus", "under_75",
                                            "75_plus"]
    assert frame["esp_band"].to_list() == ["80-84", "70-74", "90+", "50-54", "85-89"]
    # C349 cancer, I500 heart failure (organ failure), X59 other, F03 dementia, I64 stroke.
    assert frame["cause_group"].to_list() == ["cancer", "organ_failure", "other",
                                              "dementia_frailty", "stroke"]
    assert frame["pc_need"].to_list() == [True, True, False, True, True]
    # C's contributory C61 puts it in the upper estimate only.
    assert frame["pc_need_upper"].to_list() == [True, True, True, True, True]
    assert frame["external_cause"].to_list() == [False, False, True, False, False]


def test_need_list_edges(tmp_path):
    """I12/I13 are renal (organ failure), not excluded heart codes; G12.2 needs four
    characters (G121 is not on the list); J96 yes, J95 no."""
    con = connect(tmp_path / "x.duckdb")
    try:
        _load_reference_tables(con)
        result = con.sql(
            "SELECT c.code, coalesce(n4.cause_group, n3.cause_group) AS grp FROM (VALUES "
            "('I120'), ('I13'), ('I52'), ('I53'), ('G122'), ('G121'), ('J969'), ('J95'), "
            "('C97'), ('D000')) AS c(code) "
            "LEFT JOIN ref_pc_need_codes AS n3 ON n3.code = left(c.code, 3) "
            "LEFT JOIN ref_pc_need_codes AS n4 ON n4.code = left(c.code, 4)"
        ).pl()
    finally:
        con.close()
    groups = dict(zip(result["code"], result["grp"], strict=True))
    assert groups == {
        "I120": "organ_failure", "I13": "organ_failure", "I52": "organ_failure",
        "I53": None, "G122": "neurodegenerative", "G121": None, "J969": "organ_failure",
        "J95": None, "C97": "cancer", "D000": None,
    }


def test_mortality_counts_per_place_and_icb(db_path):
    frame = count(db_path, "mortality")
    icb = row(frame)
    assert (icb["deaths"], icb["need_deaths"], icb["need_deaths_upper"]) == (4, 3, 4)
    assert row(frame, area="P1")["deaths"] == 2  # A, B
    assert row(frame, area="P2")["deaths"] == 2  # C, D
    # Cause-group share denominators: all deaths; the quintile rows use the quintile.
    cancer = row(frame, breakdown="cause_group", value="cancer")
    assert (cancer["cause_deaths"], cancer["cause_denominator"]) == (1, 4)
    q3_other = row(frame, breakdown="cause_group_imd_quintile", value="3: other")
    assert (q3_other["cause_deaths"], q3_other["cause_denominator"]) == (1, 2)  # C of C, D
    assert row(frame, breakdown="sex", value="unknown")["deaths"] == 1  # D


def test_place_of_death_and_diupr_external_cause_option(db_path):
    frame = count(db_path, "place_of_death")
    icb = row(frame)
    # A hospital, B home, C care home, D religious: published with care homes, not in
    # other places (place_of_death.sql), so that DiUPR = home + care home leaves nothing.
    assert (icb["pod_hospital"], icb["pod_home"], icb["pod_care_home"], icb["pod_other"]) == (
        1, 1, 2, 0)
    assert icb["diupr"] + 1 == icb["pod_home"] + icb["pod_care_home"]  # less C, below
    # DiUPR = home + care home + religious = B, C, D; C (X59) is external and excluded.
    assert (icb["diupr"], icb["diupr_deaths"]) == (2, 3)
    kept = row(count(db_path, "place_of_death", exclude_external=False))
    assert (kept["diupr"], kept["diupr_deaths"]) == (3, 4)
    assert kept["diupr"] == kept["pod_home"] + kept["pod_care_home"]


def test_register_identification_and_preferences(db_path):
    icb = row(count(db_path, "register"))
    # A (entry 15 days before), B, D (30 days before) are on a register; C's entry is
    # dated after death and does not count.
    assert icb["on_register"] == 3
    assert (icb["need_on_register"], icb["need_deaths"], icb["need_unidentified"]) == (3, 3, 0)
    # Late = first entry 0-30 days before death: A (15) and D (30, the edge); B 253 days.
    assert icb["register_late"] == 2
    # Median of 15, 30, 253 days.
    assert icb["register_days_median"] == 30
    # Preferences before death: A home (died in hospital), B latest home (died at home).
    assert (icb["ppod_recorded"], icb["ppod_achieved"]) == (2, 1)


def test_register_median_of_an_even_number_of_deaths(db_path):
    # P1 has A (15 days on the register) and B (253): the median is their mean, 134.
    assert row(count(db_path, "register"), area="P1")["register_days_median"] == 134


def test_death_cells_name_each_combination_of_breakdown_values_once(db_path):
    con = connect(db_path)
    try:
        _load_reference_tables(con)
        run_query(con, "deaths_in_scope", _params())
        columns = "place, imd_quintile, sex, age_band, age_group, ethnic_group, cause_group"
        cells = con.sql(f"SELECT cell_id, {columns} FROM death_cells ORDER BY ALL").fetchall()
        combinations = con.sql(
            f"SELECT DISTINCT {columns} FROM deaths_in_scope ORDER BY ALL").fetchall()
        mismatched = con.sql(
            "SELECT count(*) FROM deaths_in_scope AS d JOIN death_cells AS c USING (cell_id) "
            "WHERE (d.place, d.imd_quintile, d.sex, d.age_band, d.age_group, d.ethnic_group, "
            "d.cause_group) IS DISTINCT FROM (c.place, c.imd_quintile, c.sex, c.age_band, "
            "c.age_group, c.ethnic_group, c.cause_group)").fetchall()[0][0]
    finally:
        con.close()
    # A, B, C, D and G differ in place, quintile, sex or cause: five cells.
    assert len(cells) == len(combinations) == 5
    assert len({c[0] for c in cells}) == 5
    assert sorted(c[1:] for c in cells) == sorted(combinations)
    assert mismatched == 0


def test_death_cells_refuses_a_cell_id_shared_by_two_combinations(db_path):
    """The cell id is a hash; were two combinations ever to share one, the counts would
    merge silently, so building death_cells stops instead."""
    import duckdb

    from eolneeds.assess import _statements
    from eolneeds.resources import read_query

    build_cells = next(s for s in _statements(read_query("deaths_in_scope"))
                       if "TABLE death_cells" in s)
    con = connect(db_path)
    try:
        _load_reference_tables(con)
        run_query(con, "deaths_in_scope", _params())
        con.execute("UPDATE deaths_in_scope SET cell_id = 1")  # five combinations, one id
        with pytest.raises(duckdb.Error, match="share a cell_id"):
            con.execute(build_cells)
    finally:
        con.close()


def test_activity_last90_windows_and_bed_days(db_path):
    icb = row(count(db_path, "activity_last90"))
    # A: emergency on day 90 (counted), day 91 (not), 2B and a 21 in June -> 3;
    # B: three emergency admissions by activity_type -> 3. Both 3+.
    assert (icb["ea_any"], icb["ea_3plus"]) == (2, 2)
    # Bed days, inclusive: A 1 (day 90) + 4 (stay straddling the window start,
    # 04-02..04-05) + 10 (06-01..06-10) + 1 = 16; B 3 day cases = 3. Total 19.
    assert icb["bed_days"] == 19
    assert icb["ae_attendances"] == 1
    # A's palliative contact is on day 365 (in); B's on day 366 (out).
    assert icb["spc_any"] == 1
    assert icb["community_any"] == 1
    # Cost of activity starting in the window: 1000 + 2000 + A&E 100 (A's day-91
    # admission and the straddling stay started outside it).
    assert icb["hospital_cost"] == 3100


def test_activity_options_2b_nights_and_unit_cost(db_path):
    without_2b = [m for m in DEFAULT_EMERGENCY_ADMIMETH if m != "2B"]
    icb = row(count(db_path, "activity_last90", emergency_methods=without_2b))
    # A drops to 2 emergency admissions: still 'any', no longer 3+.
    assert (icb["ea_any"], icb["ea_3plus"]) == (2, 1)
    nights = row(count(db_path, "activity_last90", bed_days_nights=True))
    # Nights: A 0 + 3 + 9 + 0 = 12, B's day cases 0.
    assert nights["bed_days"] == 12
    costed = row(count(db_path, "activity_last90", unit_cost_per_bed_day=300.0))
    # Uncosted admissions in the window: A's 06-20 day case (1 day) and B's three day
    # cases (3 days) at 300 each: 3100 + 1200 = 4300.
    assert costed["hospital_cost"] == 4300


def test_population_by_band_for_places_and_icb(db_path):
    frame = count(db_path, "population")
    year_2024 = frame.filter(pl.col("year") == 2024)
    # 3 LSOAs x 2 sexes x 2 bands x 1,000.
    assert year_2024.filter(pl.col("area_code").is_null(), pl.col("breakdown") == "all")[
        "population"].sum() == 12_000
    p1_q5 = year_2024.filter(pl.col("area_code") == "P1", pl.col("breakdown") == "imd_quintile",
                             pl.col("breakdown_value") == "5")
    assert p1_q5["population"].sum() == 4_000  # L2 only


def test_projections_apply_current_rates_to_projected_population(db_path):
    frame = count(db_path, "projections", period_start=FY.start, period_end=FY.end,
                  population_year=2024, person_years=1.0, first_year=2024, last_year=2040)
    # Only A (female, 80-84, P1) has a base rate: 1 death / 2,000 = 0.0005. P1's
    # projected female 80-84 population is 2,000 in 2024 and 4,000 in 2030.
    icb_2030 = frame.filter(pl.col("area_code").is_null(), pl.col("year") == 2030,
                            pl.col("breakdown") == "all")
    assert icb_2030["projected"].item() == pytest.approx(2.0)
    assert icb_2030["projected_deaths"].item() == pytest.approx(2.0)
    p2 = frame.filter(pl.col("area_code") == "P2", pl.col("breakdown") == "all")
    assert p2["projected"].to_list() == [0.0, 0.0]  # kept, with no base deaths


# ---------------------------------------------------------------------------------------
# Cells against counting every death, on the generated sample

#: Every death in every breakdown, the straightforward way: a range join to the periods
#: per death, each death spread over its breakdowns, the median over every value.
PER_DEATH_REFERENCE = """
WITH per_death AS (
    SELECT
        d.*, p.period, p.kind,
        (SELECT min(r.date_added) FROM register AS r
         WHERE r.person_id = d.person_id AND r.date_added <= d.date_of_death) AS first_entry
    FROM deaths_in_scope AS d
    JOIN assess_periods AS p ON d.date_of_death BETWEEN p.period_start AND p.period_end
)
SELECT
    CASE WHEN grouping(place) = 1 THEN 'icb' ELSE 'place' END AS area_type,
    place AS area_code, period, breakdown, breakdown_value,
    count(*) AS deaths,
    count(first_entry) AS on_register,
    quantile_cont(date_diff('day', first_entry, date_of_death), 0.5) AS register_days_median
FROM (
    SELECT *, unnest(breakdown_rows(kind, imd_quintile, sex, age_band, age_group,
                                    ethnic_group, ethnic_group_broad, cause_group),
                     recursive := true)
    FROM per_death
)
GROUP BY GROUPING SETS (
    (period, breakdown, breakdown_value, place), (period, breakdown, breakdown_value)
)
"""
KEYS = ["area_type", "area_code", "period", "breakdown", "breakdown_value"]


def test_cell_counts_equal_counting_every_death(sample_project):
    config = sample_project
    params = _params(places=[p.code for p in config.places])
    con = connect(config.database_path)
    try:
        _load_reference_tables(con)
        run_query(con, "deaths_in_scope", params)
        first, last = con.execute(
            "SELECT min(date_of_death), max(date_of_death) FROM deaths_in_scope").fetchall()[0]
        headline = choose_periods(config, first, last)
        _load_periods(con, [*headline, *months_list(month_label(headline[-1].end), first)])
        reference = con.sql(PER_DEATH_REFERENCE).pl().sort(KEYS, nulls_last=True)
        results = {stem: run_query(con, stem, params) for stem in (
            "mortality", "place_of_death", "register", "activity_last90")}
    finally:
        con.close()
    assert reference.height > 500  # periods x areas x breakdown values
    for stem, frame in results.items():
        assert frame is not None
        got = frame.sort(KEYS, nulls_last=True)
        assert got.select(KEYS).equals(reference.select(KEYS)), stem
        assert got["deaths"].to_list() == reference["deaths"].to_list(), stem
    register = results["register"].sort(KEYS, nulls_last=True)
    assert register["on_register"].to_list() == reference["on_register"].to_list()
    assert register["register_days_median"].to_list() == (
        reference["register_days_median"].to_list())


def test_scenario_inputs_and_activity_last90_count_the_same_activity(db_path):
    """scenario_inputs.sql builds on last90_activity.sql, as activity_last90.sql does:
    on the hand-built database the scenarios' 'all' group has the indicators' deaths,
    bed days and people with an emergency admission, area by area."""
    indicators = count(db_path, "activity_last90")
    scenario = count(db_path, "scenario_inputs", period=FY.label)
    for area in (None, "P1", "P2"):
        ours = row(indicators, area=area)
        theirs = scenario.filter((pl.col("area_code").is_null() if area is None
                                  else pl.col("area_code") == area)
                                 & (pl.col("grp") == "all")).row(0, named=True)
        assert (theirs["deaths"], theirs["bed_days"], theirs["bed_days_sumsq"],
                theirs["ea_people"]) == (ours["deaths"], ours["bed_days"],
                                         ours["bed_days_sumsq"], ours["ea_any"]), area
    icb = scenario.filter(pl.col("area_code").is_null() & (pl.col("grp") == "all")).row(
        0, named=True)
    # Worked out from the hand-built rows: A's emergency admissions in the window are
    # 04-02 (1 day, £1000), 06-01..06-10 (10 days, £2000) and 06-20 (1 day, no cost);
    # B's three day cases (no cost). Admissions 6; their bed days 1 + 10 + 1 + 3 = 15;
    # their cost £3000; costed admissions in the window: £3000 over 1 + 10 = 11 days.
    assert (icb["ea_admissions"], icb["ea_bed_days"], icb["ea_cost"]) == (6, 15, 3000)
    assert (icb["costed_cost"], icb["costed_days"]) == (3000, 11)


def test_an_open_admission_runs_to_the_date_of_death_in_both_queries(tmp_path):
    """An admission with no discharge date that started more than a year before death
    still runs to the date of death (INDICATORS.md): 90 bed days in the window, counted
    alike by the indicators and the scenarios (activity_last90 used to skip it)."""
    path = build_handbuilt_db(tmp_path / "open.duckdb")
    con = connect(path)
    try:
        con.execute("INSERT INTO activity (person_id, activity_type, start_date, end_date, "
                    "admission_method, source_file_id, source_row) VALUES "
                    "('C', 'elective_admission', DATE '2023-01-10', NULL, '11', 3, 99)")
    finally:
        con.close()
    p2 = row(count(path, "activity_last90"), area="P2")
    scenario = count(path, "scenario_inputs", period=FY.label)
    p2_all = scenario.filter((pl.col("area_code") == "P2") & (pl.col("grp") == "all"))
    # P2 had no bed days (C and D have no admissions); C's open stay adds the 90 days of
    # its window (2024-09-03 .. 2024-12-01).
    assert p2["bed_days"] == 90
    assert p2_all["bed_days"].item() == 90
