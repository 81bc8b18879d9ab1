"""Known-answer tests of the SQL in queries/, on the hand-built database of
tests/handbuilt_db.py (its docstring describes every person). Expected counts are worked
out by hand beside each assertion."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl
import pytest
from handbuilt_db import build_handbuilt_db

from eolneeds.assess import _load_periods, _load_reference_tables, run_query
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
    assert (icb["pod_hospital"], icb["pod_home"], icb["pod_care_home"], icb["pod_other"]) == (
        1, 1, 1, 1)  # A hospital, B home, C care home, D religious (counted as other)
    # DiUPR = home + care home + religious = B, C, D; C (X59) is external and excluded.
    assert (icb["diupr"], icb["diupr_deaths"]) == (2, 3)
    kept = row(count(db_path, "place_of_death", exclude_external=False))
    assert (kept["diupr"], kept["diupr_deaths"]) == (3, 4)


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
